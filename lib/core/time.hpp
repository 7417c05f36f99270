#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

/// @file
/// UTC time parsing and formatting for cursors and inferred timestamp columns.

namespace chatsync {

using SysTime = std::chrono::sys_time<std::chrono::microseconds>;

/// Parses an ISO-8601 / RFC 3339 date-time: "2024-01-31T12:00:00Z", with optional fraction
/// (up to microseconds kept), "Z" or "+hh:mm"/"+hhmm"/"+hh" offset, 'T' or ' ' between date
/// and time. With `require_zone`, a value without a zone is rejected; otherwise it is UTC.
std::optional<SysTime> ParseIso8601(std::string_view text, bool require_zone = false);

/// "2024-01-31T12:00:00.000Z" (milliseconds; microseconds when they are not zero).
std::string FormatIso8601(SysTime t);

/// Formats with a strftime-style pattern in UTC. Supports %Y %m %d %H %M %S %j %y %e %b %F %T
/// %s (epoch seconds) %z (+0000) %% and %3N/%6N (milliseconds/microseconds).
std::string FormatTime(SysTime t, std::string_view pattern);

/// Parses text written with the same pattern language (not %j/%b); nullopt when it does
/// not match.
std::optional<SysTime> ParseTime(std::string_view text, std::string_view pattern);

}  // namespace chatsync
