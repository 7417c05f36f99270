#include "config/detail/source_overrides.hpp"

#include <algorithm>

#include "config/detail/map_reader.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

void ReadResourceOverrides(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    SourceConfig& src,
    SourceOverrides& ovr
) {
    for (const auto& e : ReadEntries(ctx, node, path)) {
        ResourceOverride o;
        MapReader om(ctx, *e.value, JoinPath(path, e.key));
        o.enabled = om.Bool("enabled");
        o.interval = om.Duration("interval", true);
        o.jitter = om.Duration("jitter");
        om.Finish();
        src.resources.emplace(e.key, o);
        ovr.resource_marks.emplace_back(e.key, e.key_node->mark);
    }
}

void ApplyOverrides(
    Context& ctx,
    const std::string& resources_path,
    const SourceOverrides& ovr,
    bool check_names,
    SourceConfig& src
) {
    cn::ConnectorSpec& spec = src.connector;
    const auto apply_schedule = [&ovr](cn::ScheduleSpec& schedule) {
        schedule.interval = ovr.schedule.interval.value_or(schedule.interval);
        schedule.jitter = ovr.schedule.jitter.value_or(schedule.jitter);
    };
    apply_schedule(spec.schedule);
    for (auto& r : spec.resources) {
        if (!r.own_schedule) {
            apply_schedule(r.schedule);
        }
    }
    auto& limit = spec.rate_limit;
    limit.requests_per_minute =
        ovr.rate_limit.requests_per_minute.value_or(limit.requests_per_minute);
    limit.burst = ovr.rate_limit.burst.value_or(limit.burst);
    limit.concurrency = ovr.rate_limit.concurrency.value_or(limit.concurrency);
    std::vector<std::string> names;
    names.reserve(spec.resources.size());
    for (const auto& r : spec.resources) {
        names.push_back(r.name);
    }
    for (const auto& [name, mark] : ovr.resource_marks) {
        const ResourceOverride& o = src.resources.at(name);
        auto it = std::find_if(
            spec.resources.begin(),
            spec.resources.end(),
            // An init-capture: Clang before 16 cannot capture a structured binding.
            [&wanted = name](const cn::ResourceSpec& r) { return r.name == wanted; }
        );
        if (it == spec.resources.end()) {
            if (check_names) {
                ctx.Error(
                    mark,
                    JoinPath(resources_path, name),
                    "unknown resource '" + name + "' of connector '" + spec.name + "'" +
                        DidYouMean(name, names, "resources")
                );
            }
            continue;
        }
        if (o.enabled) {
            it->enabled = *o.enabled;
        }
        if (o.interval) {
            it->schedule.interval = *o.interval;
        }
        if (o.jitter) {
            it->schedule.jitter = *o.jitter;
        }
    }
    // A resource that needs a config value the source does not set is off; enabling it
    // explicitly is a mistake worth reporting.
    for (auto& r : spec.resources) {
        for (const auto& param : r.requires_params) {
            const auto v = src.values.find(param);
            if (v != src.values.end() && !v->second.empty()) {
                continue;
            }
            const auto o = src.resources.find(r.name);
            if (o != src.resources.end() && o->second.enabled.value_or(false)) {
                for (const auto& [name, mark] : ovr.resource_marks) {
                    if (name == r.name) {
                        ctx.Error(
                            mark,
                            JoinPath(resources_path, name),
                            std::string("resource '")
                                .append(name)
                                .append("' needs config.")
                                .append(param)
                                .append("; set it")
                        );
                    }
                }
            }
            r.enabled = false;
        }
    }
}

}  // namespace chatsync::config::detail
