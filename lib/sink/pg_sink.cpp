#include "sink/pg_sink.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <libpq-fe.h>
#include <poll.h>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <unistd.h>

#include "core/error.hpp"
#include "sink/detail/conninfo.hpp"
#include "sink/detail/event_sql.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/migrations.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink {
namespace {

using detail::CreateEventTableSql;
using detail::EventTablePlan;
using detail::PlanEventTable;
using detail::QuoteIdent;
using detail::RenderedEventRow;
using detail::SinkFailure;

// SQL text. `{s}` stands for the quoted state schema (PgSink::Options::state_schema); it is
// substituted once, when the sink is built. Timestamps cross the boundary as microseconds
// since the epoch (extract() is exact numeric since PostgreSQL 14).

/// Serialises Migrate() across daemons starting at once; the two-key form keeps it apart
/// from the one-key table locks.
constexpr std::string_view kMigrationLockSql =
    "SELECT pg_advisory_xact_lock(hashtext('chatsync.migrate'), hashtext($1::text))";

/// The state schema, created before the first migration can run in it.
constexpr std::string_view kCreateStateSchemaSql = "CREATE SCHEMA IF NOT EXISTS {s}";

/// Asked before CREATE SCHEMA, which needs the CREATE privilege on the database even when the
/// schema exists: an operator may create the schemas and grant less.
constexpr std::string_view kSchemaExistsSql =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)";

/// Whether migrations ever ran in the state schema.
constexpr std::string_view kMigrationsTableExistsSql = "SELECT to_regclass($1::text) IS NOT NULL";

/// The versions in place.
constexpr std::string_view kAppliedVersionsSql =
    "SELECT version FROM {s}.schema_migrations ORDER BY version";

/// Migrations are written unqualified and land in the state schema.
constexpr std::string_view kMigrationSearchPathSql = "SET LOCAL search_path TO {s}";

/// Records one applied migration, in its own transaction.
constexpr std::string_view kRecordMigrationSql =
    "INSERT INTO {s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, now())";

/// One resource's state.
constexpr std::string_view kLoadStateSql =
    "SELECT source, resource, cursor, checkpoint::text, run_id, "
    "floor(extract(epoch FROM last_run_at) * 1000000)::bigint, "
    "floor(extract(epoch FROM last_success_at) * 1000000)::bigint, "
    "floor(extract(epoch FROM next_run_at) * 1000000)::bigint, "
    "last_outcome, last_error, last_rows_written, last_rows_unchanged "
    "FROM {s}.resource_state WHERE source = $1 AND resource = $2";

/// Every resource's state.
constexpr std::string_view kListStatesSql =
    "SELECT source, resource, cursor, checkpoint::text, run_id, "
    "floor(extract(epoch FROM last_run_at) * 1000000)::bigint, "
    "floor(extract(epoch FROM last_success_at) * 1000000)::bigint, "
    "floor(extract(epoch FROM next_run_at) * 1000000)::bigint, "
    "last_outcome, last_error, last_rows_written, last_rows_unchanged "
    "FROM {s}.resource_state ORDER BY source, resource";

/// Runs of a resource still marked running belong to a process that died.
constexpr std::string_view kInterruptRunsSql =
    "UPDATE {s}.runs SET outcome = 'interrupted', finished_at = now() "
    "WHERE source = $1 AND resource = $2 AND outcome = 'running'";

/// A new run in the run log.
constexpr std::string_view kInsertRunSql =
    "INSERT INTO {s}.runs (run_id, source, resource, started_at, outcome, host, pid) "
    "VALUES (gen_random_uuid()::text, $1, $2, now(), 'running', $3, $4) RETURNING run_id";

/// A run starts: the state row exists from now on, and says whether the last run died.
constexpr std::string_view kStateRunStartedSql =
    "INSERT INTO {s}.resource_state AS r (source, resource, last_run_at, updated_at) "
    "VALUES ($1, $2, now(), now()) ON CONFLICT (source, resource) DO UPDATE SET "
    "last_run_at = now(), updated_at = now(), "
    "last_outcome = CASE WHEN $3::boolean THEN 'interrupted' ELSE r.last_outcome END";

/// The checkpoint written in the same transaction as a page's rows.
constexpr std::string_view kUpsertCheckpointSql =
    "INSERT INTO {s}.resource_state AS r (source, resource, checkpoint, run_id, updated_at) "
    "VALUES ($1, $2, $3::jsonb, $4, now()) ON CONFLICT (source, resource) DO UPDATE SET "
    "checkpoint = EXCLUDED.checkpoint, run_id = EXCLUDED.run_id, updated_at = now()";

/// A run's end in the run log (inserted if BeginRun never recorded it).
constexpr std::string_view kFinishRunSql =
    "INSERT INTO {s}.runs AS r (run_id, source, resource, started_at, finished_at, outcome, "
    "pages, rows_written, rows_unchanged, rows_deleted, error) "
    "VALUES ($1, $2, $3, now(), now(), $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (run_id) DO UPDATE SET finished_at = now(), outcome = EXCLUDED.outcome, "
    "pages = EXCLUDED.pages, rows_written = EXCLUDED.rows_written, "
    "rows_unchanged = EXCLUDED.rows_unchanged, rows_deleted = EXCLUDED.rows_deleted, "
    "error = EXCLUDED.error";

/// A run that ended before it began (RecordRun), finished as it is written.
constexpr std::string_view kRecordRunSql =
    "INSERT INTO {s}.runs (run_id, source, resource, started_at, finished_at, outcome, error, "
    "host, pid) VALUES (gen_random_uuid()::text, $1, $2, now(), now(), $3, $4, $5, $6)";

/// A held or latched run in the resource's state: it ran now and wrote nothing; cursor,
/// checkpoint and the last success stay.
constexpr std::string_view kRecordRunStateSql =
    "INSERT INTO {s}.resource_state AS r (source, resource, last_run_at, next_run_at, "
    "last_outcome, last_error, updated_at) "
    "VALUES ($1, $2, now(), 'epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4, "
    "$5, now()) ON CONFLICT (source, resource) DO UPDATE SET last_run_at = now(), "
    "next_run_at = EXCLUDED.next_run_at, last_outcome = EXCLUDED.last_outcome, "
    "last_error = EXCLUDED.last_error, last_rows_written = 0, last_rows_unchanged = 0, "
    "updated_at = now()";

/// A successful run: the cursor advances (unless NULL), the checkpoint is spent.
constexpr std::string_view kFinishStateSuccessSql =
    "INSERT INTO {s}.resource_state AS r (source, resource, cursor, checkpoint, run_id, "
    "last_success_at, next_run_at, last_outcome, last_error, last_rows_written, "
    "last_rows_unchanged, updated_at) "
    "VALUES ($1, $2, $3, NULL, $4, now(), "
    "'epoch'::timestamptz + $5::bigint * interval '1 microsecond', 'success', '', $6, $7, now()) "
    "ON CONFLICT (source, resource) DO UPDATE SET cursor = COALESCE(EXCLUDED.cursor, r.cursor), "
    "checkpoint = NULL, run_id = EXCLUDED.run_id, last_success_at = now(), "
    "next_run_at = EXCLUDED.next_run_at, last_outcome = 'success', last_error = '', "
    "last_rows_written = EXCLUDED.last_rows_written, "
    "last_rows_unchanged = EXCLUDED.last_rows_unchanged, updated_at = now()";

/// A failed or cancelled run: cursor and checkpoint stay, so the next run resumes.
constexpr std::string_view kFinishStateFailureSql =
    "INSERT INTO {s}.resource_state AS r (source, resource, run_id, next_run_at, last_outcome, "
    "last_error, last_rows_written, last_rows_unchanged, updated_at) "
    "VALUES ($1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 microsecond', $5, $6, "
    "$7, $8, now()) ON CONFLICT (source, resource) DO UPDATE SET "
    "next_run_at = EXCLUDED.next_run_at, last_outcome = EXCLUDED.last_outcome, "
    "last_error = EXCLUDED.last_error, last_rows_written = EXCLUDED.last_rows_written, "
    "last_rows_unchanged = EXCLUDED.last_rows_unchanged, updated_at = now()";

/// A finished pass's keys are no longer needed.
constexpr std::string_view kDeleteSeenKeysSql =
    "DELETE FROM {s}.seen_keys WHERE pass_id = $1 AND table_name = $2";

/// Forgets where resources stand, so their next runs re-sync in full.
constexpr std::string_view kResetStateSql =
    "UPDATE {s}.resource_state SET cursor = NULL, checkpoint = NULL, run_id = NULL, "
    "updated_at = now() WHERE source = $1 AND ($2::text = '' OR resource = $2::text)";

constexpr std::string_view kGetLatchSql =
    "SELECT reason, floor(extract(epoch FROM set_at) * 1000000)::bigint, set_by "
    "FROM {s}.latches WHERE source = $1";

/// Setting a latch again replaces its reason.
constexpr std::string_view kSetLatchSql =
    "INSERT INTO {s}.latches AS l (source, reason, set_at, set_by) VALUES ($1, $2, "
    "COALESCE('epoch'::timestamptz + $3::bigint * interval '1 microsecond', now()), $4) "
    "ON CONFLICT (source) DO UPDATE SET reason = EXCLUDED.reason, set_at = EXCLUDED.set_at, "
    "set_by = EXCLUDED.set_by";

constexpr std::string_view kClearLatchSql = "DELETE FROM {s}.latches WHERE source = $1";

/// The addresses a source has sent from, the most recent first.
constexpr std::string_view kEgressListSql =
    "SELECT address FROM {s}.egress WHERE source = $1 ORDER BY last_seen DESC, address";

constexpr std::string_view kEgressTouchSql =
    "INSERT INTO {s}.egress AS e (source, address, host) VALUES ($1, $2, $3) "
    "ON CONFLICT (source, address) DO UPDATE SET host = EXCLUDED.host, last_seen = now()";

constexpr std::string_view kEgressForgetSql = "DELETE FROM {s}.egress WHERE source = $1";

/// Takes the resource's interval when its last call is old enough; no row when it is not.
constexpr std::string_view kClaimIntervalSql =
    "INSERT INTO {s}.resource_state AS r (source, resource, last_call_at) VALUES ($1, $2, now()) "
    "ON CONFLICT (source, resource) DO UPDATE SET last_call_at = now() "
    "WHERE r.last_call_at IS NULL OR r.last_call_at <= now() - $3::bigint * interval '1 "
    "millisecond' "
    "RETURNING 1";

constexpr std::string_view kLastCallSql =
    "SELECT floor(extract(epoch FROM last_call_at) * 1000000)::bigint FROM {s}.resource_state "
    "WHERE source = $1 AND resource = $2";

constexpr std::string_view kRunEgressSql = "UPDATE {s}.runs SET egress = $2 WHERE run_id = $1";

/// A table's primary key columns, in key order.
constexpr std::string_view kPrimaryKeyColumnsSql =
    "SELECT a.attname FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_attribute AS a "
    "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
    "WHERE i.indrelid = to_regclass($1::text) AND i.indisprimary "
    "ORDER BY array_position(i.indkey::int2[], a.attnum)";

/// Locks a page's tables for the transaction, in the (sorted) order given, so that DDL on a
/// table never interleaves with another connection's catalog read and writes to it.
constexpr std::string_view kLockTablesSql =
    "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k";

constexpr std::string_view kLockKeySql = "SELECT pg_advisory_xact_lock($1::bigint)";

constexpr std::string_view kPingSql = "SELECT 1";

/// Stores a batch of webhook bodies: the tuples (EventValuesSql) follow, then
/// kInsertEventsTailSql. A body stored before (same source and key) is skipped and not
/// returned, so the rows returned are the new events.
constexpr std::string_view kInsertEventsHeadSql =
    "INSERT INTO {s}.webhook_events (source, event_key, received_at, channel, event_name, "
    "event_type, bytes, body, raw, malformed, derive_error) VALUES ";

constexpr std::string_view kInsertEventsTailSql =
    " ON CONFLICT (source, event_key) DO NOTHING RETURNING source, event_key";

/// Why a stored event has no derived rows.
constexpr std::string_view kEventDeriveErrorSql =
    "UPDATE {s}.webhook_events SET derive_error = $3 WHERE source = $1 AND event_key = $2";

/// A re-derived event's derive_error ('' clears it), written only when it changes.
constexpr std::string_view kEventRederiveErrorSql =
    "UPDATE {s}.webhook_events SET derive_error = NULLIF($3, '') "
    "WHERE source = $1 AND event_key = $2 AND derive_error IS DISTINCT FROM NULLIF($3, '')";

/// A resource's run lock, held by the sink's lock session from BeginRun to FinishRun.
/// Session-level, so that it outlives the run's transactions and vanishes with the process.
/// It shares the one-key space with the table locks; their keys hash other text.
constexpr std::string_view kTryRunLockSql = "SELECT pg_try_advisory_lock($1::bigint)";

constexpr std::string_view kRunUnlockSql = "SELECT pg_advisory_unlock($1::bigint)";

/// Prepared on every connection: (statement name, SQL with `{s}`).
constexpr std::array<std::pair<std::string_view, std::string_view>, 32> kPrepared{{
    {"load_state", kLoadStateSql},
    {"list_states", kListStatesSql},
    {"interrupt_runs", kInterruptRunsSql},
    {"insert_run", kInsertRunSql},
    {"state_run_started", kStateRunStartedSql},
    {"upsert_checkpoint", kUpsertCheckpointSql},
    {"finish_run", kFinishRunSql},
    {"record_run", kRecordRunSql},
    {"record_run_state", kRecordRunStateSql},
    {"finish_state_success", kFinishStateSuccessSql},
    {"finish_state_failure", kFinishStateFailureSql},
    {"delete_seen_keys", kDeleteSeenKeysSql},
    {"reset_state", kResetStateSql},
    {"get_latch", kGetLatchSql},
    {"set_latch", kSetLatchSql},
    {"clear_latch", kClearLatchSql},
    {"egress_list", kEgressListSql},
    {"egress_touch", kEgressTouchSql},
    {"egress_forget", kEgressForgetSql},
    {"run_egress", kRunEgressSql},
    {"claim_interval", kClaimIntervalSql},
    {"last_call", kLastCallSql},
    {"table_columns", detail::kTableColumnsSql},
    {"primary_key_columns", kPrimaryKeyColumnsSql},
    {"lock_tables", kLockTablesSql},
    {"lock_key", kLockKeySql},
    {"ping", kPingSql},
    {"schema_exists", kSchemaExistsSql},
    {"try_run_lock", kTryRunLockSql},
    {"run_unlock", kRunUnlockSql},
    {"event_derive_error", kEventDeriveErrorSql},
    {"event_rederive_error", kEventRederiveErrorSql},
}};

std::string Expand(std::string_view sql, std::string_view quoted_schema) {
    std::string out;
    out.reserve(sql.size() + 16);
    constexpr std::string_view kToken = "{s}";
    std::size_t pos = 0;
    while (true) {
        const std::size_t at = sql.find(kToken, pos);
        out.append(sql.substr(pos, at - pos));
        if (at == std::string_view::npos) {
            break;
        }
        out.append(quoted_schema);
        pos = at + kToken.size();
    }
    return out;
}

/// Server messages span lines ("ERROR: ...\nDETAIL: ..."); error texts are one line.
std::string OneLine(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (const char ch : text) {
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = true;
            continue;
        }
        if (space && !out.empty()) {
            out.push_back(' ');
        }
        space = false;
        out.push_back(ch);
    }
    return out;
}

std::optional<TimePoint> FromMicros(const pqxx::field& f) {
    if (f.is_null()) {
        return std::nullopt;
    }
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::microseconds(f.as<long long>())
    ));
}

std::optional<long long> ToMicros(const std::optional<TimePoint>& t) {
    if (!t) {
        return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
}

std::optional<std::string> NullIfEmpty(const std::string& s) {
    if (s.empty()) {
        return std::nullopt;
    }
    return s;
}

std::optional<std::string> OptionalText(const pqxx::field& f) {
    if (f.is_null()) {
        return std::nullopt;
    }
    return f.as<std::string>();
}

ResourceState StateFromRow(const pqxx::row& row) {
    ResourceState s;
    s.source = row[0].as<std::string>();
    s.resource = row[1].as<std::string>();
    s.cursor = OptionalText(row[2]);
    s.checkpoint = OptionalText(row[3]);
    s.run_id = OptionalText(row[4]);
    s.last_run_at = FromMicros(row[5]);
    s.last_success_at = FromMicros(row[6]);
    s.next_run_at = FromMicros(row[7]);
    s.last_outcome = row[8].as<std::string>();
    s.last_error = row[9].as<std::string>();
    s.last_rows_written = row[10].as<long long>();
    s.last_rows_unchanged = row[11].as<long long>();
    return s;
}

struct Classified {
    Errc code = Errc::kSinkPermanent;
    /// The connection's state is unknown or broken: replace it.
    bool drop_connection = false;
    /// The connection was lost, and nothing was committed: the call may be repeated on a
    /// new connection.
    bool connection_lost = false;
    std::string message;
};

/// SQLSTATE classes that may pass with time (see PostgreSQL's errcodes appendix).
Classified ClassifySqlState(std::string_view state) {
    Classified c;
    if (state.size() != 5) {
        return c;
    }
    const std::string_view cls = state.substr(0, 2);
    if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
        // Connection exception; the server shutting down, restarting or starting up.
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.connection_lost = true;
    } else if (cls == "40" || cls == "53" || state == "57014" || state == "55P03") {
        // Transaction rollback (serialization, deadlock); insufficient resources (too many
        // connections, disk full); statement timeout; lock not available.
        c.code = Errc::kSinkTransient;
    }
    return c;
}

/// The SQLSTATE of a statement's failure. libpqxx 6.4 gives it to sql_error itself but not
/// to the subclasses it throws for the codes it knows (insufficient_privilege for 42501,
/// say), whose sqlstate() is then empty: for those the class names the code, or at least
/// its class (data_exception stands for every code of class 22).
std::string SqlStateOf(const pqxx::sql_error& e) {
    if (!e.sqlstate().empty()) {
        return e.sqlstate();
    }
    // Most derived first: dynamic_cast also matches bases.
    const std::pair<bool, const char*> known[] = {
        {dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr, "42501"},
        {dynamic_cast<const pqxx::undefined_column*>(&e) != nullptr, "42703"},
        {dynamic_cast<const pqxx::undefined_function*>(&e) != nullptr, "42883"},
        {dynamic_cast<const pqxx::undefined_table*>(&e) != nullptr, "42P01"},
        {dynamic_cast<const pqxx::syntax_error*>(&e) != nullptr, "42601"},
        {dynamic_cast<const pqxx::restrict_violation*>(&e) != nullptr, "23001"},
        {dynamic_cast<const pqxx::not_null_violation*>(&e) != nullptr, "23502"},
        {dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr, "23503"},
        {dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr, "23505"},
        {dynamic_cast<const pqxx::check_violation*>(&e) != nullptr, "23514"},
        {dynamic_cast<const pqxx::integrity_constraint_violation*>(&e) != nullptr, "class 23"},
        {dynamic_cast<const pqxx::data_exception*>(&e) != nullptr, "class 22"},
        {dynamic_cast<const pqxx::feature_not_supported*>(&e) != nullptr, "0A000"},
        {dynamic_cast<const pqxx::invalid_cursor_state*>(&e) != nullptr, "24000"},
        {dynamic_cast<const pqxx::invalid_sql_statement_name*>(&e) != nullptr, "26000"},
        {dynamic_cast<const pqxx::invalid_cursor_name*>(&e) != nullptr, "34000"},
        {dynamic_cast<const pqxx::disk_full*>(&e) != nullptr, "53100"},
        {dynamic_cast<const pqxx::out_of_memory*>(&e) != nullptr, "53200"},
        {dynamic_cast<const pqxx::insufficient_resources*>(&e) != nullptr, "class 53"},
        {dynamic_cast<const pqxx::plpgsql_raise*>(&e) != nullptr, "P0001"},
        {dynamic_cast<const pqxx::plpgsql_no_data_found*>(&e) != nullptr, "P0002"},
        {dynamic_cast<const pqxx::plpgsql_too_many_rows*>(&e) != nullptr, "P0003"},
        {dynamic_cast<const pqxx::plpgsql_error*>(&e) != nullptr, "class P0"},
    };
    for (const auto& [matches, code] : known) {
        if (matches) {
            return code;
        }
    }
    return "unknown";
}

/// Classifies by a code or a class from SqlStateOf ("class 53" classifies as 53xxx).
Classified ClassifySqlStateOf(const pqxx::sql_error& e) {
    const std::string state = SqlStateOf(e);
    if (state.starts_with("class ")) {
        return ClassifySqlState(state.substr(6) + "000");
    }
    return ClassifySqlState(state);
}

/// Translates what a blocking operation threw (the libpqxx boundary).
Classified Classify(const std::exception_ptr& error) {
    Classified c;
    try {
        std::rethrow_exception(error);
    } catch (const SinkFailure& e) {
        c.code = e.code();
        c.message = e.what();
    } catch (const pqxx::broken_connection& e) {
        // Includes too_many_connections and every failure to connect.
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.connection_lost = true;
        c.message = e.what();
    } catch (const pqxx::in_doubt_error& e) {
        // The commit may have happened: not repeated here, the caller decides.
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.message = std::string("commit in doubt: ") + e.what();
    } catch (const pqxx::transaction_rollback& e) {
        // serialization_failure, deadlock_detected, statement_completion_unknown.
        c.code = Errc::kSinkTransient;
        c.message = e.what();
    } catch (const pqxx::sql_error& e) {
        c = ClassifySqlStateOf(e);
        c.message = std::string(e.what()) + " (SQLSTATE " + SqlStateOf(e) + ")";
    } catch (const std::invalid_argument& e) {
        // The batch cannot be written as given (PlanTable): the connection is fine.
        c.message = e.what();
    } catch (const std::exception& e) {
        // libpqxx usage, conversion or internal errors: the connection may be mid-COPY or
        // mid-transaction, so it is not trusted again.
        c.drop_connection = true;
        c.message = e.what();
    }
    return c;
}

/// The SQLSTATE with which the server refused a connection (28P01: a wrong password; 28000:
/// no such role, or one not allowed to log in; 3D000: no such database), or "" when it did
/// not answer with one. A failed connection's message leaves the code out unless the
/// connection asked for verbose errors before the server answered, which libpqxx 6.4 cannot
/// do: so this connects once more, asking, and waits at most `timeout` for the refusal.
std::string RefusalSqlState(const std::string& conninfo, std::chrono::milliseconds timeout) {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
        PQconnectStart(conninfo.c_str()), &PQfinish
    );
    if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) {
        return {};
    }
    PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        pollfd fd{
            PQsocket(conn.get()),
            static_cast<short>(status == PGRES_POLLING_READING ? POLLIN : POLLOUT),
            0};
        if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
            return {};
        }
        status = PQconnectPoll(conn.get());
    }
    // Verbose: "FATAL:  28P01: password authentication failed for user ...".
    const std::string_view message = PQerrorMessage(conn.get());
    const auto fatal = message.find("FATAL:  ");
    if (status != PGRES_POLLING_FAILED || fatal == std::string_view::npos) {
        return {};
    }
    const auto code = message.substr(fatal + 8, 6);
    const bool ok =
        code.size() == 6 && code[5] == ':' && std::all_of(code.begin(), code.end() - 1, [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
        });
    return ok ? std::string(code.substr(0, 5)) : std::string();
}

std::string HostName() {
    std::array<char, 256> buf{};
    if (gethostname(buf.data(), buf.size() - 1) != 0) {
        return {};
    }
    return std::string(buf.data());
}

/// `{1,2,3}`: a bigint[] literal.
std::string ArrayLiteral(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        out += std::to_string(values[i]);
    }
    out.push_back('}');
    return out;
}

void CopyRows(
    pqxx::work& tx,
    const std::string& stage,
    const detail::TablePlan& plan,
    const RowBatch& batch
) {
    // libpqxx 6.4 offers raw COPY lines only through tablewriter (stream_to takes fixed
    // tuples); it is deprecated there, not broken, and we need per-batch column sets.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const std::vector<std::string> columns = detail::StagingCopyColumns(plan);
    pqxx::tablewriter writer(tx, stage, columns.begin(), columns.end());
#pragma GCC diagnostic pop
    std::string line;
    std::string scratch;
    const auto& rows = batch.rows();
    for (std::size_t r = 0; r < rows.size(); ++r) {
        line.clear();
        line += std::to_string(r);
        const auto& row = rows[r];
        for (const auto& col : plan.columns) {
            line.push_back('\t');
            const std::size_t b = col.batch_index;
            if (b >= row.size() || !row[b]) {
                line += "\\N";
                continue;
            }
            detail::AppendCopyField(line, CellText(*row[b], col.cell_type, scratch));
        }
        writer.write_raw_line(line);
    }
    writer.complete();
}

/// `text` as a text column accepts it: NUL bytes dropped, and every byte that does not start a
/// well-formed UTF-8 sequence replaced by U+FFFD. For the labels stored next to an event
/// (channel, event name and type), which must never keep the event itself from being stored.
std::string ValidText(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        if (lead < 0x80U) {
            if (lead != 0) {
                out.push_back(text[i]);
            }
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t min = 0;
        if ((lead & 0xE0U) == 0xC0U) {
            len = 2;
            min = 0x80;
        } else if ((lead & 0xF0U) == 0xE0U) {
            len = 3;
            min = 0x800;
        } else if ((lead & 0xF8U) == 0xF0U) {
            len = 4;
            min = 0x10000;
        }
        bool ok = len != 0 && i + len <= text.size();
        std::uint32_t code = ok ? (lead & (0x7FU >> len)) : 0U;
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            ok = (next & 0xC0U) == 0x80U;
            code = (code << 6U) | (next & 0x3FU);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
        ok = ok && code >= min && code <= 0x10FFFFU && (code < 0xD800U || code > 0xDFFFU);
        if (ok) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

/// A point in time as an SQL timestamptz expression, exact to the microsecond.
std::string TimestampSql(TimePoint t) {
    return "('epoch'::timestamptz + " + std::to_string(ToMicros(t).value_or(0)) +
           " * interval '1 microsecond')";
}

/// How an event's body is stored.
enum class BodyAs {
    /// Valid JSON, in `body`, exactly as received.
    kJson,
    /// Not JSON: the bytes in `raw`, flagged malformed.
    kMalformed,
    /// JSON that the database refused: the bytes in `raw`, not flagged (derive_error says why).
    kRefused,
};

/// An event's tuple for kInsertEventsHeadSql. Throws pqxx::argument_error when the body is to
/// be stored as JSON and is not valid in the connection's encoding.
std::string EventValuesSql(
    pqxx::connection& conn,
    const InboundEvent& event,
    BodyAs body_as,
    const std::string& derive_error
) {
    const auto optional_text = [&](const std::string& text) {
        std::string valid = ValidText(text);
        return valid.empty() ? std::string("NULL") : conn.quote(valid);
    };
    std::string sql = "(" + conn.quote(event.source) + ", " + conn.quote(event.event_key) + ", " +
                      TimestampSql(event.received_at) + ", " +
                      conn.quote(ValidText(event.channel)) + ", " +
                      optional_text(event.event_name) + ", " + optional_text(event.event_type) +
                      ", " + std::to_string(event.body.size()) + ", ";
    if (body_as == BodyAs::kJson) {
        sql += conn.quote(event.body) + "::json, NULL, false, ";
    } else {
        // libpqxx 6.4 takes binary data as unsigned bytes only.
        const auto* bytes = reinterpret_cast<const unsigned char*>(event.body.data());
        sql += "NULL, " + conn.quote_raw(bytes, event.body.size()) + ", " +
               (body_as == BodyAs::kMalformed ? "true" : "false") + ", ";
    }
    sql += optional_text(derive_error) + ")";
    return sql;
}

/// Whether a failure of an event's own SQL is the event's fault (a value, a body or a row the
/// database refuses), so that the event is stored without it and the batch goes on. Anything
/// that may pass (a lost connection, a serialization failure, a timeout) is not: the whole
/// call fails and the events are delivered again.
bool IsEventFault(const pqxx::sql_error& e, const pqxx::connection& conn) {
    return conn.is_open() && e.sqlstate().size() == 5 &&
           ClassifySqlState(e.sqlstate()).code == Errc::kSinkPermanent;
}

}  // namespace

struct PgSink::Impl {
    Impl(Options opts, const Redactor& r)
        : options(std::move(opts))
        , redactor(r)
        , quoted_state_schema(QuoteIdent(options.state_schema))
        , seen_keys_table(quoted_state_schema + ".seen_keys")
        , dsn_secrets(detail::DsnSecrets(options.dsn))
        , pool(std::max<std::size_t>(options.pool_size, 1)) {
        detail::ConnSettings settings;
        settings.connect_timeout_seconds =
            static_cast<long>((options.connect_timeout.count() + 999) / 1000);
        conninfo = detail::BuildConninfo(options.dsn, settings);
        for (const auto& [name, sql] : kPrepared) {
            prepared.emplace_back(std::string(name), Expand(sql, quoted_state_schema));
        }
    }

    /// Runs `op` on this pool thread's connection and translates every failure into an
    /// Error: its code, and its explanation (redacted) as the message.
    template <class T, class Op>
    Result<T> Run(std::string_view operation, Op& op) {
        for (int attempt = 0;; ++attempt) {
            bool fresh = false;
            std::exception_ptr error;
            try {
                pqxx::connection& conn = Connection(fresh);
                if constexpr (std::is_void_v<T>) {
                    op(conn);
                    return {};
                } else {
                    return Result<T>(op(conn));
                }
            } catch (...) {
                error = std::current_exception();
            }
            Classified c = Classify(error);
            if (!c.connection_lost && c.code != Errc::kSinkTransient && ConnectionLost()) {
                // libpqxx reports some losses as plain failures ("not connected").
                c.code = Errc::kSinkTransient;
                c.drop_connection = true;
                c.connection_lost = true;
            }
            if (c.drop_connection) {
                DropConnection();
            }
            // A pooled connection that died while idle (server restart, idle timeout, a
            // terminated backend) fails on first use and says nothing about the database
            // now; its transaction never committed, so the call runs once more on a new one.
            if (c.connection_lost && !fresh && attempt == 0) {
                continue;
            }
            // in_place_error: a Result<bool> would otherwise take the error_code as a bool.
            return Result<T>(
                boost::system::in_place_error,
                make_error_code(c.code),
                Redacted(std::string(operation) + ": " + OneLine(c.message))
            );
        }
    }

    struct NoFollowUp {
        void operator()() const noexcept {}
    };

    /// Runs on a pool thread; the caller resumes on its own executor. `after` runs once
    /// `op` is done with, retries included, whatever the result.
    template <class T, class Op, class After>
    Task<Result<T>> Blocking(std::string operation, Op op, After after) {
        Result<T> result = Run<T>(operation, op);
        after();
        co_return result;
    }

    /// Sends `op` to the pool unless the sink has stopped (a stopped pool would never run
    /// it, and the caller would wait forever); then `after`, on the same pool thread.
    template <class T, class Op, class After>
    Task<Result<T>> DispatchThen(std::string operation, Op op, After after) {
        if (stopped.load()) {
            co_return Result<T>(
                boost::system::in_place_error,
                make_error_code(Errc::kCancelled),
                operation + ": the sink has stopped"
            );
        }
        auto blocking = Blocking<T>(std::move(operation), std::move(op), std::move(after));
        auto result =
            co_await net::co_spawn(pool.get_executor(), std::move(blocking), kUseAwaitable);
        co_return result;
    }

    template <class T, class Op>
    Task<Result<T>> Dispatch(std::string operation, Op op) {
        auto task = DispatchThen<T>(std::move(operation), std::move(op), NoFollowUp{});
        auto result = co_await std::move(task);
        co_return result;
    }

    /// This thread's connection, made now (`fresh`) when it had none or lost it.
    pqxx::connection& Connection(bool& fresh) {
        std::unique_ptr<pqxx::connection>& slot = Slot();
        if (!slot || !slot->is_open()) {
            slot.reset();
            slot = Connect();
            fresh = true;
        }
        return *slot;
    }

    std::unique_ptr<pqxx::connection>& Slot() {
        const std::lock_guard lock(conns_mutex);
        // unordered_map keeps references to its elements valid across inserts, and only this
        // thread uses its own slot.
        return conns[std::this_thread::get_id()];
    }

    /// Whether this thread's connection is gone (after a failure).
    bool ConnectionLost() {
        const std::unique_ptr<pqxx::connection>& slot = Slot();
        return slot && !slot->is_open();
    }

    std::unique_ptr<pqxx::connection> Connect() {
        std::unique_ptr<pqxx::connection> conn;
        try {
            conn = std::make_unique<pqxx::connection>(conninfo);
        } catch (const pqxx::too_many_connections&) {
            // A server out of connections is not asked again.
            throw;
        } catch (const pqxx::broken_connection& e) {
            // The server answered and refused (a password, a role, a database): its code
            // says which, whatever the language of its message.
            std::string message = e.what();
            if (message.find("FATAL:") == std::string::npos) {
                throw;
            }
            const std::string state = RefusalSqlState(conninfo, options.connect_timeout);
            if (state.empty()) {
                throw;
            }
            while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
                message.pop_back();
            }
            throw pqxx::broken_connection(message + " (SQLSTATE " + state + ")");
        }
        // set_variable (not a plain SET) so that libpqxx restores them should it ever
        // re-establish the session itself.
        conn->set_variable("TimeZone", "'UTC'");
        conn->set_variable("statement_timeout", std::to_string(options.statement_timeout.count()));
        // CREATE ... IF NOT EXISTS notices would otherwise go to stderr through libpq.
        conn->set_variable("client_min_messages", "warning");
        for (const auto& [name, sql] : prepared) {
            conn->prepare(name, sql);
        }
        return conn;
    }

    void DropConnection() {
        std::unique_ptr<pqxx::connection> old;
        {
            const std::lock_guard lock(conns_mutex);
            const auto it = conns.find(std::this_thread::get_id());
            if (it != conns.end()) {
                old = std::move(it->second);
            }
        }
        // Destroyed outside the lock: closing still talks to the server.
        old.reset();
    }

    // --- Run locks. One dedicated session holds the run locks of every resource this sink is
    // running: pool connections are shared by all calls, so a session lock taken on one would
    // be released (or held) by whichever call happens to use it next.
    //
    // If the lock session breaks, the server has dropped all its locks: runs in progress
    // then continue without their locks until they finish, and another process may start the
    // same resource meanwhile. That is accepted: it needs a lost connection during a run, and
    // writes stay consistent (each page and the run's end are atomic); the next BeginRun
    // opens a new session.

    /// The run lock's key. Stable across processes and releases (FNV-1a, not std::hash).
    std::int64_t RunLockKey(const std::string& source, const std::string& resource) const {
        return detail::AdvisoryLockKey(options.state_schema + "/" + source + "/" + resource);
    }

    /// Forgets the lock session and the locks it held (the server released them with it).
    /// Caller holds run_lock_mutex.
    void DropLockSessionLocked() {
        run_locks.clear();
        lock_conn.reset();
    }

    /// Takes the run lock of source/resource on the lock session. Returns whether this call
    /// took it (false: this sink held it already, from a BeginRun without FinishRun, which the
    /// run log treats as a dead run). Throws kResourceBusy when another session holds it.
    bool AcquireRunLock(const std::string& source, const std::string& resource) {
        const std::int64_t key = RunLockKey(source, resource);
        const std::lock_guard lock(run_lock_mutex);
        for (int attempt = 0;; ++attempt) {
            bool fresh = false;
            try {
                if (!lock_conn || !lock_conn->is_open()) {
                    DropLockSessionLocked();
                    lock_conn = Connect();
                    fresh = true;
                }
                const bool held = run_locks.count(key) > 0;
                // Asked even when recorded as held: a session that died while idle still looks
                // open, and its locks may belong to another process by now.
                pqxx::nontransaction tx(*lock_conn);
                const bool taken = tx.exec_prepared1("try_run_lock", key)[0].as<bool>();
                if (!taken) {
                    throw SinkFailure(
                        Errc::kResourceBusy,
                        "resource " + source + "/" + resource +
                            " is being synced by another process"
                    );
                }
                if (held) {
                    // Session locks nest; one FinishRun must be enough to release it.
                    tx.exec_prepared1("run_unlock", key);
                    return false;
                }
                run_locks.insert(key);
                return true;
            } catch (const SinkFailure&) {
                throw;
            } catch (...) {
                if (lock_conn && lock_conn->is_open()) {
                    throw;
                }
                DropLockSessionLocked();
                // A session that died while idle says nothing about the database now.
                if (fresh || attempt > 0) {
                    throw;
                }
            }
        }
    }

    /// Releases the run lock of source/resource if this sink holds it. Never throws: it runs
    /// after the call's outcome is decided, and a lock it cannot release on a live session
    /// stays recorded, so the next BeginRun of the resource here reuses it and the next
    /// FinishRun tries again.
    void ReleaseRunLock(const std::string& source, const std::string& resource) noexcept {
        try {
            const std::int64_t key = RunLockKey(source, resource);
            const std::lock_guard lock(run_lock_mutex);
            if (run_locks.count(key) == 0) {
                return;
            }
            if (!lock_conn || !lock_conn->is_open()) {
                DropLockSessionLocked();
                return;
            }
            try {
                pqxx::nontransaction tx(*lock_conn);
                tx.exec_prepared1("run_unlock", key);
                run_locks.erase(key);
            } catch (...) {
                if (!lock_conn->is_open()) {
                    DropLockSessionLocked();
                }
            }
        } catch (...) {
            // Only allocation or mutex failures land here; the lock then stays held until
            // FinishRun is called again or the sink stops.
        }
    }

    /// Closes the lock session, releasing every run lock (Stop()).
    void CloseLockSession() {
        std::unique_ptr<pqxx::connection> old;
        {
            const std::lock_guard lock(run_lock_mutex);
            run_locks.clear();
            old = std::move(lock_conn);
        }
        old.reset();
    }

    /// `message` without the Redactor's secrets and the DSN's.
    std::string Redacted(std::string_view message) const {
        std::string clean = redactor.Redact(message);
        for (const auto& secret : dsn_secrets) {
            // Very short passwords would mask ordinary letters; below 3 bytes the DSN
            // password is left to the Redactor's own rules.
            if (secret.size() < 3) {
                continue;
            }
            std::size_t pos = 0;
            while ((pos = clean.find(secret, pos)) != std::string::npos) {
                clean.replace(pos, secret.size(), Redactor::kMask);
                pos += Redactor::kMask.size();
            }
        }
        return clean;
    }

    std::string Sql(std::string_view text) const { return Expand(text, quoted_state_schema); }

    // --- The blocking operations, each on one connection, in one transaction.

    int MigrateBlocking(pqxx::connection& conn) const {
        const std::vector<detail::Migration> known = detail::KnownMigrations();
        const int known_max = known.empty() ? 0 : known.back().version;
        const std::string migrations_table = quoted_state_schema + ".schema_migrations";
        while (true) {
            pqxx::work tx(conn);
            tx.exec_params(std::string(kMigrationLockSql), options.state_schema);
            if (!tx.exec_prepared1("schema_exists", options.state_schema)[0].as<bool>()) {
                tx.exec(Sql(kCreateStateSchemaSql));
            }
            std::vector<int> applied;
            if (tx.exec_params1(std::string(kMigrationsTableExistsSql), migrations_table)[0]
                    .as<bool>()) {
                for (const auto& row : tx.exec(Sql(kAppliedVersionsSql))) {
                    applied.push_back(row[0].as<int>());
                }
            }
            const int db_max = applied.empty() ? 0 : applied.back();
            if (db_max > known_max) {
                throw SinkFailure(
                    Errc::kSinkPermanent,
                    "the database schema " + quoted_state_schema + " is at version " +
                        std::to_string(db_max) + ", newer than this chatsyncd knows (" +
                        std::to_string(known_max) + "); run a newer chatsyncd"
                );
            }
            const auto missing =
                std::find_if(known.begin(), known.end(), [&](const detail::Migration& m) {
                    return !std::binary_search(applied.begin(), applied.end(), m.version);
                });
            if (missing == known.end()) {
                tx.commit();
                return db_max;
            }
            tx.exec(Sql(kMigrationSearchPathSql));
            try {
                tx.exec(std::string(missing->sql));
            } catch (const pqxx::sql_error& e) {
                throw SinkFailure(
                    Errc::kSinkPermanent,
                    "migration " + std::to_string(missing->version) + "_" + missing->name +
                        " failed: " + e.what()
                );
            }
            tx.exec_params(Sql(kRecordMigrationSql), missing->version, missing->name);
            tx.commit();
        }
    }

    ResourceState LoadStateBlocking(
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

    std::vector<ResourceState> ListStatesBlocking(pqxx::connection& conn) const {
        pqxx::read_transaction tx(conn);
        std::vector<ResourceState> out;
        for (const auto& row : tx.exec_prepared("list_states")) {
            out.push_back(StateFromRow(row));
        }
        return out;
    }

    /// Takes the resource's run lock first: without it another process is running the
    /// resource, and its run must not be marked interrupted. With it, runs still marked
    /// running belong to sessions that are gone (or to an earlier run here that never
    /// finished), so marking them interrupted is right.
    std::string BeginRunBlocking(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& resource
    ) {
        const bool took_lock = AcquireRunLock(source, resource);
        try {
            pqxx::work tx(conn);
            const pqxx::result interrupted = tx.exec_prepared("interrupt_runs", source, resource);
            const pqxx::row row = tx.exec_prepared1(
                "insert_run", source, resource, HostName(), static_cast<int>(getpid())
            );
            auto run_id = row[0].as<std::string>();
            tx.exec_prepared(
                "state_run_started", source, resource, interrupted.affected_rows() > 0
            );
            tx.commit();
            return run_id;
        } catch (...) {
            // No run started, so no FinishRun will come to release it.
            if (took_lock) {
                ReleaseRunLock(source, resource);
            }
            throw;
        }
    }

    /// The live columns of `qualified`; empty when it does not exist.
    static std::vector<detail::ExistingColumn>
    ReadColumns(pqxx::work& tx, const std::string& qualified) {
        std::vector<detail::ExistingColumn> out;
        for (const auto& row : tx.exec_prepared("table_columns", qualified)) {
            out.push_back(detail::ExistingColumn{
                row[0].as<std::string>(), row[1].as<std::string>(), OptionalText(row[2])});
        }
        return out;
    }

    WriteResult CommitPageBlocking(pqxx::connection& conn, const PageCommit& page) const {
        if (page.schema.empty()) {
            throw SinkFailure(Errc::kSinkPermanent, "the page names no schema");
        }
        const std::string schema = detail::ShortIdentifier(page.schema, page.schema);
        std::vector<std::string> qualified;
        std::vector<std::int64_t> lock_keys;
        for (const auto& tw : page.tables) {
            qualified.push_back(
                detail::QualifiedName(schema, detail::ShortIdentifier(tw.table, tw.table))
            );
            lock_keys.push_back(detail::AdvisoryLockKey("chatsync.table:" + qualified.back()));
        }
        std::sort(lock_keys.begin(), lock_keys.end());
        lock_keys.erase(std::unique(lock_keys.begin(), lock_keys.end()), lock_keys.end());

        // The staging tables of this thread's session, by slot: reused while they have the
        // layout of the table written through them, replaced when it changes, so a session
        // holds one per slot. Updated only once a transaction commits, and forgotten when one
        // fails, since a rollback undoes what it made.
        thread_local StagingTables stages;
        if (stages.backend != conn.backendpid()) {
            stages = StagingTables{conn.backendpid(), {}};
        }
        try {
            return CommitPageTransaction(conn, page, schema, qualified, lock_keys, stages);
        } catch (...) {
            stages.layouts.clear();
            throw;
        }
    }

    /// The staging tables a session has made, by slot (CommitPageBlocking).
    struct StagingTables {
        int backend = 0;
        std::vector<std::string> layouts;
    };

    WriteResult CommitPageTransaction(
        pqxx::connection& conn,
        const PageCommit& page,
        const std::string& schema,
        const std::vector<std::string>& qualified,
        const std::vector<std::int64_t>& lock_keys,
        StagingTables& stages
    ) const {
        // Staging tables made by this transaction, by slot.
        std::vector<std::pair<std::size_t, std::string>> made;
        pqxx::work tx(conn);
        if (!lock_keys.empty()) {
            tx.exec_prepared("lock_tables", ArrayLiteral(lock_keys));
        }
        WriteResult result;
        bool schema_ready = false;
        for (std::size_t i = 0; i < page.tables.size(); ++i) {
            const TableWrite& tw = page.tables[i];
            TableResult& out = result.tables.emplace_back();
            if (tw.rows.empty()) {
                continue;
            }
            const std::vector<detail::ExistingColumn> existing = ReadColumns(tx, qualified[i]);
            const detail::TablePlan plan = detail::PlanTable(
                qualified[i], existing, tw.rows.columns(), tw.key_paths, tw.seen_pass.has_value()
            );
            if (plan.create && !schema_ready) {
                // Taken after the table locks and released only at commit; nobody waits for a
                // table lock while holding it, so the order cannot deadlock.
                tx.exec_prepared(
                    "lock_key", detail::AdvisoryLockKey("chatsync.schema:" + QuoteIdent(schema))
                );
                if (!tx.exec_prepared1("schema_exists", schema)[0].as<bool>()) {
                    tx.exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(schema));
                }
                schema_ready = true;
            }
            for (const auto& ddl : plan.ddl) {
                tx.exec(ddl);
            }
            for (const auto& conversion : plan.conversions) {
                ConvertColumn(tx, plan.qualified, conversion);
                out.converted.push_back({conversion.column, conversion.from, conversion.to});
            }
            const std::string stage = "pg_temp._chatsync_stage_" + std::to_string(i);
            std::string layout = detail::StagingTableSql(plan, existing, stage);
            if (i >= stages.layouts.size() || stages.layouts[i] != layout) {
                tx.exec("DROP TABLE IF EXISTS " + stage);
                tx.exec(layout);
                made.emplace_back(i, std::move(layout));
            }
            CopyRows(tx, stage, plan, tw.rows);

            const pqxx::result r =
                tx.exec_params(detail::UpsertSql(plan, stage, tw.want_changed_rows), page.run_id);
            std::int64_t distinct = 0;
            if (tw.want_changed_rows) {
                for (const auto& row : r) {
                    distinct = row[0].as<long long>();
                    if (row[1].is_null()) {
                        continue;
                    }
                    (row[1].as<bool>() ? out.inserted : out.updated) += 1;
                    out.changed_rows.push_back(static_cast<std::size_t>(row[2].as<long long>()));
                }
                std::sort(out.changed_rows.begin(), out.changed_rows.end());
            } else if (!r.empty()) {
                distinct = r[0][0].as<long long>();
                out.inserted = r[0][1].as<long long>();
                out.updated = r[0][2].as<long long>();
            }
            out.unchanged = distinct - out.inserted - out.updated;

            if (tw.seen_pass) {
                tx.exec_params(
                    detail::SeenKeysSql(plan, stage, seen_keys_table), *tw.seen_pass, qualified[i]
                );
            }
        }
        tx.exec_prepared(
            "upsert_checkpoint",
            page.source,
            page.resource,
            NullIfEmpty(page.checkpoint),
            NullIfEmpty(page.run_id)
        );
        tx.commit();
        for (auto& [slot, layout] : made) {
            if (stages.layouts.size() <= slot) {
                stages.layouts.resize(slot + 1);
            }
            stages.layouts[slot] = std::move(layout);
        }
        return result;
    }

    /// Converts an existing column to its declared type. A value that does not convert
    /// fails the transaction: the table keeps every value and its old type, and the error
    /// says which column and what the operator can do.
    static void ConvertColumn(
        pqxx::work& tx,
        const std::string& qualified,
        const detail::ColumnConversion& conversion
    ) {
        try {
            tx.exec(conversion.sql);
        } catch (const pqxx::sql_error& e) {
            if (ClassifySqlStateOf(e).code == Errc::kSinkTransient) {
                throw;
            }
            throw SinkFailure(
                Errc::kSinkPermanent,
                "column " + QuoteIdent(conversion.column) + " of table " + qualified +
                    " cannot be converted from " + conversion.from + " to its declared type " +
                    conversion.to + ", so nothing was changed: " +
                    OneLine(std::string(e.what()) + " (SQLSTATE " + SqlStateOf(e) + ")") +
                    ". Correct or clear the values that have no " + conversion.to +
                    " form, or remove '" + conversion.path + "' from the resource's column_types"
            );
        }
    }

    void RecordRunBlocking(pqxx::connection& conn, const RunEnd& end) const {
        const bool to_state = end.outcome == "held" || end.outcome == "latched";
        if (!to_state && end.outcome != "skipped") {
            throw SinkFailure(
                Errc::kSinkPermanent,
                "unknown outcome '" + end.outcome +
                    "' of a run that did not begin (held, "
                    "latched or skipped)"
            );
        }
        const std::string error = redactor.Redact(end.error);
        pqxx::work tx(conn);
        tx.exec_prepared(
            "record_run",
            end.source,
            end.resource,
            end.outcome,
            error,
            HostName(),
            static_cast<int>(getpid())
        );
        if (to_state) {
            tx.exec_prepared(
                "record_run_state",
                end.source,
                end.resource,
                ToMicros(end.next_run_at),
                end.outcome,
                error
            );
        }
        tx.commit();
    }

    FinishResult FinishRunBlocking(pqxx::connection& conn, const RunEnd& end) const {
        const bool success = end.outcome == "success";
        if (!success && end.outcome != "failed" && end.outcome != "cancelled") {
            throw SinkFailure(
                Errc::kSinkPermanent,
                "unknown run outcome '" + end.outcome + "' (success, failed or cancelled)"
            );
        }
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
            const std::string schema = detail::ShortIdentifier(end.schema, end.schema);
            for (const auto& sweep : end.sweeps) {
                const std::string qualified = detail::QualifiedName(
                    schema, detail::ShortIdentifier(sweep.table, sweep.table)
                );
                tx.exec_prepared(
                    "lock_key", detail::AdvisoryLockKey("chatsync.table:" + qualified)
                );
                bool has_deleted_at = false;
                for (const auto& c : ReadColumns(tx, qualified)) {
                    has_deleted_at = has_deleted_at || c.name == detail::kDeletedAtColumn;
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
                            detail::SweepSql(qualified, keys, seen_keys_table),
                            sweep.seen_pass,
                            qualified
                        );
                        result.rows_deleted += static_cast<std::int64_t>(swept.affected_rows());
                    }
                }
                tx.exec_prepared("delete_seen_keys", sweep.seen_pass, qualified);
            }
        }
        const std::string error = redactor.Redact(end.error);
        tx.exec_prepared(
            "finish_run",
            end.run_id,
            end.source,
            end.resource,
            end.outcome,
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
                static_cast<long long>(end.rows_unchanged)
            );
        } else {
            tx.exec_prepared(
                "finish_state_failure",
                end.source,
                end.resource,
                NullIfEmpty(end.run_id),
                ToMicros(end.next_run_at),
                end.outcome,
                error,
                static_cast<long long>(end.rows_written),
                static_cast<long long>(end.rows_unchanged)
            );
        }
        tx.commit();
        return result;
    }

    std::int64_t ResetStateBlocking(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& resource
    ) const {
        pqxx::work tx(conn);
        const pqxx::result r = tx.exec_prepared("reset_state", source, resource);
        tx.commit();
        return static_cast<std::int64_t>(r.affected_rows());
    }

    std::optional<Latch> GetLatchBlocking(pqxx::connection& conn, const std::string& source) const {
        pqxx::read_transaction tx(conn);
        const pqxx::result r = tx.exec_prepared("get_latch", source);
        if (r.empty()) {
            return std::nullopt;
        }
        Latch latch;
        latch.source = source;
        latch.reason = r[0][0].as<std::string>();
        latch.set_at = FromMicros(r[0][1]).value_or(TimePoint{});
        latch.set_by = r[0][2].as<std::string>();
        return latch;
    }

    void SetLatchBlocking(pqxx::connection& conn, const Latch& latch) const {
        pqxx::work tx(conn);
        std::optional<TimePoint> set_at;
        if (latch.set_at != TimePoint{}) {
            set_at = latch.set_at;
        }
        tx.exec_prepared(
            "set_latch", latch.source, redactor.Redact(latch.reason), ToMicros(set_at), latch.set_by
        );
        tx.commit();
    }

    bool ClearLatchBlocking(pqxx::connection& conn, const std::string& source) const {
        pqxx::work tx(conn);
        const pqxx::result r = tx.exec_prepared("clear_latch", source);
        tx.commit();
        return r.affected_rows() > 0;
    }

    EgressClaim ClaimEgressBlocking(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& address,
        std::uint32_t max_addresses,
        const std::string& run_id
    ) const {
        pqxx::work tx(conn);
        // One claim at a time per source, across processes: two daemons with new addresses
        // must not both see room for one.
        tx.exec_prepared(
            "lock_key", detail::AdvisoryLockKey(options.state_schema + "/egress/" + source)
        );
        EgressClaim claim;
        bool known = false;
        for (const auto& row : tx.exec_prepared("egress_list", source)) {
            const auto used = row[0].as<std::string>();
            if (claim.previous.empty()) {
                claim.previous = used;
            }
            if (used == address) {
                known = true;
            } else {
                claim.others.push_back(used);
            }
        }
        tx.exec_prepared("run_egress", run_id, address);
        if (!known && claim.others.size() >= max_addresses) {
            claim.refused = true;
        } else {
            tx.exec_prepared("egress_touch", source, address, HostName());
        }
        tx.commit();
        return claim;
    }

    IntervalClaim ClaimIntervalBlocking(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& resource,
        Millis min_interval
    ) const {
        pqxx::work tx(conn);
        IntervalClaim claim;
        const auto ms = static_cast<std::int64_t>(min_interval.count());
        claim.due = !tx.exec_prepared("claim_interval", source, resource, ms).empty();
        if (!claim.due) {
            const pqxx::result r = tx.exec_prepared("last_call", source, resource);
            if (!r.empty()) {
                claim.last = FromMicros(r[0][0]);
            }
        }
        tx.commit();
        return claim;
    }

    std::int64_t ForgetEgressBlocking(pqxx::connection& conn, const std::string& source) const {
        pqxx::work tx(conn);
        const pqxx::result r = tx.exec_prepared("egress_forget", source);
        tx.commit();
        return static_cast<std::int64_t>(r.affected_rows());
    }

    // --- Event intake.

    /// Creates the schema and the tables, adds missing columns, and remembers the
    /// declarations for StoreEvents once they are committed.
    void PrepareEventTablesBlocking(
        pqxx::connection& conn,
        const std::string& schema,
        const std::vector<EventTable>& tables
    ) {
        if (schema.empty()) {
            throw SinkFailure(Errc::kSinkPermanent, "the event tables name no schema");
        }
        const std::string schema_ident = detail::ShortIdentifier(schema, schema);
        std::vector<EventTablePlan> plans;
        std::vector<std::int64_t> lock_keys;
        std::unordered_set<std::string> names;
        for (const auto& table : tables) {
            if (!names.insert(table.name).second) {
                throw SinkFailure(
                    Errc::kSinkPermanent,
                    "event table " + schema_ident + "." + table.name + " is declared twice"
                );
            }
            plans.push_back(PlanEventTable(schema_ident, table));
            lock_keys.push_back(plans.back().lock_key);
        }
        std::sort(lock_keys.begin(), lock_keys.end());

        pqxx::work tx(conn);
        // The same locks, in the same order, as CommitPage: concurrent CREATE TABLE IF NOT
        // EXISTS (or CREATE SCHEMA) of one name can fail on the catalog's unique indexes.
        if (!lock_keys.empty()) {
            tx.exec_prepared("lock_tables", ArrayLiteral(lock_keys));
        }
        tx.exec_prepared(
            "lock_key", detail::AdvisoryLockKey("chatsync.schema:" + QuoteIdent(schema_ident))
        );
        if (!tx.exec_prepared1("schema_exists", schema_ident)[0].as<bool>()) {
            tx.exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(schema_ident));
        }
        for (auto& plan : plans) {
            const std::vector<detail::ExistingColumn> existing = ReadColumns(tx, plan.qualified);
            if (existing.empty()) {
                tx.exec(CreateEventTableSql(plan));
            } else {
                CheckEventTableKey(tx, plan);
                std::string add;
                const auto missing = [&](std::string_view name) {
                    return std::none_of(existing.begin(), existing.end(), [&](const auto& c) {
                        return c.name == name;
                    });
                };
                for (const auto& [declared, column] : plan.columns) {
                    if (missing(column.name)) {
                        add += std::string(add.empty() ? "" : ", ") + "ADD COLUMN IF NOT EXISTS " +
                               column.ident + " " + column.declared_type;
                    }
                }
                if (missing(detail::kSyncedAtColumn)) {
                    add += std::string(add.empty() ? "" : ", ") + "ADD COLUMN IF NOT EXISTS " +
                           QuoteIdent(detail::kSyncedAtColumn) + " timestamptz";
                }
                if (!add.empty()) {
                    tx.exec("ALTER TABLE " + plan.qualified + " " + add);
                }
            }
            for (const auto& live : ReadColumns(tx, plan.qualified)) {
                for (auto& [declared, column] : plan.columns) {
                    if (column.name == live.name) {
                        column.sql_type = live.sql_type;
                    }
                }
            }
        }
        tx.commit();
        const std::lock_guard lock(event_tables_mutex);
        for (std::size_t i = 0; i < plans.size(); ++i) {
            event_tables[{schema, tables[i].name}] =
                std::make_shared<const EventTablePlan>(std::move(plans[i]));
        }
    }

    /// An existing event table must have the declared key as its primary key, or ON CONFLICT
    /// could not name it.
    static void CheckEventTableKey(pqxx::work& tx, const EventTablePlan& plan) {
        std::vector<std::string> live;
        for (const auto& row : tx.exec_prepared("primary_key_columns", plan.qualified)) {
            live.push_back(row[0].as<std::string>());
        }
        std::vector<std::string> declared;
        for (const auto& k : plan.key) {
            declared.push_back(plan.Find(k)->name);
        }
        std::sort(live.begin(), live.end());
        std::sort(declared.begin(), declared.end());
        if (live != declared) {
            std::string have;
            for (const auto& c : live) {
                have += (have.empty() ? "" : ", ") + c;
            }
            throw SinkFailure(
                Errc::kSinkPermanent,
                "table " + plan.qualified + " exists with primary key (" + have +
                    "), not the declared (" + plan.key_list + ")"
            );
        }
    }

    std::shared_ptr<const EventTablePlan>
    FindEventTable(const std::string& schema, const std::string& table) {
        const std::lock_guard lock(event_tables_mutex);
        const auto it = event_tables.find({schema, table});
        return it == event_tables.end() ? nullptr : it->second;
    }

    /// A batch of events turned into SQL, before anything runs.
    struct EventBatch {
        struct Entry {
            /// The same source and key came earlier in the batch: this one is a duplicate.
            bool repeat = false;
            /// The tuple for the events insert.
            std::string values;
            /// The derived rows, checked and rendered; empty when none.
            std::vector<RenderedEventRow> rows;
            /// Why the rows are not written, when that is known before any SQL runs (a row
            /// that does not fit its table, a body the connection cannot send as JSON).
            std::string error;
        };

        std::vector<Entry> entries;
        /// The events to insert (first occurrences), ordered by source and key: concurrent
        /// batches then take their row locks in one order and cannot deadlock on them.
        std::vector<std::size_t> insert_order;
        /// "source\0key" -> index of the first occurrence.
        std::unordered_map<std::string, std::size_t> first;
        /// The event tables the rows write, sorted.
        std::vector<std::int64_t> lock_keys;
    };

    /// A refusal's explanation, for derive_error and EventResult::error.
    std::string SqlErrorText(const pqxx::sql_error& e) const {
        return Redacted(OneLine(std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")"));
    }

    static std::string EventKey(std::string_view source, std::string_view key) {
        std::string out(source);
        out.push_back('\0');
        out.append(key);
        return out;
    }

    EventBatch PlanEvents(pqxx::connection& conn, const std::vector<InboundEvent>& events) {
        EventBatch batch;
        batch.entries.resize(events.size());
        for (std::size_t i = 0; i < events.size(); ++i) {
            const InboundEvent& event = events[i];
            EventBatch::Entry& entry = batch.entries[i];
            // Both are ours (a source name, a digest), and a replaced byte could merge two keys.
            for (const std::string* text : {&event.source, &event.event_key}) {
                if (ValidText(*text) != *text) {
                    throw SinkFailure(
                        Errc::kSinkPermanent,
                        "event " + std::to_string(i) + ": source or key is not UTF-8 text"
                    );
                }
            }
            if (!batch.first.emplace(EventKey(event.source, event.event_key), i).second) {
                entry.repeat = true;
                continue;
            }
            batch.insert_order.push_back(i);
            BodyAs body_as = event.valid_json ? BodyAs::kJson : BodyAs::kMalformed;
            if (body_as == BodyAs::kJson && event.body.find('\0') != std::string::npos) {
                body_as = BodyAs::kRefused;
                entry.error = "the body was refused as JSON: it contains a NUL byte";
            }
            if (body_as == BodyAs::kJson) {
                entry.error = RenderEventRows(conn, event, entry.rows, batch.lock_keys);
                try {
                    entry.values = EventValuesSql(conn, event, body_as, entry.error);
                } catch (const pqxx::argument_error& e) {
                    body_as = BodyAs::kRefused;
                    entry.rows.clear();
                    entry.error =
                        "the body was refused as JSON: not valid text (" + OneLine(e.what()) + ")";
                }
            }
            if (body_as != BodyAs::kJson) {
                // Rows come only from JSON bodies.
                entry.values = EventValuesSql(conn, event, body_as, entry.error);
            }
        }
        std::sort(
            batch.insert_order.begin(),
            batch.insert_order.end(),
            [&](std::size_t a, std::size_t b) {
                return std::tie(events[a].source, events[a].event_key) <
                       std::tie(events[b].source, events[b].event_key);
            }
        );
        std::sort(batch.lock_keys.begin(), batch.lock_keys.end());
        batch.lock_keys.erase(
            std::unique(batch.lock_keys.begin(), batch.lock_keys.end()), batch.lock_keys.end()
        );
        return batch;
    }

    /// Checks and renders an event's rows into `rows`, and adds their tables to `lock_keys`;
    /// returns why they cannot be written (then `rows` is empty), or "".
    std::string RenderEventRows(
        pqxx::connection& conn,
        const InboundEvent& event,
        std::vector<RenderedEventRow>& rows,
        std::vector<std::int64_t>& lock_keys
    ) {
        const std::string synced_at = TimestampSql(event.received_at);
        std::vector<std::int64_t> keys;
        for (const auto& row : event.rows) {
            std::string why;
            try {
                auto table = FindEventTable(event.source, row.table);
                if (!table) {
                    throw SinkFailure(
                        Errc::kSinkPermanent,
                        "a row for table " + row.table + ": no such event table is declared for " +
                            event.source
                    );
                }
                keys.push_back(table->lock_key);
                rows.push_back(detail::RenderEventRow(conn, std::move(table), row, synced_at));
                continue;
            } catch (const SinkFailure& e) {
                why = e.what();
            } catch (const pqxx::argument_error& e) {
                // A value that is not text in the connection's encoding.
                why = "a row for table " + row.table + ": " + OneLine(e.what());
            }
            rows.clear();
            return "derived rows refused: " + Redacted(why);
        }
        lock_keys.insert(lock_keys.end(), keys.begin(), keys.end());
        return {};
    }

    /// The upserts of the rows of `entries[which]`, in that order (see EventUpsertsSql).
    static std::string RowsSql(
        const EventBatch& batch,
        const std::vector<std::size_t>& which,
        std::size_t first,
        std::size_t last
    ) {
        std::vector<const RenderedEventRow*> rows;
        for (std::size_t k = first; k < last; ++k) {
            for (const auto& row : batch.entries[which[k]].rows) {
                rows.push_back(&row);
            }
        }
        return rows.empty() ? std::string() : detail::EventUpsertsSql(rows);
    }

    /// Takes the locks of the tables a batch writes, so that two batches updating the same
    /// rows in different orders wait for each other instead of deadlocking.
    static void LockEventTables(pqxx::work& tx, const EventBatch& batch) {
        if (!batch.lock_keys.empty()) {
            tx.exec_prepared("lock_tables", ArrayLiteral(batch.lock_keys));
        }
    }

    std::string InsertEventsSql(const EventBatch& batch, const std::vector<std::size_t>& which)
        const {
        std::string sql = Sql(kInsertEventsHeadSql);
        for (std::size_t n = 0; n < which.size(); ++n) {
            if (n > 0) {
                sql += ",\n";
            }
            sql += batch.entries[which[n]].values;
        }
        sql += kInsertEventsTailSql;
        return sql;
    }

    /// Marks the events an insert returned as new.
    static void
    MarkNew(const EventBatch& batch, const pqxx::result& returned, std::vector<bool>& fresh) {
        for (const auto& row : returned) {
            const auto it =
                batch.first.find(EventKey(row[0].as<std::string>(), row[1].as<std::string>()));
            if (it == batch.first.end()) {
                throw std::logic_error("the events insert returned a key it was not given");
            }
            fresh[it->second] = true;
        }
    }

    static std::vector<EventResult> EventResults(
        const EventBatch& batch,
        const std::vector<bool>& fresh,
        const std::vector<std::string>& errors
    ) {
        std::vector<EventResult> out(batch.entries.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (batch.entries[i].repeat || !fresh[i]) {
                out[i].outcome = EventResult::Outcome::kDuplicate;
            } else if (!errors[i].empty()) {
                out[i].outcome = EventResult::Outcome::kStoredWithoutRows;
                out[i].error = errors[i];
            }
        }
        return out;
    }

    std::vector<EventResult>
    StoreEventsBlocking(pqxx::connection& conn, const std::vector<InboundEvent>& events) {
        const EventBatch batch = PlanEvents(conn, events);
        try {
            return StoreEventBatch(conn, batch);
        } catch (const pqxx::sql_error& e) {
            if (!IsEventFault(e, conn)) {
                throw;
            }
        }
        // The database refused something of the batch for good, and which event it belongs
        // to is unknown: the batch is redone, the events at fault sorted out.
        return StoreEventsOneByOne(conn, events, batch);
    }

    /// The whole batch in one transaction: one insert for the events, one round trip for
    /// the upserts of the new ones (in the order of the batch, so that events touching the
    /// same row apply in the order received).
    std::vector<EventResult> StoreEventBatch(pqxx::connection& conn, const EventBatch& batch)
        const {
        const std::size_t n = batch.entries.size();
        std::vector<bool> fresh(n, false);
        std::vector<std::string> errors(n);
        pqxx::work tx(conn);
        LockEventTables(tx, batch);
        if (!batch.insert_order.empty()) {
            MarkNew(batch, tx.exec(InsertEventsSql(batch, batch.insert_order)), fresh);
        }
        // The new events' rows, with one statement per table (and per repeat of a key) for
        // the whole batch rather than one per row.
        std::vector<std::size_t> with_rows;
        for (std::size_t i = 0; i < n; ++i) {
            errors[i] = batch.entries[i].error;
            if (fresh[i]) {
                with_rows.push_back(i);
            }
        }
        if (const std::string upserts = RowsSql(batch, with_rows, 0, with_rows.size());
            !upserts.empty()) {
            tx.exec(upserts);
        }
        tx.commit();
        return EventResults(batch, fresh, errors);
    }

    /// Runs `sql(first, last)`, the statements of `items[first, last)`, under a savepoint,
    /// and hands its result to `done`. When the database refuses it for good, the two halves
    /// go on their own, down to single items, whose refusal goes to `refused(item, why)`.
    /// The statements still run in the order of `items`, and k refused items among n cost
    /// about 2k·log2(n) attempts instead of one per item.
    template <class MakeSql, class Done, class Refused>
    void Bisect(
        pqxx::work& tx,
        const pqxx::connection& conn,
        const std::vector<std::size_t>& items,
        std::size_t first,
        std::size_t last,
        const MakeSql& sql,
        const Done& done,
        const Refused& refused
    ) const {
        if (first >= last) {
            return;
        }
        std::string why;
        {
            pqxx::subtransaction sub(tx, "chatsync_events");
            try {
                const pqxx::result r = sub.exec(sql(first, last));
                sub.commit();
                done(r);
                return;
            } catch (const pqxx::sql_error& e) {
                if (!IsEventFault(e, conn)) {
                    throw;
                }
                why = SqlErrorText(e);
                // libpqxx has rolled back to the savepoint already; this only says so.
                sub.abort();
            }
        }
        if (last - first == 1) {
            refused(items[first], why);
            return;
        }
        const std::size_t middle = first + (last - first) / 2;
        Bisect(tx, conn, items, first, middle, sql, done, refused);
        Bisect(tx, conn, items, middle, last, sql, done, refused);
    }

    /// The batch again, the events that cannot be stored whole sorted out under savepoints:
    /// an event whose body the database refuses is stored with its bytes in `raw` and
    /// without rows; an event whose rows are refused is stored without them. Either way
    /// derive_error says why. Every other event is stored as in StoreEventBatch.
    std::vector<EventResult> StoreEventsOneByOne(
        pqxx::connection& conn,
        const std::vector<InboundEvent>& events,
        const EventBatch& batch
    ) const {
        const std::size_t n = batch.entries.size();
        std::vector<bool> fresh(n, false);
        std::vector<std::string> errors(n);
        for (std::size_t i = 0; i < n; ++i) {
            errors[i] = batch.entries[i].error;
        }
        pqxx::work tx(conn);
        LockEventTables(tx, batch);

        const auto insert_sql = [&](std::size_t first, std::size_t last) {
            return InsertEventsSql(
                batch,
                std::vector<std::size_t>(
                    batch.insert_order.begin() + static_cast<std::ptrdiff_t>(first),
                    batch.insert_order.begin() + static_cast<std::ptrdiff_t>(last)
                )
            );
        };
        const auto inserted = [&](const pqxx::result& r) {
            MarkNew(batch, r, fresh);
        };
        // Only its body comes from outside, so that is what the database refused: the bytes
        // are kept and no rows written. Should this fail too, so does the call.
        const auto body_refused = [&](std::size_t i, const std::string& why) {
            errors[i] = "the body was refused as JSON: " + why;
            EventBatch single;
            single.entries.emplace_back().values =
                EventValuesSql(conn, events[i], BodyAs::kRefused, errors[i]);
            fresh[i] = !tx.exec(InsertEventsSql(single, {0})).empty();
        };
        Bisect(
            tx,
            conn,
            batch.insert_order,
            0,
            batch.insert_order.size(),
            insert_sql,
            inserted,
            body_refused
        );

        std::vector<std::size_t> with_rows;
        for (std::size_t i = 0; i < n; ++i) {
            if (fresh[i] && errors[i].empty() && !batch.entries[i].rows.empty()) {
                with_rows.push_back(i);
            }
        }
        const auto rows_sql = [&](std::size_t first, std::size_t last) {
            return RowsSql(batch, with_rows, first, last);
        };
        const auto rows_written = [](const pqxx::result&) {
        };
        const auto rows_refused = [&](std::size_t i, const std::string& why) {
            errors[i] = "derived rows refused: " + why;
            tx.exec_prepared(
                "event_derive_error", events[i].source, events[i].event_key, errors[i]
            );
        };
        Bisect(tx, conn, with_rows, 0, with_rows.size(), rows_sql, rows_written, rows_refused);
        tx.commit();
        return EventResults(batch, fresh, errors);
    }

    // --- Re-deriving stored events.

    std::vector<StoredEvent> ReadEventsBlocking(
        pqxx::connection& conn,
        const std::string& source,
        const std::optional<TimePoint>& since,
        const std::optional<std::string>& after,
        std::size_t limit
    ) const {
        // Exact to the microsecond: whole seconds and the microseconds within them, each
        // small enough to be exact whatever type extract() returns.
        std::string sql =
            Sql("SELECT event_key, extract(epoch FROM date_trunc('second', "
                "received_at))::bigint, extract(microseconds FROM received_at)::"
                "bigint % 1000000, channel, body::text, malformed, "
                "coalesce(derive_error, '') FROM {s}.webhook_events WHERE source = ") +
            conn.quote(source);
        if (since) {
            sql += " AND received_at >= " + TimestampSql(*since);
        }
        if (after) {
            // The receipt order is (received_at, seq): seq alone follows the keys' order
            // within a batch of intake.
            sql += Sql(" AND (received_at, seq) > (SELECT p.received_at, p.seq FROM "
                       "{s}.webhook_events AS p WHERE p.source = ") +
                   conn.quote(source) + " AND p.event_key = " + conn.quote(*after) + ")";
        }
        sql += " ORDER BY received_at, seq LIMIT " + std::to_string(limit);
        pqxx::read_transaction tx(conn);
        // Whole seconds are cut in UTC, where no offset has seconds of its own.
        tx.exec("SET LOCAL TimeZone = 'UTC'");
        std::vector<StoredEvent> out;
        for (const auto& row : tx.exec(sql)) {
            StoredEvent e;
            e.event_key = row[0].as<std::string>();
            const auto micros = row[1].as<std::int64_t>() * 1000000 + row[2].as<std::int64_t>();
            e.received_at = TimePoint(
                std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros))
            );
            e.channel = row[3].as<std::string>();
            if (!row[4].is_null()) {
                e.body = row[4].as<std::string>();
            }
            e.malformed = row[5].as<bool>();
            e.derive_error = row[6].as<std::string>();
            out.push_back(std::move(e));
        }
        tx.commit();
        return out;
    }

    std::vector<RederiveResult>
    RederiveEventsBlocking(pqxx::connection& conn, const std::vector<InboundEvent>& events) {
        const std::size_t n = events.size();
        std::vector<RederiveResult> out(n);
        std::vector<std::vector<RenderedEventRow>> rows(n);
        std::vector<std::int64_t> lock_keys;
        for (std::size_t i = 0; i < n; ++i) {
            out[i].error = RenderEventRows(conn, events[i], rows[i], lock_keys);
        }
        std::sort(lock_keys.begin(), lock_keys.end());
        lock_keys.erase(std::unique(lock_keys.begin(), lock_keys.end()), lock_keys.end());
        pqxx::work tx(conn);
        // The same locks, in the same order, as intake: the two never deadlock on rows.
        if (!lock_keys.empty()) {
            tx.exec_prepared("lock_tables", ArrayLiteral(lock_keys));
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (out[i].error.empty() && !rows[i].empty()) {
                // Under a savepoint: an event whose rows the database refuses loses only them.
                pqxx::subtransaction sub(tx, "chatsync_rederive");
                try {
                    std::int64_t written = 0;
                    // One statement per row, in order, as replay compares each with what
                    // the rows hold by then.
                    for (const auto& row : rows[i]) {
                        written += static_cast<std::int64_t>(
                            sub.exec(detail::EventUpsertSql({&row}, true)).affected_rows()
                        );
                    }
                    sub.commit();
                    out[i].rows_written = written;
                } catch (const pqxx::sql_error& e) {
                    if (!IsEventFault(e, conn)) {
                        throw;
                    }
                    out[i].error = "derived rows refused: " + SqlErrorText(e);
                    sub.abort();
                }
            }
            const pqxx::result r = tx.exec_prepared(
                "event_rederive_error", events[i].source, events[i].event_key, out[i].error
            );
            out[i].error_changed = r.affected_rows() > 0;
        }
        tx.commit();
        return out;
    }

    static void PingBlocking(pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        tx.exec_prepared("ping");
    }

    Options options;
    const Redactor& redactor;
    std::string quoted_state_schema;
    std::string seen_keys_table;
    std::vector<std::string> dsn_secrets;
    std::string conninfo;
    std::vector<std::pair<std::string, std::string>> prepared;

    std::mutex conns_mutex;
    std::unordered_map<std::thread::id, std::unique_ptr<pqxx::connection>> conns;

    /// Guards the lock session and run_locks; used from whichever pool thread runs the call.
    std::mutex run_lock_mutex;
    std::unique_ptr<pqxx::connection> lock_conn;
    /// Keys of the run locks lock_conn holds, each once.
    std::unordered_set<std::int64_t> run_locks;

    /// The event tables PrepareEventTables declared, by (schema, table) as given. Entries are
    /// replaced, never changed, so StoreEvents keeps using the one it found.
    std::mutex event_tables_mutex;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const EventTablePlan>>
        event_tables;

    std::atomic<bool> stopped{false};
    std::mutex stop_mutex;
    /// Last: its threads call into everything above until Stop() joins them.
    net::thread_pool pool;
};

PgSink::PgSink(Options options, const Redactor& redactor)
    : impl_(std::make_unique<Impl>(std::move(options), redactor)) {}

PgSink::~PgSink() {
    Stop();
}

void PgSink::Stop() {
    const std::lock_guard lock(impl_->stop_mutex);
    if (impl_->stopped.exchange(true)) {
        return;
    }
    impl_->pool.join();
    impl_->CloseLockSession();
    const std::lock_guard conns_lock(impl_->conns_mutex);
    impl_->conns.clear();
}

// Each public coroutine names its operation and its blocking work before the co_await: GCC 12
// mishandles temporaries (a lambda, a converted string) inside a co_await full-expression
// (house style R2), and double-destroyed a captured PageCommit that way.

Task<Result<int>> PgSink::Migrate() {
    auto op = [impl = impl_.get()](pqxx::connection& c) {
        return impl->MigrateBlocking(c);
    };
    auto task = impl_->Dispatch<int>("Migrate", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<ResourceState>> PgSink::LoadState(std::string source, std::string resource) {
    auto op = [impl = impl_.get(),
               source = std::move(source),
               resource = std::move(resource)](pqxx::connection& c) {
        return impl->LoadStateBlocking(c, source, resource);
    };
    auto task = impl_->Dispatch<ResourceState>("LoadState", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::vector<ResourceState>>> PgSink::ListStates() {
    auto op = [impl = impl_.get()](pqxx::connection& c) {
        return impl->ListStatesBlocking(c);
    };
    auto task = impl_->Dispatch<std::vector<ResourceState>>("ListStates", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::string>> PgSink::BeginRun(std::string source, std::string resource) {
    std::string operation = "BeginRun " + source + "/" + resource;
    auto op = [impl = impl_.get(),
               source = std::move(source),
               resource = std::move(resource)](pqxx::connection& c) {
        return impl->BeginRunBlocking(c, source, resource);
    };
    auto task = impl_->Dispatch<std::string>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<WriteResult>> PgSink::CommitPage(PageCommit page) {
    std::string operation = "CommitPage " + page.source + "/" + page.resource;
    auto op = [impl = impl_.get(), page = std::move(page)](pqxx::connection& c) {
        return impl->CommitPageBlocking(c, page);
    };
    auto task = impl_->Dispatch<WriteResult>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<FinishResult>> PgSink::FinishRun(RunEnd end) {
    std::string operation = "FinishRun " + end.source + "/" + end.resource;
    // The lock goes after the transaction (retries included), and also when it fails: a run
    // whose end could not be recorded must not keep other processes from the resource for as
    // long as this one lives; their BeginRun then marks it interrupted.
    auto release = [impl = impl_.get(), source = end.source, resource = end.resource]() noexcept {
        impl->ReleaseRunLock(source, resource);
    };
    auto op = [impl = impl_.get(), end = std::move(end)](pqxx::connection& c) {
        return impl->FinishRunBlocking(c, end);
    };
    auto task =
        impl_->DispatchThen<FinishResult>(std::move(operation), std::move(op), std::move(release));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<void>> PgSink::RecordRun(RunEnd end) {
    std::string operation = "RecordRun " + end.source + "/" + end.resource;
    auto op = [impl = impl_.get(), end = std::move(end)](pqxx::connection& c) {
        impl->RecordRunBlocking(c, end);
    };
    auto task = impl_->Dispatch<void>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::int64_t>> PgSink::ResetState(std::string source, std::string resource) {
    auto op = [impl = impl_.get(),
               source = std::move(source),
               resource = std::move(resource)](pqxx::connection& c) {
        return impl->ResetStateBlocking(c, source, resource);
    };
    auto task = impl_->Dispatch<std::int64_t>("ResetState", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::optional<Latch>>> PgSink::GetLatch(std::string source) {
    auto op = [impl = impl_.get(), source = std::move(source)](pqxx::connection& c) {
        return impl->GetLatchBlocking(c, source);
    };
    auto task = impl_->Dispatch<std::optional<Latch>>("GetLatch", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<void>> PgSink::SetLatch(Latch latch) {
    auto op = [impl = impl_.get(), latch = std::move(latch)](pqxx::connection& c) {
        impl->SetLatchBlocking(c, latch);
    };
    auto task = impl_->Dispatch<void>("SetLatch", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<EgressClaim>> PgSink::ClaimEgress(
    std::string source,
    std::string address,
    std::uint32_t max_addresses,
    std::string run_id
) {
    auto op = [impl = impl_.get(),
               source = std::move(source),
               address = std::move(address),
               max_addresses,
               run_id = std::move(run_id)](pqxx::connection& c) {
        return impl->ClaimEgressBlocking(c, source, address, max_addresses, run_id);
    };
    auto task = impl_->Dispatch<EgressClaim>("ClaimEgress", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<IntervalClaim>>
PgSink::ClaimInterval(std::string source, std::string resource, Millis min_interval) {
    auto op = [impl = impl_.get(),
               source = std::move(source),
               resource = std::move(resource),
               min_interval](pqxx::connection& c) {
        return impl->ClaimIntervalBlocking(c, source, resource, min_interval);
    };
    auto task = impl_->Dispatch<IntervalClaim>("ClaimInterval", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::int64_t>> PgSink::ForgetEgress(std::string source) {
    auto op = [impl = impl_.get(), source = std::move(source)](pqxx::connection& c) {
        return impl->ForgetEgressBlocking(c, source);
    };
    auto task = impl_->Dispatch<std::int64_t>("ForgetEgress", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<bool>> PgSink::ClearLatch(std::string source) {
    auto op = [impl = impl_.get(), source = std::move(source)](pqxx::connection& c) {
        return impl->ClearLatchBlocking(c, source);
    };
    auto task = impl_->Dispatch<bool>("ClearLatch", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<void>> PgSink::PrepareEventTables(std::string schema, std::vector<EventTable> tables) {
    std::string operation = "PrepareEventTables " + schema;
    auto op = [impl = impl_.get(),
               schema = std::move(schema),
               tables = std::move(tables)](pqxx::connection& c) {
        impl->PrepareEventTablesBlocking(c, schema, tables);
    };
    auto task = impl_->Dispatch<void>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::vector<EventResult>>> PgSink::StoreEvents(std::vector<InboundEvent> events) {
    if (events.empty()) {
        co_return std::vector<EventResult>{};
    }
    std::string operation = "StoreEvents (" + std::to_string(events.size()) + " events)";
    auto op = [impl = impl_.get(), events = std::move(events)](pqxx::connection& c) {
        return impl->StoreEventsBlocking(c, events);
    };
    auto task = impl_->Dispatch<std::vector<EventResult>>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::vector<StoredEvent>>> PgSink::ReadEvents(
    std::string source,
    std::optional<TimePoint> since,
    std::optional<std::string> after,
    std::size_t limit
) {
    std::string operation = "ReadEvents " + source;
    auto op = [impl = impl_.get(),
               source = std::move(source),
               since,
               after = std::move(after),
               limit](pqxx::connection& c) {
        return impl->ReadEventsBlocking(c, source, since, after, limit);
    };
    auto task = impl_->Dispatch<std::vector<StoredEvent>>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<std::vector<RederiveResult>>> PgSink::RederiveEvents(std::vector<InboundEvent> events) {
    if (events.empty()) {
        co_return std::vector<RederiveResult>{};
    }
    std::string operation = "RederiveEvents (" + std::to_string(events.size()) + " events)";
    auto op = [impl = impl_.get(), events = std::move(events)](pqxx::connection& c) {
        return impl->RederiveEventsBlocking(c, events);
    };
    auto task = impl_->Dispatch<std::vector<RederiveResult>>(std::move(operation), std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

Task<Result<void>> PgSink::Ping() {
    auto op = [](pqxx::connection& c) {
        Impl::PingBlocking(c);
    };
    auto task = impl_->Dispatch<void>("Ping", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

}  // namespace chatsync::sink
