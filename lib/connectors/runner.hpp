#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "connectors/checkpoint.hpp"
#include "connectors/fetcher.hpp"
#include "connectors/pagination.hpp"
#include "connectors/spec.hpp"
#include "core/asio.hpp"
#include "core/redactor.hpp"
#include "core/run_outcome.hpp"
#include "core/table.hpp"
#include "sink/sink.hpp"

namespace chatsync::metrics {
class Metrics;
}  // namespace chatsync::metrics

namespace chatsync::connectors {

class ListingGuard;

/// Child rows fetched and not yet committed: one batch per child resource (in ChildrenOf
/// order), the rows they hold together, and the response bytes they came in.
struct ChildRows {
    std::vector<std::pair<const ResourceSpec*, RowBatch>> tables;
    std::size_t rows = 0;
    std::size_t bytes = 0;
};

/// What one run of a resource did.
struct RunReport {
    std::string source;
    std::string resource;
    /// kSuccess, kFailed, kCancelled, kLatched, kSkipped (another process runs it), kHeld (the
    /// source is held after an earlier refusal; nothing was sent), kNotDue (the resource's
    /// min_interval has not passed since its last call; nothing was sent).
    RunOutcome outcome = RunOutcome::kFailed;
    std::string error;
    /// ErrorKind() of the failure, for metrics ("bad_payload", "auth_failed"...).
    std::string error_kind;
    std::int64_t pages = 0;
    std::int64_t requests = 0;
    std::int64_t rows_written = 0;
    std::int64_t rows_unchanged = 0;
    std::int64_t rows_deleted = 0;
    /// The same per table: the resource's own first, then its children's (in ChildrenOf
    /// order), each named as the sink stores it. The totals above are their sums. Empty for a
    /// run that ended before it began (held, latched, skipped, not due).
    std::vector<sink::TableCounts> tables;
    /// The committed cursor after the run (canonical form), if the resource has one.
    std::string cursor;
    bool resumed = false;
    /// Times the listing was seen to move while read (see ListingGuard).
    std::int64_t shifts = 0;
    double seconds = 0;
};

/// Walks the resources of one source: builds each request from the spec, sends it through
/// the source's Fetcher, selects and flattens the records, and commits every page with its
/// checkpoint through the sink. Child resources run inside their parent's run, for the parent
/// rows each page inserted or changed.
///
/// @par Thread Safety
/// Use from one executor. Different resources of a source may run concurrently; the same
/// resource must not (the scheduler guarantees it).
///
/// @par Stopping
/// RequestStop() makes runs end after the page in progress commits, and wakes their waits.
class SourceRunner final {
public:
    SourceRunner(
        Executor executor,
        SourceSettings settings,
        sink::Sink& sink,
        metrics::Metrics& metrics,
        const Redactor& redactor
    );
    ~SourceRunner();

    SourceRunner(const SourceRunner&) = delete;
    SourceRunner& operator=(const SourceRunner&) = delete;

    /// Runs a top-level resource to completion (or failure). Never throws for expected
    /// failures; they are in the report.
    Task<RunReport> Run(std::string resource);

    void RequestStop();

    /// Keeps the source's rate budget and concurrency to a `replicas`-th share of its spec's,
    /// for one of several daemons that sync the source together; 1: the whole budget.
    void ShareBudget(std::uint32_t replicas) { fetcher_.ShareBudget(replicas); }

    const SourceSettings& settings() const noexcept { return settings_; }

    /// The hold in force on the source after a refusal, if any (see SourceSettings::hold).
    std::optional<Fetcher::Hold> CurrentHold() const { return fetcher_.CurrentHold(); }

private:
    struct RunContext;
    struct ChildFetch;
    struct ListingState;
    using Pages = std::deque<Result<FetchedPage>>;
    using Changed = Result<std::vector<std::size_t>>;

    /// How much response a gathered transaction holds at most (less when max_in_flight_bytes
    /// is smaller): about a thousand typical records. Past that a transaction's fixed cost is
    /// small next to its rows, and more would only hold more memory.
    static constexpr std::size_t kGatherBytes = std::size_t{1} << 20U;

    /// The page loop: reads the listing from run->checkpoint to its end, checking that it does
    /// not move under the reader, and commits each page with the checkpoint after it. `run`
    /// is not null and outlives the loop: the caller awaits it.
    Task<RunReport> ReadListing(RunContext* run);
    /// The template context of a page request.
    boost::json::object PageContext(const RunContext& run, const PagePosition& at) const;
    /// The position after a page: the pagination's, adjusted by the guard.
    std::optional<PagePosition> Following(
        const RunContext& run,
        const ListingGuard& guard,
        const PagePosition& at,
        const FetchedPage& page,
        const boost::json::value* found
    ) const;
    /// The checkpoint's stored form, which never holds a secret.
    std::string Encode(const Checkpoint& checkpoint) const;

    /// Writes records to the resource's table with the checkpoint, in transactions of at most
    /// max_batch_rows rows: the last stores `checkpoint`, earlier ones `resume_checkpoint`.
    /// Returns the indices of the records that were inserted or changed. `prepared`, when
    /// given, is the records already flattened (Preflatten). The pointers are not null and
    /// outlive the call (here and in the other writes below): the caller awaits it.
    Task<Changed> CommitRecords(
        RunContext* run,
        const ResourceSpec* resource,
        const boost::json::array* records,
        const boost::json::value* parent,
        std::string resume_checkpoint,
        std::string checkpoint,
        std::optional<RowBatch> prepared = std::nullopt
    );
    /// The first page read ahead, taken out of `ahead`, or else the page at `position`.
    Task<Result<FetchedPage>> FetchUnlessAhead(
        Pages* ahead,
        RunContext* run,
        const ResourceSpec* resource,
        boost::json::object context,
        PagePosition position
    );

    /// What WriteWhileReading reads: pages from `from`, one, or while they fit in
    /// `gather_bytes` of response and max_batch_rows rows.
    struct ReadAhead {
        PagePosition from;
        std::function<boost::json::object(const PagePosition&)> context;
        std::function<std::optional<
            PagePosition>(const PagePosition&, const FetchedPage&, const boost::json::value*)>
            following;
        std::size_t gather_bytes = 0;
    };

    /// Awaits `write` (a page's or gathered pages' commit) while the pages after it are
    /// fetched and flattened into `ahead`. The run's error, when both fail, is the write's.
    Task<Changed> WriteWhileReading(
        RunContext* run,
        const ResourceSpec* resource,
        Task<Changed> write,
        ReadAhead read,
        Pages* ahead
    );
    /// WriteWhileReading's write: awaits it and, when it fails, keeps in `*error` the run's
    /// error as the write left it, which a page read meanwhile may overwrite.
    static Task<Changed> AwaitWrite(Task<Changed> write, const RunContext* run, std::string* error);
    /// WriteWhileReading's reading: fetches the pages `read` describes and flattens them
    /// into `ahead`.
    Task<void>
    ReadAheadInto(RunContext* run, const ResourceSpec* resource, ReadAhead read, Pages* ahead);
    /// Writes flattened rows of `resource`, the rows of its children, and the checkpoint in
    /// one transaction. With `want_changed_rows`, returns the indices of the rows of
    /// `resource` inserted or changed.
    Task<Changed> CommitRows(
        RunContext* run,
        const ResourceSpec* resource,
        RowBatch rows,
        std::string checkpoint,
        bool want_changed_rows = false,
        ChildRows children = {}
    );
    /// Before a run fails: writes what was read before the failure and not yet written (the
    /// rows gathered from the pages before it, the children fetched) with `checkpoint`, so
    /// that the failure costs only what comes after. Keeps run.error.
    Task<void> FlushGathered(
        RunContext* run,
        const ResourceSpec* resource,
        RowBatch rows,
        ChildRows children,
        std::string checkpoint
    );
    /// Flattens a page's records into FetchedPage::rows ahead of their write, when they will
    /// be written as they are in one transaction.
    void Preflatten(FetchedPage& fetched, const ResourceSpec& resource) const;
    /// Fetches the children of `parents` into `rows`: several parents' listings at once (as
    /// many as the source's concurrency; its budget bounds the requests in flight), each one
    /// page by page. Before the rows would pass max_batch_rows rows or the gathered response
    /// bytes, they are committed with `checkpoint`, its pending list then holding the parents
    /// not yet done, so that memory stays bounded however many children a parent has. What
    /// is left in `rows` at the end is for the caller to commit, with no parent of `parents`
    /// pending any more. On failure, the rows fetched are committed the same way first. `run`
    /// and `rows` are not null and outlive the call: the caller awaits it.
    Task<Result<void>> FetchChildren(
        RunContext* run,
        boost::json::array parents,
        Checkpoint checkpoint,
        ChildRows* rows
    );
    /// One of FetchChildren's workers: takes the next parent and fetches its children, until
    /// none is left or a worker failed. `run` and `fetch` (not null) are FetchChildren's, which
    /// outlive the worker: it awaits them all.
    Task<void> FetchChildrenOf(RunContext* run, ChildFetch* fetch);
    /// Adds one child page's records to the gathered rows, committing them first (in parts)
    /// when they would not fit. The pointers are not null and are the caller's, which awaits
    /// the result.
    Task<Result<void>> GatherChildPage(
        RunContext* run,
        ChildFetch* fetch,
        std::size_t child,
        const boost::json::array* records,
        const boost::json::value* parent,
        std::size_t bytes
    );
    /// Commits the gathered child rows with the pending parents not yet done. One commit at a
    /// time: a worker that finds one in progress waits for it, and returns without committing.
    /// `run` and `fetch` are not null, and outlive the call.
    Task<Result<void>> FlushChildren(RunContext* run, ChildFetch* fetch);
    /// For a parent resource's listing, the parents of `parents` whose children were not
    /// fetched yet in this run; with `mark`, the ones returned are recorded as fetched.
    boost::json::array
    UnseenParents(ListingState& state, const boost::json::array& parents, bool mark) const;
    /// Commits the children owed alone, with the checkpoint they are owed under. The pointers
    /// (here and in the page loop's other steps) are ReadListing's, not null, and outlive the
    /// step: ReadListing awaits it.
    Task<Result<void>> CommitOwedChildren(RunContext* run, ListingState* state);
    /// Commits the children owed alone when `rows` rows, to be committed with them, leave no
    /// room for them in one transaction.
    Task<Result<void>> MakeRoom(RunContext* run, ListingState* state, std::size_t rows);
    /// Fetches the children of the parents of a committed batch (`keys`, one per row; those
    /// inserted or changed, `changed`, unless some child wants all) into state->child_rows.
    /// `committed` is the checkpoint the batch committed with.
    Task<Result<void>> FetchBatchChildren(
        RunContext* run,
        ListingState* state,
        boost::json::array keys,
        std::vector<std::size_t> changed,
        Checkpoint committed
    );
    /// Commits the gathered pages, with the children of the batch before (and reading ahead
    /// meanwhile when `read` is given), then fetches their own children.
    Task<Result<void>>
    CommitGathered(RunContext* run, ListingState* state, std::optional<ReadAhead> read);
    /// For a resource without children: starts writing the gathered pages and returns at
    /// once, so that the page loop reads and prepares the next batch meanwhile. The batch
    /// before must have been awaited (AwaitWriting). Rows and checkpoint are taken now.
    void StartWriting(RunContext* run, ListingState* state);
    /// Waits for the write StartWriting began, if any. Its failure is the run's error, and
    /// drops the pages gathered since (their checkpoint would skip the lost ones).
    Task<Result<void>> AwaitWriting(RunContext* run, ListingState* state);
    /// Ends the run as failed or cancelled (for the write in flight, if that failed), writing
    /// the pages gathered before the failure.
    Task<RunReport> FailListing(
        RunContext* run,
        ListingState* state,
        boost::system::error_code ec,
        RunOutcome outcome
    );
    /// Sets chatsync_status_value from the record a scalar resource read.
    void ExportScalar(const ResourceSpec& resource, const boost::json::array& records);
    /// For changes_only resources: drops the record when it equals the last change written,
    /// else stamps it with `changed_at` and notes it in the checkpoint.
    void KeepOnlyAChange(RunContext& run, boost::json::array& records);
    /// Ends a run: the run log, the state (cursor promoted on success) and the metrics. `run`
    /// is not null and outlives the call (also for RecordAndAbort): the caller awaits it.
    Task<RunReport> Finish(RunContext* run, RunOutcome outcome);
    /// Ends a run that never started in the run log (database or latch refused it).
    RunReport Abort(RunContext& run);
    /// Ends a run that a hold, a latch or another process's run lock stopped before it began:
    /// recorded with Sink::RecordRun (no run lock taken or released), then as Abort.
    Task<RunReport> RecordAndAbort(RunContext* run);

    Executor executor_;
    SourceSettings settings_;
    sink::Sink& sink_;
    metrics::Metrics& metrics_;
    const Redactor& redactor_;
    Fetcher fetcher_;
    /// The config's secret values, kept out of checkpoints.
    SecretTemplates secrets_;
};

}  // namespace chatsync::connectors
