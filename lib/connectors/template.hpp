#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

/// @file
/// `{{ name.path }}` placeholders, resolved against a JSON context (see spec.hpp for names).

namespace chatsync::connectors {

/// Replaces every `{{ path }}` in `text` with the context's value at that dotted path
/// (strings unquoted, numbers as JSON writes them, missing or null as ""). Text without a
/// closing "}}" is left as it is.
std::string Render(std::string_view text, const boost::json::object& context);

/// Renders only the placeholders at or below `root` (with root `source`: `{{ source.name }}`)
/// and keeps every other one as written, for a later Render with the rest of the context.
std::string
RenderOnly(std::string_view text, std::string_view root, const boost::json::object& context);

/// Whether `text` references `path` (exactly, or a path below it).
bool References(std::string_view text, std::string_view path);

/// Renders every string inside a JSON value. A string that is exactly one placeholder takes
/// the referenced value with its JSON type (so `"{{ page.number }}"` yields a number).
boost::json::value RenderJson(const boost::json::value& body, const boost::json::object& context);

}  // namespace chatsync::connectors
