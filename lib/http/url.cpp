#include "http/url.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include "core/error.hpp"
#include "core/text.hpp"

namespace chatsync::http {
namespace {

bool StartsWithHttpScheme(std::string_view s) {
    const auto colon = s.find("://");
    if (colon == std::string_view::npos) {
        return false;
    }
    const auto scheme = s.substr(0, colon);
    return IEquals(scheme, "http") || IEquals(scheme, "https");
}

/// Splits "scheme://authority/path?query#fragment" at the query and fragment marks, without
/// validating anything: the helpers below must keep the caller's spelling byte for byte.
struct UrlPieces {
    std::string_view before_query;
    std::string_view query;  // without '?'
    bool has_query = false;
    std::string_view fragment;  // with '#', or empty
};

UrlPieces SplitPieces(std::string_view url) {
    UrlPieces pieces;
    const auto hash = url.find('#');
    if (hash != std::string_view::npos) {
        pieces.fragment = url.substr(hash);
        url = url.substr(0, hash);
    }
    const auto question = url.find('?');
    if (question != std::string_view::npos) {
        pieces.has_query = true;
        pieces.query = url.substr(question + 1);
        url = url.substr(0, question);
    }
    pieces.before_query = url;
    return pieces;
}

std::string
Assemble(std::string_view before_query, std::string_view query, std::string_view fragment) {
    std::string out(before_query);
    if (!query.empty()) {
        out.push_back('?');
        out.append(query);
    }
    out.append(fragment);
    return out;
}

/// Percent-decodes for name comparison only; malformed escapes are kept as written.
std::string PercentDecode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            unsigned value = 0;
            const auto* first = s.data() + i + 1;
            const auto [ptr, ec] = std::from_chars(first, first + 2, value, 16);
            if (ec == std::errc{} && ptr == first + 2) {
                out.push_back(static_cast<char>(value));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
    return out;
}

bool LooksSecret(std::string_view encoded_name) {
    static constexpr std::array<std::string_view, 6> kMarkers = {
        "token", "key", "password", "secret", "auth", "signature"};
    const std::string name = ToLower(PercentDecode(encoded_name));
    return std::ranges::any_of(kMarkers, [&name](std::string_view marker) {
        return name.find(marker) != std::string::npos;
    });
}

}  // namespace

Result<UrlParts> ParseUrl(std::string_view url) {
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        return make_error_code(Errc::kBadUrl);
    }
    const boost::urls::url_view& view = *parsed;
    UrlParts parts;
    const auto scheme = view.scheme_id();
    if (scheme == boost::urls::scheme::http) {
        parts.scheme = "http";
        parts.port = 80;
    } else if (scheme == boost::urls::scheme::https) {
        parts.scheme = "https";
        parts.port = 443;
    } else {
        return make_error_code(Errc::kBadUrl);
    }
    if (!view.has_authority() || view.host_type() == boost::urls::host_type::ipvfuture) {
        return make_error_code(Errc::kBadUrl);
    }
    parts.host = view.host_address();
    if (parts.host.empty()) {
        return make_error_code(Errc::kBadUrl);
    }
    // "http://h:/" has an empty port, which RFC 3986 section 3.2.3 says means the default.
    if (view.has_port() && !view.port().empty()) {
        const auto port = view.port();
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535U) {
            return make_error_code(Errc::kBadUrl);
        }
        parts.port = static_cast<std::uint16_t>(value);
    }
    parts.target = view.encoded_path();
    // After an authority the path is empty or starts with "/" (RFC 3986 section 3.3);
    // Boost.URL 1.81 accepts "http://h:x/" as port "" and path "x/".
    if (!parts.target.empty() && parts.target.front() != '/') {
        return make_error_code(Errc::kBadUrl);
    }
    if (parts.target.empty()) {
        parts.target = "/";
    }
    if (view.has_query()) {
        parts.target.push_back('?');
        parts.target.append(view.encoded_query());
    }
    return parts;
}

Result<std::string> ResolveUrl(std::string_view base, std::string_view ref) {
    const auto base_view = boost::urls::parse_uri(base);
    const auto ref_view = boost::urls::parse_uri_reference(ref);
    if (!base_view || !ref_view) {
        return make_error_code(Errc::kBadUrl);
    }
    boost::urls::url dest;
    if (!boost::urls::resolve(*base_view, *ref_view, dest)) {
        return make_error_code(Errc::kBadUrl);
    }
    return std::string(dest.buffer());
}

std::string JoinPath(std::string_view base, std::string_view path) {
    if (StartsWithHttpScheme(path)) {
        return std::string(path);
    }
    if (path.empty()) {
        return std::string(base);
    }
    const UrlPieces base_pieces = SplitPieces(base);
    const UrlPieces path_pieces = SplitPieces(path);

    std::string joined(base_pieces.before_query);
    while (!joined.empty() && joined.back() == '/') {
        joined.pop_back();
    }
    std::string_view tail = path_pieces.before_query;
    while (!tail.empty() && tail.front() == '/') {
        tail.remove_prefix(1);
    }
    if (!tail.empty() || path_pieces.before_query.starts_with('/')) {
        joined.push_back('/');
        joined.append(tail);
    }

    // Both sides may carry a query ("?api_version=2" in the base, "?page=1" in the path):
    // keep both, base first.
    std::string query(base_pieces.query);
    if (!path_pieces.query.empty()) {
        if (!query.empty()) {
            query.push_back('&');
        }
        query.append(path_pieces.query);
    }
    return Assemble(joined, query, path_pieces.fragment);
}

std::string
AppendQuery(std::string_view url, const std::vector<std::pair<std::string, std::string>>& params) {
    if (params.empty()) {
        return std::string(url);
    }
    const UrlPieces pieces = SplitPieces(url);
    std::string query(pieces.query);
    for (const auto& [name, value] : params) {
        if (!query.empty() && query.back() != '&') {
            query.push_back('&');
        }
        query.append(UrlEncode(name));
        query.push_back('=');
        query.append(UrlEncode(value));
    }
    return Assemble(pieces.before_query, query, pieces.fragment);
}

std::string RedactUrl(std::string_view url) {
    const UrlPieces pieces = SplitPieces(url);
    std::string before(pieces.before_query);

    // A password in the authority ("https://user:pass@host/") is as secret as a token.
    const auto authority_start = before.find("://");
    if (authority_start != std::string::npos) {
        const auto start = authority_start + 3;
        const auto end = before.find('/', start);
        const auto at = before.rfind('@', end == std::string::npos ? std::string::npos : end);
        if (at != std::string::npos && at >= start) {
            const auto colon = before.find(':', start);
            if (colon != std::string::npos && colon < at) {
                before.replace(colon + 1, at - colon - 1, "***");
            }
        }
    }

    if (!pieces.has_query) {
        return before + std::string(pieces.fragment);
    }
    std::string query;
    std::size_t start = 0;
    const std::string_view q = pieces.query;
    while (start <= q.size()) {
        auto end = q.find('&', start);
        if (end == std::string_view::npos) {
            end = q.size();
        }
        const auto pair = q.substr(start, end - start);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && LooksSecret(pair.substr(0, eq))) {
            query.append(pair.substr(0, eq + 1));
            query.append("***");
        } else {
            query.append(pair);
        }
        if (end < q.size()) {
            query.push_back('&');
        }
        start = end + 1;
    }
    before.push_back('?');
    before.append(query);
    before.append(pieces.fragment);
    return before;
}

}  // namespace chatsync::http
