#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "connectors/checkpoint.hpp"
#include "connectors/cursor.hpp"
#include "connectors/fetcher.hpp"
#include "connectors/runner.hpp"
#include "core/error.hpp"

/// @file
/// The state of one run of a resource, and of its listing's page loop, shared by the
/// runner's files.

namespace chatsync::connectors {

struct SourceRunner::RunContext : FetchNotes {
    const ResourceSpec* resource = nullptr;
    std::string run_id;
    RunReport report;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    /// The cursor committed before this run.
    std::optional<std::string> committed_cursor;
    /// The largest cursor value seen by this run (and the runs it resumed).
    std::optional<CursorValue> run_cursor;
    /// Where the listing stands; committed with every page.
    Checkpoint checkpoint;
    /// The template context's `cursor` object: the window's start and end.
    boost::json::object cursor;
    /// For changes_only resources: the record this run read, serialized, to be committed
    /// as the resource's cursor.
    std::optional<std::string> last_record;

    void Fail(boost::system::error_code ec, RunOutcome outcome) {
        report.outcome = outcome;
        report.error_kind = ErrorKind(ec);
        if (error.empty()) {
            error = ec.message();
        }
    }
};

/// What the steps of one listing's page loop share: the pages gathered into one transaction,
/// the children owed, and the parents whose children were fetched. It lives in ReadListing's
/// frame, which awaits every step it hands it to.
struct SourceRunner::ListingState {
    const ResourceSpec* resource = nullptr;
    std::vector<const ResourceSpec*> children;
    /// Whether some child wants the children of every parent, not only of those changed.
    bool all_children = false;
    /// Pages read while the previous write ran, in order.
    Pages ahead;
    // Pages that go to the table as they are, of a resource listed in one sequence, are
    // gathered into one transaction for as many as were read ahead during the previous
    // write: the rows, and the checkpoint after the last of them.
    RowBatch gathered;
    std::string gathered_checkpoint;
    /// The response bytes of the gathered pages.
    std::size_t gathered_bytes = 0;
    /// A resource without children writes a batch while the loop reads the next one: the
    /// write in flight (see StartWriting), shared with the coroutine that runs it.
    struct Writing;
    std::shared_ptr<Writing> writing;

    /// Whether a write started by StartWriting has not ended yet.
    bool StillWriting() const;
    // For a parent resource: the checkpoint after the gathered pages, the keys of their
    // records (row by row, to find the parents whose rows changed), and their parents still
    // unseen, all pending in the gathered commit.
    Checkpoint gathered_state;
    boost::json::array gathered_keys;
    boost::json::array gathered_pending;
    // The children of the last committed batch, fetched and not yet committed: they go into
    // the next batch's transaction, or alone before it when together they would pass
    // max_batch_rows. While they are owed, `children_checkpoint` is what they commit with
    // alone: the last committed checkpoint, with no parent pending.
    ChildRows child_rows;
    std::optional<std::string> children_checkpoint;
    /// Parents whose children were fetched in this run, by the fields the children read: a
    /// parent listed twice (overlapping partitions, a page read again) gets its children once.
    std::unordered_set<std::string> parents_done;
};

}  // namespace chatsync::connectors
