#pragma once

#include <string>
#include <string_view>
#include <vector>

/// @file
/// Small string helpers shared by several areas.

namespace chatsync {

/// Percent-encodes everything except RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s);

/// Standard Base64 with padding (RFC 4648 section 4).
std::string Base64Encode(std::string_view s);

/// ASCII lower-casing.
std::string ToLower(std::string_view s);

/// Splits on a single character; empty pieces are kept.
std::vector<std::string> Split(std::string_view s, char sep);

/// Removes ASCII white space at both ends.
std::string_view Trim(std::string_view s);

/// Case-insensitive ASCII comparison.
bool IEquals(std::string_view a, std::string_view b);

}  // namespace chatsync
