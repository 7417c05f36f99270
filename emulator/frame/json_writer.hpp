#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/json.hpp"

/// @file
/// JSON text output for response bodies. Boost.JSON writes doubles as "1.25E1"; real APIs write
/// "12.5", and clients under test should see the common form, so numbers are written here.

namespace chatsync::emulator {

/// Appends `s` as a quoted JSON string (the daemon's own quoting).
using chatsync::AppendJsonString;

/// Appends the shortest text that reads back as `v`, always with a fraction or exponent so
/// that it stays a double for type inference ("12.0", not "12"). NaN and infinities become null.
void AppendJsonDouble(std::string& out, double v);

/// Appends an integer.
void AppendJsonInt(std::string& out, std::int64_t v);

/// Appends any Boost.JSON value with the number rules above.
void AppendJson(std::string& out, const boost::json::value& v);

/// The value as JSON text.
std::string ToJsonText(const boost::json::value& v);

}  // namespace chatsync::emulator
