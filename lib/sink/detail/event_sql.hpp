#pragma once

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pqxx/connection>

#include "core/error.hpp"
#include "sink/sink.hpp"

/// @file
/// The SQL of event intake: the event tables a strategy declares, planned against the
/// catalog, and the upserts of the rows derived from events. Pure text; pg_sink.cpp runs it.

namespace chatsync::sink::detail {

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

/// The column types an event table may declare (EventColumn::type). Fixed, because the merge
/// policies compare values: every one of these has equality and ordering.
inline constexpr std::array<std::string_view, 8> kEventColumnTypes{
    "text",
    "bigint",
    "integer",
    "smallint",
    "boolean",
    "double precision",
    "timestamptz",
    "jsonb",
};

/// A declared event table, as StoreEvents writes it.
struct EventTablePlan {
    struct Column {
        /// The column's name in the database.
        std::string name;
        /// The same, quoted.
        std::string ident;
        /// The type as declared, for CREATE and ALTER.
        std::string declared_type;
        /// The type as the catalog has it after PrepareEventTables (the declared one unless an
        /// operator changed the column): values are cast to it, so a value it rejects fails
        /// with a message that names it.
        std::string sql_type;
    };

    /// `"schema"."table"`.
    std::string qualified;
    /// The table's advisory lock, shared with CommitPage.
    std::int64_t lock_key = 0;
    MergePolicy merge = MergePolicy::kCoalesce;
    /// Declared names of the key columns.
    std::vector<std::string> key;
    /// The quoted key columns, comma-separated (the ON CONFLICT target).
    std::string key_list;
    /// Declared name of the rank column; empty unless merge is kRanked.
    std::string rank;
    /// By declared name, in declaration order.
    std::vector<std::pair<std::string, Column>> columns;

    const Column* Find(std::string_view name) const {
        for (const auto& [declared, column] : columns) {
            if (declared == name) {
                return &column;
            }
        }
        return nullptr;
    }
};

/// Checks a declaration and plans its table in the schema `schema_ident` (a short identifier,
/// unquoted). Column types stay to be read from the catalog. Throws SinkFailure.
EventTablePlan PlanEventTable(const std::string& schema_ident, const EventTable& table);

/// `CREATE TABLE IF NOT EXISTS` for a planned event table.
std::string CreateEventTableSql(const EventTablePlan& plan);

/// A derived row checked against its table's declaration, with its values as SQL literals.
struct RenderedEventRow {
    std::shared_ptr<const EventTablePlan> table;
    /// The given columns with their values, `'...'::type` or `NULL::type`, in the row's order.
    std::vector<std::pair<const EventTablePlan::Column*, std::string>> values;
    /// The key columns' literals, joined: rows with equal keys upsert the same table row.
    std::string key;
    /// The SQL for the time the row's event was received.
    std::string synced_at;
};

/// Checks `row` against `table` and renders its values. Throws SinkFailure when the row does
/// not fit the declaration (an undeclared or repeated column, a missing or null key, a NUL
/// byte), and pqxx::argument_error when a value is not valid in the connection's encoding.
RenderedEventRow RenderEventRow(
    pqxx::connection& conn,
    std::shared_ptr<const EventTablePlan> table,
    const EventRow& row,
    std::string synced_at
);

/// One upsert statement for `rows`, all of one table and each of another key (PostgreSQL
/// refuses a statement that changes a row twice), following the table's merge policy:
///
/// kCoalesce: `c = COALESCE(EXCLUDED.c, t.c)` for each given non-key column.
/// kRanked: `c = CASE WHEN <the new rank is not lower> THEN COALESCE(EXCLUDED.c, t.c)
/// ELSE COALESCE(t.c, EXCLUDED.c) END` and `rank = GREATEST(t.rank, EXCLUDED.rank)`; a
/// stored null rank counts as the lowest, so unranked rows never hold back ranked ones.
/// kKeepFirst: nothing changes an existing row.
/// Either way the WHERE skips rows the update would leave as they are, so they are neither
/// rewritten nor their `_chatsync_synced_at` moved. A column that some rows give and others
/// do not is NULL in the others, which every policy treats as not given.
///
/// With `replay` (an event derived again, possibly after newer ones were written), an event
/// received before the stored row's `_chatsync_synced_at` counts as older: under kCoalesce
/// it only fills the row's nulls, and under kRanked it replaces values only with a higher
/// rank (at equal rank, only when it is not older).
std::string EventUpsertSql(const std::vector<const RenderedEventRow*>& rows, bool replay = false);

/// The upserts of `rows`, in the order their events were received, in as few statements as
/// that order allows: one per table for the first row of each key, one more for the second
/// row of a key, and so on, each statement ending in ";\n". Rows of one key thus apply in
/// the order received, and rows of different keys, which never touch the same table row, in
/// any order.
std::string EventUpsertsSql(const std::vector<const RenderedEventRow*>& rows);

}  // namespace chatsync::sink::detail
