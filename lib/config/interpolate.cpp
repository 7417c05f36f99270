#include "config/detail/interpolate.hpp"

#include <cstdlib>

namespace chatsync::config::detail {

namespace {

bool IsNameStart(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool IsNameChar(char c) {
    return IsNameStart(c) || (c >= '0' && c <= '9');
}

}  // namespace

EnvLookup ProcessEnvironment() {
    return [](const std::string& name) -> std::optional<std::string> {
        // getenv is only racy against concurrent setenv; the config is loaded at startup
        // (and in tests) before any thread could change the environment.
        const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
        if (v == nullptr) {
            return std::nullopt;
        }
        return std::string(v);
    };
}

Interpolated Interpolate(std::string_view text, const EnvLookup& lookup) {
    Interpolated out;
    out.text.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c != '$') {
            out.text += c;
            ++i;
            continue;
        }
        if (text.substr(i, 3) == "$${") {
            out.text += "${";
            i += 3;
            continue;
        }
        if (text.substr(i, 2) != "${") {
            out.text += c;
            ++i;
            continue;
        }
        const std::size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            out.error = "unterminated '${' (write '$${' for a literal '${')";
            return out;
        }
        const std::string_view inner = text.substr(i + 2, close - i - 2);
        std::size_t n = 0;
        while (n < inner.size() && IsNameChar(inner[n])) {
            ++n;
        }
        const std::string name(inner.substr(0, n));
        const std::string_view rest = inner.substr(n);
        const bool has_default = rest.starts_with(":-");
        if (name.empty() || !IsNameStart(name[0]) || (!rest.empty() && !has_default)) {
            out.error = "bad variable reference '${";
            out.error.append(inner).append("}' (expected ${NAME} or ${NAME:-default})");
            return out;
        }
        const std::optional<std::string> value = lookup(name);
        if (has_default && (!value || value->empty())) {
            out.text += rest.substr(2);
        } else if (value) {
            out.text += *value;
        } else {
            out.error = "environment variable ";
            out.error.append(name)
                .append(" is not set (use ${")
                .append(name)
                .append(":-default} to give a default)");
            return out;
        }
        out.used_env = true;
        i = close + 1;
    }
    return out;
}

}  // namespace chatsync::config::detail
