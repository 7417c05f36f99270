#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/table.hpp"

/// @file
/// How a batch maps onto a data table: which columns it needs, under which names and types,
/// which DDL brings the table there, and the SQL that stages and upserts the batch. Pure: the
/// catalog is read and the statements are run by pg_sink.cpp.

namespace chatsync::sink::detail {

inline constexpr std::string_view kSyncedAtColumn = "_chatsync_synced_at";
inline constexpr std::string_view kRunIdColumn = "_chatsync_run_id";
inline constexpr std::string_view kDeletedAtColumn = "_chatsync_deleted_at";
/// The staging table's batch position column; reserved so no data column can take it.
inline constexpr std::string_view kOrdinalColumn = "_chatsync_ord";

/// A column as the catalog has it.
struct ExistingColumn {
    std::string name;
    /// format_type() spelling, e.g. "bigint", "timestamp with time zone".
    std::string sql_type;
    /// The column comment: the source path for columns chatsync created.
    std::optional<std::string> path;
};

/// Where one batch column goes.
struct PlannedColumn {
    /// Index into the batch's columns.
    std::size_t batch_index = 0;
    std::string name;
    /// The column's type after this batch's DDL, as SQL (for the staging table).
    std::string sql_type;
    /// The type CellText() converts the batch's values to.
    ColumnType cell_type = ColumnType::kText;
};

/// An existing column converted to the type the spec declares for it (column_types).
struct ColumnConversion {
    std::string column;
    /// The record path the column holds.
    std::string path;
    /// format_type() spellings before and after.
    std::string from;
    std::string to;
    /// `ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...`: a conversion that takes both
    /// forms a value may have arrived in (0/1 and true/false, digits as text) and fails,
    /// changing nothing, on a value that has no form in the declared type.
    std::string sql;
};

struct TablePlan {
    /// `"schema"."table"`.
    std::string qualified;
    bool create = false;
    /// The batch columns that are written, in batch order. Columns that are NULL throughout
    /// the batch and absent from the table are left out.
    std::vector<PlannedColumn> columns;
    /// Indices into `columns` of the primary key, in key order.
    std::vector<std::size_t> key;
    /// Whether the table has (or gets) _chatsync_deleted_at.
    bool has_deleted_at = false;
    /// Statements that bring the table to the plan (CREATE TABLE or one ALTER TABLE, then the
    /// column comments); empty when nothing changes.
    std::vector<std::string> ddl;
    /// Existing columns whose type differs from the one declared for them, run after `ddl`,
    /// one statement each so that a failure names its column.
    std::vector<ColumnConversion> conversions;
};

/// Plans writing `batch` into the table `qualified`, whose current columns are `existing`
/// (empty: the table does not exist).
///
/// A batch column whose path a column comment names maps to that column, widened when the
/// batch needs a wider type, or converted when the batch declares another type for it (a
/// column of a type chatsync does not create is left as it is); an unnamed path gets the column's
/// proposed name, shortened to 63 bytes, or with "_2", "_3"... when that name is taken by another
/// path, so the result depends only on the table and the order of arrival.
///
/// Throws std::invalid_argument when the keys cannot be written (a key path is not in the
/// batch, or no key paths are given, or a new table's key column has no value).
TablePlan PlanTable(
    std::string qualified,
    const std::vector<ExistingColumn>& existing,
    const std::vector<ColumnDef>& batch,
    const std::vector<std::string>& key_paths,
    bool want_deleted_at
);

/// The USING expression that converts column `quoted` of type `from` to the declared type
/// `to`: booleans from 0/1 and true/false (numbers or text), numbers from their text, and
/// so on. A value without a form in `to` (2 for a boolean, 1.5 for a bigint) raises an
/// error rather than becoming NULL or being rounded: data is never lost.
std::string ConvertUsing(const std::string& quoted, ColumnType from, ColumnType to);

/// `CREATE TEMP TABLE <stage> (_chatsync_ord bigint, <columns>) ON COMMIT DELETE ROWS` with
/// every data column the table has after the plan's DDL (`existing` is the table before it),
/// whether or not the batch has values for it: all batches for a table then share one layout,
/// and every commit empties the table, so a session makes it once. A batch is copied into
/// its own columns (StagingCopyColumns).
std::string StagingTableSql(
    const TablePlan& plan,
    const std::vector<ExistingColumn>& existing,
    std::string_view stage
);

/// The quoted staging columns a batch is copied into: the ordinal, then the plan's columns.
std::vector<std::string> StagingCopyColumns(const TablePlan& plan);

/// The upsert from `stage` into the table. Parameter $1 is the run id. Unchanged rows are
/// filtered out before they reach ON CONFLICT, so they are neither rewritten nor locked.
///
/// With `per_row`, returns one row per distinct key: (distinct rows, inserted, ordinal)
/// where `inserted` is NULL for unchanged rows; otherwise one row
/// (distinct rows, inserted count, updated count).
std::string UpsertSql(const TablePlan& plan, std::string_view stage, bool per_row);

/// Records the batch's keys under a pass: $1 pass id, $2 the table's qualified name.
std::string
SeenKeysSql(const TablePlan& plan, std::string_view stage, std::string_view seen_keys_table);

/// Marks the rows whose key the pass did not see as deleted: $1 pass id, $2 qualified name.
std::string SweepSql(
    std::string_view qualified,
    const std::vector<std::string>& key_columns,
    std::string_view seen_keys_table
);

}  // namespace chatsync::sink::detail
