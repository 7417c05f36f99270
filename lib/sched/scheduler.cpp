#include "sched/scheduler.hpp"

#include <algorithm>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

namespace chatsync::sched {

struct Scheduler::Slots {
    std::map<std::string, std::uint32_t> per_group;
};

Scheduler::Scheduler(Executor executor, Options options)
    : executor_(executor)
    , options_(options)
    , rng_(std::random_device{}())
    , slots_(std::make_unique<Slots>()) {}

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
    if (job.jitter.count() > 0) {
        std::uniform_int_distribution<std::int64_t> dist(-job.jitter.count(), job.jitter.count());
        base += Millis{dist(rng)};
    }
    return std::max(base, Millis{0});
}

void Scheduler::Add(Job job) {
    ++loops_;
    net::co_spawn(executor_, Loop(std::make_shared<Job>(std::move(job))), [](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("scheduler loop failed error=\"{}\"", ex.what());
            }
        }
    });
}

void Scheduler::Stop() {
    stopping_ = true;
    Wake();
}

void Scheduler::Wake() {
    for (auto* timer : waiting_) {
        timer->cancel();
    }
}

Task<bool> Scheduler::Sleep(Millis d) {
    if (stopping_) {
        co_return false;
    }
    net::steady_timer timer(executor_, d);
    waiting_.push_back(&timer);
    const auto it = std::prev(waiting_.end());
    co_await timer.async_wait(kAsTuple);
    waiting_.erase(it);
    co_return !stopping_;
}

Task<void> Scheduler::AcquireSlot(const std::string& group, std::uint32_t group_limit) {
    while (running_ >= options_.max_concurrent ||
           (group_limit > 0 && slots_->per_group[group] >= group_limit)) {
        // Woken by ReleaseSlot() (or Stop()); the long expiry is only a safety net.
        net::steady_timer timer(executor_, std::chrono::seconds(5));
        waiting_.push_back(&timer);
        const auto it = std::prev(waiting_.end());
        co_await timer.async_wait(kAsTuple);
        waiting_.erase(it);
    }
    ++running_;
    ++slots_->per_group[group];
}

void Scheduler::ReleaseSlot(const std::string& group) {
    --running_;
    --slots_->per_group[group];
    Wake();
}

Task<void> Scheduler::Loop(std::shared_ptr<Job> job) {
    std::uint32_t failures = 0;
    Millis delay = job->initial_delay;
    while (!stopping_) {
        if (delay.count() > 0 && !co_await Sleep(delay)) {
            break;
        }
        co_await AcquireSlot(job->group, job->group_limit);
        if (stopping_) {
            ReleaseSlot(job->group);
            break;
        }
        bool ok = false;
        try {
            ok = co_await job->run();
        } catch (const std::exception& e) {
            spdlog::error("job failed unexpectedly job={} error=\"{}\"", job->name, e.what());
        }
        ReleaseSlot(job->group);
        failures = ok ? 0 : failures + 1;
        if (options_.once) {
            break;
        }
        delay = NextDelay(options_, *job, failures, rng_);
    }
    --loops_;
    Wake();
}

Task<void> Scheduler::Wait() {
    while (loops_ > 0) {
        net::steady_timer timer(executor_, std::chrono::seconds(1));
        waiting_.push_back(&timer);
        const auto it = std::prev(waiting_.end());
        co_await timer.async_wait(kAsTuple);
        waiting_.erase(it);
    }
}

}  // namespace chatsync::sched
