#include <algorithm>
#include <optional>
#include <string_view>

#include "config/detail/map_reader.hpp"
#include "config/detail/spec_parser.hpp"
#include "config/detail/spec_sections.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

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

}  // namespace

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

std::string_view ErrorActionName(cn::ErrorAction action) {
    return NameOf(kActions, action);
}

}  // namespace chatsync::config::detail
