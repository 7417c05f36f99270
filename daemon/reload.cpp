#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/root_task.hpp"
#include "daemon/report.hpp"
#include "daemon/settings.hpp"
#include "daemon/supervisor.hpp"

namespace chatsync::daemon {

void Supervisor::StartSource(const config::SourceConfig& source, const StateMap& states) {
    if (!scheduler_ || !app_.EgressAvailable(source)) {
        return;
    }
    auto runner = app_.MakeRunner(source);
    runners_[source.name] = runner;
    const bool shared = config_.replica.enabled;
    if (shared) {
        runner->ShareBudget(live_replicas_);
    }
    const auto now = SysClock::now();
    for (const auto& r : runner->settings().spec.resources) {
        if (!IsTopLevel(r)) {
            continue;
        }
        ResourceHealth h;
        h.interval = r.schedule.interval;
        Millis initial{0};
        if (const auto it = states.find({source.name, r.name}); it != states.end()) {
            const auto& st = it->second;
            h.last_success = st.last_success_at;
            if (st.last_outcome == RunOutcome::kSuccess && st.next_run_at &&
                *st.next_run_at > now) {
                initial = std::min(
                    std::chrono::duration_cast<Millis>(*st.next_run_at - now), r.schedule.interval
                );
            }
        }
        health_[{source.name, r.name}] = h;
        const auto resource = r.name;
        sched::Scheduler::Job job{
            .name = source.name + "/" + resource,
            .group = source.name,
            .group_limit = runner->settings().spec.rate_limit.concurrency,
            .interval = r.schedule.interval,
            .jitter = r.schedule.jitter,
            .initial_delay = initial,
            .run = [this, runner, resource]() { return RunScheduled(runner.get(), resource); },
        };
        if (shared) {
            // The schedule in the database decides; the first claim comes after a spread, so
            // that the replicas starting together do not all ask for every resource at once.
            job.initial_delay = Spread(r.schedule.interval);
            job.claim = [this, name = source.name, resource, interval = r.schedule.interval]() {
                return ClaimRun(name, resource, interval);
            };
        }
        scheduler_->Add(std::move(job));
    }
}

void Supervisor::StopSource(const std::string& name) {
    if (scheduler_) {
        scheduler_->RemoveGroup(name);
    }
    runners_.erase(name);
    std::erase_if(health_, [&](const auto& kv) { return kv.first.first == name; });
}

Task<bool> Supervisor::RunScheduled(connectors::SourceRunner* runner, std::string resource) {
    auto report = co_await runner->Run(resource);
    LogReport(report);
    if (report.outcome == RunOutcome::kSuccess) {
        health_[{report.source, report.resource}].last_success = SysClock::now();
    }
    co_return Succeeded(report);
}

void Supervisor::Reload() {
    config::Config fresh;
    // A reload applies all of the config or none of it: an error in any of its files (the
    // config file or one of sources_dir) keeps every source running as it was. Applying the
    // files that load would misread a half-done edit: a source moved from a file being fixed
    // to another would run twice or stop, and a broken file's sources would be removed.
    try {
        fresh = config::LoadFile(config_.path);
    } catch (const config::ConfigErrors& e) {
        for (const auto& err : e.errors()) {
            spdlog::error("config reload refused, keeping the running config: {}", err.what());
        }
        metrics_.ConfigReload(false);
        return;
    }
    RegisterSecrets(fresh, app_.redactor());
    if (fresh.database.dsn != config_.database.dsn || fresh.admin.listen != config_.admin.listen ||
        fresh.webhooks.listen != config_.webhooks.listen ||
        fresh.limits.max_concurrent_runs != config_.limits.max_concurrent_runs ||
        fresh.data_dir != config_.data_dir) {
        spdlog::warn(
            "config reload: database, admin, webhooks.listen, data_dir and "
            "max_concurrent_runs changes take effect on restart only"
        );
    }
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::vector<std::string> changed;
    for (const auto& old : config_.sources) {
        const auto* now = fresh.FindSource(old.name);
        if (now == nullptr || !now->enabled) {
            if (old.enabled) {
                removed.push_back(old.name);
            }
        } else if (!old.enabled) {
            added.push_back(old.name);
        } else if (!(*now == old)) {
            changed.push_back(old.name);
        }
    }
    for (const auto& source : fresh.sources) {
        if (source.enabled && config_.FindSource(source.name) == nullptr) {
            added.push_back(source.name);
        }
    }
    for (const auto& name : removed) {
        StopSource(name);
    }
    for (const auto& name : changed) {
        StopSource(name);
    }
    config_.sources = std::move(fresh.sources);
    for (const auto& source : config_.sources) {
        const bool start = std::find(added.begin(), added.end(), source.name) != added.end() ||
                           std::find(changed.begin(), changed.end(), source.name) != changed.end();
        if (start) {
            StartSource(source, {});
        }
    }
    if (webhooks_) {
        net::co_spawn(app_.ioc(), UpdateWebhookRoutes(), RootHandler("webhook_routes"));
    }
    metrics_.ConfigReload(true);
    spdlog::info(
        "config reloaded added={} removed={} changed={}",
        fmt::join(added, ","),
        fmt::join(removed, ","),
        fmt::join(changed, ",")
    );
}

}  // namespace chatsync::daemon
