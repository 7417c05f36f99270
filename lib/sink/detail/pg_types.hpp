#pragma once

#include <optional>
#include <string_view>

#include "core/table.hpp"

/// @file
/// The PostgreSQL types behind ColumnType: the name the sink creates a column with, and the
/// ColumnType of a column read back from the catalog.

namespace chatsync::sink::detail {

/// The type in DDL and casts: "boolean", "bigint", "double precision", "timestamptz",
/// "text", "jsonb", "numeric".
std::string_view SqlTypeName(ColumnType t) noexcept;

/// A type as PostgreSQL's catalog prints it (format_type, e.g. "timestamp with time zone"),
/// or as SqlTypeName() spells it; nullopt for a type chatsync does not create.
std::optional<ColumnType> ColumnTypeFromSql(std::string_view sql_name) noexcept;

}  // namespace chatsync::sink::detail
