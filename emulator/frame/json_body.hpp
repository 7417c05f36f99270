#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "emulator/frame/http_types.hpp"

/// @file
/// Reading JSON request bodies and writing JSON answers: the helpers every mode shares. A bad
/// body is the client's error: the readers throw HttpError(400, ...), which the router answers.

namespace chatsync::emulator {

/// The request body as a JSON object; an empty or blank body is an empty object. Throws
/// HttpError(400, "body must be a JSON object") for anything else.
boost::json::object BodyObject(const Request& request);

/// The integer member `name` of `body`, or `fallback` when it is absent or null; values above
/// INT64_MAX read as INT64_MAX. Throws HttpError(400, "<name> must be an integer") for a value
/// of another type.
std::int64_t BodyInt(const boost::json::object& body, std::string_view name, std::int64_t fallback);

/// A JSON answer with this status and `v` as its body (numbers as json_writer.hpp writes them).
Response JsonAnswer(unsigned status, const boost::json::value& v);

/// Milliseconds since the Unix epoch as the APIs write dates: "2024-01-31T12:00:00.000Z".
std::string IsoFromMs(std::int64_t ms);

}  // namespace chatsync::emulator
