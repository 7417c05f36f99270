#include "core/root_task.hpp"

#include <mutex>

#include <spdlog/spdlog.h>

namespace chatsync {
namespace {

/// The counts behind RootTaskFailures(). A function-local static: made on first use, so no
/// order of static initialisation matters, and never destroyed, so a failure counted while
/// the process exits finds it still there.
struct FailureCounts {
    std::mutex mutex;
    std::map<std::string, std::uint64_t> by_task;
};

FailureCounts& Counts() {
    static auto* counts = new FailureCounts();
    return *counts;
}

std::string Describe(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception of unknown type";
    }
}

}  // namespace

RootHandler::RootHandler(std::string_view task, Then then)
    : task_(task)
    , then_(std::move(then)) {}

void RootHandler::operator()(std::exception_ptr error) const {
    if (error) {
        {
            auto& counts = Counts();
            const std::lock_guard lock(counts.mutex);
            ++counts.by_task[task_];
        }
        spdlog::error("root task failed task={} error=\"{}\"", task_, Describe(error));
    }
    if (then_) {
        then_(std::move(error));
    }
}

std::map<std::string, std::uint64_t> RootTaskFailures() {
    auto& counts = Counts();
    const std::lock_guard lock(counts.mutex);
    return counts.by_task;
}

}  // namespace chatsync
