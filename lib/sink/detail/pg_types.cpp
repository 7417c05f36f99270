#include "sink/detail/pg_types.hpp"

namespace chatsync::sink::detail {

std::string_view SqlTypeName(ColumnType t) noexcept {
    switch (t) {
        case ColumnType::kBoolean:
            return "boolean";
        case ColumnType::kBigint:
            return "bigint";
        case ColumnType::kDouble:
            return "double precision";
        case ColumnType::kTimestamptz:
            return "timestamptz";
        case ColumnType::kText:
            return "text";
        case ColumnType::kJsonb:
            return "jsonb";
        case ColumnType::kNumeric:
            return "numeric";
    }
    return "text";
}

std::optional<ColumnType> ColumnTypeFromSql(std::string_view sql_name) noexcept {
    if (sql_name == "timestamp with time zone") {
        return ColumnType::kTimestamptz;
    }
    for (const auto t :
         {ColumnType::kBoolean,
          ColumnType::kBigint,
          ColumnType::kDouble,
          ColumnType::kTimestamptz,
          ColumnType::kText,
          ColumnType::kJsonb,
          ColumnType::kNumeric}) {
        if (SqlTypeName(t) == sql_name) {
            return t;
        }
    }
    return std::nullopt;
}

}  // namespace chatsync::sink::detail
