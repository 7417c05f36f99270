#include "http/budget.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/run_async.hpp"

namespace chatsync::http {
namespace {

using namespace std::chrono_literals;
using Clock = RateBudget::Clock;

struct Grant {
    Result<RateBudget::Permit> permit{RateBudget::Permit()};
    RateBudget::Wait wait;
    Clock::time_point at;
};

/// Acquires `count` permits one after the other, keeping them all.
Task<std::vector<Grant>> AcquireMany(RateBudget* budget, int count) {
    std::vector<Grant> grants;
    for (int i = 0; i < count; ++i) {
        Grant grant;
        grant.permit = co_await budget->Acquire(&grant.wait);
        grant.at = Clock::now();
        grants.push_back(std::move(grant));
    }
    co_return grants;
}

/// Acquires one permit, then holds it for `hold` before releasing it.
Task<Grant> AcquireAndHold(RateBudget* budget, Clock::duration hold) {
    Grant grant;
    grant.permit = co_await budget->Acquire(&grant.wait);
    grant.at = Clock::now();
    if (!grant.permit) {
        co_return grant;
    }
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(hold);
    co_await timer.async_wait(kUseAwaitable);
    grant.permit = RateBudget::Permit();
    co_return grant;
}

TEST(RateBudget, GrantsImmediatelyWithinLimits) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 5, .burst = 5, .concurrency = 5});
    const auto grants = test::RunAsync(ioc, AcquireMany(&budget, 5), 5s);
    ASSERT_EQ(grants.size(), 5U);
    for (const auto& grant : grants) {
        ASSERT_TRUE(grant.permit);
        EXPECT_EQ(
            grant.wait.paused + grant.wait.throttled + grant.wait.queued, Clock::duration::zero()
        );
    }
    EXPECT_EQ(budget.in_flight(), 5U);
}

TEST(RateBudget, ThrottlesBeyondRequestsPerWindow) {
    net::io_context ioc;
    RateBudget budget(
        ioc.get_executor(),
        {.requests_per_minute = 3, .burst = 3, .concurrency = 0, .window = 300ms}
    );
    const auto start = Clock::now();
    const auto grants = test::RunAsync(ioc, AcquireMany(&budget, 4), 5s);
    ASSERT_EQ(grants.size(), 4U);
    for (int i = 0; i < 3; ++i) {
        EXPECT_LT(grants[i].at - start, 100ms);
    }
    // The fourth start must wait until the first one leaves the sliding window.
    ASSERT_TRUE(grants[3].permit);
    EXPECT_GE(grants[3].at - grants[0].at, 300ms);
    EXPECT_GE(grants[3].wait.throttled, 250ms);
    EXPECT_EQ(grants[3].wait.queued, Clock::duration::zero());
}

TEST(RateBudget, ASharedBudgetKeepsItsShareOfTheWindow) {
    net::io_context ioc;
    RateBudget budget(
        ioc.get_executor(),
        {.requests_per_minute = 6, .burst = 6, .concurrency = 0, .window = 300ms}
    );
    // A third of 6 a window with a burst of 6: 2 and 2.
    budget.Share(3);
    const auto start = Clock::now();
    const auto grants = test::RunAsync(ioc, AcquireMany(&budget, 3), 5s);
    ASSERT_EQ(grants.size(), 3U);
    EXPECT_LT(grants[1].at - start, 100ms);
    ASSERT_TRUE(grants[2].permit);
    EXPECT_GE(grants[2].wait.granted - grants[0].wait.granted, 300ms);
}

Task<void> AcquireInto(RateBudget* budget, Clock::duration hold, std::optional<Grant>* out) {
    *out = co_await AcquireAndHold(budget, hold);
}

/// Starts `count` AcquireAndHold() at once and waits for them all.
Task<std::vector<Grant>> HoldTogether(RateBudget* budget, int count, Clock::duration hold) {
    const auto ex = co_await net::this_coro::executor;
    std::vector<std::optional<Grant>> slots(static_cast<std::size_t>(count));
    for (auto& slot : slots) {
        net::co_spawn(ex, AcquireInto(budget, hold, &slot), net::detached);
    }
    net::steady_timer timer(ex);
    while (std::any_of(slots.begin(), slots.end(), [](const auto& g) { return !g; })) {
        timer.expires_after(5ms);
        co_await timer.async_wait(kUseAwaitable);
    }
    std::vector<Grant> grants;
    for (auto& slot : slots) {
        grants.push_back(std::move(*slot));
    }
    co_return grants;
}

TEST(RateBudget, ASharedBudgetKeepsItsShareOfConcurrencyUntilItIsWholeAgain) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 0, .concurrency = 3});
    budget.Share(3);
    auto grants = test::RunAsync(ioc, HoldTogether(&budget, 2, 100ms), 5s);
    ASSERT_EQ(grants.size(), 2U);
    EXPECT_GE(grants[0].wait.queued + grants[1].wait.queued, 90ms)
        << "one of the two waited for the other";
    budget.Share(1);
    grants = test::RunAsync(ioc, HoldTogether(&budget, 3, 50ms), 5s);
    for (const auto& grant : grants) {
        EXPECT_EQ(grant.wait.queued, Clock::duration::zero());
    }
}

TEST(RateBudget, PacesEvenlyWithASmallBurstAndKeepsTheMinute) {
    // requests_per_minute 150 with the default burst (one second's share: 2), on a clock 20
    // times faster than real: the minute is 3 s and a second 50 ms. A late wake-up can only
    // spread the starts further, so the bounds hold however busy the machine is.
    constexpr std::uint32_t kPerMinute = 150;
    constexpr std::uint32_t kBurst = kPerMinute / 60;
    constexpr auto kMinute = 3000ms;
    constexpr auto kSecond = kMinute / 60;
    net::io_context ioc;
    RateBudget budget(
        ioc.get_executor(),
        {.requests_per_minute = kPerMinute, .burst = kBurst, .concurrency = 0, .window = kMinute}
    );
    const auto grants = test::RunAsync(ioc, AcquireMany(&budget, 200), 60s);
    ASSERT_EQ(grants.size(), 200U);
    std::size_t most_in_a_second = 0;
    std::size_t most_in_a_minute = 0;
    for (std::size_t i = 0; i < grants.size(); ++i) {
        ASSERT_TRUE(grants[i].permit);
        std::size_t second = 0;
        std::size_t minute = 0;
        for (std::size_t j = i; j < grants.size(); ++j) {
            // The budget's own instants: when a test records the time itself, a late
            // resumption would shift it and count a start in the wrong window.
            const auto after = grants[j].wait.granted - grants[i].wait.granted;
            second += after < kSecond ? 1 : 0;
            minute += after < kMinute ? 1 : 0;
        }
        most_in_a_second = std::max(most_in_a_second, second);
        most_in_a_minute = std::max(most_in_a_minute, minute);
    }
    // 150 / 60 + 2 = 4.5 starts at most in any second.
    EXPECT_LE(most_in_a_second, kPerMinute / 60 + kBurst);
    EXPECT_LE(most_in_a_minute, kPerMinute);
    // The burst is granted at once; the rest wait their turn.
    EXPECT_EQ(grants[1].wait.throttled, Clock::duration::zero());
    EXPECT_GT(grants[2].wait.throttled, Clock::duration::zero());
    // Evenly paced, 200 starts take at least 199 - (burst - 1) intervals (20 ms each).
    EXPECT_GE(
        grants.back().wait.granted - grants.front().wait.granted,
        (199 - (kBurst - 1)) * (kMinute / kPerMinute)
    );
}

TEST(RateBudget, QueuesBeyondConcurrency) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 0, .concurrency = 1});
    std::optional<Grant> first;
    std::optional<Grant> second;
    net::co_spawn(ioc, AcquireAndHold(&budget, 200ms), [&](std::exception_ptr e, Grant g) {
        ASSERT_FALSE(e);
        first = std::move(g);
    });
    net::co_spawn(ioc, AcquireAndHold(&budget, 0ms), [&](std::exception_ptr e, Grant g) {
        ASSERT_FALSE(e);
        second = std::move(g);
    });
    ioc.run_for(5s);
    ASSERT_TRUE(first && second);
    ASSERT_TRUE(second->permit);
    EXPECT_GE(second->at - first->at, 200ms);
    EXPECT_GE(second->wait.queued, 150ms);
    EXPECT_EQ(budget.in_flight(), 0U);
}

TEST(RateBudget, PauseHoldsEveryAcquirerUntilTheInstant) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 0, .concurrency = 0});
    const auto until = Clock::now() + 300ms;
    budget.PauseUntil(until);
    budget.PauseUntil(until - 200ms);  // An earlier instant cannot shorten the pause.
    EXPECT_EQ(budget.paused_until(), until);
    std::vector<Grant> grants;
    for (int i = 0; i < 3; ++i) {
        net::co_spawn(ioc, AcquireAndHold(&budget, 0ms), [&](std::exception_ptr e, Grant g) {
            ASSERT_FALSE(e);
            grants.push_back(std::move(g));
        });
    }
    ioc.run_for(5s);
    ASSERT_EQ(grants.size(), 3U);
    for (const auto& grant : grants) {
        ASSERT_TRUE(grant.permit);
        EXPECT_GE(grant.at, until);
        EXPECT_GE(grant.wait.paused, 250ms);
    }
}

TEST(RateBudget, ExtendingThePauseHoldsWaitersLonger) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 0, .concurrency = 0});
    budget.PauseUntil(Clock::now() + 100ms);
    const auto extended = Clock::now() + 300ms;
    std::optional<Grant> grant;
    net::co_spawn(ioc, AcquireAndHold(&budget, 0ms), [&](std::exception_ptr e, Grant g) {
        ASSERT_FALSE(e);
        grant = std::move(g);
    });
    net::steady_timer timer(ioc);
    timer.expires_after(50ms);
    timer.async_wait([&](boost::system::error_code) { budget.PauseUntil(extended); });
    ioc.run_for(5s);
    ASSERT_TRUE(grant);
    EXPECT_GE(grant->at, extended);
}

TEST(RateBudget, CancellationEndsTheWait) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 0, .concurrency = 0});
    budget.PauseUntil(Clock::now() + 1h);
    net::cancellation_signal signal;
    std::optional<Grant> grant;
    net::co_spawn(
        ioc,
        AcquireAndHold(&budget, 0ms),
        net::bind_cancellation_slot(
            signal.slot(),
            [&](std::exception_ptr e, Grant g) {
                ASSERT_FALSE(e);
                grant = std::move(g);
            }
        )
    );
    net::steady_timer timer(ioc);
    timer.expires_after(100ms);
    timer.async_wait([&](boost::system::error_code) {
        signal.emit(net::cancellation_type::terminal);
    });
    const auto start = Clock::now();
    ioc.run_for(5s);
    ASSERT_TRUE(grant);
    EXPECT_LT(Clock::now() - start, 1s);
    ASSERT_FALSE(grant->permit);
    EXPECT_EQ(grant->permit.error(), make_error_code(Errc::kCancelled));
    EXPECT_EQ(budget.in_flight(), 0U);
}

TEST(RateBudget, PermitMoveReleasesOnce) {
    net::io_context ioc;
    RateBudget budget(ioc.get_executor(), {.requests_per_minute = 0, .concurrency = 2});
    auto grants = test::RunAsync(ioc, AcquireMany(&budget, 2), 5s);
    EXPECT_EQ(budget.in_flight(), 2U);
    RateBudget::Permit moved = std::move(*grants[0].permit);
    EXPECT_EQ(budget.in_flight(), 2U);
    moved = std::move(*grants[1].permit);  // Releases the slot `moved` held.
    EXPECT_EQ(budget.in_flight(), 1U);
    grants.clear();
    EXPECT_EQ(budget.in_flight(), 1U);
    moved = RateBudget::Permit();
    EXPECT_EQ(budget.in_flight(), 0U);
}

}  // namespace
}  // namespace chatsync::http
