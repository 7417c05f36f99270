#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

/// @file
/// Reading the fields of a JivoChat event: values of loose JSON types as the text the
/// columns store. Internal to the JivoChat strategy.
///
/// Jivo's own examples disagree on the JSON type of ids (agent.id is a string, assigned_agent.id
/// a number, visitor.number both, client_id both), so every id is read as "string or number"
/// and stored as text: one column type whatever the event sent.

namespace chatsync::connectors::detail {

/// A column value: nullopt is SQL NULL.
using Text = std::optional<std::string>;

/// The value at a dotted path of object keys ("visitor.number"), or nullptr when a step is
/// missing or not an object.
const boost::json::value* At(const boost::json::value& v, std::string_view path);

/// An id sent as a string or a number, as text; nullopt for null, "", objects and arrays.
Text Id(const boost::json::value* v);

/// A scalar as text (strings as they are, numbers and booleans written out).
Text Str(const boost::json::value* v);

/// An integer sent as a number or a string of digits.
Text Int(const boost::json::value* v);

/// A boolean sent as true/false or 0/1.
Text Bool(const boost::json::value* v);

/// An object or array as JSON text.
Text Json(const boost::json::value* v);

/// Unix seconds (number or digits) as an ISO-8601 UTC time.
Text UnixTime(const boost::json::value* v);

/// `"key": "value"` in a body that is not JSON (the doc's own examples are not), for the
/// event name column and the metric label; "" when the key or a short string value is missing.
std::string ScanString(std::string_view body, std::string_view key);

}  // namespace chatsync::connectors::detail
