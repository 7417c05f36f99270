#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

/// @file
/// URL helpers for request building, free of Boost.URL in the interface.

namespace chatsync::http {

/// The parts of an absolute http(s) URL that a connection needs.
struct UrlParts {
    /// "http" or "https".
    std::string scheme;
    /// Host name or address; an IPv6 literal comes without its brackets ("::1").
    std::string host;
    std::uint16_t port = 0;
    /// Path and query ("/a/b?x=1"); "/" when empty.
    std::string target;
};

/// Splits an absolute http(s) URL; Errc::kBadUrl otherwise.
Result<UrlParts> ParseUrl(std::string_view url);

/// Resolves `ref` against `base` (RFC 3986 section 5): an absolute `ref` wins; "/x" replaces
/// the path; "x" is relative to the base path's directory; "?q" replaces the query. A base
/// ending in "/api/v3" with ref "/things" yields ".../api/v3/things" only through JoinPath.
Result<std::string> ResolveUrl(std::string_view base, std::string_view ref);

/// Joins a base URL and a path the way API specs mean it: "https://h/api/v3" + "/items" =
/// "https://h/api/v3/items"; an absolute http(s) `path` is returned unchanged.
std::string JoinPath(std::string_view base, std::string_view path);

/// Appends parameters to a URL's query string, percent-encoding names and values.
std::string
AppendQuery(std::string_view url, const std::vector<std::pair<std::string, std::string>>& params);

/// Returns the URL with the values of query parameters whose names look secret (token, key,
/// password, secret, auth, signature) replaced by "***"; for log lines.
std::string RedactUrl(std::string_view url);

}  // namespace chatsync::http
