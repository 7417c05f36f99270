#include "sink/detail/conninfo.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace chatsync::sink::detail {
namespace {

bool IsUri(std::string_view dsn) {
    return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

int HexValue(char ch) {
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

std::string PercentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = HexValue(text[i + 1]);
            const int lo = HexValue(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

struct Param {
    std::string key;
    /// As written (still quoted or percent-encoded).
    std::string raw;
    /// Decoded.
    std::string value;
};

/// The query parameters of a URI DSN.
std::vector<Param> UriParams(std::string_view dsn) {
    std::vector<Param> out;
    const std::size_t q = dsn.find('?');
    if (q == std::string_view::npos) {
        return out;
    }
    std::string_view rest = dsn.substr(q + 1);
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view item = rest.substr(0, amp);
        const std::size_t eq = item.find('=');
        Param p;
        p.key = PercentDecode(item.substr(0, eq));
        p.raw = eq == std::string_view::npos ? std::string() : std::string(item.substr(eq + 1));
        p.value = PercentDecode(p.raw);
        out.push_back(std::move(p));
        if (amp == std::string_view::npos) {
            break;
        }
        rest = rest.substr(amp + 1);
    }
    return out;
}

/// The keywords of a `key=value` DSN, parsed as libpq does (quotes, backslash escapes).
std::vector<Param> KeywordParams(std::string_view dsn) {
    std::vector<Param> out;
    std::size_t i = 0;
    const auto skip_space = [&] {
        while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i])) != 0) {
            ++i;
        }
    };
    while (true) {
        skip_space();
        if (i >= dsn.size()) {
            break;
        }
        Param p;
        while (i < dsn.size() && dsn[i] != '=' &&
               std::isspace(static_cast<unsigned char>(dsn[i])) == 0) {
            p.key.push_back(dsn[i++]);
        }
        skip_space();
        if (i < dsn.size() && dsn[i] == '=') {
            ++i;
        }
        skip_space();
        const std::size_t start = i;
        if (i < dsn.size() && dsn[i] == '\'') {
            ++i;
            while (i < dsn.size() && dsn[i] != '\'') {
                if (dsn[i] == '\\' && i + 1 < dsn.size()) {
                    ++i;
                }
                p.value.push_back(dsn[i++]);
            }
            if (i < dsn.size()) {
                ++i;
            }
        } else {
            while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i])) == 0) {
                if (dsn[i] == '\\' && i + 1 < dsn.size()) {
                    ++i;
                }
                p.value.push_back(dsn[i++]);
            }
        }
        p.raw = std::string(dsn.substr(start, i - start));
        out.push_back(std::move(p));
    }
    return out;
}

bool HasKey(const std::vector<Param>& params, std::string_view key) {
    for (const auto& p : params) {
        if (p.key == key) {
            return true;
        }
    }
    return false;
}

void AddSecret(std::vector<std::string>& out, std::string value) {
    if (value.empty()) {
        return;
    }
    for (const auto& s : out) {
        if (s == value) {
            return;
        }
    }
    out.push_back(std::move(value));
}

}  // namespace

std::string BuildConninfo(std::string_view dsn, const ConnSettings& settings) {
    const bool uri = IsUri(dsn);
    const std::vector<Param> params = uri ? UriParams(dsn) : KeywordParams(dsn);
    std::vector<std::pair<std::string, std::string>> extra;
    if (!HasKey(params, "connect_timeout")) {
        // libpq counts whole seconds, and treats anything below 2 as 2.
        extra.emplace_back(
            "connect_timeout", std::to_string(std::max(settings.connect_timeout_seconds, 2L))
        );
    }
    if (!HasKey(params, "application_name")) {
        extra.emplace_back("application_name", settings.application_name);
    }
    // A daemon that holds connections for months must notice a peer that vanished without a
    // FIN (NAT timeout, failover) instead of waiting on it until the kernel gives up.
    if (!HasKey(params, "keepalives_idle")) {
        extra.emplace_back("keepalives_idle", "60");
    }
    if (!HasKey(params, "keepalives_interval")) {
        extra.emplace_back("keepalives_interval", "15");
    }
    if (!HasKey(params, "keepalives_count")) {
        extra.emplace_back("keepalives_count", "4");
    }
    std::string out(dsn);
    if (uri) {
        char sep = dsn.find('?') == std::string_view::npos ? '?' : '&';
        for (const auto& [key, value] : extra) {
            out.push_back(sep);
            out.append(key).append("=").append(value);
            sep = '&';
        }
    } else {
        for (const auto& [key, value] : extra) {
            if (!out.empty()) {
                out.push_back(' ');
            }
            out += key + "=" + ConninfoValue(value);
        }
    }
    return out;
}

std::vector<std::string> DsnSecrets(std::string_view dsn) {
    std::vector<std::string> out;
    AddSecret(out, std::string(dsn));
    if (IsUri(dsn)) {
        const std::size_t start = dsn.find("://") + 3;
        const std::size_t end = dsn.find_first_of("/?", start);
        const std::string_view authority = dsn.substr(start, end - start);
        const std::size_t at = authority.rfind('@');
        if (at != std::string_view::npos) {
            const std::string_view userinfo = authority.substr(0, at);
            const std::size_t colon = userinfo.find(':');
            if (colon != std::string_view::npos) {
                const std::string_view password = userinfo.substr(colon + 1);
                AddSecret(out, std::string(password));
                AddSecret(out, PercentDecode(password));
            }
        }
        for (const auto& p : UriParams(dsn)) {
            if (p.key == "password") {
                AddSecret(out, p.raw);
                AddSecret(out, p.value);
            }
        }
    } else {
        for (const auto& p : KeywordParams(dsn)) {
            if (p.key == "password") {
                AddSecret(out, p.raw);
                AddSecret(out, p.value);
            }
        }
    }
    return out;
}

std::string ConninfoValue(std::string_view value) {
    std::string out = "'";
    for (const char ch : value) {
        if (ch == '\'' || ch == '\\') {
            out.push_back('\\');
        }
        out.push_back(ch);
    }
    out.push_back('\'');
    return out;
}

}  // namespace chatsync::sink::detail
