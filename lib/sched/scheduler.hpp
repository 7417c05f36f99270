#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "core/sleep_group.hpp"

namespace chatsync::sched {

/// Runs jobs on their own schedules: each job runs, then waits its interval plus jitter
/// (after a failure, a shorter backoff that doubles up to the interval), and never overlaps
/// itself. At most `max_concurrent` jobs run at once across all jobs, and at most
/// `Job::group_limit` within one group (a source).
///
/// @par Thread Safety
/// Use from one executor.
///
/// @par Stopping
/// Stop() starts no new run and wakes every waiting job; Wait() completes when the runs in
/// progress have returned.
class Scheduler final {
public:
    struct Options {
        std::uint32_t max_concurrent = 4;
        /// The first retry after a failure; doubles per consecutive failure, up to the interval.
        Millis failure_backoff = std::chrono::seconds(30);
        /// Run every job exactly once, then end (for `chatsyncd once`).
        bool once = false;
    };

    /// The answer of a Job's claim: run now, or ask again after `retry_in`.
    struct Claim {
        bool granted = true;
        Millis retry_in{0};
    };

    struct Job {
        std::string name;
        /// Jobs of one group share `group_limit` concurrent runs.
        std::string group;
        std::uint32_t group_limit = 0;
        Millis interval = std::chrono::minutes(5);
        Millis jitter{0};
        /// Wait this long before the first run (e.g. what is left of the interval since the
        /// last run recorded in the database).
        Millis initial_delay{0};
        /// When set, the schedule is kept elsewhere (shared by several processes): before
        /// each run, with its run slot held, the job asks the claim, runs only when it is
        /// granted, and otherwise sleeps `retry_in` and asks again. After a run it asks again
        /// at once, so the claim's answer, not NextDelay(), sets the time of the next run.
        std::function<Task<Claim>()> claim{};
        /// Returns whether the run succeeded.
        std::function<Task<bool>()> run;
    };

    Scheduler(Executor executor, Options options);
    ~Scheduler();

    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Adds a job and starts its loop.
    void Add(Job job);

    /// Ends the loops of every job of `group` after their runs in progress return (a run is
    /// never interrupted). Used when a reloaded config removes or changes a source.
    void RemoveGroup(const std::string& group);

    void Stop();

    /// Completes when every job loop has ended after Stop(), or in `once` mode when every job
    /// has run once.
    Task<void> Wait();

    /// Runs in progress now.
    std::uint32_t running() const noexcept { return running_; }

    /// The delay after a run: interval +- jitter on success; after the n-th consecutive
    /// failure, min(interval, failure_backoff * 2^(n-1)) +- jitter. The jitter is at most
    /// half of that delay, so the delay stays within [delay / 2, delay * 3 / 2].
    static Millis
    NextDelay(const Options& options, const Job& job, std::uint32_t failures, std::mt19937_64& rng);

private:
    struct Slots;

    struct Entry {
        Job job;
        bool removed = false;
    };

    Task<void> Loop(std::shared_ptr<Entry> entry);
    /// Sleeps the whole duration unless the scheduler stops or the job is removed; returns
    /// whether the job should go on. `entry` is not null, and is held by the calling Loop.
    Task<bool> Sleep(Millis d, const Entry* entry);
    /// Waits for a free run slot, overall and in the job's group, and until no other job of
    /// the same name runs (a job re-added by a reload waits for its predecessor's run). `job`
    /// is not null, and is held by the calling Loop.
    Task<void> AcquireSlot(const Job* job);
    void ReleaseSlot(const Job& job);

    Executor executor_;
    Options options_;
    std::mt19937_64 rng_;
    bool stopping_ = false;
    std::uint32_t running_ = 0;
    std::uint32_t loops_ = 0;
    std::unique_ptr<Slots> slots_;
    std::vector<std::shared_ptr<Entry>> entries_;
    /// Jobs sleeping until their next run, woken by Stop() and RemoveGroup(), and jobs
    /// waiting for a run slot, woken whenever a slot is released. Declared last: their
    /// sleepers use the state above.
    SleepGroup sleeping_;
    SleepGroup slot_waiting_;
};

}  // namespace chatsync::sched
