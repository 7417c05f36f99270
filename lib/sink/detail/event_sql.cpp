#include "sink/detail/event_sql.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "sink/detail/identifier.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink::detail {

/// Checks a declaration and plans its table in the schema `schema_ident` (a short identifier,
/// unquoted). Column types stay to be read from the catalog. Throws SinkFailure.
EventTablePlan PlanEventTable(const std::string& schema_ident, const EventTable& table) {
    const auto fail = [&](const std::string& why) {
        return SinkFailure(
            Errc::kSinkPermanent, "event table " + schema_ident + "." + table.name + ": " + why
        );
    };
    if (table.name.empty()) {
        throw SinkFailure(
            Errc::kSinkPermanent, "an event table of " + schema_ident + " has no name"
        );
    }
    if (table.key.empty()) {
        throw fail("no key columns");
    }
    EventTablePlan plan;
    plan.qualified = QualifiedName(schema_ident, ShortIdentifier(table.name, table.name));
    plan.lock_key = AdvisoryLockKey("chatsync.table:" + plan.qualified);
    plan.merge = table.merge;
    plan.key = table.key;
    std::unordered_set<std::string> names;
    for (const auto& c : table.columns) {
        std::string name = ShortIdentifier(c.name, c.name);
        if (c.name.empty() || name == kSyncedAtColumn) {
            throw fail("column name '" + c.name + "' is empty or reserved");
        }
        if (!names.insert(name).second) {
            throw fail("column " + c.name + " is declared twice");
        }
        if (std::find(kEventColumnTypes.begin(), kEventColumnTypes.end(), c.type) ==
            kEventColumnTypes.end()) {
            throw fail(
                "column " + c.name + " has type '" + c.type +
                "' (text, bigint, integer, smallint, boolean, double precision, timestamptz or "
                "jsonb)"
            );
        }
        EventTablePlan::Column column;
        column.ident = QuoteIdent(name);
        column.name = std::move(name);
        column.declared_type = c.type;
        column.sql_type = c.type;
        plan.columns.emplace_back(c.name, std::move(column));
    }
    std::unordered_set<std::string> key_names;
    for (const auto& k : table.key) {
        const EventTablePlan::Column* column = plan.Find(k);
        if (column == nullptr) {
            throw fail("key column " + k + " is not declared");
        }
        if (!key_names.insert(k).second) {
            throw fail("key column " + k + " is named twice");
        }
        plan.key_list += (plan.key_list.empty() ? "" : ", ") + column->ident;
    }
    if (table.merge == MergePolicy::kRanked) {
        if (plan.Find(table.rank_column) == nullptr || key_names.count(table.rank_column) > 0) {
            throw fail("rank column '" + table.rank_column + "' is not a declared non-key column");
        }
        plan.rank = table.rank_column;
    }
    return plan;
}

/// `CREATE TABLE IF NOT EXISTS` for a planned event table.
std::string CreateEventTableSql(const EventTablePlan& plan) {
    std::string sql = "CREATE TABLE IF NOT EXISTS " + plan.qualified + " (";
    for (const auto& [declared, column] : plan.columns) {
        sql += column.ident + " " + column.declared_type + ", ";
    }
    sql += QuoteIdent(kSyncedAtColumn) + " timestamptz, PRIMARY KEY (" + plan.key_list + "))";
    return sql;
}

RenderedEventRow RenderEventRow(
    pqxx::connection& conn,
    std::shared_ptr<const EventTablePlan> table,
    const EventRow& row,
    std::string synced_at
) {
    const auto fail = [&](const std::string& why) {
        return SinkFailure(Errc::kSinkPermanent, "a row for table " + row.table + ": " + why);
    };
    RenderedEventRow out;
    out.values.reserve(row.values.size());
    std::unordered_set<std::string_view> given;
    std::vector<std::pair<const std::string*, std::string>> keys;
    for (const auto& [name, value] : row.values) {
        const EventTablePlan::Column* column = table->Find(name);
        if (column == nullptr) {
            throw fail("no column " + name + " is declared");
        }
        if (!given.insert(name).second) {
            throw fail("column " + name + " is given twice");
        }
        if (value && value->find('\0') != std::string::npos) {
            throw fail("the value of column " + name + " contains a NUL byte");
        }
        std::string literal =
            (value ? conn.quote(*value) : std::string("NULL")) + "::" + column->sql_type;
        if (std::find(table->key.begin(), table->key.end(), name) != table->key.end()) {
            if (!value) {
                throw fail("key column " + name + " is null");
            }
            keys.emplace_back(&name, literal);
        }
        out.values.emplace_back(column, std::move(literal));
    }
    for (const auto& k : table->key) {
        const auto it =
            std::find_if(keys.begin(), keys.end(), [&](const auto& p) { return *p.first == k; });
        if (it == keys.end()) {
            throw fail("key column " + k + " is missing");
        }
        // Literals hold no NUL (checked above), so the separator keeps keys apart.
        out.key += it->second;
        out.key.push_back('\0');
    }
    out.table = std::move(table);
    out.synced_at = std::move(synced_at);
    return out;
}

std::string EventUpsertSql(const std::vector<const RenderedEventRow*>& rows, bool replay) {
    const EventTablePlan& table = *rows.front()->table;
    const std::string synced = QuoteIdent(kSyncedAtColumn);
    // The columns any row gives, in declaration order.
    std::vector<const EventTablePlan::Column*> columns;
    for (const auto& entry : table.columns) {
        const EventTablePlan::Column* column = &entry.second;
        const bool given = std::any_of(rows.begin(), rows.end(), [&](const RenderedEventRow* r) {
            return std::any_of(r->values.begin(), r->values.end(), [&](const auto& v) {
                return v.first == column;
            });
        });
        if (given) {
            columns.push_back(column);
        }
    }
    std::string sql = "INSERT INTO " + table.qualified + " AS t (";
    for (const auto* column : columns) {
        sql += column->ident + ", ";
    }
    sql += synced + ") VALUES ";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        sql += i == 0 ? "(" : ", (";
        for (const auto* column : columns) {
            const auto& values = rows[i]->values;
            const auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) {
                return v.first == column;
            });
            sql += it != values.end() ? it->second : "NULL::" + column->sql_type;
            sql += ", ";
        }
        sql += rows[i]->synced_at + ")";
    }
    sql += " ON CONFLICT (" + table.key_list + ") DO ";

    const EventTablePlan::Column* rank_column =
        table.merge == MergePolicy::kRanked ? table.Find(table.rank) : nullptr;
    std::vector<const EventTablePlan::Column*> merged;
    for (const auto* column : columns) {
        const bool key = std::any_of(table.key.begin(), table.key.end(), [&](const auto& k) {
            return table.Find(k) == column;
        });
        if (!key && column != rank_column) {
            merged.push_back(column);
        }
    }
    const bool ranked = rank_column != nullptr;
    if (table.merge == MergePolicy::kKeepFirst || (merged.empty() && !ranked)) {
        return sql + "NOTHING";
    }
    // (column, its new value): the SET list, and both sides of the WHERE.
    std::vector<std::pair<std::string, std::string>> set;
    std::string rank;
    std::string newer;
    // The event is not older than what the row holds.
    const std::string recent =
        "(t." + synced + " IS NULL OR EXCLUDED." + synced + " >= t." + synced + ")";
    if (ranked) {
        rank = rank_column->ident;
        newer = "t." + rank + " IS NULL OR EXCLUDED." + rank + " >= t." + rank;
        if (replay) {
            newer = "(t." + rank + " IS NULL AND EXCLUDED." + rank + " IS NOT NULL) OR EXCLUDED." +
                    rank + " > t." + rank + " OR (EXCLUDED." + rank + " IS NOT DISTINCT FROM t." +
                    rank + " AND " + recent + ")";
        }
    } else if (replay) {
        newer = recent;
    }
    for (const auto* column : merged) {
        const std::string& c = column->ident;
        std::string fresh = "COALESCE(EXCLUDED.";
        fresh.append(c).append(", t.").append(c).append(")");
        if (!newer.empty()) {
            std::string chosen = "CASE WHEN ";
            chosen.append(newer).append(" THEN ").append(fresh);
            chosen.append(" ELSE COALESCE(t.").append(c).append(", EXCLUDED.").append(c);
            chosen.append(") END");
            fresh = std::move(chosen);
        }
        set.emplace_back(c, std::move(fresh));
    }
    if (ranked) {
        set.emplace_back(rank, "GREATEST(t." + rank + ", EXCLUDED." + rank + ")");
    }
    std::string assignments;
    std::string before;
    std::string after;
    for (const auto& [c, fresh] : set) {
        assignments.append(c).append(" = ").append(fresh).append(", ");
        before += (before.empty() ? "t." : ", t.") + c;
        after += (after.empty() ? "" : ", ") + fresh;
    }
    return sql + "UPDATE SET " + assignments + synced + " = GREATEST(t." + synced + ", EXCLUDED." +
           synced + ") WHERE ROW(" + before + ") IS DISTINCT FROM ROW(" + after + ")";
}

std::string EventUpsertsSql(const std::vector<const RenderedEventRow*>& rows) {
    // (generation, the table's first place in `rows`) -> the rows of that statement.
    std::map<std::pair<std::size_t, std::size_t>, std::vector<const RenderedEventRow*>> statements;
    std::unordered_map<const EventTablePlan*, std::size_t> table_order;
    std::unordered_map<const EventTablePlan*, std::unordered_map<std::string_view, std::size_t>>
        seen;
    for (const RenderedEventRow* row : rows) {
        const auto order = table_order.emplace(row->table.get(), table_order.size()).first->second;
        const std::size_t generation = seen[row->table.get()][row->key]++;
        statements[{generation, order}].push_back(row);
    }
    std::string sql;
    for (const auto& [place, group] : statements) {
        sql += EventUpsertSql(group);
        sql += ";\n";
    }
    return sql;
}

}  // namespace chatsync::sink::detail
