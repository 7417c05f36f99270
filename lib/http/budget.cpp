#include "http/budget.hpp"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/error.hpp"
#include "core/timer.hpp"

namespace chatsync::http {

namespace detail {

struct BudgetWaiter {
    explicit BudgetWaiter(const Executor& executor)
        : timer(executor) {}

    net::steady_timer timer;
};

}  // namespace detail

namespace {

using detail::BudgetWaiter;

/// Keeps a sleeping acquirer listed for exactly as long as its frame exists, so that a frame
/// destroyed mid-wait (io_context torn down) never leaves a dangling pointer behind.
class WaiterRegistration final {
public:
    WaiterRegistration(std::vector<BudgetWaiter*>& list, BudgetWaiter* waiter)
        : list_(list)
        , waiter_(waiter) {
        list_.push_back(waiter_);
    }

    WaiterRegistration(const WaiterRegistration&) = delete;
    WaiterRegistration& operator=(const WaiterRegistration&) = delete;
    WaiterRegistration(WaiterRegistration&&) = delete;
    WaiterRegistration& operator=(WaiterRegistration&&) = delete;

    ~WaiterRegistration() { std::erase(list_, waiter_); }

private:
    std::vector<BudgetWaiter*>& list_;
    BudgetWaiter* waiter_;
};

}  // namespace

RateBudget::Permit& RateBudget::Permit::operator=(Permit&& other) noexcept {
    if (this != &other) {
        if (owner_ != nullptr) {
            owner_->Release();
        }
        owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
}

RateBudget::Permit::~Permit() {
    if (owner_ != nullptr) {
        owner_->Release();
    }
}

RateBudget::RateBudget(Executor executor, Options options)
    : executor_(std::move(executor))
    , configured_(options)
    , options_(options) {
    SetPace();
}

void RateBudget::SetPace() {
    if (options_.requests_per_minute > 0) {
        const auto burst =
            std::clamp<std::uint32_t>(options_.burst, 1, options_.requests_per_minute);
        interval_ = options_.window / options_.requests_per_minute;
        tolerance_ = interval_ * (burst - 1);
    }
}

void RateBudget::Share(std::uint32_t replicas) {
    replicas = std::max<std::uint32_t>(replicas, 1);
    // 0 means unlimited, and an unlimited share stays unlimited.
    const auto part = [replicas](std::uint32_t whole) {
        return whole == 0 ? 0 : std::max<std::uint32_t>(whole / replicas, 1);
    };
    options_.requests_per_minute = part(configured_.requests_per_minute);
    options_.burst = part(configured_.burst);
    options_.concurrency = part(configured_.concurrency);
    SetPace();
    // A larger share may let sleeping acquirers go now.
    WakeWaiters();
}

Task<Result<RateBudget::Permit>> RateBudget::Acquire(Wait* wait) {
    // Cancellation must come back as a value, not as the exception Asio throws by default at
    // the next co_await of a cancelled coroutine; the caller's setting is restored on return.
    const bool throw_if_cancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    auto permit = co_await WaitForPermit(wait);
    co_await net::this_coro::throw_if_cancelled(throw_if_cancelled);
    co_return permit;
}

Task<Result<RateBudget::Permit>> RateBudget::WaitForPermit(Wait* wait) {
    *wait = Wait{};
    BudgetWaiter waiter(executor_);
    while (true) {
        const net::cancellation_state state = co_await net::this_coro::cancellation_state;
        if (state.cancelled() != net::cancellation_type::none) {
            co_return make_error_code(Errc::kCancelled);
        }

        // The gates are checked in one synchronous step, with the grant, so that nothing can
        // slip between a passed check and the request start (one executor, no mutex).
        const auto now = Clock::now();
        Clock::duration* reason = nullptr;
        auto wake_at = Clock::time_point::max();
        if (paused_until_ > now) {
            reason = &wait->paused;
            wake_at = paused_until_;
        } else {
            while (!starts_.empty() && starts_.front() + options_.window <= now) {
                starts_.pop_front();
            }
            if (options_.requests_per_minute > 0 &&
                starts_.size() >= options_.requests_per_minute) {
                reason = &wait->throttled;
                wake_at = starts_.front() + options_.window;
            } else if (options_.requests_per_minute > 0 && pace_at_ - tolerance_ > now) {
                reason = &wait->throttled;
                wake_at = pace_at_ - tolerance_;
            } else if (options_.concurrency > 0 && in_flight_ >= options_.concurrency) {
                // Woken by Release().
                reason = &wait->queued;
            }
        }
        if (reason == nullptr) {
            if (options_.requests_per_minute > 0) {
                starts_.push_back(now);
                pace_at_ = std::max(pace_at_, now) + interval_;
            }
            wait->granted = now;
            ++in_flight_;
            co_return Permit(this);
        }

        waiter.timer.expires_at(wake_at);
        {
            const WaiterRegistration registration(waiters_, &waiter);
            // operation_aborted means either a wake-up from Release()/PauseUntil() or
            // cancellation; the check at the top of the loop tells them apart.
            const auto [ec] = co_await waiter.timer.async_wait(kAsTuple);
            (void)ec;
        }
        *reason += Clock::now() - now;
    }
}

void RateBudget::PauseUntil(Clock::time_point until) {
    if (until <= paused_until_) {
        return;
    }
    paused_until_ = until;
    WakeWaiters();
}

void RateBudget::Release() noexcept {
    --in_flight_;
    WakeWaiters();
}

void RateBudget::WakeWaiters() noexcept {
    for (BudgetWaiter* waiter : waiters_) {
        // Called from Permit's destructor, so it must not throw.
        CancelTimer(waiter->timer);
    }
}

}  // namespace chatsync::http
