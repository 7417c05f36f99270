#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

/// @file
/// The tabular form that records take between the normaliser and the sink.

namespace chatsync {

/// PostgreSQL column types that chatsync infers; Widen() joins them.
enum class ColumnType : std::uint8_t {
    kBoolean,
    kBigint,
    kDouble,
    kTimestamptz,
    kText,
    kJsonb,
    /// Integers beyond 64 bits, kept exactly; also takes bigint and double values.
    kNumeric,
};

/// The narrowest type that holds values of both `a` and `b` without losing any:
/// bigint + double = double; numeric + bigint or double = numeric (it holds the exact text of
/// both); jsonb absorbs everything (scalars become JSON scalars); any other mix is text.
ColumnType Widen(ColumnType a, ColumnType b) noexcept;

/// The names a spec's `column_types` declares a type by (PostgreSQL's spellings, as users
/// write them). What the sink creates and reads back from the catalog is the sink's business.
inline constexpr std::array<std::pair<std::string_view, ColumnType>, 7> kColumnTypeNames{{
    {"boolean", ColumnType::kBoolean},
    {"bigint", ColumnType::kBigint},
    {"numeric", ColumnType::kNumeric},
    {"double precision", ColumnType::kDouble},
    {"timestamptz", ColumnType::kTimestamptz},
    {"text", ColumnType::kText},
    {"jsonb", ColumnType::kJsonb},
}};

/// The name of `t` in kColumnTypeNames, for messages about declared types.
std::string_view ColumnTypeName(ColumnType t) noexcept;

/// One column of a batch.
struct ColumnDef {
    /// Where the value came from in the record, as dotted path components ("lead.fullname").
    std::string path;
    /// The proposed column name: snake_case, components joined by "__". It may exceed
    /// PostgreSQL's 63-byte limit; the sink shortens it and resolves collisions.
    std::string name;
    /// The widest type seen for this column in the batch.
    ColumnType type = ColumnType::kText;
    /// False while the batch has only NULLs for this column: its type is then unknown, and
    /// the sink creates no column for it (but writes NULL where the column already exists,
    /// so a field that became null is cleared).
    bool typed = false;
    /// The spec declares `type` for this path (column_types): values were converted to it,
    /// it never widens, and the sink converts an existing column of another type to it.
    bool declared = false;
};

/// One non-null value: its text as PostgreSQL accepts it for `type` (unescaped; the sink
/// escapes for COPY) and the type inferred for this value alone. A column's type is the
/// Widen() of its values' types; CellText() converts a value to the column's final type.
struct Value {
    std::string text;
    ColumnType type = ColumnType::kText;
};

/// The text of `v` for a column of type `target` (Widen(v.type, target) == target): as is,
/// except that a text or timestamptz value in a jsonb column becomes a JSON string, built in
/// `scratch`. The view lives as long as `v` and `scratch` stay unchanged.
std::string_view CellText(const Value& v, ColumnType target, std::string& scratch);

/// Rows for one table. A cell is nullopt for NULL. A row may be shorter than `columns`:
/// missing trailing cells are NULL.
class RowBatch final {
public:
    using Cell = std::optional<Value>;
    using Row = std::vector<Cell>;

    /// Finds the column for `path`, or adds it; widens its type by `type`. Returns its index.
    std::size_t Column(std::string_view path, std::string_view name, ColumnType type);

    /// Finds or adds the column without giving it a type (for NULLs and for columns the
    /// caller fills itself through Set()).
    std::size_t Column(std::string_view path, std::string_view name);

    /// Finds or adds the column and fixes its type to `type`, declared by the spec: typed
    /// even while it holds only NULLs, and never widened by the values set in it (they must
    /// have been converted to `type`).
    std::size_t Declare(std::string_view path, std::string_view name, ColumnType type);

    /// Index of an existing column by path, or nullopt. Records of one listing mostly give
    /// their fields in the order the columns were added in, so the column after the last one
    /// found is compared first, before the path is hashed.
    std::optional<std::size_t> FindColumn(std::string_view path) const;

    /// Starts a new row and returns it.
    Row& AddRow();

    /// Sets cell `column` of the last row, growing it as needed, and widens the column by
    /// the value's type (unless the column's type is declared).
    void Set(std::size_t column, Value value);
    /// Moves `other`'s rows after these, matching columns by path (new ones are added) and
    /// widening each column by `other`'s type for it; a type declared in either wins.
    void Append(RowBatch&& other);

    const std::vector<ColumnDef>& columns() const noexcept { return columns_; }

    const std::vector<Row>& rows() const noexcept { return rows_; }

    std::vector<Row>& rows() noexcept { return rows_; }

    std::size_t size() const noexcept { return rows_.size(); }

    bool empty() const noexcept { return rows_.empty(); }

    /// Approximate memory held by cell text, for batch sizing and in-flight limits.
    std::size_t bytes() const noexcept { return bytes_; }

private:
    std::vector<ColumnDef> columns_;

    /// Hashes strings and string_views alike, so lookups by path do not copy it.
    struct PathHash {
        using is_transparent = void;

        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    std::unordered_map<std::string, std::size_t, PathHash, std::equal_to<>> by_path_;
    std::vector<Row> rows_;
    std::size_t bytes_ = 0;
    /// The column FindColumn compares first: the one after the last it found. Only a hint,
    /// so a const lookup may move it (a batch is used by one thread at a time).
    mutable std::size_t next_lookup_ = 0;
};

}  // namespace chatsync
