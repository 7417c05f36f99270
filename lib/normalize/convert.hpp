#pragma once

#include <optional>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "core/table.hpp"

/// @file
/// JSON values converted to a type the connector spec declares for their field
/// (`column_types`), whatever form the API answered in.

namespace chatsync::normalize {

/// `v` (not null) as a value of the declared type `type`, or nullopt when it cannot be one:
/// - boolean: true/false; the numbers 0 and 1; the strings "0", "1", "true", "false" (any
///   case);
/// - bigint: integers (and numbers with no fraction) within int64; strings of decimal digits
///   with an optional sign, within int64;
/// - double precision: any number; strings that hold a finite decimal number;
/// - timestamptz: strings that the type inference reads as ISO-8601 date-times, in
///   canonical UTC form;
/// - text: strings as they are, other scalars as their JSON text, arrays and objects
///   serialized;
/// - jsonb: anything, as JSON;
/// - numeric: any number, exactly as written (integers beyond 64 bits included); strings that
///   hold a finite decimal number.
std::optional<Value> ConvertTo(const boost::json::value& v, ColumnType type);

/// The JSON type of `v` as a message names it: "a string", "a number", "a boolean", "an
/// object", "an array", "null".
std::string_view JsonTypeName(const boost::json::value& v) noexcept;

}  // namespace chatsync::normalize
