#include "config/detail/spec_parser.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>
#include <variant>

#include "config/config.hpp"
#include "config/detail/map_reader.hpp"
#include "config/detail/pacing.hpp"
#include "config/detail/spec_sections.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

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
        const PartialRateLimit limit = ReadRateLimit(ctx, *rl, m.PathOf("rate_limit"));
        spec.rate_limit.requests_per_minute =
            limit.requests_per_minute.value_or(spec.rate_limit.requests_per_minute);
        spec.rate_limit.burst = limit.burst.value_or(spec.rate_limit.burst);
        spec.rate_limit.concurrency = limit.concurrency.value_or(spec.rate_limit.concurrency);
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
