#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/duration.hpp"
#include "core/redactor.hpp"
#include "sink/sink.hpp"

namespace chatsync::sink {

/// The answer to PgSink::ClaimRun().
struct RunClaim {
    /// True: this replica runs the resource now, and its next run is one interval away.
    bool claimed = false;
    /// When not claimed: how long until the resource is due (0 when it is due again already).
    Millis due_in{0};
};

/// The PostgreSQL implementation of Sink.
///
/// Tables: one schema per source, one table per resource; columns from the rows' paths, made
/// safe identifiers (63 bytes, collisions resolved deterministically, the source path kept as
/// the column comment); types evolve by Widen(). Pages go through COPY into a temporary
/// staging table and one `INSERT .. ON CONFLICT DO UPDATE .. WHERE .. IS DISTINCT FROM ..`,
/// so unchanged rows are neither rewritten nor locked. The daemon's own tables live in the
/// state schema (`chatsync` by default) and come from the migrations under deploy/sql/
/// (compiled in).
///
/// Writes to one table take a transaction-scoped advisory lock, so DDL on a table never races
/// another connection's write to it; pages for different tables commit in parallel. Event
/// intake takes it shared, so that batches of events write at once.
///
/// Event intake (StoreEvents) writes each batch in one transaction: one multi-row insert into
/// the state schema's `webhook_events` (`ON CONFLICT DO NOTHING`, so a replay is stored once),
/// then the new events' rows, merged where a table's merge policy allows, with each table's
/// prepared upsert (one array per column), all in one round trip. A batch writes once the one
/// before it has written, and commits while the next one writes. When the database refuses
/// something of the batch for good (a value, a body), the batch is redone under savepoints,
/// halved until the events at fault are found; only they lose their rows (their bytes are
/// kept, with `derive_error`).
///
/// A run holds a session-level advisory lock on its resource from BeginRun to FinishRun, keyed
/// by a hash of "<state_schema>/<source>/<resource>" and kept on one extra connection (opened
/// by the first BeginRun), so that two daemons on one database never run the same resource at
/// once; a daemon that dies loses its session and so its locks. If that connection breaks,
/// the runs in progress finish without their locks, and the next BeginRun opens a new one.
///
/// The class is a facade: each call goes through one generic dispatch to the blocking pool
/// (detail/pool.hpp), which runs a method of the unit that owns the work: the run log and
/// resource state (detail/run_log.hpp), the run locks (detail/run_lock.hpp), the page writer
/// (detail/page_writer.hpp), latches, egress and intervals (detail/guards.hpp), event intake
/// (detail/event_store.hpp) and migrations (detail/migrator.hpp). Failures are translated at
/// the libpqxx boundary by detail/errors.hpp. The SQL lives in lib/sink/sql/, compiled in.
///
/// @par Thread Safety
/// Await its coroutines from the I/O executor; blocking libpqxx work runs on an internal pool
/// of `pool_size` threads, one connection each.
///
/// Options:
/// | option | default | meaning |
/// | --- | --- | --- |
/// | dsn | (required) | libpq connection string or URI; it is a secret |
/// | pool_size | 2 | threads and connections (plus one for run locks) |
/// | statement_timeout | 60s | `SET statement_timeout` on every connection |
/// | connect_timeout | 10s | libpq connect_timeout (unless the DSN sets it) |
/// | state_schema | chatsync | schema of the daemon's own tables (migrations go there) |
/// | replica | "" | this daemon's replica name, recorded with every run |
///
/// Every connection also gets `application_name=chatsync` (unless the DSN sets one), TCP
/// keepalives and `TimeZone=UTC`. A broken connection is replaced on the next call.
///
/// Errors: kSinkTransient for failures that may pass (connection lost or refused,
/// serialization failure, deadlock, too many connections, statement timeout, commit in
/// doubt); kSinkPermanent otherwise; kResourceBusy from BeginRun when another process holds
/// the resource's run lock; kCancelled after Stop(). Each error's message explains it,
/// redacted: the DSN and its password never appear in it.
class PgSink final : public Sink {
public:
    struct Options {
        std::string dsn;
        std::size_t pool_size = 2;
        Millis statement_timeout = std::chrono::seconds(60);
        Millis connect_timeout = std::chrono::seconds(10);
        /// The schema for the daemon's own tables; created by Migrate() if missing.
        std::string state_schema = "chatsync";
        /// This daemon's replica name (`replica.name`), recorded in `runs.replica`.
        std::string replica;
    };

    /// Connects lazily; errors surface from the first call. `redactor` must outlive the sink.
    PgSink(const Options& options, const Redactor& redactor);
    ~PgSink() override;

    PgSink(const PgSink&) = delete;
    PgSink& operator=(const PgSink&) = delete;

    /// Applies the compiled-in migrations that the database lacks, under an advisory lock so
    /// that several daemons may start at once. Returns the schema version now in place.
    /// Fails with kSinkPermanent when the database is newer than this binary.
    Task<Result<int>> Migrate();

    /// Stops the pool after in-flight calls finish and closes the run-lock connection, which
    /// releases the run locks of unfinished runs. Called by the owner before destruction.
    void Stop();

    /// Each name made an identifier as CommitPage makes it (ShortIdentifier).
    TableName NameOf(const std::string& schema, const std::string& resource) const override;

    /// The rows of each table (an exact count(*), soft-deleted rows included: a scan of every
    /// table), in the order given; nullopt for a table that does not exist. For the reports of
    /// `status` and `once`.
    Task<Result<std::vector<std::optional<std::int64_t>>>> CountRows(std::vector<TableName> tables);

    Task<Result<ResourceState>> LoadState(std::string source, std::string resource) override;
    Task<Result<std::vector<ResourceState>>> ListStates() override;
    Task<Result<std::string>> BeginRun(std::string source, std::string resource) override;
    Task<Result<std::vector<bool>>> EmptyTables(std::vector<TableName> tables) override;
    Task<Result<WriteResult>> CommitPage(PageCommit page) override;
    Task<Result<FinishResult>> FinishRun(RunEnd end) override;
    Task<Result<void>> RecordRun(RunEnd end) override;
    Task<Result<std::int64_t>> ResetState(std::string source, std::string resource) override;
    Task<Result<std::optional<Latch>>> GetLatch(std::string source) override;
    Task<Result<void>> SetLatch(Latch latch) override;
    Task<Result<EgressClaim>> ClaimEgress(
        std::string source,
        std::string address,
        std::uint32_t max_addresses,
        std::string run_id
    ) override;
    Task<Result<std::int64_t>> ForgetEgress(std::string source) override;
    Task<Result<IntervalClaim>>
    ClaimInterval(std::string source, std::string resource, Millis min_interval) override;
    Task<Result<bool>> ClearLatch(std::string source) override;
    Task<Result<void>> PrepareEventTables(std::string schema, std::vector<EventTable> tables)
        override;
    Task<Result<std::vector<EventResult>>>
    StoreEvents(std::vector<InboundEvent> events, std::function<void()> written) override;
    Task<Result<std::vector<StoredEvent>>> ReadEvents(
        std::string source,
        std::optional<TimePoint> since,
        std::optional<std::string> after,
        std::size_t limit
    ) override;
    Task<Result<std::vector<RederiveResult>>> RederiveEvents(std::vector<InboundEvent> events
    ) override;
    Task<Result<void>> Ping() override;

    /// The shared schedule of several replicas: claims the resource's next run for this
    /// replica if it is due (never scheduled, or its `next_run_at` has passed), moving
    /// `next_run_at` one `interval` on so that no other replica claims it meanwhile; the run's
    /// end then sets it from the outcome, as for a single daemon. Atomic across replicas: of
    /// several claims at once, one wins. The run lock (BeginRun) still keeps two runs of a
    /// resource apart when a run outlasts its interval.
    Task<Result<RunClaim>> ClaimRun(std::string source, std::string resource, Millis interval);

    /// Renews this replica's row in `replicas` and returns how many replicas renewed theirs
    /// within `ttl` (at least 1: this one).
    Task<Result<std::uint32_t>> Heartbeat(Millis ttl);

    /// Removes this replica's row (a clean stop), so that the others count one less at once.
    Task<Result<void>> LeaveReplicas();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::sink
