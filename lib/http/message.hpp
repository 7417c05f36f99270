#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// @file
/// Plain HTTP request and response values, free of Beast, for use across the project.

namespace chatsync::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Finds a header by case-insensitive name; the first one wins.
std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name);

struct Request {
    std::string method = "GET";
    /// Absolute URL: http:// or https://, with query string.
    std::string url{};
    Headers headers{};
    std::string body{};
};

struct Response {
    unsigned status = 0;
    Headers headers{};
    std::string body{};

    std::optional<std::string_view> Header(std::string_view name) const {
        return FindHeader(headers, name);
    }
};

}  // namespace chatsync::http
