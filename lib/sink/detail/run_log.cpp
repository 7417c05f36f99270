#include "sink/detail/run_log.hpp"

#include <unistd.h>

#include "sink/detail/event_sql.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_values.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink::detail {

RunLog::RunLog(
    const Redactor& redactor,
    RunLocks& locks,
    std::string seen_keys_table,
    std::string replica
)
    : redactor_(redactor)
    , locks_(locks)
    , seen_keys_table_(std::move(seen_keys_table))
    , replica_(std::move(replica)) {}

void RunLog::ReleaseRunLock(const std::string& source, const std::string& resource) noexcept {
    locks_.Release(source, resource);
}

ResourceState RunLog::LoadState(
    pqxx::connection& conn,
    const std::string& source,
    const std::string& resource
) const {
    pqxx::read_transaction tx(conn);
    const pqxx::result r = tx.exec_prepared("load_state", source, resource);
    if (r.empty()) {
        ResourceState s;
        s.source = source;
        s.resource = resource;
        return s;
    }
    return StateFromRow(r[0]);
}

std::vector<ResourceState> RunLog::ListStates(pqxx::connection& conn) const {
    pqxx::read_transaction tx(conn);
    std::vector<ResourceState> out;
    for (const auto& row : tx.exec_prepared("list_states")) {
        out.push_back(StateFromRow(row));
    }
    return out;
}

std::string
RunLog::BeginRun(pqxx::connection& conn, const std::string& source, const std::string& resource) {
    const bool took_lock = locks_.Acquire(source, resource);
    try {
        pqxx::work tx(conn);
        const pqxx::result interrupted = tx.exec_prepared("interrupt_runs", source, resource);
        const pqxx::row row = tx.exec_prepared1(
            "insert_run", source, resource, HostName(), static_cast<int>(getpid()), replica_
        );
        auto run_id = row[0].as<std::string>();
        tx.exec_prepared("state_run_started", source, resource, interrupted.affected_rows() > 0);
        tx.commit();
        return run_id;
    } catch (...) {
        // No run started, so no FinishRun will come to release it.
        if (took_lock) {
            locks_.Release(source, resource);
        }
        throw;
    }
}

void RunLog::RecordRun(pqxx::connection& conn, const RunEnd& end) const {
    const bool to_state = end.outcome == RunOutcome::kHeld || end.outcome == RunOutcome::kLatched;
    if (!to_state && end.outcome != RunOutcome::kSkipped) {
        throw SinkFailure(
            Errc::kSinkPermanent,
            "unknown outcome '" + std::string(OutcomeName(end.outcome)) +
                "' of a run that did not begin (held, "
                "latched or skipped)"
        );
    }
    const std::string outcome(OutcomeName(end.outcome));
    const std::string error = redactor_.Redact(end.error);
    pqxx::work tx(conn);
    tx.exec_prepared(
        "record_run",
        end.source,
        end.resource,
        outcome,
        error,
        HostName(),
        static_cast<int>(getpid()),
        replica_
    );
    if (to_state) {
        tx.exec_prepared(
            "record_run_state", end.source, end.resource, ToMicros(end.next_run_at), outcome, error
        );
    }
    tx.commit();
}

FinishResult RunLog::FinishRun(pqxx::connection& conn, const RunEnd& end) const {
    const bool success = end.outcome == RunOutcome::kSuccess;
    if (!success && end.outcome != RunOutcome::kFailed && end.outcome != RunOutcome::kCancelled) {
        throw SinkFailure(
            Errc::kSinkPermanent,
            "unknown run outcome '" + std::string(OutcomeName(end.outcome)) +
                "' (success, failed or cancelled)"
        );
    }
    const std::string outcome(OutcomeName(end.outcome));
    if (success && !end.sweeps.empty() && end.schema.empty()) {
        throw SinkFailure(Errc::kSinkPermanent, "the run end has sweeps but names no schema");
    }
    pqxx::work tx(conn);
    FinishResult result;
    if (success && !end.sweeps.empty()) {
        // A sweep compares every row with the pass's keys, written moments ago: the
        // statistics may not know them yet, and a nested loop planned for "few keys"
        // over a million would run for hours. A hash anti-join is right at every size.
        tx.exec("SET LOCAL enable_nestloop = off");
    }
    if (success) {
        const std::string schema = ShortIdentifier(end.schema, end.schema);
        for (const auto& sweep : end.sweeps) {
            const std::string qualified =
                QualifiedName(schema, ShortIdentifier(sweep.table, sweep.table));
            tx.exec_prepared("lock_key", AdvisoryLockKey("chatsync.table:" + qualified));
            bool has_deleted_at = false;
            for (const auto& c : ReadColumns(tx, qualified)) {
                has_deleted_at = has_deleted_at || c.name == kDeletedAtColumn;
            }
            // No such table (the pass wrote nothing) or not listed in full: nothing to
            // sweep, and nothing seen worth keeping.
            if (has_deleted_at) {
                std::vector<std::string> keys;
                for (const auto& row : tx.exec_prepared("primary_key_columns", qualified)) {
                    keys.push_back(row[0].as<std::string>());
                }
                if (!keys.empty()) {
                    const pqxx::result swept = tx.exec_params(
                        SweepSql(qualified, keys, seen_keys_table_), sweep.seen_pass, qualified
                    );
                    const auto deleted = static_cast<std::int64_t>(swept.affected_rows());
                    result.rows_deleted += deleted;
                    CountsFor(result.swept, {schema, ShortIdentifier(sweep.table, sweep.table)})
                        .deleted += deleted;
                }
            }
            tx.exec_prepared("delete_seen_keys", sweep.seen_pass, qualified);
        }
    }
    std::vector<TableCounts> tables = end.tables;
    for (const auto& swept : result.swept) {
        CountsFor(tables, swept.name).deleted += swept.deleted;
    }
    const std::string tables_json = TablesJson(tables);
    const std::string error = redactor_.Redact(end.error);
    tx.exec_prepared(
        "finish_run",
        end.run_id,
        end.source,
        end.resource,
        outcome,
        static_cast<long long>(end.pages),
        static_cast<long long>(end.rows_written),
        static_cast<long long>(end.rows_unchanged),
        static_cast<long long>(result.rows_deleted),
        error
    );
    if (success) {
        tx.exec_prepared(
            "finish_state_success",
            end.source,
            end.resource,
            end.cursor,
            NullIfEmpty(end.run_id),
            ToMicros(end.next_run_at),
            static_cast<long long>(end.rows_written),
            static_cast<long long>(end.rows_unchanged),
            tables_json
        );
    } else {
        tx.exec_prepared(
            "finish_state_failure",
            end.source,
            end.resource,
            NullIfEmpty(end.run_id),
            ToMicros(end.next_run_at),
            outcome,
            error,
            static_cast<long long>(end.rows_written),
            static_cast<long long>(end.rows_unchanged),
            tables_json
        );
    }
    tx.commit();
    return result;
}

std::vector<std::optional<std::int64_t>>
RunLog::CountRows(pqxx::connection& conn, const std::vector<TableName>& tables) const {
    pqxx::read_transaction tx(conn);
    std::vector<std::optional<std::int64_t>> out;
    out.reserve(tables.size());
    for (const auto& t : tables) {
        const std::string qualified = QualifiedName(t.schema, t.table);
        if (!tx.exec_prepared1("table_exists", qualified)[0].as<bool>()) {
            out.emplace_back();
            continue;
        }
        // Exact, and so a scan of the whole table (README, "Reports per table").
        out.emplace_back(tx.exec1("SELECT count(*) FROM " + qualified)[0].as<std::int64_t>());
    }
    return out;
}

std::vector<bool> RunLog::EmptyTables(pqxx::connection& conn, const std::vector<TableName>& tables)
    const {
    pqxx::read_transaction tx(conn);
    std::vector<bool> out;
    out.reserve(tables.size());
    for (const auto& t : tables) {
        const std::string qualified = QualifiedName(t.schema, t.table);
        out.push_back(
            !tx.exec_prepared1("table_exists", qualified)[0].as<bool>() ||
            tx.exec1("SELECT NOT EXISTS (SELECT FROM " + qualified + ")")[0].as<bool>()
        );
    }
    return out;
}

std::int64_t RunLog::ResetState(
    pqxx::connection& conn,
    const std::string& source,
    const std::string& resource
) const {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_prepared("reset_state", source, resource);
    tx.commit();
    return static_cast<std::int64_t>(r.affected_rows());
}

}  // namespace chatsync::sink::detail
