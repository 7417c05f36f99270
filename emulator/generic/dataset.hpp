#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/time.hpp"

/// @file
/// The generic mode's deterministic records and their comments.

namespace chatsync::emulator {

/// One generic record. `json` is its serialised form, kept current so that a page is a
/// concatenation of strings (this is what keeps thousands of pages per second cheap).
struct Record {
    std::int64_t id = 0;
    SysTime created_at{};  ///< Initial updated_at; comment times derive from it.
    SysTime updated_at{};
    std::string base_name;  ///< Name as generated; mutations add a revision suffix.
    std::string name;
    std::string email;
    double score = 0;
    bool active = false;
    std::vector<std::string> tags;
    std::optional<std::string> city;
    std::string zip;
    double lat = 0;
    double lon = 0;
    enum class Note { kAbsent, kNull, kText } note_kind = Note::kAbsent;
    std::string note;
    int revision = 0;
    /// Wide records only: the further fields, serialised (",\"created_at\":...").
    std::string extra_json;
    std::string json;
};

/// A child comment of a record; generated on demand, never stored.
struct Comment {
    std::string id;  ///< "<record id>-<k>", k from 1.
    std::int64_t record_id = 0;
    std::string body;
    SysTime created_at{};
    std::string json;
};

/// 2024-01-01T00:00:00Z: record `id` starts with updated_at = kEpoch + id seconds.
SysTime DatasetEpoch();

/// The records of the generic mode. The same seed gives the same records, and record `id`
/// does not depend on how many records there are.
/// @par Thread Safety
/// Not synchronised; used from the serving thread only. Spans returned by Ordered/Since stay
/// valid until the next Mutate/Add/Remove.
class Dataset final {
public:
    struct Options {
        std::int64_t records = 1000;
        std::uint64_t seed = 1;
        /// Records carry 19 more fields (Record::extra_json), nested and unicode, for
        /// benchmarks that need production-sized rows.
        bool wide = false;
    };

    explicit Dataset(Options options);

    std::size_t Size() const { return records_.size(); }

    /// The record with this id, or nullptr.
    const Record* Find(std::int64_t id) const;

    /// Every record, ordered by (updated_at, id).
    std::span<const Record* const> Ordered() const { return ordered_; }

    /// The ordered records with updated_at >= since (all of them without `since`).
    std::span<const Record* const> Since(std::optional<SysTime> since) const;

    /// The part of an ordered span strictly after the key (updated_at, id).
    static std::span<const Record* const>
    After(std::span<const Record* const> records, SysTime updated_at, std::int64_t id);

    /// `count` existing ids spread evenly over the id range; successive calls shift the picks
    /// so that repeated mutations do not always touch the same records.
    std::vector<std::int64_t> PickSpread(std::size_t count);

    /// Changes name and score of the existing ids among `ids` and moves their updated_at to
    /// one new time, later than any updated_at the dataset has had: max(now, latest + 1 ms),
    /// in whole milliseconds. Returns the changed ids in ascending order.
    std::vector<std::int64_t> Mutate(const std::vector<std::int64_t>& ids, SysTime now);

    /// Adds `count` records with ids after the largest id ever used, stamped as Mutate does.
    std::vector<std::int64_t> Add(std::size_t count, SysTime now);

    /// Appends `members` (JSON object members as raw text, `"a":1,"b":[2]`, served exactly as
    /// given) to record `id`'s fields, replacing members set this way before. For tests of
    /// values that only raw text can carry: \u0000, lone surrogates, integers beyond 64 bits,
    /// deep nesting. False when there is no such record.
    bool SetRawFields(std::int64_t id, const std::string& members);

    /// Removes the existing ids among `ids`; returns them in ascending order.
    std::vector<std::int64_t> Remove(const std::vector<std::int64_t>& ids);

    /// The record's comments: 1 + id % 3 of them, in k order.
    std::vector<Comment> Comments(const Record& record) const;

private:
    Record Generate(std::int64_t id, SysTime updated_at) const;
    SysTime NextTime(SysTime now);
    void Reindex();

    Options options_;
    std::map<std::int64_t, Record> records_;
    std::vector<const Record*> ordered_;
    std::int64_t max_id_ = 0;
    SysTime latest_{};  ///< Highest updated_at ever handed out, deleted records included.
    std::uint64_t mutations_ = 0;
};

/// Serialises the record in its documented key order.
std::string RecordJson(const Record& record);

}  // namespace chatsync::emulator
