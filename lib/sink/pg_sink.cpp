#include "sink/pg_sink.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <unistd.h>

#include "core/error.hpp"
#include "sink/detail/conninfo.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/migrations.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink {
namespace {

using detail::QuoteIdent;

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

constexpr std::string_view kRunEgressSql = "UPDATE {s}.runs SET egress = $2 WHERE run_id = $1";

/// A table's live columns with their types and comments (the source paths); no rows when
/// the table does not exist.
constexpr std::string_view kTableColumnsSql =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
    "col_description(a.attrelid, a.attnum) FROM pg_catalog.pg_attribute AS a "
    "WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum";

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

/// A resource's run lock, held by the sink's lock session from BeginRun to FinishRun.
/// Session-level, so that it outlives the run's transactions and vanishes with the process.
/// It shares the one-key space with the table locks; their keys hash other text.
constexpr std::string_view kTryRunLockSql = "SELECT pg_try_advisory_lock($1::bigint)";

constexpr std::string_view kRunUnlockSql = "SELECT pg_advisory_unlock($1::bigint)";

/// Prepared on every connection: (statement name, SQL with `{s}`).
constexpr std::array<std::pair<std::string_view, std::string_view>, 26> kPrepared{{
    {"load_state", kLoadStateSql},
    {"list_states", kListStatesSql},
    {"interrupt_runs", kInterruptRunsSql},
    {"insert_run", kInsertRunSql},
    {"state_run_started", kStateRunStartedSql},
    {"upsert_checkpoint", kUpsertCheckpointSql},
    {"finish_run", kFinishRunSql},
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
    {"table_columns", kTableColumnsSql},
    {"primary_key_columns", kPrimaryKeyColumnsSql},
    {"lock_tables", kLockTablesSql},
    {"lock_key", kLockKeySql},
    {"ping", kPingSql},
    {"schema_exists", kSchemaExistsSql},
    {"try_run_lock", kTryRunLockSql},
    {"run_unlock", kRunUnlockSql},
}};

/// A failure the sink detects itself, carried to the boundary like a libpqxx exception.
class SinkFailure : public std::runtime_error {
public:
    SinkFailure(Errc code, const std::string& message)
        : std::runtime_error(message)
        , code_(code) {}

    Errc code() const noexcept { return code_; }

private:
    Errc code_;
};

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
        c = ClassifySqlState(e.sqlstate());
        c.message = std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")";
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
    pqxx::tablewriter writer(tx, stage);
#pragma GCC diagnostic pop
    std::string line;
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
            detail::AppendCopyField(line, CellText(*row[b], col.cell_type));
        }
        writer.write_raw_line(line);
    }
    writer.complete();
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
    /// error code, with its explanation in last_error.
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
            SetLastError(std::string(operation) + ": " + OneLine(c.message));
            // in_place_error: a Result<bool> would otherwise take the error_code as a bool.
            return Result<T>(boost::system::in_place_error, make_error_code(c.code));
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
            SetLastError(operation + ": the sink has stopped");
            co_return Result<T>(boost::system::in_place_error, make_error_code(Errc::kCancelled));
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
        auto conn = std::make_unique<pqxx::connection>(conninfo);
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

    void SetLastError(const std::string& message) {
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
        const std::lock_guard lock(error_mutex);
        last_error = std::move(clean);
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
            const detail::TablePlan plan = detail::PlanTable(
                qualified[i],
                ReadColumns(tx, qualified[i]),
                tw.rows.columns(),
                tw.key_paths,
                tw.seen_pass.has_value()
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
            const std::string stage = "pg_temp._chatsync_stage_" + std::to_string(i);
            tx.exec(detail::StagingTableSql(plan, stage));
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
        return result;
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

    std::int64_t ForgetEgressBlocking(pqxx::connection& conn, const std::string& source) const {
        pqxx::work tx(conn);
        const pqxx::result r = tx.exec_prepared("egress_forget", source);
        tx.commit();
        return static_cast<std::int64_t>(r.affected_rows());
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

    mutable std::mutex error_mutex;
    std::string last_error;

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

std::string PgSink::LastError() const {
    const std::lock_guard lock(impl_->error_mutex);
    return impl_->last_error;
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

Task<Result<void>> PgSink::Ping() {
    auto op = [](pqxx::connection& c) {
        Impl::PingBlocking(c);
    };
    auto task = impl_->Dispatch<void>("Ping", std::move(op));
    auto result = co_await std::move(task);
    co_return result;
}

}  // namespace chatsync::sink
