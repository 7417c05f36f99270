#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

/// @file
/// Dotted-path access into Boost.JSON values, and JSON string quoting for hand-built text.

namespace chatsync {

/// Follows a dotted path ("data.items", "a.0.b": numeric components index arrays). An empty
/// path is the value itself. Returns nullptr where the path does not lead anywhere.
const boost::json::value* FindPath(const boost::json::value& root, std::string_view path);

/// The value as text for templates and keys: strings unquoted, numbers and booleans as JSON
/// writes them, null as "", objects and arrays serialised.
std::string ScalarText(const boost::json::value& v);

/// Appends `s` as a quoted JSON string: `"` and `\` escaped, newline, carriage return and tab
/// as their short escapes, other control characters as \u00XX; UTF-8 passes through.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace chatsync
