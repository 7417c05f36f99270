#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/result.hpp"
#include "core/run_outcome.hpp"
#include "core/table.hpp"

/// @file
/// The interface through which the connectors write. It never names PostgreSQL; PgSink
/// (pg_sink.hpp) is the implementation, and tests may use fakes.

namespace chatsync::sink {

using TimePoint = std::chrono::system_clock::time_point;

/// A synced table as PostgreSQL names it: the source's schema and the resource's table, each
/// already made an identifier (shortened when too long), unquoted.
struct TableName {
    std::string schema;
    std::string table;

    /// `schema.table`, as reports print it.
    std::string Display() const { return schema + "." + table; }

    bool operator==(const TableName&) const = default;
};

/// What one run did to one table: rows inserted or changed, rows already as read, rows the
/// run's soft-delete sweep marked deleted.
struct TableCounts {
    TableName name;
    std::int64_t written = 0;
    std::int64_t unchanged = 0;
    std::int64_t deleted = 0;

    bool operator==(const TableCounts&) const = default;
};

/// The entry of `tables` for `name`, appended with zero counts when there is none, so that
/// tables keep the order in which they were first named.
TableCounts& CountsFor(std::vector<TableCounts>& tables, const TableName& name);

/// What the daemon remembers about one resource between runs.
struct ResourceState {
    std::string source;
    std::string resource;
    /// The committed high-water mark of the incremental cursor, in canonical form
    /// (ISO-8601 UTC for times, decimal for numbers). Advanced only when a run completes.
    std::optional<std::string> cursor;
    /// JSON written by the runner with every page: where an unfinished run stands (page
    /// position, cursor window, pending children). Null when no run is in progress.
    std::optional<std::string> checkpoint;
    /// The run that wrote `checkpoint`.
    std::optional<std::string> run_id;
    std::optional<TimePoint> last_run_at;
    std::optional<TimePoint> last_success_at;
    std::optional<TimePoint> next_run_at;
    /// How the last run ended: success, failed, interrupted, cancelled, held or latched
    /// (RecordRun); nullopt before the first run.
    std::optional<RunOutcome> last_outcome;
    /// The last failure's message, already redacted.
    std::string last_error;
    std::int64_t last_rows_written = 0;
    std::int64_t last_rows_unchanged = 0;
    /// The last run's figures per table, the resource's own first and its children's after
    /// (RunEnd::tables with the sweeps' deletions); empty for a run that wrote to no table
    /// (held, latched, failed before its start) and before migration 0007.
    std::vector<TableCounts> last_tables;
    /// The replica that ran the last run (`chatsync.runs.replica`: the configured replica
    /// name, or "host:pid"); empty before the first run.
    std::string replica;
};

/// Rows for one table, written within a PageCommit.
struct TableWrite {
    /// The table's name before it is made a safe identifier (the resource's name).
    std::string table;
    /// Column paths (ColumnDef::path) that form the primary key, in order.
    std::vector<std::string> key_paths;
    RowBatch rows;
    /// For resources listed in full: the table has `_chatsync_deleted_at`, and the keys written
    /// are remembered under this pass id so that FinishRun can soft-delete what a complete pass
    /// no longer saw.
    std::optional<std::string> seen_pass;
    /// The pass began with the table empty (Sink::EmptyTables), so every row in it is the
    /// pass's own or newer: there is nothing for its sweep to find, and the keys written are
    /// not remembered.
    bool pass_began_empty = false;
    /// Whether to report which rows were inserted or changed (WriteResult::changed_rows).
    bool want_changed_rows = false;
};

/// One atomic unit: rows for one or more tables plus the resource's checkpoint. Either all of
/// it commits or none of it does.
struct PageCommit {
    /// The PostgreSQL schema, named after the source.
    std::string schema;
    std::string source;
    std::string resource;
    std::string run_id;
    std::vector<TableWrite> tables;
    /// Stored as ResourceState::checkpoint in the same transaction.
    std::string checkpoint;
};

/// A column converted to the type the spec declares for it (ALTER COLUMN ... TYPE).
struct ConvertedColumn {
    std::string column;
    /// SQL type names before and after.
    std::string from;
    std::string to;
};

struct TableResult {
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t unchanged = 0;
    /// Indices into TableWrite::rows of the rows that were inserted or updated (only when
    /// want_changed_rows). Duplicate keys in a batch count once, for their last occurrence.
    std::vector<std::size_t> changed_rows;
    /// Columns this commit converted to their declared types (logged by the caller).
    std::vector<ConvertedColumn> converted;
};

struct WriteResult {
    /// One entry per TableWrite, in the same order.
    std::vector<TableResult> tables;
};

/// A soft-delete sweep to run when a complete pass over a listed-in-full resource ends.
struct Sweep {
    std::string table;
    std::string seen_pass;
};

/// How a run ended, written to the run log and the state row together.
struct RunEnd {
    std::string source;
    std::string resource;
    std::string run_id;
    /// FinishRun: kSuccess, kFailed or kCancelled. RecordRun: kHeld, kLatched or kSkipped.
    RunOutcome outcome = RunOutcome::kFailed;
    std::int64_t pages = 0;
    std::int64_t rows_written = 0;
    std::int64_t rows_unchanged = 0;
    /// FinishRun: the run's figures per table. The sink adds what the sweeps delete and
    /// stores them as ResourceState::last_tables.
    std::vector<TableCounts> tables;
    /// Redacted failure message; empty on success.
    std::string error;
    /// On success: the new committed cursor (nullopt keeps the old one). The checkpoint is
    /// cleared on success and kept on failure, so the next run resumes where this one stopped.
    std::optional<std::string> cursor;
    std::optional<TimePoint> next_run_at;
    /// Soft-delete sweeps, run only on success.
    std::string schema;
    std::vector<Sweep> sweeps;
};

struct FinishResult {
    /// Rows newly marked deleted by the sweeps.
    std::int64_t rows_deleted = 0;
    /// The same per swept table (only `deleted` set), in the order of RunEnd::sweeps.
    std::vector<TableCounts> swept;
};

/// A latch stops all traffic of a source until an operator clears it (Mesibo TOKENBREACH).
struct Latch {
    std::string source;
    std::string reason;
    TimePoint set_at;
    std::string set_by;
};

/// The answer to ClaimEgress.
struct EgressClaim {
    bool refused = false;
    /// The addresses used before, other than the claimed one, most recent first.
    std::vector<std::string> others;
    /// The address of the source's previous run ("" when there was none).
    std::string previous;
};

/// The answer to Sink::ClaimInterval(): whether a resource with a minimum interval goes ahead.
struct IntervalClaim {
    /// True: the run goes ahead, and its start is now the resource's last call.
    bool due = true;
    /// When the last run that went ahead started, when it is known and not this one.
    std::optional<std::chrono::system_clock::time_point> last;
};

/// A column of a table that event intake writes. Unlike synced resources, these tables have
/// a fixed layout, declared by the strategy that maps the events (JivoChat's, for example).
struct EventColumn {
    std::string name;
    /// The SQL type: text, bigint, integer, smallint, boolean, double precision, timestamptz
    /// or jsonb.
    std::string type;
};

/// What an upsert does to a row that exists already.
enum class MergePolicy {
    /// The stored row stays as it is (the key says everything, as for a call's status).
    kKeepFirst,
    /// A value of the new row replaces the stored one unless it is null.
    kCoalesce,
    /// Rows carry a rank (EventTable::rank_column, smallint): a non-null value from a row of
    /// equal or higher rank replaces the stored one; from a lower rank it only fills a stored
    /// null; the stored rank becomes the greater. The final row then does not depend on the
    /// order in which its events arrived as long as the highest-ranked event carries every
    /// value that lower-ranked ones disagree on; between events of equal rank the later one
    /// wins. (A row keeps one rank, not one per column: a value two lower ranks disagree on,
    /// and the highest leaves null, can depend on the order.)
    kRanked,
};

/// A table in the source's schema that event intake upserts into.
struct EventTable {
    std::string name;
    /// Besides these, every table gets `_chatsync_synced_at timestamptz`: when the latest
    /// event that changed the row was received.
    std::vector<EventColumn> columns;
    /// Column names of the primary key.
    std::vector<std::string> key;
    MergePolicy merge = MergePolicy::kCoalesce;
    std::string rank_column;
};

/// One row derived from an event.
struct EventRow {
    std::string table;
    /// Column name -> value as text in PostgreSQL's input syntax for the column's type
    /// (JSON text for jsonb, ISO-8601 for timestamptz); nullopt is NULL. Columns left out
    /// are NULL, which under kCoalesce and kRanked means "keep the stored value".
    std::vector<std::pair<std::string, std::optional<std::string>>> values;
};

/// One received webhook body.
struct InboundEvent {
    std::string source;
    /// Unique per source for identical bodies (a digest of the body): a replay has the same
    /// key and is stored once.
    std::string event_key;
    TimePoint received_at;
    /// Which URL it came in through: "webhook" or "chat_api".
    std::string channel;
    /// The event's name and, for CRM webhooks, its category; empty when unknown.
    std::string event_name;
    std::string event_type;
    /// The body exactly as received.
    std::string body;
    /// False when the body is not JSON: it is stored raw and flagged, without derived rows.
    bool valid_json = true;
    /// Rows for the source's event tables (schema = source), written only when the event is
    /// new, in the same transaction as the event itself.
    std::vector<EventRow> rows;
};

struct EventResult {
    enum class Outcome {
        /// Stored with its derived rows.
        kStored,
        /// An identical body was stored before: nothing written.
        kDuplicate,
        /// Stored, but its derived rows could not be written (the database refused a value):
        /// the event is kept with the error, and nothing else of its batch is affected.
        kStoredWithoutRows,
    } outcome = Outcome::kStored;
    /// For kStoredWithoutRows: why, redacted.
    std::string error;
};

/// A webhook event as `chatsync.webhook_events` keeps it, read back to derive its rows again.
struct StoredEvent {
    std::string event_key;
    TimePoint received_at;
    /// "webhook" or "chat_api".
    std::string channel;
    /// The body exactly as received when it was stored as JSON; nullopt when only its bytes
    /// were kept (a body that is not JSON, or one the database refused as JSON).
    std::optional<std::string> body;
    bool malformed = false;
    /// Why its rows were not written, when that was recorded; empty otherwise.
    std::string derive_error;
};

/// What RederiveEvents did with one event.
struct RederiveResult {
    /// Why its rows are still not written (redacted); empty when they are.
    std::string error;
    /// Rows inserted or changed by its upserts (0 when they were already as derived).
    std::int64_t rows_written = 0;
    /// Whether its derive_error changed (cleared, or set to `error`).
    bool error_changed = false;
};

/// Where received webhook events go: all that the webhook listener needs of storage.
///
/// @par Thread Safety
/// As Sink: awaited from the daemon's I/O executor, several calls in flight at once.
class EventSink {
public:
    virtual ~EventSink() = default;

    /// Stores a batch of events durably and idempotently, with their derived rows: when it
    /// returns a value, everything in it has been committed (one transaction for the whole
    /// batch, so that many events share one commit). Results are in the order of `events`.
    /// A failure (the database is unreachable, the commit is in doubt) means that none of
    /// them may be acknowledged: they are to be sent again, and a replay is stored once.
    ///
    /// Calls may overlap. A batch writes only once the batch of the call before has written
    /// its rows, so that a table row both touch takes the earlier batch's values first; the
    /// later batch's writes and the earlier one's commit then proceed together. `written`,
    /// when set, is called once, from any thread, at that point (or when the call ends
    /// without writing): a batch stored after it applies after this one. It must not throw.
    virtual Task<Result<std::vector<EventResult>>>
    StoreEvents(std::vector<InboundEvent> events, std::function<void()> written) = 0;
};

/// Storage of synced rows, resource state, the run log and latches, and of received events.
///
/// A failed call returns an Error whose message explains that failure (already redacted),
/// for the one log line or run-log entry its caller writes.
///
/// @par Thread Safety
/// Methods are coroutines to be awaited from the daemon's I/O executor; implementations run
/// blocking work elsewhere and resume the caller on its own executor. Several calls may be
/// in flight at once.
class Sink : public EventSink {
public:
    /// The name under which the table of `resource` in `schema` is stored. The default keeps
    /// both as given; PgSink shortens them as its tables are named.
    virtual TableName NameOf(const std::string& schema, const std::string& resource) const {
        return {schema, resource};
    }

    /// Reads a resource's state; a resource never run has a default state.
    virtual Task<Result<ResourceState>> LoadState(std::string source, std::string resource) = 0;

    /// All known resource states, for `chatsyncd status`.
    virtual Task<Result<std::vector<ResourceState>>> ListStates() = 0;

    /// Starts a run in the run log and returns its id. A resource runs in one process at a
    /// time: while another process runs it, this fails with Errc::kResourceBusy and touches
    /// nothing. Runs of the same resource still marked running (their process died) are
    /// marked "interrupted". Every successful BeginRun is to be followed by FinishRun, which
    /// lets other processes run the resource again, whatever its outcome.
    virtual Task<Result<std::string>> BeginRun(std::string source, std::string resource) = 0;

    /// For each of `tables`, whether it holds no row (a table not created yet holds none).
    /// Sinks that cannot tell answer false for each, which is always safe.
    virtual Task<Result<std::vector<bool>>> EmptyTables(std::vector<TableName> tables) {
        co_return std::vector<bool>(tables.size(), false);
    }

    /// Writes the page's rows (creating and evolving tables) and the checkpoint atomically.
    virtual Task<Result<WriteResult>> CommitPage(PageCommit page) = 0;

    /// Ends a run: run log, state (cursor, checkpoint, outcome, next run) and sweeps, atomically.
    virtual Task<Result<FinishResult>> FinishRun(RunEnd end) = 0;

    /// Records a run that ended before it began, without a BeginRun: "held" or "latched"
    /// (the source may send nothing) goes to the run log and the resource's state (outcome,
    /// error, next run; cursor and checkpoint stay); "skipped" (another process is running
    /// the resource) goes to the run log only, since the state belongs to that run. Takes no
    /// run lock and releases none. Sinks without a run log record nothing.
    virtual Task<Result<void>> RecordRun(RunEnd end) {
        (void)end;
        co_return Result<void>{};
    }

    /// Forgets cursor and checkpoint, so the next run is a full re-sync. An empty `resource`
    /// resets every resource of the source. Returns how many resources were reset.
    virtual Task<Result<std::int64_t>> ResetState(std::string source, std::string resource) = 0;

    virtual Task<Result<std::optional<Latch>>> GetLatch(std::string source) = 0;

    virtual Task<Result<void>> SetLatch(Latch latch) = 0;

    /// Returns whether a latch was cleared.
    virtual Task<Result<bool>> ClearLatch(std::string source) = 0;

    /// Records that run `run_id` of `source` sends from `address` on this host, unless the
    /// source has already used `max_addresses` other addresses: then the address is not
    /// added to the source's list and the answer says refused (the run still records what it
    /// would have used). Atomic across processes. Sinks without such a store accept all.
    virtual Task<Result<EgressClaim>> ClaimEgress(
        std::string source,
        std::string address,
        std::uint32_t max_addresses,
        std::string run_id
    ) {
        (void)source;
        (void)address;
        (void)max_addresses;
        (void)run_id;
        co_return EgressClaim{};
    }

    /// For a resource that the API lets call at most once per `min_interval`: when its last
    /// call started at least that long ago (or never), records now as its last call and
    /// answers due; otherwise answers not due, with the last call's time. Atomic across
    /// processes. Sinks without such a store answer due.
    virtual Task<Result<IntervalClaim>>
    ClaimInterval(std::string source, std::string resource, Millis min_interval) {
        (void)source;
        (void)resource;
        (void)min_interval;
        co_return IntervalClaim{};
    }

    /// Forgets the addresses a source has used (after an operator dealt with a breach).
    virtual Task<Result<std::int64_t>> ForgetEgress(std::string source) {
        (void)source;
        co_return std::int64_t{0};
    }

    /// Creates the schema and the event tables of a source receiving events, and adds the
    /// columns a table lacks. Idempotent.
    virtual Task<Result<void>>
    PrepareEventTables(std::string schema, std::vector<EventTable> tables) {
        (void)schema;
        (void)tables;
        co_return Result<void>{};
    }

    /// Sinks without event intake refuse every batch.
    Task<Result<std::vector<EventResult>>>
    StoreEvents(std::vector<InboundEvent> events, std::function<void()> written) override {
        (void)events;
        if (written) {
            written();
        }
        co_return Errc::kSinkPermanent;
    }

    /// Up to `limit` stored events of `source` in the order they were received, starting
    /// after the event keyed `after` (from the first when nullopt), received at or after
    /// `since` when given. An empty answer means there are no more.
    virtual Task<Result<std::vector<StoredEvent>>> ReadEvents(
        std::string source,
        std::optional<TimePoint> since,
        std::optional<std::string> after,
        std::size_t limit
    ) {
        (void)source;
        (void)since;
        (void)after;
        (void)limit;
        co_return std::vector<StoredEvent>{};
    }

    /// Writes the rows derived again from stored events (source, event_key, received_at and
    /// rows of each; the body is not written), in the order given, with the upserts of
    /// StoreEvents, except that an event received before the row's `_chatsync_synced_at`
    /// only fills what the row lacks (and, for ranked tables, only replaces values from a
    /// lower rank): replaying an old event never undoes a newer one. An event whose rows the
    /// database refuses is left without them; each event's derive_error is then cleared or
    /// set to why, and written only when it changes. One transaction for the whole call; a
    /// failure means nothing of it was committed.
    virtual Task<Result<std::vector<RederiveResult>>> RederiveEvents(
        std::vector<InboundEvent> events
    ) {
        (void)events;
        co_return Errc::kSinkPermanent;
    }

    /// Checks that the database answers (for /readyz).
    virtual Task<Result<void>> Ping() = 0;
};

}  // namespace chatsync::sink
