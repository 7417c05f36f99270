#include "sched/scheduler.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "support/run_async.hpp"

namespace chatsync::sched {
namespace {

using namespace std::chrono_literals;

TEST(Scheduler, NextDelayUsesIntervalJitterAndFailureBackoff) {
    std::mt19937_64 rng(1);
    const Scheduler::Options options{.failure_backoff = 10s};
    Scheduler::Job job;
    job.interval = 5min;
    EXPECT_EQ(Scheduler::NextDelay(options, job, 0, rng), 5min);
    EXPECT_EQ(Scheduler::NextDelay(options, job, 1, rng), 10s);
    EXPECT_EQ(Scheduler::NextDelay(options, job, 2, rng), 20s);
    EXPECT_EQ(Scheduler::NextDelay(options, job, 30, rng), 5min);
    job.jitter = 30s;
    for (int i = 0; i < 100; ++i) {
        const auto d = Scheduler::NextDelay(options, job, 0, rng);
        EXPECT_GE(d, 4min + 30s);
        EXPECT_LE(d, 5min + 30s);
    }
    // A jitter longer than the wait is cut to half of it.
    job.interval = 1s;
    job.jitter = 1min;
    for (int i = 0; i < 100; ++i) {
        const auto d = Scheduler::NextDelay(options, job, 0, rng);
        EXPECT_GE(d, 500ms);
        EXPECT_LE(d, 1500ms);
    }
}

struct Counter {
    int runs = 0;
    int active = 0;
    int max_active = 0;
};

Task<bool> Work(Counter* c, Executor ex) {
    ++c->runs;
    ++c->active;
    c->max_active = std::max(c->max_active, c->active);
    net::steady_timer t(ex, 20ms);
    co_await t.async_wait(kUseAwaitable);
    --c->active;
    co_return true;
}

TEST(Scheduler, OnceModeRunsEachJobOnceWithinTheConcurrencyLimit) {
    net::io_context ioc;
    Scheduler s(ioc.get_executor(), {.max_concurrent = 2, .once = true});
    Counter c;
    for (int i = 0; i < 6; ++i) {
        s.Add({.name = "j" + std::to_string(i), .group = "g", .run = [&c, &ioc] {
                   return Work(&c, ioc.get_executor());
               }});
    }
    test::RunAsync(ioc, s.Wait(), 10s);
    EXPECT_EQ(c.runs, 6);
    EXPECT_EQ(c.max_active, 2);
}

TEST(Scheduler, GroupLimitCapsOneSource) {
    net::io_context ioc;
    Scheduler s(ioc.get_executor(), {.max_concurrent = 8, .once = true});
    Counter c;
    for (int i = 0; i < 4; ++i) {
        s.Add({.name = "j", .group = "src", .group_limit = 1, .run = [&c, &ioc] {
                   return Work(&c, ioc.get_executor());
               }});
    }
    test::RunAsync(ioc, s.Wait(), 10s);
    EXPECT_EQ(c.runs, 4);
    EXPECT_EQ(c.max_active, 1);
}

Task<void> StopAfter(Scheduler* s, Executor ex, std::chrono::milliseconds d) {
    net::steady_timer t(ex, d);
    co_await t.async_wait(kUseAwaitable);
    s->Stop();
    co_await s->Wait();
}

TEST(Scheduler, RepeatsOnItsIntervalAndStopsPromptly) {
    net::io_context ioc;
    Scheduler s(ioc.get_executor(), {.max_concurrent = 2});
    Counter c;
    s.Add({.name = "j", .group = "g", .interval = 50ms, .run = [&c, &ioc] {
               return Work(&c, ioc.get_executor());
           }});
    const auto start = std::chrono::steady_clock::now();
    test::RunAsync(ioc, StopAfter(&s, ioc.get_executor(), 400ms), 10s);
    // About 400 / (20 + 50) runs; the bounds leave room for a loaded machine.
    EXPECT_GE(c.runs, 2);
    EXPECT_LE(c.runs, 8);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Scheduler, OtherJobsFinishingDoNotWakeASleepingJobEarly) {
    net::io_context ioc;
    Scheduler s(ioc.get_executor(), {.max_concurrent = 4});
    Counter slow;
    Counter fast;
    s.Add({.name = "slow", .group = "a", .interval = 1h, .run = [&slow, &ioc] {
               return Work(&slow, ioc.get_executor());
           }});
    s.Add({.name = "fast", .group = "b", .interval = 10ms, .run = [&fast, &ioc] {
               return Work(&fast, ioc.get_executor());
           }});
    test::RunAsync(ioc, StopAfter(&s, ioc.get_executor(), 400ms), 10s);
    EXPECT_GE(fast.runs, 3);
    EXPECT_EQ(slow.runs, 1);
}

Task<void> RemoveAfter(Scheduler* s, Executor ex, std::string group, std::chrono::milliseconds d) {
    net::steady_timer t(ex, d);
    co_await t.async_wait(kUseAwaitable);
    s->RemoveGroup(group);
}

TEST(Scheduler, RemoveGroupEndsOnlyThatGroupsLoops) {
    net::io_context ioc;
    Scheduler s(ioc.get_executor(), {.max_concurrent = 4});
    Counter removed;
    Counter kept;
    s.Add({.name = "r", .group = "old", .interval = 20ms, .run = [&removed, &ioc] {
               return Work(&removed, ioc.get_executor());
           }});
    s.Add({.name = "k", .group = "new", .interval = 20ms, .run = [&kept, &ioc] {
               return Work(&kept, ioc.get_executor());
           }});
    net::co_spawn(ioc, RemoveAfter(&s, ioc.get_executor(), "old", 150ms), net::detached);
    test::RunAsync(ioc, StopAfter(&s, ioc.get_executor(), 600ms), 10s);
    const int removed_runs = removed.runs;
    EXPECT_GE(removed_runs, 1);
    // About 150 ms of runs for the removed job, 600 ms for the kept one.
    EXPECT_GT(kept.runs, removed_runs);
    EXPECT_EQ(removed.active, 0);
}

/// A claim that grants every `every`-th ask and otherwise answers "ask again in `retry`".
struct Claims {
    int asked = 0;
    int every = 3;
    std::chrono::milliseconds retry = 10ms;
};

Task<Scheduler::Claim> Ask(Claims* c) {
    ++c->asked;
    co_return Scheduler::Claim{.granted = c->asked % c->every == 0, .retry_in = c->retry};
}

TEST(Scheduler, AJobWithAClaimRunsOnlyWhenItIsGrantedAndAsksAgainAfterARun) {
    net::io_context ioc;
    Scheduler s(ioc.get_executor(), {.max_concurrent = 2});
    Counter c;
    Claims claims;
    // An interval of an hour: only the claim's answers make it run more than once.
    s.Add(
        {.name = "j",
         .group = "g",
         .interval = 1h,
         .claim = [&claims] { return Ask(&claims); },
         .run =
             [&c, &ioc] {
                 return Work(&c, ioc.get_executor());
             }}
    );
    test::RunAsync(ioc, StopAfter(&s, ioc.get_executor(), 400ms), 10s);
    EXPECT_GE(c.runs, 2);
    // Every run was granted: runs = granted asks (the last ask may have been cut by the stop).
    EXPECT_EQ(c.runs, claims.asked / claims.every);
}

}  // namespace
}  // namespace chatsync::sched
