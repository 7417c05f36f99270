#include "core/root_task.hpp"

#include <memory>
#include <sstream>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "core/asio.hpp"
#include "metrics/metrics.hpp"

namespace chatsync {
namespace {

Task<void> Throws() {
    throw std::runtime_error("boom");
    co_return;
}

Task<void> Returns() {
    co_return;
}

Task<int> ReturnsAValue() {
    co_return 7;
}

std::uint64_t FailuresOf(const std::string& task) {
    const auto all = RootTaskFailures();
    const auto it = all.find(task);
    return it == all.end() ? 0 : it->second;
}

/// Sends the default logger's lines to a string for the test's lifetime.
class CapturedLog {
public:
    CapturedLog()
        : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    }

    ~CapturedLog() { spdlog::set_default_logger(previous_); }

    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

TEST(RootHandler, LogsAndCountsAFailureThenHandsItOn) {
    const CapturedLog log;
    const auto before = FailuresOf("test_throws");
    net::io_context ioc;
    std::exception_ptr seen;
    bool called = false;
    net::co_spawn(ioc, Throws(), RootHandler("test_throws", [&](std::exception_ptr e) {
                      seen = std::move(e);
                      called = true;
                  }));
    ioc.run();
    EXPECT_TRUE(called);
    EXPECT_TRUE(seen);
    EXPECT_EQ(FailuresOf("test_throws"), before + 1);
    EXPECT_NE(
        log.text().find("root task failed task=test_throws error=\"boom\""), std::string::npos
    ) << log.text();
}

TEST(RootHandler, ANormalEndCountsAndLogsNothing) {
    const CapturedLog log;
    net::io_context ioc;
    bool called = false;
    std::exception_ptr seen;
    net::co_spawn(ioc, Returns(), RootHandler("test_returns", [&](std::exception_ptr e) {
                      seen = std::move(e);
                      called = true;
                  }));
    net::co_spawn(ioc, ReturnsAValue(), RootHandler("test_returns"));
    ioc.run();
    EXPECT_TRUE(called);
    EXPECT_FALSE(seen);
    EXPECT_EQ(FailuresOf("test_returns"), 0U);
    EXPECT_EQ(log.text(), "");
}

TEST(RootHandler, MetricsExportTheFailuresByTask) {
    const CapturedLog log;
    const metrics::Metrics metrics;
    net::io_context ioc;
    net::co_spawn(ioc, Throws(), RootHandler("test_metrics"));
    net::co_spawn(ioc, Throws(), RootHandler("test_metrics"));
    ioc.run();
    const auto text = metrics.Render();
    EXPECT_NE(text.find("chatsync_task_failures_total{task=\"test_metrics\"} 2"), std::string::npos)
        << text;
    // Rendering again adds nothing: the counter follows the count, it does not add to it.
    EXPECT_NE(
        metrics.Render().find("chatsync_task_failures_total{task=\"test_metrics\"} 2"),
        std::string::npos
    );
}

}  // namespace
}  // namespace chatsync
