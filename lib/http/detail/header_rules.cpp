#include "http/detail/header_rules.hpp"

#include <algorithm>

namespace chatsync::http::detail {

bool IsTokenChar(char c) {
    static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           kExtra.find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

bool IsSafeHeaderValue(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace chatsync::http::detail
