#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "daemon/supervisor.hpp"

namespace chatsync::daemon {

Task<server::Readiness> Supervisor::CheckReady() {
    server::Readiness r{.ready = true, .detail = ""};
    std::vector<std::string> problems;
    auto ping = co_await sink_->Ping();
    metrics_.DatabaseUp(static_cast<bool>(ping));
    if (!ping) {
        problems.push_back("database unreachable: " + ping.error().message());
    }
    if (ping && config_.replica.enabled) {
        co_await RefreshHealthFromDatabase();
    }
    const auto now = SysClock::now();
    for (const auto& [key, h] : health_) {
        const auto allowed = std::chrono::duration_cast<SysClock::duration>(
            h.interval * config_.admin.stale_after_intervals
        );
        // A resource gets a full allowance after start-up before it counts as stale.
        const auto since = std::max(h.last_success.value_or(started_at_), started_at_);
        if (now - since > allowed) {
            problems.push_back(
                "resource " + key.first + "/" + key.second +
                " has not synced successfully for over " +
                FormatDuration(std::chrono::duration_cast<Millis>(allowed))
            );
        }
    }
    // Copied: a reload may change runners_ while this coroutine waits on the database.
    std::vector<std::string> sources;
    sources.reserve(runners_.size());
    for (const auto& [name, runner] : runners_) {
        sources.push_back(name);
    }
    for (const auto& name : sources) {
        auto latch = co_await sink_->GetLatch(name);
        if (!latch) {
            continue;
        }
        if (const auto& held = *latch) {
            problems.push_back("source " + name + " latched: " + held->reason);
        }
    }
    if (!problems.empty()) {
        r.ready = false;
        for (const auto& p : problems) {
            r.detail += r.detail.empty() ? p : "\n" + p;
        }
    } else {
        r.detail = "ok";
    }
    co_return r;
}

}  // namespace chatsync::daemon
