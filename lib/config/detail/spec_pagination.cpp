#include <initializer_list>
#include <limits>
#include <optional>
#include <string_view>

#include "config/detail/map_reader.hpp"
#include "config/detail/spec_parser.hpp"
#include "config/detail/spec_sections.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

constexpr NameTable<cn::PaginationKind, 6> kPaginationKinds{{
    {"none", cn::PaginationKind::kNone},
    {"page_number", cn::PaginationKind::kPageNumber},
    {"offset", cn::PaginationKind::kOffset},
    {"next_url", cn::PaginationKind::kNextUrl},
    {"cursor", cn::PaginationKind::kCursor},
    {"link_header", cn::PaginationKind::kLinkHeader},
}};

constexpr NameTable<cn::Injection, 3> kInjections{{
    {"query", cn::Injection::kQuery},
    {"body", cn::Injection::kBody},
    {"none", cn::Injection::kNone},
}};

/// Every key of a pagination block, whatever its type (the array behind a namespace-scope
/// initializer_list lives as long as the program).
const std::initializer_list<std::string_view> kPaginationKeys{
    "inject",
    "page_param",
    "start_page",
    "page_size",
    "send_page_size",
    "offset_param",
    "limit_param",
    "next_url_path",
    "token_path",
    "token_header",
    "token_param",
    "total_path",
    "total_pages_path",
    "has_more_path",
    "max_pages",
    "stop_on_short_page",
};

}  // namespace

cn::PaginationSpec ReadPagination(Context& ctx, const YamlNode& node, const std::string& path) {
    using K = cn::PaginationKind;
    cn::PaginationSpec out;
    MapReader m(ctx, node, path);
    if (!m.valid() || node.IsNull()) {
        return out;
    }
    std::optional<K> kind;
    if (m.Required("type") != nullptr) {
        kind = ReadEnum(m, "type", kPaginationKinds);
    }
    if (!kind) {
        m.Allow(kPaginationKeys);
        m.Finish();
        return out;
    }
    out.kind = *kind;
    const std::string what =
        "pagination type '" + std::string(NameOf(kPaginationKinds, *kind)) + "'";
    if (*kind == K::kNone) {
        RejectInapplicable(m, kPaginationKeys, what);
        m.Finish();
        return out;
    }
    // Keys shared by every paged type.
    if (const auto v = ReadEnum(m, "inject", kInjections)) {
        out.inject = *v;
    }
    if (const auto v = m.Integer("page_size", 1, kMaxInt)) {
        out.page_size = *v;
    }
    out.total_path = m.String("total_path").value_or("");
    out.total_pages_path = m.String("total_pages_path").value_or("");
    out.has_more_path = m.String("has_more_path").value_or("");
    if (const auto v = m.Integer("max_pages", 0, kMaxInt)) {
        out.max_pages = *v;
    }
    if (const auto v = m.Bool("stop_on_short_page")) {
        out.stop_on_short_page = *v;
    }
    // Keys that only one type understands.
    if (*kind == K::kPageNumber) {
        if (auto v = m.String("page_param")) {
            out.page_param = std::move(*v);
        }
        if (const auto v = m.Integer("start_page", 0, kMaxInt)) {
            out.start_page = *v;
        }
        if (const auto v = m.Bool("send_page_size")) {
            out.send_page_size = *v;
        }
    } else {
        RejectInapplicable(m, {"page_param", "start_page", "send_page_size"}, what);
    }
    if (*kind == K::kOffset) {
        if (auto v = m.String("offset_param")) {
            out.offset_param = std::move(*v);
        }
    } else {
        RejectInapplicable(m, {"offset_param"}, what);
    }
    if (*kind == K::kOffset || *kind == K::kPageNumber) {
        if (auto v = m.String("limit_param")) {
            out.limit_param = std::move(*v);
        }
    } else {
        RejectInapplicable(m, {"limit_param"}, what);
    }
    if (*kind == K::kNextUrl) {
        if (const YamlNode* n = m.Required("next_url_path")) {
            out.next_url_path = ReadString(ctx, *n, m.PathOf("next_url_path")).value_or("");
        }
    } else {
        RejectInapplicable(m, {"next_url_path"}, what);
    }
    if (*kind == K::kCursor) {
        out.token_path = m.String("token_path").value_or("");
        out.token_header = m.String("token_header").value_or("");
        if (auto v = m.String("token_param")) {
            out.token_param = std::move(*v);
        }
        if (!m.Has("token_path") && !m.Has("token_header")) {
            ctx.Error(
                m.mark(), m.PathOf("token_path"), "required by " + what + " (or set token_header)"
            );
        }
    } else {
        RejectInapplicable(m, {"token_path", "token_header", "token_param"}, what);
    }
    m.Finish();
    return out;
}

std::string_view PaginationKindName(cn::PaginationKind kind) {
    return NameOf(kPaginationKinds, kind);
}

std::string_view InjectionName(cn::Injection inject) {
    return NameOf(kInjections, inject);
}

}  // namespace chatsync::config::detail
