#include <algorithm>
#include <optional>

#include "config/detail/map_reader.hpp"
#include "config/detail/spec_parser.hpp"
#include "config/detail/spec_sections.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

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

}  // namespace

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
    if (list == nullptr) {
        return;  // Required() reported it: missing, or `one_of:` with no value.
    }
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

std::string_view AuthKindName(cn::AuthKind kind) {
    return NameOf(kAuthKinds, kind);
}

}  // namespace chatsync::config::detail
