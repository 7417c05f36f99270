#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

/// @file
/// The record of every non-admin request, served by GET /_admin/requests.

namespace chatsync::emulator {

/// One logged request.
struct LogEntry {
    std::int64_t t_us = 0;  ///< Unix time in microseconds, taken when the headers were read.
    std::string method;
    std::string path;
    std::string query;
    std::string remote;
    unsigned status = 0;  ///< 0 until answered, and for good when the connection was dropped.
    std::string fault;    ///< Kind of the fault applied, empty when none.
};

/// Requests in arrival order. An entry is added when a request arrives and completed when its
/// answer is decided, so a request still waiting on a delay shows status 0.
/// @par Thread Safety
/// Not synchronised; used from the serving thread only.
class RequestLog final {
public:
    using Id = std::uint64_t;

    Id Add(LogEntry entry);

    /// Sets status and fault of an entry; ignored when the entry was cleared meanwhile.
    void Finish(Id id, unsigned status, std::string_view fault);

    /// Forgets every entry; returns how many there were.
    std::size_t Clear();

    std::size_t Size() const { return entries_.size(); }

    const LogEntry* Find(Id id) const;

    /// A JSON array of the entries from index `from` on.
    std::string ToJson(std::size_t from = 0) const;

private:
    std::deque<LogEntry> entries_;
    Id first_id_ = 0;  ///< Id of entries_.front(); ids keep counting across Clear().
};

}  // namespace chatsync::emulator
