#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include "daemon/commands.hpp"
#include "daemon/report.hpp"
#include "daemon/settings.hpp"
#include "sched/scheduler.hpp"

namespace chatsync::daemon {
namespace {

/// What `once` keeps while its runs go: whether to print progress, and every run's report.
struct OnceRun {
    bool progress = false;
    std::vector<connectors::RunReport> reports;
};

/// One resource's run, with a progress line before and after it when stderr is a terminal.
Task<bool> SyncOne(OnceRun* run, connectors::SourceRunner* runner, std::string resource) {
    if (run->progress) {
        std::fprintf(
            stderr, "syncing %s/%s ...\n", runner->settings().name.c_str(), resource.c_str()
        );
    }
    auto report = co_await runner->Run(resource);
    LogReport(report);
    if (run->progress) {
        std::fprintf(
            stderr,
            "%s/%s: %s, %lld pages, %lld rows written, %lld unchanged\n",
            report.source.c_str(),
            report.resource.c_str(),
            std::string(OutcomeName(report.outcome)).c_str(),
            static_cast<long long>(report.pages),
            static_cast<long long>(report.rows_written),
            static_cast<long long>(report.rows_unchanged)
        );
    }
    const bool ok = Succeeded(report);
    run->reports.push_back(std::move(report));
    co_return ok;
}

}  // namespace

int Once(App& app, const Arguments& args) {
    // Names first: a wrong one must not start (or initdb) an embedded cluster.
    if (const int rc = CheckNames(app.config(), args); rc != kExitOk) {
        return rc;
    }
    app.ClaimStopSignals();
    if (const int rc = app.OpenDatabase(); rc != kExitOk) {
        return rc;
    }
    // Runners by source name; declared before the scheduler, whose jobs point to them.
    std::map<std::string, std::shared_ptr<connectors::SourceRunner>> runners;
    for (const auto& source : app.config().sources) {
        if (!source.enabled || (args.source && source.name != *args.source) ||
            !app.EgressAvailable(source)) {
            continue;
        }
        runners[source.name] = app.MakeRunner(source);
    }
    const auto& refused = app.refused();
    // The one source asked for cannot run here: a config problem, said as start-up says it.
    if (const auto it = args.source ? refused.find(*args.source) : refused.end();
        it != refused.end()) {
        std::fprintf(
            stderr, "chatsyncd: source %s refused: %s\n", it->first.c_str(), it->second.c_str()
        );
        return kExitConfig;
    }

    struct Item {
        connectors::SourceRunner* runner;
        std::string resource;
    };

    std::vector<Item> items;
    for (auto& [name, runner] : runners) {
        for (const auto& r : runner->settings().spec.resources) {
            if (!IsTopLevel(r) || (args.resource && r.name != *args.resource)) {
                continue;
            }
            items.push_back({runner.get(), r.name});
        }
    }
    OnceRun run{.progress = isatty(STDERR_FILENO) == 1, .reports = {}};
    sched::Scheduler scheduler(
        app.ioc().get_executor(),
        {.max_concurrent = app.config().limits.max_concurrent_runs, .once = true}
    );
    for (const auto& item : items) {
        auto* runner = item.runner;
        auto resource = item.resource;
        scheduler.Add({
            .name = runner->settings().name + "/" + resource,
            .group = runner->settings().name,
            .group_limit = runner->settings().spec.rate_limit.concurrency,
            .run = [&run, runner, resource]() { return SyncOne(&run, runner, resource); },
        });
    }
    app.OnStopSignal([&scheduler, &runners]() {
        scheduler.Stop();
        for (auto& [name, runner] : runners) {
            runner->RequestStop();
        }
    });
    app.Run(scheduler.Wait());
    const RowCounts rows = CountRows(app, TablesOf(run.reports));
    const std::string summary =
        args.json ? SummaryJson(run.reports, rows) : FormatSummary(run.reports, rows);
    std::fputs(summary.c_str(), stdout);
    std::fflush(stdout);
    const bool all_ok = std::all_of(run.reports.begin(), run.reports.end(), [](const auto& r) {
        return Succeeded(r);
    });
    return all_ok && !app.interrupted() && refused.empty() ? kExitOk : kExitFailure;
}

int CheckNames(const config::Config& config, const Arguments& args) {
    if (!args.source) {
        return kExitOk;
    }
    const auto* source = config.FindSource(*args.source);
    if (source == nullptr) {
        std::vector<std::string> names;
        names.reserve(config.sources.size());
        for (const auto& s : config.sources) {
            names.push_back(s.name);
        }
        std::fprintf(
            stderr,
            "chatsyncd: no source named '%s' in %s (it has: %s)\n",
            args.source->c_str(),
            config.path.c_str(),
            names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")).c_str()
        );
        return kExitUsage;
    }
    if (!source->enabled) {
        std::fprintf(
            stderr,
            "chatsyncd: source '%s' is disabled in %s (enabled: false)\n",
            args.source->c_str(),
            config.path.c_str()
        );
        return kExitUsage;
    }
    if (!args.resource) {
        return kExitOk;
    }
    std::vector<std::string> names;
    for (const auto& r : source->connector.resources) {
        if (!IsTopLevel(r)) {
            continue;
        }
        if (r.name == *args.resource) {
            return kExitOk;
        }
        names.push_back(r.name);
    }
    std::fprintf(
        stderr,
        "chatsyncd: source '%s' has no top-level resource '%s' (it has: %s)\n",
        args.source->c_str(),
        args.resource->c_str(),
        names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")).c_str()
    );
    return kExitUsage;
}

}  // namespace chatsync::daemon
