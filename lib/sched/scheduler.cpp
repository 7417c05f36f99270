#include "sched/scheduler.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "core/root_task.hpp"

namespace chatsync::sched {

struct Scheduler::Slots {
    std::map<std::string, std::uint32_t> per_group;
    std::set<std::string> running_names;
};

Scheduler::Scheduler(Executor executor, Options options)
    : executor_(std::move(executor))
    , options_(options)
    , rng_(std::random_device{}())
    , slots_(std::make_unique<Slots>())
    , sleeping_(executor_)
    , slot_waiting_(executor_) {}

Scheduler::~Scheduler() = default;

Millis Scheduler::NextDelay(
    const Options& options,
    const Job& job,
    std::uint32_t failures,
    std::mt19937_64& rng
) {
    Millis base = job.interval;
    if (failures > 0) {
        const auto shift = std::min<std::uint32_t>(failures - 1, 20);
        base = std::min(job.interval, Millis{options.failure_backoff.count() << shift});
    }
    // Jitter spreads runs; it never takes more than half the wait, so that a short interval
    // set over a spec's long jitter (1s against 1m) still means about every second.
    const Millis jitter = std::min(job.jitter, base / 2);
    if (jitter.count() > 0) {
        std::uniform_int_distribution<std::int64_t> dist(-jitter.count(), jitter.count());
        base += Millis{dist(rng)};
    }
    return std::max(base, Millis{0});
}

void Scheduler::Add(Job job) {
    ++loops_;
    auto entry = std::make_shared<Entry>(Entry{std::move(job), false});
    entries_.push_back(entry);
    net::co_spawn(executor_, Loop(std::move(entry)), RootHandler("scheduler_loop"));
}

void Scheduler::Stop() {
    stopping_ = true;
    sleeping_.WakeAll();
    slot_waiting_.WakeAll();
}

void Scheduler::RemoveGroup(const std::string& group) {
    for (const auto& entry : entries_) {
        if (entry->job.group == group) {
            entry->removed = true;
        }
    }
    sleeping_.WakeAll();
}

Task<bool> Scheduler::Sleep(Millis d, const Entry* entry) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    // Woken early only to re-check stopping_ and removed; otherwise sleep on to the deadline.
    while (!stopping_ && !entry->removed && std::chrono::steady_clock::now() < deadline) {
        // A false return (woken) only means: check again.
        co_await sleeping_.SleepUntil(deadline);
    }
    co_return !stopping_ && !entry->removed;
}

Task<void> Scheduler::AcquireSlot(const Job* job) {
    while (running_ >= options_.max_concurrent ||
           (job->group_limit > 0 && slots_->per_group[job->group] >= job->group_limit) ||
           slots_->running_names.contains(job->name)) {
        // Woken by ReleaseSlot() (or Stop()); the long expiry is only a safety net.
        co_await slot_waiting_.SleepFor(std::chrono::seconds(5));
    }
    ++running_;
    ++slots_->per_group[job->group];
    slots_->running_names.insert(job->name);
}

void Scheduler::ReleaseSlot(const Job& job) {
    --running_;
    --slots_->per_group[job.group];
    slots_->running_names.erase(job.name);
    slot_waiting_.WakeAll();
}

Task<void> Scheduler::Loop(std::shared_ptr<Entry> entry) {
    const Job* job = &entry->job;
    std::uint32_t failures = 0;
    Millis delay = job->initial_delay;
    while (!stopping_ && !entry->removed) {
        if (delay.count() > 0 && !co_await Sleep(delay, entry.get())) {
            break;
        }
        co_await AcquireSlot(job);
        if (stopping_ || entry->removed) {
            ReleaseSlot(*job);
            break;
        }
        if (job->claim) {
            Claim claim{.granted = false, .retry_in = options_.failure_backoff};
            try {
                claim = co_await job->claim();
            } catch (const std::exception& e) {
                spdlog::error("claim failed unexpectedly job={} error=\"{}\"", job->name, e.what());
            }
            if (!claim.granted) {
                ReleaseSlot(*job);
                delay = claim.retry_in;
                continue;
            }
        }
        bool ok = false;
        try {
            ok = co_await job->run();
        } catch (const std::exception& e) {
            spdlog::error("job failed unexpectedly job={} error=\"{}\"", job->name, e.what());
        }
        ReleaseSlot(*job);
        failures = ok ? 0 : failures + 1;
        if (options_.once) {
            break;
        }
        delay = job->claim ? Millis{0} : NextDelay(options_, *job, failures, rng_);
    }
    --loops_;
    std::erase(entries_, entry);
    slot_waiting_.WakeAll();
}

Task<void> Scheduler::Wait() {
    // In daemon mode the scheduler lives until Stop(), even with no job at all (a config with
    // no sources, or a reload that removed them all). Loop ends and Stop() wake this wait.
    while (loops_ > 0 || (!options_.once && !stopping_)) {
        co_await slot_waiting_.SleepFor(std::chrono::seconds(1));
    }
}

}  // namespace chatsync::sched
