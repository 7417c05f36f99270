#include "connectors/pagination.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/text.hpp"
#include "http/url.hpp"

namespace chatsync::connectors {
namespace {

std::optional<std::int64_t> IntAt(const boost::json::value* body, const std::string& path) {
    if (body == nullptr || path.empty()) {
        return std::nullopt;
    }
    const auto* v = FindPath(*body, path);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_number()) {
        return v->to_number<std::int64_t>();
    }
    if (const auto* s = v->if_string()) {
        try {
            return std::stoll(std::string(*s));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace

boost::json::value PagePosition::ToJson() const {
    boost::json::object o;
    // Fields at their defaults are left out: a checkpoint is written with every page.
    o["number"] = number;
    o["pages"] = pages;
    if (offset != 0) {
        o["offset"] = offset;
    }
    if (!url.empty()) {
        o["url"] = url;
    }
    if (!token.empty()) {
        o["token"] = token;
    }
    if (overlap != 0) {
        o["overlap"] = overlap;
    }
    if (!keyset.empty()) {
        o["keyset"] = keyset;
    }
    return o;
}

PagePosition PagePosition::FromJson(const boost::json::value& v) {
    PagePosition p;
    if (const auto* o = v.if_object()) {
        if (const auto* n = o->if_contains("number"); n != nullptr && n->is_int64()) {
            p.number = n->get_int64();
        }
        if (const auto* n = o->if_contains("offset"); n != nullptr && n->is_int64()) {
            p.offset = n->get_int64();
        }
        if (const auto* n = o->if_contains("pages"); n != nullptr && n->is_int64()) {
            p.pages = n->get_int64();
        }
        if (const auto* s = o->if_contains("url"); s != nullptr && s->is_string()) {
            p.url = std::string(s->get_string());
        }
        if (const auto* s = o->if_contains("token"); s != nullptr && s->is_string()) {
            p.token = std::string(s->get_string());
        }
        if (const auto* n = o->if_contains("overlap"); n != nullptr && n->is_int64()) {
            p.overlap = n->get_int64();
        }
        if (const auto* s = o->if_contains("keyset"); s != nullptr && s->is_string()) {
            p.keyset = std::string(s->get_string());
        }
    }
    return p;
}

std::optional<std::int64_t>
ReportedTotal(const PaginationSpec& spec, const boost::json::value* body) {
    return IntAt(body, spec.total_path);
}

PagePosition FirstPosition(const PaginationSpec& spec) {
    PagePosition p;
    p.number = spec.start_page;
    return p;
}

std::optional<std::string> LinkNext(std::string_view header) {
    // Link: <url>; rel="next", <url2>; rel="last"  (several links may also come in
    // separate headers; the caller passes each value).
    std::size_t pos = 0;
    while (pos < header.size()) {
        const auto open = header.find('<', pos);
        if (open == std::string_view::npos) {
            return std::nullopt;
        }
        const auto close = header.find('>', open);
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        const auto url = header.substr(open + 1, close - open - 1);
        const auto end = header.find('<', close);
        auto params = header.substr(
            close + 1, end == std::string_view::npos ? std::string_view::npos : end - close - 1
        );
        // The comma that separates this link from the next one is not part of its params.
        params = Trim(params);
        if (params.ends_with(',')) {
            params.remove_suffix(1);
        }
        for (const auto& raw : Split(params, ';')) {
            const auto param = Trim(raw);
            const auto eq = param.find('=');
            if (eq == std::string_view::npos || !IEquals(Trim(param.substr(0, eq)), "rel")) {
                continue;
            }
            auto value = Trim(param.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            for (const auto& rel : Split(value, ' ')) {
                if (IEquals(rel, "next")) {
                    return std::string(url);
                }
            }
        }
        pos = close + 1;
    }
    return std::nullopt;
}

std::optional<PagePosition> NextPosition(
    const PaginationSpec& spec,
    const PagePosition& current,
    const boost::json::value* body,
    const http::Response& response,
    std::size_t record_count,
    const std::string& request_url
) {
    if (spec.kind == PaginationKind::kNone || record_count == 0) {
        return std::nullopt;
    }
    PagePosition next = current;
    next.pages = current.pages + 1;
    if (spec.max_pages > 0 && next.pages >= spec.max_pages) {
        return std::nullopt;
    }
    if (spec.stop_on_short_page && static_cast<std::int64_t>(record_count) < spec.page_size) {
        return std::nullopt;
    }
    if (!spec.has_more_path.empty() && body != nullptr) {
        const auto* v = FindPath(*body, spec.has_more_path);
        if (v != nullptr && v->is_bool() && !v->get_bool()) {
            return std::nullopt;
        }
    }
    switch (spec.kind) {
        case PaginationKind::kPageNumber: {
            next.number = current.number + 1;
            if (const auto pages = IntAt(body, spec.total_pages_path)) {
                if (current.number - spec.start_page + 1 >= *pages) {
                    return std::nullopt;
                }
            }
            if (const auto total = IntAt(body, spec.total_path)) {
                const auto seen = (current.number - spec.start_page) * spec.page_size +
                                  static_cast<std::int64_t>(record_count);
                if (seen >= *total) {
                    return std::nullopt;
                }
            }
            return next;
        }
        case PaginationKind::kOffset: {
            next.offset = current.offset + static_cast<std::int64_t>(record_count);
            if (const auto total = IntAt(body, spec.total_path)) {
                if (next.offset >= *total) {
                    return std::nullopt;
                }
            }
            return next;
        }
        case PaginationKind::kNextUrl: {
            const auto* v = body == nullptr ? nullptr : FindPath(*body, spec.next_url_path);
            if (v == nullptr || !v->is_string() || v->get_string().empty()) {
                return std::nullopt;
            }
            auto resolved = http::ResolveUrl(request_url, std::string_view(v->get_string()));
            if (!resolved) {
                return std::nullopt;
            }
            next.url = *resolved;
            return next;
        }
        case PaginationKind::kCursor: {
            std::string token;
            if (!spec.token_header.empty()) {
                if (const auto h = response.Header(spec.token_header)) {
                    token = std::string(*h);
                }
            } else if (body != nullptr) {
                if (const auto* v = FindPath(*body, spec.token_path);
                    v != nullptr && !v->is_null()) {
                    token = ScalarText(*v);
                }
            }
            if (token.empty() || token == current.token) {
                return std::nullopt;
            }
            next.token = token;
            return next;
        }
        case PaginationKind::kLinkHeader: {
            for (const auto& [name, value] : response.headers) {
                if (!IEquals(name, "Link")) {
                    continue;
                }
                if (const auto url = LinkNext(value)) {
                    auto resolved = http::ResolveUrl(request_url, *url);
                    if (!resolved) {
                        return std::nullopt;
                    }
                    next.url = *resolved;
                    return next;
                }
            }
            return std::nullopt;
        }
        case PaginationKind::kNone:
            break;
    }
    return std::nullopt;
}

}  // namespace chatsync::connectors
