#include "core/sleep_group.hpp"

#include <boost/asio/steady_timer.hpp>

namespace chatsync {

struct SleepGroup::Sleep {
    net::steady_timer timer;
};

SleepGroup::SleepGroup(Executor executor)
    : executor_(std::move(executor)) {}

SleepGroup::~SleepGroup() = default;

Task<bool> SleepGroup::SleepUntil(std::chrono::steady_clock::time_point deadline) {
    if (stopped_) {
        co_return false;
    }
    Sleep sleep{net::steady_timer(executor_, deadline)};
    sleeping_.push_back(&sleep);
    const auto it = std::prev(sleeping_.end());
    // operation_aborted means woken, stopped or cancelled: the caller learns it as false.
    auto [ec] = co_await sleep.timer.async_wait(kAsTuple);
    sleeping_.erase(it);
    co_return !ec && !stopped_;
}

Task<bool> SleepGroup::SleepFor(Millis duration) {
    return SleepUntil(std::chrono::steady_clock::now() + duration);
}

void SleepGroup::WakeAll() {
    for (Sleep* sleep : sleeping_) {
        sleep->timer.cancel();
    }
}

void SleepGroup::Stop() {
    stopped_ = true;
    WakeAll();
}

}  // namespace chatsync
