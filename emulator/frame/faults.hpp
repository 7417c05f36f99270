#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "emulator/frame/http_types.hpp"

/// @file
/// Switchable misbehaviour: error statuses, delays, dropped, cut and malformed answers.

namespace chatsync::emulator {

enum class FaultKind {
    k429,        ///< 429 with Retry-After.
    k500,        ///< 500.
    k502,        ///< 502.
    k503,        ///< 503, with Retry-After when retry_after is given.
    kDelay,      ///< Wait `delay`, then answer normally.
    kDrop,       ///< Close the connection without answering.
    kTruncate,   ///< Real head and Content-Length, half the body, then close.
    kMalformed,  ///< 200 with the body cut in the middle and a matching Content-Length.
};

std::string_view FaultKindName(FaultKind kind);

/// True for the kinds answered with an error status instead of the real response.
bool IsStatusFault(FaultKind kind);

/// One fault as given to POST /_admin/faults or --fault.
struct Fault {
    FaultKind kind = FaultKind::k500;
    std::int64_t count = 1;           ///< Requests it still hits; -1 forever.
    std::int64_t after = 0;           ///< Matching requests still to let through before hitting.
    std::optional<std::string> path;  ///< Exact request path.
    std::optional<std::string> path_prefix;   ///< Request path starts with this.
    std::optional<std::string> method;        ///< Request method.
    std::optional<std::int64_t> page;         ///< Value of the `page` query parameter.
    std::optional<std::int64_t> retry_after;  ///< Seconds (429 default 2; false: no header).
    bool retry_after_date = false;            ///< Retry-After as an HTTP-date.
    std::chrono::milliseconds delay{0};       ///< For kDelay ("ms").

    /// True when path, prefix, method and page all fit the request.
    bool Matches(const Request& request) const;
    boost::json::object ToJson() const;
};

/// Parses one fault object or an array of them. On failure the error (invalid_argument) has a
/// message naming the bad field; unknown fields are errors, to catch typos in tests.
Result<std::vector<Fault>> ParseFaults(const boost::json::value& json);

/// The faults in force, first match wins.
/// @par Thread Safety
/// Not synchronised; used from the serving thread only.
class FaultList final {
public:
    void Append(std::vector<Fault> faults);

    void Clear() { faults_.clear(); }

    std::size_t Size() const { return faults_.size(); }

    /// The fault that hits this request, if any, counting the hit. Faults are tried in order;
    /// a matching fault still in its `after` phase counts the request as skipped and lets the
    /// next faults try. A fault whose count reaches zero is removed.
    std::optional<Fault> Take(const Request& request);

    boost::json::array ToJson() const;

private:
    std::vector<Fault> faults_;
};

/// IMF-fixdate (RFC 9110 section 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string HttpDate(std::chrono::system_clock::time_point t);

/// The Retry-After value of a fault: delta seconds, or with retry_after_date the HTTP-date of
/// now + seconds rounded up to the next whole second (an HTTP-date cannot say less, and
/// rounding down would invite a client to come back early). Empty when the fault has none.
std::string RetryAfterValue(const Fault& fault, std::chrono::system_clock::time_point now);

/// The response of a status fault (429, 500, 502, 503).
Response StatusFaultResponse(const Fault& fault, std::chrono::system_clock::time_point now);

}  // namespace chatsync::emulator
