#include <algorithm>
#include <chrono>
#include <string>

#include <spdlog/spdlog.h>

#include "daemon/supervisor.hpp"

namespace chatsync::daemon {

void Supervisor::ApplyLiveReplicas(std::uint32_t live) {
    if (live != live_replicas_) {
        spdlog::info(
            "replicas changed replica={} live={} before={}", replica_, live, live_replicas_
        );
        live_replicas_ = live;
        for (auto& [name, runner] : runners_) {
            runner->ShareBudget(live_replicas_);
        }
    }
    metrics_.Replica(replica_, live_replicas_);
}

Task<void> Supervisor::Heartbeat() {
    auto live = co_await sink_->Heartbeat(HeartbeatTtl());
    if (!live) {
        // The budgets stay as they are: the other replicas are as likely to be alive as before.
        spdlog::warn(
            "replica heartbeat failed replica={} error=\"{}\"", replica_, live.error().message()
        );
        co_return;
    }
    ApplyLiveReplicas(*live);
}

Millis Supervisor::HeartbeatTtl() const {
    // Three heartbeats missed: the replica is gone (killed, or cut off from the database).
    return config_.replica.heartbeat * 3;
}

Task<void> Supervisor::HeartbeatLoop() {
    while (heartbeat_) {
        heartbeat_->expires_after(config_.replica.heartbeat);
        auto [ec] = co_await heartbeat_->async_wait(kAsTuple);
        if (ec) {
            break;
        }
        co_await Heartbeat();
    }
}

Millis Supervisor::Spread(Millis interval) {
    const auto most = std::clamp<Millis>(interval / 50, Millis{20}, std::chrono::seconds(1));
    std::uniform_int_distribution<std::int64_t> dist(0, most.count());
    return Millis{dist(rng_)};
}

Task<sched::Scheduler::Claim>
Supervisor::ClaimRun(std::string source, std::string resource, Millis interval) {
    auto claim = co_await sink_->ClaimRun(source, resource, interval);
    if (!claim) {
        spdlog::warn(
            "run claim failed source={} resource={} error=\"{}\"",
            source,
            resource,
            claim.error().message()
        );
        co_return sched::Scheduler::Claim{
            .granted = false,
            .retry_in = std::min<Millis>(interval, std::chrono::seconds(5)) + Spread(interval)};
    }
    if (claim->claimed) {
        co_return sched::Scheduler::Claim{.granted = true};
    }
    // Never later than one interval: the schedule may have been reset meanwhile.
    co_return sched::Scheduler::Claim{
        .granted = false, .retry_in = std::min(claim->due_in, interval) + Spread(interval)};
}

Task<void> Supervisor::RefreshHealthFromDatabase() {
    auto states = co_await sink_->ListStates();
    if (!states) {
        co_return;
    }
    for (const auto& s : *states) {
        const auto it = health_.find({s.source, s.resource});
        if (it == health_.end() || !s.last_success_at) {
            continue;
        }
        const auto in_database = *s.last_success_at;
        auto& last = it->second.last_success;
        last = std::max(last.value_or(in_database), in_database);
    }
}

}  // namespace chatsync::daemon
