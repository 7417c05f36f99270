#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "sink/sink.hpp"

/// @file
/// The SQL of event intake: the event tables a strategy declares, planned against the
/// catalog, and the upserts of the rows derived from events. Pure text; event_store.cpp runs
/// it.

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

    /// The prepared upserts of intake and of rederive (EventUpsertSql), named after a digest
    /// of their text: a table whose columns changed gets statements of another name.
    struct Statement {
        std::string name;
        std::string sql;
    };

    Statement upsert;
    Statement replay;

    /// The place in `columns` of the column declared as `name`; columns.size() if none.
    std::size_t IndexOf(std::string_view name) const {
        std::size_t i = 0;
        while (i < columns.size() && columns[i].first != name) {
            ++i;
        }
        return i;
    }

    const Column* Find(std::string_view name) const {
        const std::size_t i = IndexOf(name);
        return i < columns.size() ? &columns[i].second : nullptr;
    }
};

/// Checks a declaration and plans its table in the schema `schema_ident` (a short identifier,
/// unquoted). Column types stay to be read from the catalog. Throws SinkFailure.
EventTablePlan PlanEventTable(const std::string& schema_ident, const EventTable& table);

/// `CREATE TABLE IF NOT EXISTS` for a planned event table.
std::string CreateEventTableSql(const EventTablePlan& plan);

/// A derived row checked against its table's declaration.
struct RenderedEventRow {
    std::shared_ptr<const EventTablePlan> table;
    /// By column, in the table's declaration order: the value as text in PostgreSQL's input
    /// syntax, or nullopt when the row gives NULL or leaves the column out (alike under every
    /// merge policy).
    std::vector<std::optional<std::string>> values;
    /// The key columns' values, each followed by a NUL byte (values hold none): rows with
    /// equal keys upsert the same table row.
    std::string key;
    /// When the row's event was received, in microseconds since the epoch.
    std::int64_t synced_at = 0;
};

/// Checks `row` against `table` and returns it with its values by column. Throws SinkFailure
/// when the row does not fit the declaration (an undeclared or repeated column, a missing or
/// null key, a NUL byte, text that is not UTF-8).
RenderedEventRow RenderEventRow(
    std::shared_ptr<const EventTablePlan> table,
    const EventRow& row,
    std::int64_t synced_at
);

/// The upsert of `table`, a prepared statement with one array parameter per column in
/// declaration order and one of receipt times (bigint microseconds) last, so that one
/// execution writes many rows. It follows the table's merge policy:
///
/// kCoalesce: `c = COALESCE(EXCLUDED.c, t.c)` for each non-key column.
/// kRanked: `c = CASE WHEN <the new rank is not lower> THEN COALESCE(EXCLUDED.c, t.c)
/// ELSE COALESCE(t.c, EXCLUDED.c) END` and `rank = GREATEST(t.rank, EXCLUDED.rank)`; a
/// stored null rank counts as the lowest, so unranked rows never hold back ranked ones.
/// kKeepFirst: nothing changes an existing row.
/// Either way the WHERE skips rows the update would leave as they are, so they are neither
/// rewritten nor their `_chatsync_synced_at` moved. A NULL value is thus "not given".
///
/// With `replay` (an event derived again, possibly after newer ones were written), an event
/// received before the stored row's `_chatsync_synced_at` counts as older: under kCoalesce
/// it only fills the row's nulls, and under kRanked it replaces values only with a higher
/// rank (at equal rank, only when it is not older).
std::string EventUpsertSql(const EventTablePlan& table, bool replay);

/// Fills `plan.upsert` and `plan.replay` from its columns' types.
void PlanEventUpserts(EventTablePlan& plan);

/// Rows of one table, each of another key and sorted by key, for one execution of the
/// table's upsert.
struct EventUpsertGroup {
    const EventTablePlan* table = nullptr;
    std::vector<RenderedEventRow> rows;
};

/// The upserts of `rows`, given in the order their events were received, in as few
/// executions as that order allows. PostgreSQL refuses a statement that changes a row twice,
/// so rows of one key are first merged where the policy lets the merged row stand for the
/// sequence exactly: under kKeepFirst the first row stands; under kCoalesce each column takes
/// its last non-null value, and the receipt time of the last row that gave a new value; under
/// kRanked, rows of one rank that give no column different values fill each other's nulls.
/// Other ranked rows are not merged (a lower rank only fills, judged against the stored
/// rank): such a repeat of a key goes into the next execution, and so the rows of a key
/// apply in the order received. Executions come in a fixed order of table names (then
/// repeats) and rows sorted by key, so that concurrent batches take their row locks in one
/// order.
std::vector<EventUpsertGroup> GroupEventUpserts(const std::vector<const RenderedEventRow*>& rows);

/// The parameters of one execution of `group.table`'s upsert: a PostgreSQL array literal
/// per column, then the receipt times.
std::vector<std::string> EventUpsertParams(const EventUpsertGroup& group);

}  // namespace chatsync::sink::detail
