#include "emulator/generic/pagination.hpp"

#include <algorithm>
#include <charconv>

#include "core/text.hpp"

namespace chatsync::emulator {
namespace {

constexpr std::string_view kCursorPrefix = "k1|";
constexpr std::string_view kOffsetPrefix = "o:";

int Base64Value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-' || c == ' ')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

bool ParseInt(std::string_view text, std::int64_t& out) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

}  // namespace

std::optional<std::string> Base64Decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int v = Base64Value(c);
        if (v < 0) {
            return std::nullopt;
        }
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
        }
    }
    // A lone trailing sextet cannot encode a byte.
    if (bits >= 6) {
        return std::nullopt;
    }
    return out;
}

std::string EncodeCursor(const CursorKey& key) {
    std::string plain(kCursorPrefix);
    plain.append(std::to_string(key.updated_at.time_since_epoch().count()));
    plain.push_back('|');
    plain.append(std::to_string(key.id));
    return Base64Encode(plain);
}

std::optional<CursorKey> DecodeCursor(std::string_view token) {
    const auto plain = Base64Decode(token);
    if (!plain || !plain->starts_with(kCursorPrefix)) {
        return std::nullopt;
    }
    const std::string_view rest = std::string_view(*plain).substr(kCursorPrefix.size());
    const auto bar = rest.find('|');
    if (bar == std::string_view::npos) {
        return std::nullopt;
    }
    std::int64_t micros = 0;
    std::int64_t id = 0;
    if (!ParseInt(rest.substr(0, bar), micros) || !ParseInt(rest.substr(bar + 1), id)) {
        return std::nullopt;
    }
    return CursorKey{SysTime{std::chrono::microseconds{micros}}, id};
}

std::string EncodeOffsetCursor(std::size_t position) {
    std::string token = Base64Encode(std::string(kOffsetPrefix) + std::to_string(position));
    std::replace(token.begin(), token.end(), '+', '-');
    std::replace(token.begin(), token.end(), '/', '_');
    token.erase(token.find_last_not_of('=') + 1);
    return token;
}

std::optional<std::size_t> DecodeOffsetCursor(std::string_view token) {
    const auto plain = Base64Decode(token);
    if (!plain || !plain->starts_with(kOffsetPrefix)) {
        return std::nullopt;
    }
    const std::string_view digits = std::string_view(*plain).substr(kOffsetPrefix.size());
    std::int64_t position = 0;
    if (!ParseInt(digits, position) || position < 0) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(position);
}

PageWindow PageSlice(std::size_t total, std::int64_t page, std::int64_t per_page) {
    PageWindow window;
    const auto size = static_cast<std::size_t>(per_page);
    window.total_pages = static_cast<std::int64_t>((total + size - 1) / size);
    const auto first = static_cast<std::size_t>(page - 1);
    // Compare in pages first: first * size could overflow for absurd page numbers.
    if (first >= (total + size - 1) / size) {
        window.begin = window.end = total;
        return window;
    }
    window.begin = first * size;
    window.end = std::min(total, window.begin + size);
    return window;
}

std::string LinkHeader(const std::vector<std::pair<std::string, std::string>>& links) {
    std::string out;
    for (const auto& [url, rel] : links) {
        if (!out.empty()) {
            out.append(", ");
        }
        out.append("<").append(url).append(">; rel=\"").append(rel).append("\"");
    }
    return out;
}

}  // namespace chatsync::emulator
