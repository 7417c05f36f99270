#include "sink/detail/table_plan.hpp"

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_types.hpp"

namespace chatsync::sink::detail {
namespace {

/// The upsert's RETURNING flag; reserved for the same reason as kOrdinalColumn.
constexpr std::string_view kInsertedFlag = "_chatsync_inserted";

bool IsReserved(std::string_view name) {
    return name == kSyncedAtColumn || name == kRunIdColumn || name == kDeletedAtColumn ||
           name == kOrdinalColumn || name == kInsertedFlag;
}

/// The USING expression that converts a column to `to` without failing on any value.
std::string WidenUsing(const std::string& quoted, ColumnType to) {
    switch (to) {
        case ColumnType::kJsonb:
            return "to_jsonb(" + quoted + ")";
        case ColumnType::kDouble:
            return quoted + "::double precision";
        case ColumnType::kText:
            return quoted + "::text";
        default:
            return quoted + "::" + std::string(SqlTypeName(to));
    }
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            out += sep;
        }
        out += parts[i];
    }
    return out;
}

/// `prefix."col"` for each of `names`.
std::vector<std::string> Prefixed(std::string_view prefix, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    out.reserve(names.size());
    for (const auto& name : names) {
        out.push_back(std::string(prefix) + "." + name);
    }
    return out;
}

struct ColumnSplit {
    /// Quoted names.
    std::vector<std::string> all;
    std::vector<std::string> keys;
    std::vector<std::string> values;
};

ColumnSplit Split(const TablePlan& plan) {
    ColumnSplit split;
    std::vector<bool> is_key(plan.columns.size(), false);
    for (const std::size_t k : plan.key) {
        is_key[k] = true;
        split.keys.push_back(QuoteIdent(plan.columns[k].name));
    }
    for (std::size_t i = 0; i < plan.columns.size(); ++i) {
        split.all.push_back(QuoteIdent(plan.columns[i].name));
        if (!is_key[i]) {
            split.values.push_back(split.all.back());
        }
    }
    return split;
}

/// `a.k1 = b.k1 AND a.k2 = b.k2`.
std::string
KeysEqual(std::string_view a, std::string_view b, const std::vector<std::string>& keys) {
    std::vector<std::string> parts;
    parts.reserve(keys.size());
    for (const auto& k : keys) {
        std::string part(a);
        part.append(".").append(k).append(" = ").append(b).append(".").append(k);
        parts.push_back(std::move(part));
    }
    return Join(parts, " AND ");
}

}  // namespace

TablePlan PlanTable(
    std::string qualified,
    const std::vector<ExistingColumn>& existing,
    const std::vector<ColumnDef>& batch,
    const std::vector<std::string>& key_paths,
    bool want_deleted_at
) {
    if (key_paths.empty()) {
        throw std::invalid_argument("table " + qualified + " has no primary key paths");
    }
    TablePlan plan;
    plan.qualified = std::move(qualified);
    plan.create = existing.empty();

    std::unordered_map<std::string, std::size_t> by_path;
    std::unordered_map<std::string, std::size_t> by_name;
    std::unordered_set<std::string> taken;
    bool has_synced_at = false;
    bool has_run_id = false;
    for (std::size_t i = 0; i < existing.size(); ++i) {
        const auto& e = existing[i];
        if (e.path) {
            by_path.emplace(*e.path, i);
        }
        by_name.emplace(e.name, i);
        taken.insert(e.name);
        has_synced_at = has_synced_at || e.name == kSyncedAtColumn;
        has_run_id = has_run_id || e.name == kRunIdColumn;
        plan.has_deleted_at = plan.has_deleted_at || e.name == kDeletedAtColumn;
    }

    std::vector<std::size_t> key_batch;
    std::unordered_set<std::size_t> key_set;
    for (const auto& path : key_paths) {
        std::size_t found = batch.size();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch[i].path == path) {
                found = i;
                break;
            }
        }
        if (found == batch.size()) {
            throw std::invalid_argument(
                "primary key path '" + path + "' is not a column of the batch for " + plan.qualified
            );
        }
        key_batch.push_back(found);
        key_set.insert(found);
    }

    const std::string& q = plan.qualified;
    std::vector<std::string> actions;
    std::vector<std::pair<std::string, std::string>> comments;
    std::vector<std::string> create_columns;
    std::unordered_set<std::size_t> claimed;
    std::unordered_map<std::size_t, std::size_t> planned_of_batch;

    for (std::size_t i = 0; i < batch.size(); ++i) {
        const ColumnDef& col = batch[i];
        const bool is_key = key_set.count(i) > 0;
        const std::string proposed = ShortIdentifier(col.name, col.path);

        std::optional<std::size_t> match;
        if (const auto it = by_path.find(col.path); it != by_path.end()) {
            match = it->second;
        } else if (const auto by = by_name.find(proposed);
                   by != by_name.end() && !existing[by->second].path && !IsReserved(proposed) &&
                   claimed.count(by->second) == 0) {
            // A column without a comment (made by hand or by an older tool) whose name is the
            // one proposed: adopt it rather than create a "_2" twin.
            match = by->second;
            comments.emplace_back(proposed, col.path);
        }

        PlannedColumn planned;
        planned.batch_index = i;
        if (match) {
            claimed.insert(*match);
            const ExistingColumn& e = existing[*match];
            planned.name = e.name;
            const std::optional<ColumnType> current = ColumnTypeFromSql(e.sql_type);
            if (!current) {
                // Not a type chatsync creates: leave it alone and let PostgreSQL parse the
                // values into it.
                planned.sql_type = e.sql_type;
                planned.cell_type = col.type;
            } else if (!col.typed) {
                planned.sql_type = SqlTypeName(*current);
                planned.cell_type = *current;
            } else if (col.declared) {
                if (*current != col.type) {
                    const std::string quoted = QuoteIdent(e.name);
                    plan.conversions.push_back(ColumnConversion{
                        e.name,
                        col.path,
                        e.sql_type,
                        std::string(SqlTypeName(col.type)),
                        "ALTER TABLE " + plan.qualified + " ALTER COLUMN " + quoted + " TYPE " +
                            std::string(SqlTypeName(col.type)) + " USING " +
                            ConvertUsing(quoted, *current, col.type)});
                }
                planned.sql_type = SqlTypeName(col.type);
                planned.cell_type = col.type;
            } else {
                const ColumnType wide = Widen(*current, col.type);
                if (wide != *current) {
                    const std::string quoted = QuoteIdent(e.name);
                    actions.push_back(
                        "ALTER COLUMN " + quoted + " TYPE " + std::string(SqlTypeName(wide)) +
                        " USING " + WidenUsing(quoted, wide)
                    );
                }
                planned.sql_type = SqlTypeName(wide);
                planned.cell_type = wide;
            }
        } else {
            if (!col.typed) {
                if (is_key) {
                    throw std::invalid_argument(
                        "primary key path '" + col.path + "' has no value in the batch for " +
                        plan.qualified
                    );
                }
                // Only NULLs so far: no type to give a column yet.
                continue;
            }
            std::string name = proposed;
            for (int n = 2; taken.count(name) > 0 || IsReserved(name); ++n) {
                name = SuffixedIdentifier(proposed, n);
            }
            taken.insert(name);
            planned.name = name;
            planned.sql_type = SqlTypeName(col.type);
            planned.cell_type = col.type;
            const std::string definition =
                QuoteIdent(name) + " " + planned.sql_type + (is_key ? " NOT NULL" : "");
            if (plan.create) {
                create_columns.push_back(definition);
            } else {
                actions.push_back("ADD COLUMN " + definition);
            }
            comments.emplace_back(name, col.path);
        }
        planned_of_batch.emplace(i, plan.columns.size());
        plan.columns.push_back(std::move(planned));
    }

    std::vector<std::string> key_names;
    for (const std::size_t b : key_batch) {
        const std::size_t p = planned_of_batch.at(b);
        plan.key.push_back(p);
        key_names.push_back(QuoteIdent(plan.columns[p].name));
    }

    if (plan.create) {
        create_columns.push_back(
            QuoteIdent(kSyncedAtColumn) + " timestamptz NOT NULL DEFAULT now()"
        );
        create_columns.push_back(QuoteIdent(kRunIdColumn) + " text");
        if (want_deleted_at) {
            create_columns.push_back(QuoteIdent(kDeletedAtColumn) + " timestamptz");
            plan.has_deleted_at = true;
        }
        create_columns.push_back("PRIMARY KEY (" + Join(key_names, ", ") + ")");
        plan.ddl.push_back("CREATE TABLE " + q + " (" + Join(create_columns, ", ") + ")");
    } else {
        if (!has_synced_at) {
            actions.push_back(
                "ADD COLUMN " + QuoteIdent(kSyncedAtColumn) + " timestamptz NOT NULL DEFAULT now()"
            );
        }
        if (!has_run_id) {
            actions.push_back("ADD COLUMN " + QuoteIdent(kRunIdColumn) + " text");
        }
        if (want_deleted_at && !plan.has_deleted_at) {
            actions.push_back("ADD COLUMN " + QuoteIdent(kDeletedAtColumn) + " timestamptz");
            plan.has_deleted_at = true;
        }
        if (!actions.empty()) {
            plan.ddl.push_back("ALTER TABLE " + q + " " + Join(actions, ", "));
        }
    }
    for (const auto& [name, path] : comments) {
        plan.ddl.push_back(
            "COMMENT ON COLUMN " + q + "." + QuoteIdent(name) + " IS " + QuoteLiteral(path)
        );
    }
    return plan;
}

std::string ConvertUsing(const std::string& quoted, ColumnType from, ColumnType to) {
    // Every branch ends in a cast from text, which raises an error for text that has no
    // form in the target type, so nothing converts to NULL or to a rounded value unnoticed.
    std::string as_text =
        from == ColumnType::kJsonb ? "(" + quoted + " #>> '{}')" : "(" + quoted + "::text)";
    const bool numeric =
        from == ColumnType::kBigint || from == ColumnType::kDouble || from == ColumnType::kNumeric;
    switch (to) {
        case ColumnType::kBoolean:
            if (numeric) {
                return "CASE " + quoted + " WHEN 0 THEN false WHEN 1 THEN true ELSE " + as_text +
                       "::boolean END";
            }
            // PostgreSQL reads '0', '1', 'true' and 'false' (and t/f, yes/no, on/off) as
            // booleans, in any case and with blanks around.
            return as_text + "::boolean";
        case ColumnType::kBigint:
            if (from == ColumnType::kBoolean) {
                return quoted + "::integer::bigint";
            }
            if (from == ColumnType::kDouble || from == ColumnType::kNumeric) {
                // Whole numbers within bigint convert exactly; text of anything else fails
                // the cast.
                return "CASE WHEN " + quoted + " = trunc(" + quoted + ") AND abs(" + quoted +
                       ") < 9.2e18 THEN " + quoted + "::bigint ELSE " + as_text + "::bigint END";
            }
            return as_text + "::bigint";
        case ColumnType::kDouble:
            if (from == ColumnType::kBoolean) {
                return quoted + "::integer::double precision";
            }
            if (numeric) {
                return quoted + "::double precision";
            }
            return as_text + "::double precision";
        case ColumnType::kTimestamptz:
            return as_text + "::timestamptz";
        case ColumnType::kText:
            return as_text;
        case ColumnType::kJsonb:
            return "to_jsonb(" + quoted + ")";
        case ColumnType::kNumeric:
            if (from == ColumnType::kBoolean) {
                return quoted + "::integer::numeric";
            }
            if (numeric) {
                return quoted + "::numeric";
            }
            return as_text + "::numeric";
    }
    return as_text;
}

std::string StagingTableSql(
    const TablePlan& plan,
    const std::vector<ExistingColumn>& existing,
    std::string_view stage
) {
    std::unordered_map<std::string_view, std::string_view> planned;
    for (const auto& c : plan.columns) {
        planned.emplace(c.name, c.sql_type);
    }
    std::string sql =
        "CREATE TEMP TABLE " + std::string(stage) + " (" + QuoteIdent(kOrdinalColumn) + " bigint";
    for (const auto& e : existing) {
        if (IsReserved(e.name)) {
            continue;
        }
        const auto it = planned.find(e.name);
        sql += ", " + QuoteIdent(e.name) + " " +
               std::string(it == planned.end() ? e.sql_type : it->second);
        if (it != planned.end()) {
            planned.erase(it);
        }
    }
    for (const auto& c : plan.columns) {
        if (planned.count(c.name) > 0) {
            sql += ", " + QuoteIdent(c.name) + " " + c.sql_type;
        }
    }
    sql += ") ON COMMIT DELETE ROWS";
    return sql;
}

std::vector<std::string> StagingCopyColumns(const TablePlan& plan) {
    std::vector<std::string> out{QuoteIdent(kOrdinalColumn)};
    for (const auto& c : plan.columns) {
        out.push_back(QuoteIdent(c.name));
    }
    return out;
}

std::string UpsertSql(const TablePlan& plan, std::string_view stage, bool per_row) {
    const ColumnSplit split = Split(plan);
    const std::string keys = Join(split.keys, ", ");
    const std::string ord = QuoteIdent(kOrdinalColumn);
    const std::string flag = QuoteIdent(kInsertedFlag);
    const std::string synced = QuoteIdent(kSyncedAtColumn);
    const std::string run_id = QuoteIdent(kRunIdColumn);
    const std::string deleted = QuoteIdent(kDeletedAtColumn);

    std::vector<std::string> target_columns = split.all;
    std::vector<std::string> select_list = Prefixed("src", split.all);
    target_columns.push_back(synced);
    select_list.emplace_back("now()");
    target_columns.push_back(run_id);
    select_list.emplace_back("$1::text");
    if (plan.has_deleted_at) {
        target_columns.push_back(deleted);
        select_list.emplace_back("NULL");
    }

    // Rows already present with the same values (and not soft-deleted) are dropped here,
    // before ON CONFLICT would lock them: no new row version, no WAL, for unchanged rows.
    std::string unchanged = KeysEqual("o", "src", split.keys);
    if (!split.values.empty()) {
        unchanged += " AND (" + Join(Prefixed("o", split.values), ", ") +
                     ") IS NOT DISTINCT FROM (" + Join(Prefixed("src", split.values), ", ") + ")";
    }
    if (plan.has_deleted_at) {
        unchanged += " AND o." + deleted + " IS NULL";
    }

    std::vector<std::string> sets;
    sets.reserve(split.values.size() + 2);
    for (const auto& v : split.values) {
        sets.push_back(std::string(v).append(" = EXCLUDED.").append(v));
    }
    sets.push_back(synced + " = EXCLUDED." + synced);
    sets.push_back(run_id + " = EXCLUDED." + run_id);
    if (plan.has_deleted_at) {
        sets.push_back(deleted + " = NULL");
    }

    // Checked again at conflict time: a concurrent writer may have changed the row since the
    // filter above looked.
    std::vector<std::string> changed;
    if (!split.values.empty()) {
        changed.push_back(
            "(" + Join(Prefixed("t", split.values), ", ") + ") IS DISTINCT FROM (" +
            Join(Prefixed("EXCLUDED", split.values), ", ") + ")"
        );
    }
    if (plan.has_deleted_at) {
        changed.push_back("t." + deleted + " IS NOT NULL");
    }
    if (changed.empty()) {
        changed.emplace_back("false");
    }

    std::string sql = "WITH src AS MATERIALIZED (SELECT DISTINCT ON (" + keys + ") * FROM " +
                      std::string(stage) + " ORDER BY " + keys + ", " + ord + " DESC), ";
    sql += "w AS (INSERT INTO " + plan.qualified + " AS t (" + Join(target_columns, ", ") +
           ") SELECT " + Join(select_list, ", ") + " FROM src WHERE NOT EXISTS (SELECT 1 FROM " +
           plan.qualified + " AS o WHERE " + unchanged + ") ON CONFLICT (" + keys +
           ") DO UPDATE SET " + Join(sets, ", ") + " WHERE " + Join(changed, " OR ") +
           " RETURNING (t.xmax = 0) AS " + flag + ", " + Join(Prefixed("t", split.keys), ", ") +
           ") ";
    if (per_row) {
        sql += "SELECT (SELECT count(*) FROM src), w." + flag + ", src." + ord +
               " FROM src LEFT JOIN w ON " + KeysEqual("w", "src", split.keys);
    } else {
        sql += "SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE w." + flag +
               "), count(*) FILTER (WHERE NOT w." + flag + ") FROM w";
    }
    return sql;
}

std::string
SeenKeysSql(const TablePlan& plan, std::string_view stage, std::string_view seen_keys_table) {
    const ColumnSplit split = Split(plan);
    return "INSERT INTO " + std::string(seen_keys_table) +
           " (pass_id, table_name, key) SELECT DISTINCT $1::text, $2::text, ROW(" +
           Join(split.keys, ", ") + ")::text FROM " + std::string(stage);
}

std::string SweepSql(
    std::string_view qualified,
    const std::vector<std::string>& key_columns,
    std::string_view seen_keys_table
) {
    std::vector<std::string> keys;
    keys.reserve(key_columns.size());
    for (const auto& k : key_columns) {
        keys.push_back(QuoteIdent(k));
    }
    const std::string deleted = QuoteIdent(kDeletedAtColumn);
    return "UPDATE " + std::string(qualified) + " AS t SET " + deleted + " = now() WHERE t." +
           deleted + " IS NULL AND NOT EXISTS (SELECT 1 FROM " + std::string(seen_keys_table) +
           " AS s WHERE s.pass_id = $1::text AND s.table_name = $2::text AND s.key = ROW(" +
           Join(Prefixed("t", keys), ", ") + ")::text)";
}

}  // namespace chatsync::sink::detail
