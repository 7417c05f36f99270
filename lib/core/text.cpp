#include "core/text.hpp"

#include <array>
#include <cctype>

namespace chatsync {

std::string UrlEncode(std::string_view s) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4U]);
            out.push_back(kHex[c & 0x0FU]);
        }
    }
    return out;
}

std::string Base64Encode(std::string_view s) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((s.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(s[i]) << 16U) |
                           (static_cast<unsigned char>(s[i + 1]) << 8U) |
                           static_cast<unsigned char>(s[i + 2]);
        out.push_back(kAlphabet[(n >> 18U) & 63U]);
        out.push_back(kAlphabet[(n >> 12U) & 63U]);
        out.push_back(kAlphabet[(n >> 6U) & 63U]);
        out.push_back(kAlphabet[n & 63U]);
    }
    if (i < s.size()) {
        unsigned n = static_cast<unsigned char>(s[i]) << 16U;
        const bool two = i + 1 < s.size();
        if (two) {
            n |= static_cast<unsigned char>(s[i + 1]) << 8U;
        }
        out.push_back(kAlphabet[(n >> 18U) & 63U]);
        out.push_back(kAlphabet[(n >> 12U) & 63U]);
        out.push_back(two ? kAlphabet[(n >> 6U) & 63U] : '=');
        out.push_back('=');
    }
    return out;
}

std::string ToLower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::vector<std::string> Split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos - start));
        if (pos == std::string_view::npos) {
            break;
        }
        start = pos + 1;
    }
    return out;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

bool IEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

}  // namespace chatsync
