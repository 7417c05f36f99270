#include "sink/detail/event_store.hpp"

#include <algorithm>
#include <unordered_set>

#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_values.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink::detail {

EventStore::EventStore(const Statements& statements, const Redaction& redaction)
    : statements_(statements)
    , redaction_(redaction) {}

void EventStore::PrepareTables(
    pqxx::connection& conn,
    const std::string& schema,
    const std::vector<EventTable>& tables
) {
    if (schema.empty()) {
        throw SinkFailure(Errc::kSinkPermanent, "the event tables name no schema");
    }
    const std::string schema_ident = ShortIdentifier(schema, schema);
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
    tx.exec_prepared("lock_key", AdvisoryLockKey("chatsync.schema:" + QuoteIdent(schema_ident)));
    if (!tx.exec_prepared1("schema_exists", schema_ident)[0].as<bool>()) {
        tx.exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(schema_ident));
    }
    for (auto& plan : plans) {
        const std::vector<ExistingColumn> existing = ReadColumns(tx, plan.qualified);
        if (existing.empty()) {
            tx.exec(CreateEventTableSql(plan));
        } else {
            CheckTableKey(tx, plan);
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
            if (missing(kSyncedAtColumn)) {
                add += std::string(add.empty() ? "" : ", ") + "ADD COLUMN IF NOT EXISTS " +
                       QuoteIdent(kSyncedAtColumn) + " timestamptz";
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
        PlanEventUpserts(plan);
    }
    tx.commit();
    const std::lock_guard lock(tables_mutex_);
    for (std::size_t i = 0; i < plans.size(); ++i) {
        tables_[{schema, tables[i].name}] =
            std::make_shared<const EventTablePlan>(std::move(plans[i]));
    }
}

void EventStore::CheckTableKey(pqxx::work& tx, const EventTablePlan& plan) {
    std::vector<std::string> live;
    for (const auto& row : tx.exec_prepared("primary_key_columns", plan.qualified)) {
        live.push_back(row[0].as<std::string>());
    }
    std::vector<std::string> declared;
    declared.reserve(plan.key.size());
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
EventStore::FindTable(const std::string& schema, const std::string& table) {
    const std::lock_guard lock(tables_mutex_);
    const auto it = tables_.find({schema, table});
    return it == tables_.end() ? nullptr : it->second;
}

std::string EventStore::RenderRows(
    const InboundEvent& event,
    std::vector<RenderedEventRow>& rows,
    std::vector<std::int64_t>& lock_keys
) {
    const std::int64_t synced_at = ToMicros(event.received_at).value_or(0);
    std::vector<std::int64_t> keys;
    for (const auto& row : event.rows) {
        try {
            auto table = FindTable(event.source, row.table);
            if (!table) {
                throw SinkFailure(
                    Errc::kSinkPermanent,
                    "a row for table " + row.table + ": no such event table is declared for " +
                        event.source
                );
            }
            keys.push_back(table->lock_key);
            rows.push_back(RenderEventRow(std::move(table), row, synced_at));
        } catch (const SinkFailure& e) {
            rows.clear();
            return "derived rows refused: " + redaction_(e.what());
        }
    }
    lock_keys.insert(lock_keys.end(), keys.begin(), keys.end());
    return {};
}

std::string EventStore::UpsertSql(
    pqxx::connection_base& conn,
    const std::vector<const RenderedEventRow*>& rows,
    bool replay
) {
    // EXECUTE runs a statement prepared through the protocol, and its parameters are single
    // literals, cheap to parse: every execution goes in one round trip.
    std::string sql;
    for (const EventUpsertGroup& group : GroupEventUpserts(rows)) {
        const auto& statement = replay ? group.table->replay : group.table->upsert;
        // Defined once per connection (the name follows the text), and made known to the
        // server before EXECUTE names it.
        conn.prepare(statement.name, statement.sql);
        conn.prepare_now(statement.name);
        sql += "EXECUTE " + statement.name + "(";
        bool first = true;
        for (const std::string& param : EventUpsertParams(group)) {
            sql += first ? "" : ", ";
            sql += conn.quote(param);
            first = false;
        }
        sql += ");\n";
    }
    return sql;
}

pqxx::result EventStore::Upsert(
    pqxx::transaction_base& tx,
    const std::vector<const RenderedEventRow*>& rows,
    bool replay
) {
    const std::string sql = UpsertSql(tx.conn(), rows, replay);
    return sql.empty() ? pqxx::result() : tx.exec(sql);
}

std::vector<StoredEvent> EventStore::Read(
    pqxx::connection& conn,
    const std::string& source,
    const std::optional<TimePoint>& since,
    const std::optional<std::string>& after,
    std::size_t limit
) const {
    std::string sql = statements_.Text("read_events") + conn.quote(source);
    if (since) {
        sql += " AND received_at >= " + TimestampSql(*since);
    }
    if (after) {
        sql += "\n" + statements_.Text("read_events_after") + conn.quote(source) +
               " AND p.event_key = " + conn.quote(*after) + ")";
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
EventStore::Rederive(pqxx::connection& conn, const std::vector<InboundEvent>& events) {
    const std::size_t n = events.size();
    std::vector<RederiveResult> out(n);
    std::vector<std::vector<RenderedEventRow>> rows(n);
    std::vector<std::int64_t> lock_keys;
    for (std::size_t i = 0; i < n; ++i) {
        out[i].error = RenderRows(events[i], rows[i], lock_keys);
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
                // One row at a time, in order, as replay compares each with what the rows
                // hold by then.
                for (const auto& row : rows[i]) {
                    written += static_cast<std::int64_t>(Upsert(sub, {&row}, true).affected_rows());
                }
                sub.commit();
                out[i].rows_written = written;
            } catch (const pqxx::sql_error& e) {
                if (!IsEventFault(e, conn)) {
                    throw;
                }
                out[i].error = "derived rows refused: " + redaction_.SqlErrorText(e);
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

}  // namespace chatsync::sink::detail
