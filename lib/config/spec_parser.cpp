#include "config/detail/spec_parser.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <utility>
#include <variant>

#include <boost/json/serialize.hpp>

#include "config/config.hpp"
#include "config/detail/reader.hpp"
#include "connectors/template.hpp"
#include "core/time.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();
/// PostgreSQL truncates identifiers beyond this; a resource name becomes a table name.
constexpr std::size_t kMaxIdentifier = 63;

constexpr NameTable<cn::AuthKind, 5> kAuthKinds{{
    {"none", cn::AuthKind::kNone},
    {"bearer", cn::AuthKind::kBearer},
    {"basic", cn::AuthKind::kBasic},
    {"api_key", cn::AuthKind::kApiKey},
    {"login", cn::AuthKind::kLogin},
}};

constexpr NameTable<cn::ApiKeyPlacement, 4> kPlacements{{
    {"header", cn::ApiKeyPlacement::kHeader},
    {"query", cn::ApiKeyPlacement::kQuery},
    {"body", cn::ApiKeyPlacement::kBody},
    {"path", cn::ApiKeyPlacement::kPath},
}};

constexpr NameTable<cn::PartitionSpec::Case, 3> kPartitionCases{{
    {"sensitive", cn::PartitionSpec::Case::kSensitive},
    {"insensitive", cn::PartitionSpec::Case::kInsensitive},
    {"probe", cn::PartitionSpec::Case::kProbe},
}};

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

constexpr NameTable<cn::ErrorAction, 8> kActions{{
    {"success", cn::ErrorAction::kSuccess},
    {"ignore", cn::ErrorAction::kIgnore},
    {"retry", cn::ErrorAction::kRetry},
    {"rate_limited", cn::ErrorAction::kRateLimited},
    {"auth_failed", cn::ErrorAction::kAuthFailed},
    {"fatal", cn::ErrorAction::kFatal},
    {"latch", cn::ErrorAction::kLatch},
    {"hold", cn::ErrorAction::kHold},
}};

constexpr NameTable<cn::CursorFormat, 4> kCursorFormats{{
    {"iso8601", cn::CursorFormat::kIso8601},
    {"unix", cn::CursorFormat::kUnixSeconds},
    {"unix_ms", cn::CursorFormat::kUnixMillis},
    {"number", cn::CursorFormat::kNumber},
}};

/// The types `column_types` declares, as PostgreSQL spells them.
constexpr NameTable<ColumnType, 7> kColumnTypes{{
    {"boolean", ColumnType::kBoolean},
    {"bigint", ColumnType::kBigint},
    {"numeric", ColumnType::kNumeric},
    {"double precision", ColumnType::kDouble},
    {"timestamptz", ColumnType::kTimestamptz},
    {"text", ColumnType::kText},
    {"jsonb", ColumnType::kJsonb},
}};

const std::vector<std::string> kMethods{"GET", "POST", "PUT", "PATCH", "DELETE"};

bool IsResourceName(std::string_view s) {
    if (s.empty() || s.size() > kMaxIdentifier || s[0] < 'a' || s[0] > 'z') {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool IsParamName(std::string_view s) {
    if (s.empty() ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

/// A schedule as written, before inheritance fills the gaps.
struct PartialSchedule {
    std::optional<Millis> interval;
    std::optional<Millis> jitter;
};

PartialSchedule ReadSchedule(Context& ctx, const YamlNode& node, const std::string& path) {
    PartialSchedule out;
    MapReader m(ctx, node, path);
    out.interval = m.Duration("interval", true);
    out.jitter = m.Duration("jitter");
    m.Finish();
    return out;
}

/// A query/header value: any scalar as text (numbers as written), null as "".
std::string ReadTemplateValue(Context& ctx, const YamlNode& node, const std::string& path) {
    return ReadString(ctx, node, path).value_or("");
}

std::vector<cn::TemplatePair>
ReadPairs(Context& ctx, const YamlNode& node, const std::string& path) {
    std::vector<cn::TemplatePair> out;
    for (const auto& e : ReadEntries(ctx, node, path)) {
        out.emplace_back(e.key, ReadTemplateValue(ctx, *e.value, JoinPath(path, e.key)));
    }
    return out;
}

/// Reports keys of `m` that are present but belong to another variant (another auth type,
/// another pagination type), and makes them known so Finish() does not call them unknown.
void RejectInapplicable(
    MapReader& m,
    std::initializer_list<std::string_view> keys,
    const std::string& what
) {
    for (const auto key : keys) {
        if (const YamlNode* k = m.KeyNode(key)) {
            m.ctx().Error(
                k->mark, m.PathOf(key), "'" + std::string(key) + "' does not apply to " + what
            );
        }
    }
    m.Allow(keys);
}

cn::RequestSpec ReadRequest(Context& ctx, const YamlNode& node, const std::string& path) {
    cn::RequestSpec out;
    MapReader m(ctx, node, path);
    if (const auto method = m.Choice("method", kMethods)) {
        out.method = kMethods[*method];
    }
    if (const YamlNode* p = m.Required("path")) {
        out.path = ReadString(ctx, *p, m.PathOf("path")).value_or("");
    }
    if (const YamlNode* q = m.Get("query")) {
        out.query = ReadPairs(ctx, *q, m.PathOf("query"));
    }
    if (const YamlNode* h = m.Get("headers")) {
        out.headers = ReadPairs(ctx, *h, m.PathOf("headers"));
    }
    if (const YamlNode* b = m.Get("body")) {
        out.body = ReadJson(ctx, *b, m.PathOf("body"));
    }
    m.Finish();
    return out;
}

std::optional<unsigned> ParseStatusCode(std::string_view s) {
    if (s.size() != 3 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const unsigned code =
        static_cast<unsigned>((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    if (code < 100 || code > 599) {
        return std::nullopt;
    }
    return code;
}

void ReadStatus(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    std::vector<unsigned>& out
) {
    auto add = [&out](unsigned code) {
        if (std::find(out.begin(), out.end(), code) == out.end()) {
            out.push_back(code);
        }
    };
    auto read_one = [&](const YamlNode& item, const std::string& item_path) {
        const auto s = ReadScalar(ctx, item, item_path, "a status code");
        if (!s) {
            if (item.IsNull()) {
                ctx.Error(item.mark, item_path, "needs a value");
            }
            return;
        }
        if (const auto code = ParseStatusCode(s->text)) {
            add(*code);
            return;
        }
        // A class such as "5xx" stands for all hundred codes of its first digit.
        const std::string& t = s->text;
        if (t.size() == 3 && t[0] >= '1' && t[0] <= '5' && (t[1] == 'x' || t[1] == 'X') &&
            (t[2] == 'x' || t[2] == 'X')) {
            const unsigned base = static_cast<unsigned>(t[0] - '0') * 100;
            for (unsigned c = base; c < base + 100; ++c) {
                add(c);
            }
            return;
        }
        ctx.Error(
            s->mark, item_path, "expected a status code (100-599) or a class such as 5xx" + s->Got()
        );
    };
    if (node.IsSequence()) {
        for (std::size_t i = 0; i < node.items.size(); ++i) {
            read_one(node.items[i], IndexPath(path, i));
        }
    } else {
        read_one(node, path);
    }
}

std::vector<cn::ErrorRule>
ReadErrorRules(Context& ctx, const YamlNode& node, const std::string& path) {
    std::vector<cn::ErrorRule> out;
    const auto* items = ReadList(ctx, node, path);
    if (items == nullptr) {
        return out;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string rule_path = IndexPath(path, i);
        cn::ErrorRule rule;
        MapReader m(ctx, (*items)[i], rule_path);
        if (const YamlNode* when = m.Get("when")) {
            MapReader w(ctx, *when, m.PathOf("when"));
            if (const YamlNode* st = w.Get("status")) {
                ReadStatus(ctx, *st, w.PathOf("status"), rule.status);
            }
            rule.body_contains = w.String("body_contains").value_or("");
            const YamlNode* body_path = w.Get("body_path");
            const YamlNode* equals = w.Get("equals");
            if (body_path != nullptr) {
                rule.body_path = ReadString(ctx, *body_path, w.PathOf("body_path")).value_or("");
            }
            if (equals != nullptr) {
                rule.body_equals = ReadJson(ctx, *equals, w.PathOf("equals"));
            }
            // body_path alone: the JSON body has a value there.
            if (body_path == nullptr && equals != nullptr) {
                ctx.Error(equals->mark, w.PathOf("body_path"), "required with equals");
            }
            w.Finish();
        }
        if (m.Required("action") != nullptr) {
            if (const auto action = ReadEnum(m, "action", kActions)) {
                rule.action = *action;
            }
        }
        rule.message = m.String("message").value_or("");
        m.Finish();
        out.push_back(std::move(rule));
    }
    return out;
}

/// `when: {param: true | false | "value"}`: set, unset, or equal to the value.
std::vector<cn::AuthCondition>
ReadAuthConditions(Context& ctx, const YamlNode& node, const std::string& path) {
    using Test = cn::AuthCondition::Test;
    std::vector<cn::AuthCondition> out;
    for (const auto& e : ReadEntries(ctx, node, path)) {
        const std::string p = JoinPath(path, e.key);
        const auto s = ReadScalar(ctx, *e.value, p, "true, false or a value to compare with");
        if (!s) {
            continue;
        }
        cn::AuthCondition c;
        c.param = e.key;
        if (e.value->plain && s->text == "true") {
            c.test = Test::kSet;
        } else if (e.value->plain && s->text == "false") {
            c.test = Test::kUnset;
        } else {
            c.test = Test::kEquals;
            c.value = s->text;
        }
        out.push_back(std::move(c));
    }
    return out;
}

cn::AuthSpec
ReadAuth(Context& ctx, const YamlNode& node, const std::string& path, bool alternative) {
    cn::AuthSpec out;
    MapReader m(ctx, node, path);
    if (!m.valid()) {
        return out;
    }
    if (alternative) {
        if (const YamlNode* w = m.Get("when")) {
            out.when = ReadAuthConditions(ctx, *w, m.PathOf("when"));
        }
    }
    std::optional<cn::AuthKind> kind;
    if (m.Required("type") != nullptr) {
        kind = ReadEnum(m, "type", kAuthKinds);
    }
    if (!kind) {
        // Without a valid type the other keys cannot be judged; the type error is enough.
        m.Allow({"token", "username", "password", "in", "name", "value", "login"});
        m.Finish();
        return out;
    }
    out.kind = *kind;
    const std::string what = "auth type '" + std::string(NameOf(kAuthKinds, *kind)) + "'";
    switch (*kind) {
        case cn::AuthKind::kNone:
            RejectInapplicable(
                m, {"token", "username", "password", "in", "name", "value", "login"}, what
            );
            break;
        case cn::AuthKind::kBearer:
            if (const YamlNode* t = m.Required("token")) {
                out.token = ReadString(ctx, *t, m.PathOf("token")).value_or("");
            }
            RejectInapplicable(m, {"username", "password", "in", "name", "value", "login"}, what);
            break;
        case cn::AuthKind::kBasic:
            if (const YamlNode* u = m.Required("username")) {
                out.username = ReadString(ctx, *u, m.PathOf("username")).value_or("");
            }
            if (const YamlNode* p = m.Required("password")) {
                out.password = ReadString(ctx, *p, m.PathOf("password")).value_or("");
            }
            RejectInapplicable(m, {"token", "in", "name", "value", "login"}, what);
            break;
        case cn::AuthKind::kApiKey: {
            if (const auto in = ReadEnum(m, "in", kPlacements)) {
                out.placement = *in;
            }
            // In the path the key is placed by `{{ auth.key }}`, so it needs no name.
            if (out.placement == cn::ApiKeyPlacement::kPath) {
                out.key_name = m.String("name").value_or("");
            } else if (const YamlNode* n = m.Required("name")) {
                out.key_name = ReadString(ctx, *n, m.PathOf("name")).value_or("");
            }
            if (const YamlNode* v = m.Required("value")) {
                out.key_value = ReadString(ctx, *v, m.PathOf("value")).value_or("");
            }
            RejectInapplicable(m, {"token", "username", "password", "login"}, what);
            break;
        }
        case cn::AuthKind::kLogin:
            if (const YamlNode* l = m.Required("login")) {
                MapReader lm(ctx, *l, m.PathOf("login"));
                if (const YamlNode* r = lm.Required("request")) {
                    out.login = ReadRequest(ctx, *r, lm.PathOf("request"));
                }
                if (const YamlNode* tp = lm.Required("token_path")) {
                    out.token_path = ReadString(ctx, *tp, lm.PathOf("token_path")).value_or("");
                }
                if (auto v = lm.String("header_name")) {
                    out.header_name = std::move(*v);
                }
                if (auto v = lm.String("header_value")) {
                    out.header_value = std::move(*v);
                }
                if (auto v = lm.Duration("token_ttl")) {
                    out.token_ttl = *v;
                }
                lm.Finish();
            }
            RejectInapplicable(m, {"token", "username", "password", "in", "name", "value"}, what);
            break;
    }
    m.Finish();
    return out;
}

/// `auth:` is one auth, or `{one_of: [...]}`: alternatives chosen by the source's config
/// values (see AuthSpec::when); the loader picks one.
void ReadAuthBlock(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    cn::ConnectorSpec& spec
) {
    const bool alternatives =
        node.IsMapping() &&
        std::any_of(node.entries.begin(), node.entries.end(), [](const auto& e) {
            return e.key.scalar == "one_of";
        });
    if (!alternatives) {
        spec.auth = ReadAuth(ctx, node, path, false);
        return;
    }
    MapReader m(ctx, node, path);
    const YamlNode* list = m.Required("one_of");
    m.Finish();
    const std::string list_path = m.PathOf("one_of");
    const auto* items = ReadList(ctx, *list, list_path);
    if (items == nullptr) {
        return;
    }
    if (items->empty()) {
        ctx.Error(list->mark, list_path, "needs at least one auth");
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
        spec.auth_options.push_back(ReadAuth(ctx, (*items)[i], IndexPath(list_path, i), true));
    }
}

cn::PartitionSpec ReadPartition(Context& ctx, const YamlNode& node, const std::string& path) {
    cn::PartitionSpec out;
    MapReader m(ctx, node, path);
    if (const YamlNode* f = m.Required("field")) {
        out.field = ReadString(ctx, *f, m.PathOf("field")).value_or("");
    }
    if (const YamlNode* a = m.Required("alphabet")) {
        out.alphabet = ReadString(ctx, *a, m.PathOf("alphabet")).value_or("");
        if (out.alphabet.empty()) {
            ctx.Error(a->mark, m.PathOf("alphabet"), "needs at least one character");
        }
    }
    if (const auto v = m.Integer("split_at", 1, 1'000'000)) {
        out.split_at = *v;
    }
    if (auto v = m.String("wildcard")) {
        out.wildcard = std::move(*v);
    }
    if (auto v = m.String("any_char")) {
        out.any_char = std::move(*v);
    }
    if (auto v = m.String("metacharacters")) {
        out.metacharacters = std::move(*v);
    }
    if (auto v = m.String("never_literal")) {
        out.never_literal = std::move(*v);
    }
    if (auto v = m.String("escape")) {
        out.escape = std::move(*v);
    }
    if (const auto v = ReadEnum(m, "case", kPartitionCases)) {
        out.case_mode = *v;
    }
    if (const auto v = m.Bool("unique")) {
        out.unique = *v;
    }
    if (const auto v = m.Bool("exclusion_probes")) {
        out.exclusion_probes = *v;
    }
    if (const auto v = m.Integer("max_prefix", 1, 4096)) {
        out.max_prefix = static_cast<std::size_t>(*v);
    }
    m.Finish();
    return out;
}

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
        m.Allow(
            {"inject",
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
             "stop_on_short_page"}
        );
        m.Finish();
        return out;
    }
    out.kind = *kind;
    const std::string what =
        "pagination type '" + std::string(NameOf(kPaginationKinds, *kind)) + "'";
    if (*kind == K::kNone) {
        RejectInapplicable(
            m,
            {"inject",
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
             "stop_on_short_page"},
            what
        );
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

/// A cursor format: a fixed name or a strftime pattern. Returns false after reporting.
bool ReadCursorFormat(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    cn::CursorFormat& format,
    std::string& pattern
) {
    const auto s = ReadScalar(ctx, node, path, "a cursor format");
    if (!s) {
        return false;
    }
    for (const auto& [name, value] : kCursorFormats) {
        if (s->text == name) {
            format = value;
            return true;
        }
    }
    if (s->text.find('%') != std::string::npos) {
        format = cn::CursorFormat::kCustom;
        pattern = s->text;
        return true;
    }
    ctx.Error(
        s->mark,
        path,
        "expected iso8601, unix, unix_ms, number or a strftime pattern containing %" + s->Got()
    );
    return false;
}

bool MatchesFormat(const std::string& value, cn::CursorFormat format, const std::string& pattern) {
    switch (format) {
        case cn::CursorFormat::kIso8601:
            return ParseIso8601(value).has_value();
        case cn::CursorFormat::kUnixSeconds:
        case cn::CursorFormat::kUnixMillis: {
            std::int64_t n = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            return ec == std::errc{} && ptr == value.data() + value.size() && !value.empty();
        }
        case cn::CursorFormat::kNumber: {
            double d = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
            return ec == std::errc{} && ptr == value.data() + value.size() && !value.empty();
        }
        case cn::CursorFormat::kCustom:
            return ParseTime(value, pattern).has_value();
    }
    return false;
}

cn::IncrementalSpec ReadIncremental(Context& ctx, const YamlNode& node, const std::string& path) {
    cn::IncrementalSpec out;
    MapReader m(ctx, node, path);
    if (const YamlNode* f = m.Required("cursor_field")) {
        out.cursor_field = ReadString(ctx, *f, m.PathOf("cursor_field")).value_or("");
    }
    out.start_param = m.String("start_param").value_or("");
    out.end_param = m.String("end_param").value_or("");
    bool format_ok = true;
    if (const YamlNode* f = m.Get("format"); f != nullptr && !f->IsNull()) {
        format_ok = ReadCursorFormat(ctx, *f, m.PathOf("format"), out.format, out.format_pattern);
    }
    if (const YamlNode* f = m.Get("record_format"); f != nullptr && !f->IsNull()) {
        cn::CursorFormat rf = cn::CursorFormat::kIso8601;
        std::string pattern;
        if (ReadCursorFormat(ctx, *f, m.PathOf("record_format"), rf, pattern)) {
            out.record_format = rf;
            out.record_format_pattern = std::move(pattern);
        }
    }
    if (const YamlNode* iv = m.Get("initial_value")) {
        if (const auto s = ReadScalar(ctx, *iv, m.PathOf("initial_value"))) {
            out.initial_value = s->text;
            if (format_ok && !s->text.empty() &&
                !MatchesFormat(s->text, out.format, out.format_pattern)) {
                ctx.Error(
                    s->mark,
                    m.PathOf("initial_value"),
                    "does not match format '" + CursorFormatName(out.format, out.format_pattern) +
                        "'" + s->Got()
                );
            }
        }
    }
    if (const auto v = m.Duration("lookback")) {
        out.lookback = *v;
    }
    if (const auto v = m.Bool("keyset")) {
        out.keyset = *v;
    }
    m.Finish();
    return out;
}

/// Where a parent reference was written, for the checks that need every resource.
struct ParentRef {
    Mark mark;
    std::string path;
};

cn::ParentSpec
ReadParent(Context& ctx, const YamlNode& node, const std::string& path, ParentRef& ref) {
    cn::ParentSpec out;
    MapReader m(ctx, node, path);
    if (const YamlNode* r = m.Required("resource")) {
        out.resource = ReadString(ctx, *r, m.PathOf("resource")).value_or("");
        ref.mark = r->mark;
        ref.path = m.PathOf("resource");
    }
    if (const YamlNode* f = m.Get("fields")) {
        const std::string fields_path = m.PathOf("fields");
        for (const auto& e : ReadEntries(ctx, *f, fields_path)) {
            const std::string p = JoinPath(fields_path, e.key);
            auto v = ReadString(ctx, *e.value, p);
            if (!v || v->empty()) {
                if (v || e.value->IsNull()) {
                    ctx.Error(e.value->mark, p, "needs the dotted path of a parent field");
                }
                continue;
            }
            out.fields.emplace_back(e.key, std::move(*v));
        }
    }
    if (const auto v = m.Bool("only_changed")) {
        out.only_changed = *v;
    }
    m.Finish();
    return out;
}

std::vector<std::string>
ReadPrimaryKey(Context& ctx, const YamlNode& node, const std::string& path) {
    std::vector<std::string> out;
    if (node.IsScalar()) {
        if (auto s = ReadString(ctx, node, path); s && !s->empty()) {
            out.push_back(std::move(*s));
        } else if (s) {
            ctx.Error(node.mark, path, "needs at least one field");
        }
        return out;
    }
    if (!node.IsSequence()) {
        ctx.Error(
            node.mark,
            path,
            "expected a field name or a list of them, got " + std::string(KindName(node))
        );
        return out;
    }
    for (std::size_t i = 0; i < node.items.size(); ++i) {
        const std::string p = IndexPath(path, i);
        auto s = ReadString(ctx, node.items[i], p);
        if (!s || s->empty()) {
            if (s || node.items[i].IsNull()) {
                ctx.Error(node.items[i].mark, p, "needs a field name");
            }
            continue;
        }
        out.push_back(std::move(*s));
    }
    if (node.items.empty()) {
        ctx.Error(node.mark, path, "needs at least one field");
    }
    return out;
}

/// `column_types: {path: type}`. A path is the record's, dotted for nested fields, and must
/// be one that becomes a column: at most `max_nesting` levels deep, since deeper objects are
/// stored whole in a jsonb column.
std::map<std::string, ColumnType, std::less<>> ReadColumnTypes(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    std::uint32_t max_nesting
) {
    std::map<std::string, ColumnType, std::less<>> out;
    for (const auto& e : ReadEntries(ctx, node, path)) {
        const std::string p = JoinPath(path, e.key);
        const bool empty_component = e.key.empty() || e.key.front() == '.' || e.key.back() == '.' ||
                                     e.key.find("..") != std::string::npos;
        if (empty_component) {
            ctx.Error(
                e.key_node->mark,
                p,
                "expected a field path such as pinned or profile.name (got '" + e.key + "')"
            );
            continue;
        }
        const auto depth =
            static_cast<std::uint32_t>(std::count(e.key.begin(), e.key.end(), '.')) + 1;
        if (depth > std::max<std::uint32_t>(1, max_nesting)) {
            ctx.Error(
                e.key_node->mark,
                p,
                "is " + std::to_string(depth) + " levels deep, deeper than max_nesting (" +
                    std::to_string(max_nesting) +
                    "): it is stored inside a jsonb column, not as a column of its own"
            );
            continue;
        }
        if (e.value->IsNull()) {
            ctx.Error(e.value->mark, p, "needs a type: one of " + JoinNames(NamesOf(kColumnTypes)));
            continue;
        }
        if (const auto type = ReadEnum(ctx, *e.value, p, kColumnTypes)) {
            out.emplace(e.key, *type);
        }
    }
    return out;
}

cn::ResourceSpec ReadResource(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const cn::ScheduleSpec& defaults,
    ParentRef& parent_ref
) {
    cn::ResourceSpec out;
    out.schedule = defaults;
    MapReader m(ctx, node, path);
    if (const YamlNode* n = m.Required("name")) {
        if (auto name = ReadString(ctx, *n, m.PathOf("name"))) {
            if (!IsResourceName(*name)) {
                ctx.Error(
                    n->mark,
                    m.PathOf("name"),
                    "must match [a-z][a-z0-9_]* and be at most 63 characters (it names a table)"
                );
            }
            out.name = std::move(*name);
        }
    }
    if (const YamlNode* r = m.Required("request")) {
        out.request = ReadRequest(ctx, *r, m.PathOf("request"));
    }
    // `records: path`, or `records: [path, other]` tried in order.
    if (const YamlNode* r = m.Get("records"); r != nullptr && r->IsSequence()) {
        const std::string rp = m.PathOf("records");
        for (std::size_t i = 0; i < r->items.size(); ++i) {
            auto records = ReadString(ctx, r->items[i], IndexPath(rp, i)).value_or("");
            if (i == 0) {
                out.records_path = std::move(records);
            } else {
                out.more_records_paths.push_back(std::move(records));
            }
        }
        if (r->items.empty()) {
            ctx.Error(r->mark, rp, "needs at least one path");
        }
    } else if (r != nullptr && !r->IsNull()) {
        out.records_path = ReadString(ctx, *r, m.PathOf("records")).value_or("");
    }
    if (const auto v = m.Bool("records_optional")) {
        out.records_optional = *v;
    }
    if (const YamlNode* pk = m.Required("primary_key")) {
        out.primary_key = ReadPrimaryKey(ctx, *pk, m.PathOf("primary_key"));
    }
    if (const YamlNode* p = m.Get("pagination")) {
        out.pagination = ReadPagination(ctx, *p, m.PathOf("pagination"));
    }
    const YamlNode* inc = m.Get("incremental");
    if (inc != nullptr && !inc->IsNull()) {
        out.incremental = ReadIncremental(ctx, *inc, m.PathOf("incremental"));
    }
    if (const YamlNode* p = m.Get("parent"); p != nullptr && !p->IsNull()) {
        out.parent = ReadParent(ctx, *p, m.PathOf("parent"), parent_ref);
    }
    if (out.incremental && out.incremental->keyset) {
        // Each page restarts the listing at the last cursor value, which must reach the API.
        const auto& rq = out.request;
        bool placed =
            !out.incremental->start_param.empty() || cn::References(rq.path, "cursor.start");
        for (const auto& [name, value] : rq.query) {
            placed = placed || cn::References(value, "cursor.start");
        }
        if (rq.body) {
            placed = placed || cn::References(boost::json::serialize(*rq.body), "cursor.start");
        }
        const auto where = JoinPath(m.PathOf("incremental"), "keyset");
        if (!placed) {
            ctx.Error(
                inc->mark,
                where,
                "needs the request to filter by {{ cursor.start }} (start_param or a template)"
            );
        }
    }
    if (const YamlNode* p = m.Get("partition"); p != nullptr && !p->IsNull()) {
        out.partition = ReadPartition(ctx, *p, m.PathOf("partition"));
        if (out.parent) {
            ctx.Error(p->mark, m.PathOf("partition"), "a child resource cannot be partitioned");
        }
    }
    if (const auto v = m.Bool("soft_delete")) {
        out.soft_delete = *v;
        // Rows are marked deleted when a run does not return them, which is only sound when
        // every run lists everything.
        if (*v && out.parent && out.parent->only_changed) {
            ctx.Error(
                m.Get("soft_delete")->mark,
                m.PathOf("soft_delete"),
                "needs the children of every parent on every run; set parent.only_changed: false"
            );
        }
        if (*v && out.incremental) {
            ctx.Error(
                m.Get("soft_delete")->mark,
                m.PathOf("soft_delete"),
                "needs a full listing on every run; it cannot be combined with incremental"
            );
        }
    }
    if (const YamlNode* s = m.Get("schedule")) {
        const PartialSchedule ps = ReadSchedule(ctx, *s, m.PathOf("schedule"));
        if (ps.interval) {
            out.schedule.interval = *ps.interval;
        }
        if (ps.jitter) {
            out.schedule.jitter = *ps.jitter;
        }
        out.own_schedule = ps.interval.has_value() || ps.jitter.has_value();
    }
    if (const auto v = m.Duration("min_interval")) {
        out.min_interval = *v;
    }
    if (const YamlNode* e = m.Get("error_rules")) {
        out.error_rules = ReadErrorRules(ctx, *e, m.PathOf("error_rules"));
    }
    if (const auto v = m.Integer("max_nesting", 0, 64)) {
        out.max_nesting = static_cast<std::uint32_t>(*v);
    }
    if (const YamlNode* c = m.Get("column_types"); c != nullptr && !c->IsNull()) {
        out.column_types = ReadColumnTypes(ctx, *c, m.PathOf("column_types"), out.max_nesting);
    }
    if (const auto v = m.Bool("enabled")) {
        out.enabled = *v;
    }
    out.scalar_field = m.String("scalar_field").value_or("");
    if (const auto v = m.Bool("changes_only")) {
        out.changes_only = *v;
        const bool single = out.pagination.kind == cn::PaginationKind::kNone && !out.parent &&
                            !out.partition && !out.incremental && !out.soft_delete;
        if (*v && !single) {
            ctx.Error(
                m.Get("changes_only")->mark,
                m.PathOf("changes_only"),
                "needs one record a run: no pagination, parent, partition, incremental or "
                "soft_delete"
            );
        }
        if (*v && out.primary_key != std::vector<std::string>{"changed_at"}) {
            ctx.Error(
                m.Get("changes_only")->mark,
                m.PathOf("changes_only"),
                "keeps one row per change, keyed by the time of the change: set primary_key: "
                "changed_at"
            );
        }
    }
    if (const YamlNode* r = m.Get("requires"); r != nullptr && !r->IsNull()) {
        out.requires_params = ReadPrimaryKey(ctx, *r, m.PathOf("requires"));
    }
    m.Finish();
    return out;
}

void CheckParents(
    Context& ctx,
    const std::vector<cn::ResourceSpec>& resources,
    const std::vector<ParentRef>& refs
) {
    std::map<std::string, std::size_t> index;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < resources.size(); ++i) {
        index.emplace(resources[i].name, i);
        names.push_back(resources[i].name);
    }
    for (std::size_t i = 0; i < resources.size(); ++i) {
        const auto& r = resources[i];
        if (!r.parent || r.parent->resource.empty() || refs[i].path.empty()) {
            continue;
        }
        const std::string& parent = r.parent->resource;
        if (parent == r.name) {
            ctx.Error(refs[i].mark, refs[i].path, "a resource cannot be its own parent");
            continue;
        }
        if (index.find(parent) == index.end()) {
            const std::string close = ClosestMatch(parent, names);
            ctx.Error(
                refs[i].mark,
                refs[i].path,
                "unknown resource '" + parent + "'" +
                    (close.empty() ? " (resources: " + JoinNames(names) + ")"
                                   : " (did you mean '" + close + "'?)")
            );
            continue;
        }
        // Follow the chain; a cycle is reported once, at its first member in file order.
        std::vector<std::size_t> chain{i};
        std::size_t cur = i;
        while (true) {
            const auto& p = resources[cur].parent;
            if (!p) {
                break;
            }
            const auto it = index.find(p->resource);
            if (it == index.end() || it->second == cur) {
                break;
            }
            cur = it->second;
            if (cur == i) {
                if (*std::min_element(chain.begin(), chain.end()) == i) {
                    std::string text;
                    for (const std::size_t c : chain) {
                        text += resources[c].name + " -> ";
                    }
                    text += r.name;
                    ctx.Error(refs[i].mark, refs[i].path, "parent chain forms a cycle: " + text);
                }
                break;
            }
            if (std::find(chain.begin(), chain.end(), cur) != chain.end()) {
                break;
            }
            chain.push_back(cur);
        }
    }
}

void CollectRefs(std::string_view text, std::set<std::string>& out) {
    std::size_t pos = 0;
    while ((pos = text.find("{{", pos)) != std::string_view::npos) {
        const std::size_t end = text.find("}}", pos + 2);
        if (end == std::string_view::npos) {
            return;
        }
        std::string_view inner = text.substr(pos + 2, end - pos - 2);
        while (!inner.empty() && inner.front() == ' ') {
            inner.remove_prefix(1);
        }
        if (inner.starts_with("config.")) {
            inner.remove_prefix(7);
            std::size_t n = 0;
            while (n < inner.size() &&
                   (std::isalnum(static_cast<unsigned char>(inner[n])) != 0 || inner[n] == '_')) {
                ++n;
            }
            if (n > 0) {
                out.emplace(inner.substr(0, n));
            }
        }
        pos = end + 2;
    }
}

void CollectRefs(const boost::json::value& v, std::set<std::string>& out) {
    if (const auto* s = v.if_string()) {
        CollectRefs(std::string_view(*s), out);
    } else if (const auto* a = v.if_array()) {
        for (const auto& item : *a) {
            CollectRefs(item, out);
        }
    } else if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) {
            CollectRefs(kv.value(), out);
        }
    }
}

void CollectRefs(const cn::RequestSpec& r, std::set<std::string>& out) {
    CollectRefs(r.path, out);
    for (const auto& [k, v] : r.query) {
        CollectRefs(v, out);
    }
    for (const auto& [k, v] : r.headers) {
        CollectRefs(v, out);
    }
    if (r.body) {
        CollectRefs(*r.body, out);
    }
}

}  // namespace

cn::ConnectorSpec ParseSpec(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const std::string& default_name
) {
    cn::ConnectorSpec spec;
    spec.name = default_name;
    MapReader m(ctx, node, path);
    if (!m.valid()) {
        return spec;
    }
    if (auto v = m.String("name"); v && !v->empty()) {
        spec.name = std::move(*v);
    }
    spec.base_url = m.String("base_url").value_or("");
    if (const YamlNode* params = m.Get("params")) {
        const std::string params_path = m.PathOf("params");
        for (const auto& e : ReadEntries(ctx, *params, params_path)) {
            const std::string p = JoinPath(params_path, e.key);
            if (!IsParamName(e.key)) {
                ctx.Error(
                    e.key_node->mark, p, "a parameter name must match [A-Za-z_][A-Za-z0-9_]*"
                );
            }
            cn::ParamSpec param;
            MapReader pm(ctx, *e.value, p);
            if (const auto v = pm.Bool("required")) {
                param.required = *v;
            }
            if (const auto v = pm.Bool("secret")) {
                param.secret = *v;
            }
            if (const YamlNode* d = pm.Get("default"); d != nullptr && !d->IsNull()) {
                param.default_value = ReadString(ctx, *d, pm.PathOf("default"));
            }
            param.description = pm.String("description").value_or("");
            pm.Finish();
            spec.params.emplace(e.key, std::move(param));
        }
    }
    if (const YamlNode* a = m.Get("auth"); a != nullptr && !a->IsNull()) {
        ReadAuthBlock(ctx, *a, m.PathOf("auth"), spec);
    }
    if (const YamlNode* h = m.Get("headers")) {
        spec.headers = ReadPairs(ctx, *h, m.PathOf("headers"));
    }
    if (const YamlNode* rl = m.Get("rate_limit")) {
        MapReader rm(ctx, *rl, m.PathOf("rate_limit"));
        if (const auto v = rm.Integer("requests_per_minute", 0, kMaxUint32)) {
            spec.rate_limit.requests_per_minute = static_cast<std::uint32_t>(*v);
        }
        if (const auto v = rm.Integer("burst", 1, kMaxUint32)) {
            spec.rate_limit.burst = static_cast<std::uint32_t>(*v);
        }
        if (const auto v = rm.Integer("concurrency", 1, kMaxUint32)) {
            spec.rate_limit.concurrency = static_cast<std::uint32_t>(*v);
        }
        rm.Finish();
    }
    if (const YamlNode* s = m.Get("schedule")) {
        const PartialSchedule ps = ReadSchedule(ctx, *s, m.PathOf("schedule"));
        if (ps.interval) {
            spec.schedule.interval = *ps.interval;
        }
        if (ps.jitter) {
            spec.schedule.jitter = *ps.jitter;
        }
    }
    if (const YamlNode* e = m.Get("error_rules")) {
        spec.error_rules = ReadErrorRules(ctx, *e, m.PathOf("error_rules"));
    }
    if (const YamlNode* g = m.Get("egress_guard"); g != nullptr && !g->IsNull()) {
        MapReader gm(ctx, *g, m.PathOf("egress_guard"));
        cn::EgressGuardSpec guard;
        if (const auto v = gm.Integer("max_addresses", 1, 1000)) {
            guard.max_addresses = static_cast<std::uint32_t>(*v);
        }
        gm.Finish();
        spec.egress_guard = guard;
    }
    if (const YamlNode* w = m.Get("webhook"); w != nullptr && !w->IsNull()) {
        MapReader wm(ctx, *w, m.PathOf("webhook"));
        cn::WebhookSpec webhook;
        if (const YamlNode* st = wm.Required("strategy")) {
            webhook.strategy = ReadString(ctx, *st, wm.PathOf("strategy")).value_or("");
            if (webhook.strategy != "jivochat") {
                ctx.Error(
                    st->mark,
                    wm.PathOf("strategy"),
                    "unknown webhook strategy '" + webhook.strategy + "' (known: jivochat)"
                );
            }
        }
        if (const auto v = wm.String("token_param")) {
            webhook.token_param = *v;
        }
        wm.Finish();
        if (spec.params.find(webhook.token_param) == spec.params.end()) {
            ctx.Error(
                w->mark,
                m.PathOf("webhook"),
                "token_param '" + webhook.token_param + "' is not a declared param"
            );
        }
        spec.webhook = std::move(webhook);
    }
    if (const YamlNode* r = m.Required("resources")) {
        const std::string resources_path = m.PathOf("resources");
        if (const auto* items = ReadList(ctx, *r, resources_path)) {
            if (items->empty()) {
                ctx.Error(r->mark, resources_path, "a connector needs at least one resource");
            }
            std::vector<ParentRef> refs(items->size());
            std::map<std::string, int> first_line;
            for (std::size_t i = 0; i < items->size(); ++i) {
                const std::string rp = IndexPath(resources_path, i);
                cn::ResourceSpec res = ReadResource(ctx, (*items)[i], rp, spec.schedule, refs[i]);
                if (!res.name.empty()) {
                    const int line = (*items)[i].mark.line;
                    const auto [it, inserted] = first_line.emplace(res.name, line);
                    if (!inserted) {
                        const YamlNode& item = (*items)[i];
                        Mark mark = item.mark;
                        for (const auto& en : item.entries) {
                            if (en.key.scalar == "name") {
                                mark = en.value.mark;
                            }
                        }
                        ctx.Error(
                            mark,
                            JoinPath(rp, "name"),
                            "duplicate resource name '" + res.name + "' (first at line " +
                                std::to_string(it->second) + ")"
                        );
                    }
                }
                spec.resources.push_back(std::move(res));
            }
            CheckParents(ctx, spec.resources, refs);
            for (std::size_t i = 0; i < spec.resources.size(); ++i) {
                for (const auto& param : spec.resources[i].requires_params) {
                    if (spec.params.find(param) == spec.params.end()) {
                        ctx.Error(
                            (*items)[i].mark,
                            JoinPath(IndexPath(resources_path, i), "requires"),
                            "'" + param + "' is not a declared param"
                        );
                    }
                }
            }
        }
    }
    m.Finish();
    return spec;
}

std::set<std::string> AuthReferences(const cn::AuthSpec& a) {
    std::set<std::string> out;
    CollectRefs(a.token, out);
    CollectRefs(a.username, out);
    CollectRefs(a.password, out);
    CollectRefs(a.key_value, out);
    CollectRefs(a.header_value, out);
    CollectRefs(a.login, out);
    for (const auto& c : a.when) {
        out.insert(c.param);
    }
    return out;
}

std::set<std::string> ConfigReferences(const cn::ConnectorSpec& spec) {
    std::set<std::string> out;
    CollectRefs(spec.base_url, out);
    out.merge(AuthReferences(spec.auth));
    for (const auto& a : spec.auth_options) {
        out.merge(AuthReferences(a));
    }
    for (const auto& [k, v] : spec.headers) {
        CollectRefs(v, out);
    }
    for (const auto& r : spec.resources) {
        CollectRefs(r.request, out);
    }
    return out;
}

std::string_view AuthKindName(cn::AuthKind kind) {
    return NameOf(kAuthKinds, kind);
}

std::string_view PaginationKindName(cn::PaginationKind kind) {
    return NameOf(kPaginationKinds, kind);
}

std::string_view InjectionName(cn::Injection inject) {
    return NameOf(kInjections, inject);
}

std::string_view ErrorActionName(cn::ErrorAction action) {
    return NameOf(kActions, action);
}

std::string CursorFormatName(cn::CursorFormat format, const std::string& pattern) {
    if (format == cn::CursorFormat::kCustom) {
        return pattern;
    }
    return std::string(NameOf(kCursorFormats, format));
}

}  // namespace chatsync::config::detail

namespace chatsync::config {

connectors::ConnectorSpec ParseConnectorSpec(const std::string& yaml, const std::string& name) {
    std::vector<ConfigError> errors;
    auto parsed = detail::ParseYaml(yaml, name);
    if (auto* e = std::get_if<ConfigError>(&parsed)) {
        errors.push_back(std::move(*e));
        throw ConfigErrors(std::move(errors));
    }
    detail::Context ctx(name, errors, nullptr, std::filesystem::path(name).parent_path());
    auto spec = detail::ParseSpec(
        ctx, std::get<detail::YamlNode>(parsed), "", std::filesystem::path(name).stem().string()
    );
    if (!errors.empty()) {
        detail::SortByPosition(errors);
        throw ConfigErrors(std::move(errors));
    }
    return spec;
}

}  // namespace chatsync::config
