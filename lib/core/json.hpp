#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

/// @file
/// Dotted-path access into Boost.JSON values.

namespace chatsync {

/// Follows a dotted path ("data.items", "a.0.b": numeric components index arrays). An empty
/// path is the value itself. Returns nullptr where the path does not lead anywhere.
const boost::json::value* FindPath(const boost::json::value& root, std::string_view path);

/// The value as text for templates and keys: strings unquoted, numbers and booleans as JSON
/// writes them, null as "", objects and arrays serialised.
std::string ScalarText(const boost::json::value& v);

}  // namespace chatsync
