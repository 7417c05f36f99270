#include "sink/detail/event_sql.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>
#include <unordered_set>

#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_values.hpp"
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
    std::shared_ptr<const EventTablePlan> table,
    const EventRow& row,
    std::int64_t synced_at
) {
    const auto fail = [&](const std::string& why) {
        return SinkFailure(Errc::kSinkPermanent, "a row for table " + row.table + ": " + why);
    };
    RenderedEventRow out;
    out.values.resize(table->columns.size());
    std::vector<bool> given(table->columns.size(), false);
    for (const auto& field : row.values) {
        const std::string& name = field.first;
        const std::optional<std::string>& value = field.second;
        const std::size_t at = table->IndexOf(name);
        if (at == table->columns.size()) {
            throw fail("no column " + name + " is declared");
        }
        if (given[at]) {
            throw fail("column " + name + " is given twice");
        }
        given[at] = true;
        if (value && value->find('\0') != std::string::npos) {
            throw fail("the value of column " + name + " contains a NUL byte");
        }
        if (value && !IsUtf8(*value)) {
            throw fail("the value of column " + name + " is not UTF-8 text");
        }
        out.values[at] = value;
    }
    for (const auto& k : table->key) {
        // PlanEventTable made sure every key column is declared.
        const auto& value = out.values[table->IndexOf(k)];
        if (!value) {
            throw fail("key column " + k + " is missing or null");
        }
        out.key += *value;
        out.key.push_back('\0');
    }
    out.table = std::move(table);
    out.synced_at = synced_at;
    return out;
}

std::string EventUpsertSql(const EventTablePlan& table, bool replay) {
    const std::string synced = QuoteIdent(kSyncedAtColumn);
    std::string sql = "INSERT INTO " + table.qualified + " AS t (";
    std::string select;
    std::string arrays;
    std::string aliases;
    std::size_t n = 0;
    for (const auto& [declared, column] : table.columns) {
        ++n;
        const std::string v = "v" + std::to_string(n);
        sql += column.ident + ", ";
        select += "u." + v + ", ";
        arrays += "$" + std::to_string(n) + "::" + column.sql_type + "[], ";
        aliases += v + ", ";
    }
    sql += synced + ") SELECT " + select +
           "'epoch'::timestamptz + u.synced * interval '1 microsecond' FROM unnest(" + arrays +
           "$" + std::to_string(n + 1) + "::bigint[]) AS u(" + aliases + "synced) ON CONFLICT (" +
           table.key_list + ") DO ";

    const EventTablePlan::Column* rank_column =
        table.merge == MergePolicy::kRanked ? table.Find(table.rank) : nullptr;
    std::vector<const EventTablePlan::Column*> merged;
    for (const auto& [declared, column] : table.columns) {
        const bool key = std::find(table.key.begin(), table.key.end(), declared) != table.key.end();
        if (!key && &column != rank_column) {
            merged.push_back(&column);
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

void PlanEventUpserts(EventTablePlan& plan) {
    const auto statement = [](std::string sql) {
        char digest[17];
        std::snprintf(
            digest, sizeof digest, "%016llx", static_cast<unsigned long long>(AdvisoryLockKey(sql))
        );
        return EventTablePlan::Statement{std::string("chatsync_ev_") + digest, std::move(sql)};
    };
    plan.upsert = statement(EventUpsertSql(plan, false));
    plan.replay = statement(EventUpsertSql(plan, true));
}

namespace {

/// Folds `next`, a later row of the same key, into `into` as a kCoalesce upsert of both in
/// turn would: a value replaces the one before unless it is null, and the receipt time is
/// that of the last row that changed something.
void Coalesce(RenderedEventRow& into, const RenderedEventRow& next) {
    bool changed = false;
    for (std::size_t i = 0; i < next.values.size(); ++i) {
        if (next.values[i] && next.values[i] != into.values[i]) {
            into.values[i] = next.values[i];
            changed = true;
        }
    }
    if (changed) {
        into.synced_at = std::max(into.synced_at, next.synced_at);
    }
}

/// Folds `next`, a later ranked row of the same key, into `into` when a ranked upsert of the
/// one row writes what upserts of both in turn would: both of one rank (or both unranked),
/// and no column to which both give different values. Each then only fills what the other
/// leaves null, on either side of the stored rank. False, and `into` unchanged, otherwise.
bool FoldRanked(const EventTablePlan& table, RenderedEventRow& into, const RenderedEventRow& next) {
    const std::size_t r = table.IndexOf(table.rank);
    if (r >= into.values.size() || into.values[r] != next.values[r]) {
        return false;
    }
    for (std::size_t i = 0; i < next.values.size(); ++i) {
        if (into.values[i] && next.values[i] && into.values[i] != next.values[i]) {
            return false;
        }
    }
    bool filled = false;
    for (std::size_t i = 0; i < next.values.size(); ++i) {
        if (!into.values[i] && next.values[i]) {
            into.values[i] = next.values[i];
            filled = true;
        }
    }
    if (filled) {
        into.synced_at = std::max(into.synced_at, next.synced_at);
    }
    return true;
}

/// Folds `next` into `into`, the latest row of the same key, where the table's policy lets
/// one row stand for both; false when `next` needs an execution of its own.
bool Fold(const EventTablePlan& table, RenderedEventRow& into, const RenderedEventRow& next) {
    switch (table.merge) {
        case MergePolicy::kKeepFirst:
            return true;  // The first row stands.
        case MergePolicy::kCoalesce:
            Coalesce(into, next);
            return true;
        case MergePolicy::kRanked:
            return FoldRanked(table, into, next);
    }
    return false;
}

}  // namespace

std::vector<EventUpsertGroup> GroupEventUpserts(const std::vector<const RenderedEventRow*>& rows) {
    // (repeat, table name, plan) -> key -> row: std::map keeps the execution order fixed,
    // every first row of a key before any repeat (whose row the first has locked already).
    // The plan tells apart two declarations of one table, should the tables be prepared
    // again between two rows of a batch.
    using Place = std::tuple<std::size_t, std::string_view, const EventTablePlan*>;
    std::map<Place, std::map<std::string_view, RenderedEventRow>> groups;
    // The repeat of the latest execution that holds each table row.
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> latest;
    for (const RenderedEventRow* row : rows) {
        const EventTablePlan& table = *row->table;
        const auto [at, first] = latest.try_emplace({table.qualified, row->key}, 0);
        if (!first) {
            const auto group = groups.find(Place{at->second, table.qualified, &table});
            if (group != groups.end()) {
                const auto before = group->second.find(row->key);
                if (before != group->second.end() && Fold(table, before->second, *row)) {
                    continue;
                }
            }
            ++at->second;
        }
        groups[Place{at->second, table.qualified, &table}].emplace(row->key, *row);
    }
    std::vector<EventUpsertGroup> out;
    out.reserve(groups.size());
    for (auto& [place, group] : groups) {
        EventUpsertGroup g;
        g.table = std::get<2>(place);
        g.rows.reserve(group.size());
        for (auto& [key, row] : group) {
            g.rows.push_back(std::move(row));
        }
        out.push_back(std::move(g));
    }
    return out;
}

std::vector<std::string> EventUpsertParams(const EventUpsertGroup& group) {
    const std::size_t columns = group.table->columns.size();
    std::vector<std::string> params(columns + 1, "{");
    for (std::size_t r = 0; r < group.rows.size(); ++r) {
        const RenderedEventRow& row = group.rows[r];
        for (std::size_t c = 0; c < columns; ++c) {
            std::string& array = params[c];
            if (r > 0) {
                array.push_back(',');
            }
            const std::optional<std::string>& value = row.values[c];
            if (!value) {
                array += "NULL";
                continue;
            }
            array.push_back('"');
            for (const char ch : *value) {
                if (ch == '"' || ch == '\\') {
                    array.push_back('\\');
                }
                array.push_back(ch);
            }
            array.push_back('"');
        }
        if (r > 0) {
            params[columns].push_back(',');
        }
        params[columns] += std::to_string(row.synced_at);
    }
    for (auto& p : params) {
        p.push_back('}');
    }
    return params;
}

}  // namespace chatsync::sink::detail
