#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/asio.hpp"
#include "core/result.hpp"

namespace chatsync::http {

namespace detail {
struct BudgetWaiter;
}  // namespace detail

/// A per-source request budget: at most `requests_per_minute` request starts in any sliding
/// 60-second window, spread evenly over it (a token bucket: one request every
/// 60 s / requests_per_minute, with at most `burst` started at once after a quiet spell, so
/// that no second holds more than requests_per_minute / 60 + burst); at most `concurrency`
/// requests in flight; and a pause gate that holds every request until a given instant (set
/// from Retry-After, so that no request of the source leaves before the time the platform
/// named).
///
/// @par Thread Safety
/// Use from one executor.
///
/// @par Stopping
/// Cancelling the awaiting coroutine (terminal cancellation) makes Acquire() return
/// Errc::kCancelled.
class RateBudget final {
public:
    using Clock = std::chrono::steady_clock;

    struct Options {
        /// 0 means unlimited.
        std::uint32_t requests_per_minute = 0;
        /// Requests that may start at once after a quiet spell (0 counts as 1).
        std::uint32_t burst = 1;
        /// 0 means unlimited.
        std::uint32_t concurrency = 4;
        /// The sliding window that requests_per_minute counts over. Only tests shorten it.
        Clock::duration window = std::chrono::seconds(60);
    };

    /// What Acquire() reports about the wait it imposed.
    struct Wait {
        /// Time spent waiting for the pause gate (Retry-After).
        Clock::duration paused{};
        /// Time spent waiting for the per-minute budget.
        Clock::duration throttled{};
        /// Time spent waiting for a concurrency slot.
        Clock::duration queued{};
        /// The instant the budget granted the request (and counted it against the minute).
        Clock::time_point granted{};
    };

    /// Releases the concurrency slot when destroyed.
    class Permit final {
    public:
        Permit() = default;

        explicit Permit(RateBudget* owner)
            : owner_(owner) {}

        Permit(Permit&& other) noexcept
            : owner_(std::exchange(other.owner_, nullptr)) {}

        Permit& operator=(Permit&& other) noexcept;
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit();

    private:
        RateBudget* owner_ = nullptr;
    };

    RateBudget(Executor executor, Options options);

    /// Waits until a request may start; fills `*wait` (not null, the caller's, which awaits
    /// the result) with how long and why. Returns Errc::kCancelled on terminal cancellation.
    /// The budget must outlive every Permit.
    Task<Result<Permit>> Acquire(Wait* wait);

    /// Holds every request until `until` (later calls can only extend the pause).
    void PauseUntil(Clock::time_point until);

    /// Keeps this budget to a `replicas`-th share of the configured one (requests per minute,
    /// burst and concurrency, rounded down but at least 1 each), for several processes that
    /// send for one source; 1 restores the whole budget. Requests already granted stay
    /// counted.
    void Share(std::uint32_t replicas);

    Clock::time_point paused_until() const noexcept { return paused_until_; }

    std::size_t in_flight() const noexcept { return in_flight_; }

private:
    Task<Result<Permit>> WaitForPermit(Wait* wait);
    void Release() noexcept;
    void WakeWaiters() noexcept;

    /// Sets the pace from options_.
    void SetPace();

    Executor executor_;
    /// As configured, and the share in force (Share()).
    Options configured_;
    Options options_;
    Clock::time_point paused_until_{};
    std::deque<Clock::time_point> starts_;
    /// The pace (GCRA, the token bucket's equivalent): a request may start once `now` reaches
    /// `pace_at_ - burst tolerance`; each start moves `pace_at_` one interval on.
    Clock::duration interval_{};
    Clock::duration tolerance_{};
    Clock::time_point pace_at_{};
    std::size_t in_flight_ = 0;
    /// Acquirers currently asleep; every release and pause change wakes them all, and each
    /// re-checks every gate.
    std::vector<detail::BudgetWaiter*> waiters_;
};

}  // namespace chatsync::http
