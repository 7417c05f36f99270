#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "core/table.hpp"

/// @file
/// JSON records to typed, flattened rows.

namespace chatsync::normalize {

/// Declared types by record path ("profile.name"), as the spec's column_types gives them.
using DeclaredTypes = std::map<std::string, ColumnType, std::less<>>;

struct FlattenOptions {
    /// Objects nested deeper than this many levels are stored whole as jsonb.
    std::uint32_t max_nesting = 3;
    /// Fields whose column type is declared rather than inferred (not owned; may be null).
    const DeclaredTypes* declared = nullptr;
};

/// A field whose value its declared type cannot take.
struct BadValue {
    /// The record path of the field.
    std::string path;
    ColumnType declared = ColumnType::kText;
    /// The JSON type received ("a string"); never the value, which may be anything.
    std::string_view received;

    /// "field 'pinned' is declared boolean but holds a string that cannot be read as one".
    std::string Describe() const;
};

/// Appends `record` as a new row of `batch`:
/// - nested objects are flattened, their paths joined with '.' and their column names with
///   "__" (`{"lead":{"name":..}}` -> path "lead.name", column "lead__name");
/// - arrays, and objects deeper than max_nesting, become one jsonb value;
/// - null becomes NULL; true/false boolean; integers bigint (unsigned beyond int64 text, so no
///   digit is lost; integers beyond 64 bits that ParseJson kept numeric); other numbers double
///   precision; strings that are ISO-8601 date-times
///   timestamptz (in canonical UTC form); other strings text;
/// - an empty object contributes nothing;
/// - a field whose path `options.declared` names gets that type instead (ConvertTo), even
///   when it is null or an object; a value that cannot take it is reported, and the row is
///   then incomplete (the caller drops the batch).
std::optional<BadValue>
AppendRecord(RowBatch& batch, const boost::json::object& record, const FlattenOptions& options);

/// The value of one JSON scalar or container, typed as AppendRecord would type it.
Value ToValue(const boost::json::value& v);

/// snake_case for one path component: "updatedAt" -> "updated_at", "HTTPCode" -> "http_code",
/// "first name" -> "first_name"; anything but [a-z0-9_] becomes '_'; "" becomes "_".
std::string SnakeCase(std::string_view component);

}  // namespace chatsync::normalize
