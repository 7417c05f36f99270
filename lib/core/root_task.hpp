#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace chatsync {

/// The completion handler of every root coroutine, one that nothing co_awaits:
/// `net::co_spawn(executor, Loop(), RootHandler("scheduler_loop"))`.
///
/// When the coroutine ends with an exception, the handler logs it (an error, with the task's
/// name) and counts it in the process's root-task failures (RootTaskFailures(), exported as
/// chatsync_task_failures_total{task}); nothing is swallowed silently. Then it calls `then`,
/// if given, with the exception or with nullptr when the coroutine returned: the owner's own
/// completion step (wake waiters, mark state, rethrow where a failure must end the process).
/// A coroutine's return value is dropped.
class RootHandler final {
public:
    using Then = std::function<void(std::exception_ptr)>;

    /// `task` names the coroutine in the log and in the metric's `task` label: a fixed word
    /// (bounded label values), such as "watchdog" or "http_session".
    explicit RootHandler(std::string_view task, Then then = {});

    void operator()(std::exception_ptr error) const;

    template <class T>
    void operator()(std::exception_ptr error, T&& /*value*/) const {
        (*this)(std::move(error));
    }

private:
    std::string task_;
    Then then_;
};

/// Root coroutines that ended with an exception since the process started, by task name.
///
/// A root coroutine can fail where no owner could hand it the metrics (an HTTP session, a
/// name resolution left to finish alone), so the count is kept for the process, and
/// metrics::Metrics reads it when it renders.
///
/// @par Thread Safety
/// May be called from any thread.
std::map<std::string, std::uint64_t> RootTaskFailures();

}  // namespace chatsync
