#include "core/sleep_group.hpp"

#include <chrono>
#include <optional>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "core/root_task.hpp"
#include "support/run_async.hpp"

namespace chatsync {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

/// Sleeps on `group` and stores the outcome in `*slept`, which the test owns.
Task<void> SleepInto(SleepGroup* group, Millis duration, std::optional<bool>* slept) {
    *slept = co_await group->SleepFor(duration);
}

/// Lets the other coroutines run until `count` sleeps are in progress.
Task<void> UntilSleeping(SleepGroup* group, std::size_t count) {
    const auto executor = co_await net::this_coro::executor;
    while (group->sleeping() < count) {
        co_await net::post(executor, net::use_awaitable);
    }
}

TEST(SleepGroup, SleepsUntilTheDeadline) {
    net::io_context ioc;
    SleepGroup group(ioc.get_executor());
    const auto start = SteadyClock::now();
    EXPECT_TRUE(test::RunAsync(ioc, group.SleepFor(30ms)));
    EXPECT_GE(SteadyClock::now() - start, 30ms);
    EXPECT_EQ(group.sleeping(), 0U);
}

TEST(SleepGroup, WakeAllEndsEverySleepInProgressButNoLaterOne) {
    net::io_context ioc;
    SleepGroup group(ioc.get_executor());
    std::vector<std::optional<bool>> slept(3);
    for (auto& s : slept) {
        net::co_spawn(ioc, SleepInto(&group, 1min, &s), RootHandler("test_sleep"));
    }
    const auto start = SteadyClock::now();
    test::RunAsync(ioc, UntilSleeping(&group, 3));
    group.WakeAll();
    ioc.restart();
    ioc.run_for(10s);
    EXPECT_LT(SteadyClock::now() - start, 10s);
    for (const auto& s : slept) {
        ASSERT_TRUE(s.has_value());
        EXPECT_FALSE(*s);
    }
    EXPECT_EQ(group.sleeping(), 0U);
    EXPECT_FALSE(group.stopped());
    EXPECT_TRUE(test::RunAsync(ioc, group.SleepFor(1ms)));
}

TEST(SleepGroup, StopEndsSleepsAndLaterOnesReturnAtOnce) {
    net::io_context ioc;
    SleepGroup group(ioc.get_executor());
    std::optional<bool> slept;
    net::co_spawn(ioc, SleepInto(&group, 1min, &slept), RootHandler("test_sleep"));
    test::RunAsync(ioc, UntilSleeping(&group, 1));
    group.Stop();
    ioc.restart();
    ioc.run_for(10s);
    ASSERT_TRUE(slept.has_value());
    EXPECT_FALSE(*slept);
    EXPECT_TRUE(group.stopped());
    const auto start = SteadyClock::now();
    EXPECT_FALSE(test::RunAsync(ioc, group.SleepFor(1min)));
    EXPECT_LT(SteadyClock::now() - start, 10s);
}

TEST(SleepGroup, CancellingTheCoroutineEndsItsSleep) {
    net::io_context ioc;
    SleepGroup group(ioc.get_executor());
    std::optional<bool> slept;
    net::cancellation_signal cancel;
    bool done = false;
    net::co_spawn(
        ioc,
        SleepInto(&group, 1min, &slept),
        net::bind_cancellation_slot(
            cancel.slot(), RootHandler("test_sleep", [&](std::exception_ptr) { done = true; })
        )
    );
    test::RunAsync(ioc, UntilSleeping(&group, 1));
    cancel.emit(net::cancellation_type::terminal);
    test::Spin(ioc, done, 10s);
    ASSERT_TRUE(slept.has_value());
    EXPECT_FALSE(*slept);
    EXPECT_EQ(group.sleeping(), 0U);
}

}  // namespace
}  // namespace chatsync
