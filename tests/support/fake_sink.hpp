#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "sink/sink.hpp"

/// @file
/// An in-memory Sink, so that the runner's rules can be tested without PostgreSQL.

namespace chatsync::test {

/// Keeps tables, resource states, the run log, latches and egress addresses in memory, with
/// the semantics of PgSink where the runner can observe them:
/// - a table per (schema, table), keyed by the primary key (TableWrite::key_paths, mapped to
///   the batch's column names); CommitPage upserts like PgSink: a row whose values equal the
///   stored ones (and that is not soft-deleted) is unchanged and not rewritten, duplicate keys
///   in a batch count once for their last occurrence, and a column that is NULL throughout a
///   batch and unknown to the table is left out;
/// - the keys a page writes under TableWrite::seen_pass (unless the pass began empty), and
///   the checkpoint, commit with its rows or not at all; EmptyTables answers from the tables;
/// - FinishRun promotes the cursor and clears the checkpoint on success, keeps both otherwise,
///   and runs the sweeps that soft-delete what a complete pass did not see;
/// - BeginRun marks runs of the resource still "running" as "interrupted".
///
/// Values are compared as the text the batch carries (Value::text), where PostgreSQL compares
/// them as values of the column's type: "1.50" and "1.5" differ here. Column names are the
/// batch's (ColumnDef::name), not shortened to 63 bytes. Event intake (PrepareEventTables,
/// StoreEvents) keeps the Sink defaults.
///
/// Test hooks make commits fail (FailCommits), make a resource look busy in another process
/// (SetBusyElsewhere) or the database unreachable (SetUnreachable), and expose what was stored
/// (FindTable, State, Commits, Runs).
///
/// @par Thread Safety
/// Not synchronised. Every call completes without suspending, so it runs on the caller's
/// executor; use the sink and its accessors from that one thread.
class FakeSink final : public sink::Sink {
public:
    /// Primary key values of a row, as text, in key order.
    using Key = std::vector<std::string>;

    /// A stored row.
    struct Row {
        /// Column name -> value as text; NULLs are left out.
        std::map<std::string, std::string> values;
        /// `_chatsync_run_id`: the run that last inserted or changed the row.
        std::string run_id;
        /// `_chatsync_deleted_at` is set.
        bool deleted = false;
        /// How often the row was written (inserted, then each update): an unchanged row is
        /// not rewritten, so this says which rows a run really touched.
        std::int64_t writes = 0;
    };

    struct Table {
        /// Column names of the primary key, from the write that created the table.
        std::vector<std::string> key_columns;
        /// Every column the table has (typed columns written so far), key columns included.
        std::set<std::string> columns;
        /// The table has `_chatsync_deleted_at` (it was written with a seen pass).
        bool has_deleted_at = false;
        std::map<Key, Row> rows;
    };

    /// One CommitPage call, whether it committed or not.
    struct CommitRecord {
        std::string schema;
        std::string source;
        std::string resource;
        std::string run_id;
        /// (table, rows in the batch) for each TableWrite, in order.
        std::vector<std::pair<std::string, std::size_t>> rows;
        std::string checkpoint;
        /// Whether it committed; a failed commit kept nothing.
        bool committed = false;
    };

    /// One run in the run log.
    struct RunRecord {
        std::string run_id;
        std::string source;
        std::string resource;
        /// "running" until FinishRun; "interrupted" when a later BeginRun found it running.
        RunOutcome outcome = RunOutcome::kRunning;
        std::int64_t pages = 0;
        std::int64_t rows_written = 0;
        std::int64_t rows_unchanged = 0;
        std::int64_t rows_deleted = 0;
        std::string error;
        /// The cursor FinishRun was given.
        std::optional<std::string> cursor;
    };

    /// Which CommitPage calls fail (see FailCommits).
    struct CommitFault {
        /// For `count`: every commit from the first failing one on.
        static constexpr std::size_t kEvery = std::numeric_limits<std::size_t>::max();

        /// Commits that still succeed before the first failing one (0: the next one fails).
        std::size_t after = 0;
        /// How many consecutive commits fail; kEvery for all of them until ClearFaults().
        std::size_t count = 1;
        Errc code = Errc::kSinkTransient;
    };

    FakeSink() = default;

    // --- Test hooks.

    /// Makes CommitPage calls fail as `fault` says, counting from the next call. A failing
    /// commit keeps nothing (no rows, no seen keys, no checkpoint), as when the process died
    /// or the transaction was rolled back; it is still logged in Commits() with committed
    /// false. Replaces an earlier fault.
    void FailCommits(CommitFault fault);

    /// Makes BeginRun of this resource fail with Errc::kResourceBusy, as when another process
    /// holds its run lock, until called again with `busy` false.
    void SetBusyElsewhere(const std::string& source, const std::string& resource, bool busy);

    /// While set, every call fails with Errc::kSinkTransient and changes nothing.
    void SetUnreachable(bool unreachable);

    /// Ends FailCommits and SetUnreachable (not SetBusyElsewhere).
    void ClearFaults();

    // --- What was stored.

    /// The table, or nullptr when nothing was committed to it.
    const Table* FindTable(const std::string& schema, const std::string& table) const;

    /// The resource's state, or nullopt when it has none (never run, never written).
    std::optional<sink::ResourceState> State(const std::string& source, const std::string& resource)
        const;

    /// Every CommitPage call, in order.
    const std::vector<CommitRecord>& Commits() const noexcept { return commits_; }

    /// The run log, in the order runs began.
    const std::vector<RunRecord>& Runs() const noexcept { return runs_; }

    // --- sink::Sink.

    Task<Result<sink::ResourceState>> LoadState(std::string source, std::string resource) override;
    Task<Result<std::vector<sink::ResourceState>>> ListStates() override;
    Task<Result<std::string>> BeginRun(std::string source, std::string resource) override;
    Task<Result<std::vector<bool>>> EmptyTables(std::vector<sink::TableName> tables) override;
    Task<Result<sink::WriteResult>> CommitPage(sink::PageCommit page) override;
    Task<Result<sink::FinishResult>> FinishRun(sink::RunEnd end) override;
    Task<Result<void>> RecordRun(sink::RunEnd end) override;
    Task<Result<std::int64_t>> ResetState(std::string source, std::string resource) override;
    Task<Result<std::optional<sink::Latch>>> GetLatch(std::string source) override;
    Task<Result<void>> SetLatch(sink::Latch latch) override;
    Task<Result<bool>> ClearLatch(std::string source) override;
    Task<Result<sink::EgressClaim>> ClaimEgress(
        std::string source,
        std::string address,
        std::uint32_t max_addresses,
        std::string run_id
    ) override;
    Task<Result<std::int64_t>> ForgetEgress(std::string source) override;
    Task<Result<sink::IntervalClaim>>
    ClaimInterval(std::string source, std::string resource, Millis min_interval) override;
    Task<Result<void>> Ping() override;

private:
    using StateKey = std::pair<std::string, std::string>;
    using TableKey = std::pair<std::string, std::string>;

    /// Keys seen by a pass, by (pass id, schema, table).
    using SeenKey = std::tuple<std::string, std::string, std::string>;

    /// The error with `code` and `message`, for `return Fail(...)` in the calls.
    static Error Fail(Errc code, std::string message);
    /// The error of the call named `operation` when the database is unreachable.
    std::optional<Error> Unreachable(const std::string& operation) const;
    /// Whether the next CommitPage is to fail; counts it.
    std::optional<Errc> TakeCommitFault();
    /// The state row, created as an upsert would.
    sink::ResourceState& StateRow(const std::string& source, const std::string& resource);
    Result<sink::WriteResult> Commit(const sink::PageCommit& page);

    std::map<TableKey, Table> tables_;
    std::map<StateKey, sink::ResourceState> states_;
    std::map<SeenKey, std::set<Key>> seen_;
    std::vector<CommitRecord> commits_;
    std::vector<RunRecord> runs_;
    std::map<std::string, sink::Latch> latches_;
    /// Per source: address -> when it was last claimed (a counter), for "most recent first".
    std::map<std::string, std::map<std::string, std::uint64_t>> egress_;
    std::uint64_t egress_clock_ = 0;
    /// Each resource's last call, for ClaimInterval().
    std::map<StateKey, std::chrono::system_clock::time_point> last_calls_;
    std::set<StateKey> busy_elsewhere_;
    std::optional<CommitFault> commit_fault_;
    /// CommitPage calls since FailCommits.
    std::size_t commits_since_fault_ = 0;
    bool unreachable_ = false;
    std::uint64_t next_run_ = 1;
};

}  // namespace chatsync::test
