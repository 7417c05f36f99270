#pragma once

#include <chrono>
#include <list>

#include "core/asio.hpp"
#include "core/duration.hpp"

namespace chatsync {

/// Sleeps that can be ended early, all together: the wakeable wait of every loop that must
/// notice a stop (or another change) without waiting out its timer. A sleep ends when its
/// deadline comes, when WakeAll() or Stop() is called, or when its coroutine is cancelled.
///
/// @par Thread Safety
/// Use from the one executor given to the constructor.
///
/// @par Stopping
/// Stop() ends every sleep in progress, and every later sleep returns false at once.
/// Destroy the group only after its sleeps have returned: each registers itself here.
class SleepGroup final {
public:
    explicit SleepGroup(Executor executor);
    ~SleepGroup();

    SleepGroup(const SleepGroup&) = delete;
    SleepGroup& operator=(const SleepGroup&) = delete;

    /// Sleeps until `deadline`. True when the deadline came; false when the sleep was woken,
    /// the group is stopped or the coroutine was cancelled.
    Task<bool> SleepUntil(std::chrono::steady_clock::time_point deadline);

    /// Sleeps for `duration`, as SleepUntil(now + duration).
    Task<bool> SleepFor(Millis duration);

    /// Ends every sleep in progress (each returns false). Later sleeps are not affected.
    void WakeAll();

    /// WakeAll(), and every later sleep returns false without waiting.
    void Stop();

    bool stopped() const noexcept { return stopped_; }

    /// Sleeps in progress now.
    std::size_t sleeping() const noexcept { return sleeping_.size(); }

private:
    /// One sleep in progress: its timer lives in the sleeping coroutine's frame.
    struct Sleep;

    Executor executor_;
    bool stopped_ = false;
    /// The sleeps in progress, so that WakeAll() can end them. Declared last: it points into
    /// the frames of coroutines that use the members above.
    std::list<Sleep*> sleeping_;
};

}  // namespace chatsync
