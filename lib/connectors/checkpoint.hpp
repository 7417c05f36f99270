#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "connectors/pagination.hpp"
#include "core/time.hpp"

/// @file
/// The checkpoint of an unfinished run: where its listing stands, committed with each page so
/// that a restart resumes there. It holds positions and keys, never a secret.

namespace chatsync::connectors {

/// Replaces secret values in texts kept across runs (next URLs, page tokens) by a named
/// placeholder, and puts them back when the run resumes. Both the plain and the
/// percent-encoded form of each secret are replaced.
class SecretTemplates final {
public:
    /// Registers a secret under `name` (e.g. "config.token"). Values shorter than 4 bytes are
    /// ignored, as the Redactor does.
    void Add(std::string name, std::string value);

    /// `text` with every registered secret replaced by `{{ secret:NAME }}` (or
    /// `{{ secret:NAME|url }}` for the percent-encoded form).
    std::string Hide(std::string_view text) const;

    /// The inverse of Hide with the current values. nullopt when the text names a secret
    /// that is not registered (a changed config): the position cannot be used.
    std::optional<std::string> Reveal(std::string_view text) const;

private:
    std::vector<std::pair<std::string, std::string>> secrets_;
};

/// Where the last committed page ended, so that a later page (or a resumed run) can prove the
/// listing did not move under it: the keys of the page's last records, the page's position
/// and the record total the API reported with it.
struct Boundary {
    /// Keys (see RecordKey) of the last records committed, the very last one last.
    std::vector<std::string> tail_keys;
    /// The position the page was requested at (re-read to prove the boundary on resume).
    std::optional<PagePosition> page;
    /// The total record count that page reported, if the pagination reads one.
    std::optional<std::int64_t> total;

    bool operator==(const Boundary&) const = default;
};

/// The state an interrupted run resumes from. Encoded as a versioned JSON object; decoding
/// also reads the unversioned layout written before versions existed.
struct Checkpoint {
    /// Version 3 added began_empty: an older build must not resume such a listing, since it
    /// would sweep the rows whose keys were not remembered.
    static constexpr std::int64_t kVersion = 3;

    /// The run that began the listing (soft deletes sweep what this pass did not see).
    std::string pass;
    /// The resources listed in full (this one, or its children) whose tables held no row
    /// when the listing began: the pass writes every row they hold, so it neither remembers
    /// their keys nor sweeps them.
    std::vector<std::string> began_empty;

    bool BeganEmpty(std::string_view resource) const {
        return std::find(began_empty.begin(), began_empty.end(), resource) != began_empty.end();
    }

    /// When the listing began (unix microseconds): the cursor never advances past it, since
    /// a record updated during the listing may have been read in its earlier form.
    std::int64_t started_at_us = 0;

    SysTime StartedAt() const { return SysTime{std::chrono::microseconds(started_at_us)}; }

    /// The incremental window's start (canonical cursor), fixed for the whole listing.
    std::optional<std::string> window_start;
    /// The largest cursor value read so far (canonical).
    std::optional<std::string> run_cursor;
    /// Keyset listings: the cursor value the listing restarts from (canonical).
    std::optional<std::string> keyset_from;
    /// The smallest cursor value from which the listing is not proven complete (canonical):
    /// the committed cursor stops there so that the next run reads it again.
    std::optional<std::string> unverified_from;
    /// The next page to read; nullopt when the listing is done (children may be pending).
    std::optional<PagePosition> position = PagePosition{};
    /// Pages committed so far by this listing.
    std::int64_t pages = 0;
    /// Shifts of the listing detected so far (stepped back or re-read).
    std::int64_t shifts = 0;
    Boundary boundary;
    /// Parents whose children are not all committed yet, as their children read them (only
    /// the fields the children's templates and parent fields name).
    boost::json::array pending;
    /// Partitioned listings: the calls still to make, the current one first.
    boost::json::array partitions;
    /// Partitioned listings: what probes found out about the server (PartitionNotes).
    boost::json::object partition_notes;
    /// changes_only resources: the last record written, serialized.
    std::optional<std::string> last_record;

    /// The stored form; secrets in page URLs and tokens are replaced by their placeholders.
    std::string Encode(const SecretTemplates& secrets) const;
    /// nullopt when the text is not a checkpoint (it is then ignored, and the run starts a
    /// new listing). `migrated` is set when it was in an older layout or held a secret in
    /// the clear; either way it should be written again. A checkpoint whose placeholders
    /// cannot be filled (the secret is no longer configured) is not a checkpoint either.
    static std::optional<Checkpoint>
    Decode(std::string_view text, const SecretTemplates& secrets, bool* migrated = nullptr);
};

}  // namespace chatsync::connectors
