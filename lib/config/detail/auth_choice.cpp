#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/detail/source_values.hpp"
#include "config/detail/spec_parser.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

/// "a, b and c": `sep` between items, `last` before the final one.
std::string
JoinList(const std::vector<std::string>& items, std::string_view sep, std::string_view last) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += i + 1 == items.size() ? last : sep;
        }
        out += items[i];
    }
    return out;
}

/// "email and password", "token", "email and password with auth_method: basic".
std::string DescribeAuthOption(const cn::AuthSpec& a) {
    std::set<std::string> refs = AuthReferences(a);
    std::vector<std::string> equals;
    for (const auto& c : a.when) {
        if (c.test == cn::AuthCondition::Test::kEquals) {
            equals.push_back(c.param + ": " + c.value);
            refs.erase(c.param);
        } else if (c.test == cn::AuthCondition::Test::kUnset) {
            refs.erase(c.param);
        }
    }
    std::string out = JoinList({refs.begin(), refs.end()}, ", ", " and ");
    for (const auto& e : equals) {
        out += " with " + e;
    }
    return out;
}

}  // namespace

void ChooseAuth(Context& ctx, MapReader& m, cn::ConnectorSpec& spec, const SourceConfig& src) {
    if (spec.auth_options.empty()) {
        return;
    }
    const auto value_of = [&src](const std::string& key) -> std::string {
        const auto it = src.values.find(key);
        return it == src.values.end() ? std::string() : it->second;
    };
    const auto applies = [&](const cn::AuthSpec& a) {
        return std::all_of(a.when.begin(), a.when.end(), [&](const cn::AuthCondition& c) {
            const std::string v = value_of(c.param);
            switch (c.test) {
                case cn::AuthCondition::Test::kSet:
                    return !v.empty();
                case cn::AuthCondition::Test::kUnset:
                    return v.empty();
                case cn::AuthCondition::Test::kEquals:
                    break;
            }
            return v == c.value;
        });
    };
    const YamlNode* config_node = m.Get("config");
    const Mark mark = config_node != nullptr ? config_node->mark : m.mark();
    const auto chosen = std::find_if(spec.auth_options.begin(), spec.auth_options.end(), applies);
    if (chosen == spec.auth_options.end()) {
        std::vector<std::string> ways;
        ways.reserve(spec.auth_options.size());
        for (const auto& a : spec.auth_options) {
            ways.push_back(DescribeAuthOption(a));
        }
        ctx.Error(
            mark,
            m.PathOf("config"),
            "connector '" + spec.name + "' needs credentials: set " + JoinList(ways, "; ", ", or ")
        );
        return;
    }
    std::vector<std::string> missing;
    for (const auto& key : AuthReferences(*chosen)) {
        const bool must_be_unset =
            std::any_of(chosen->when.begin(), chosen->when.end(), [&](const auto& c) {
                return c.param == key && c.test == cn::AuthCondition::Test::kUnset;
            });
        if (!must_be_unset && value_of(key).empty()) {
            missing.push_back(key);
        }
    }
    if (!missing.empty()) {
        ctx.Error(
            mark,
            m.PathOf("config"),
            "connector '" + spec.name + "' authenticates with " +
                std::string(AuthKindName(chosen->kind)) + " here (" + DescribeAuthOption(*chosen) +
                "), which needs " + JoinNames(missing) + " (or " + missing.front() +
                std::string(kFileSuffix) + ")"
        );
        return;
    }
    spec.auth = *chosen;
}

}  // namespace chatsync::config::detail
