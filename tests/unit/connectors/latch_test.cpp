// The latch against the emulator's Mesibo mode, served in-process: once an answer latches a
// source, no request of the source leaves, not even one already waiting for its turn.

#include <memory>
#include <string>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "connectors/builtin.hpp"
#include "connectors/runner.hpp"
#include "core/redactor.hpp"
#include "emulator/frame/emulator.hpp"
#include "http/client.hpp"
#include "metrics/metrics.hpp"
#include "support/fake_sink.hpp"
#include "support/run_async.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

constexpr const char* kLatchSource = "mesibo";
constexpr const char* kLatchToken = "latch-test-app-token";

class LatchTest : public ::testing::Test {
protected:
    LatchTest() {
        emulator::Options options;
        options.modes = {"mesibo"};
        options.mesibo_users = 200;
        options.mesibo_groups = 10;
        options.mesibo_token = kLatchToken;
        emulator_ = std::make_unique<emulator::Emulator>(ioc_.get_executor(), options);
        emulator_->Start();
    }

    ~LatchTest() override {
        emulator_->Stop();
        ioc_.restart();
        ioc_.run_for(std::chrono::seconds(10));
    }

    LatchTest(const LatchTest&) = delete;
    LatchTest& operator=(const LatchTest&) = delete;

    std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(emulator_->Port()); }

    std::unique_ptr<SourceRunner> NewRunner(std::uint32_t concurrency) {
        SourceSettings s;
        s.name = kLatchSource;
        s.spec = config::ParseConnectorSpec(std::string(*BuiltinSpec("mesibo")), "mesibo.yaml");
        s.values["base_url"] = BaseUrl();
        s.values["token"] = kLatchToken;
        s.budget.requests_per_minute = 0;
        s.budget.concurrency = concurrency;
        settings_ = std::make_unique<SourceSettings>(std::move(s));
        return std::make_unique<SourceRunner>(
            ioc_.get_executor(), *settings_, sink_, metrics_, redactor_
        );
    }

    json::value Admin(std::string method, std::string target, std::string body = "{}") {
        http::Request request;
        request.method = std::move(method);
        request.url = BaseUrl() + target;
        request.headers.emplace_back("Content-Type", "application/json");
        request.body = std::move(body);
        auto response = test::RunAsync(ioc_, admin_.Send(std::move(request)));
        if (!response || response->status != 200) {
            ADD_FAILURE() << target << " failed";
            return nullptr;
        }
        return json::parse(response->body);
    }

    json::object Stats() { return Admin("GET", "/_admin/stats", "").at("mesibo").as_object(); }

    /// Runs the three top-level resources of the source together, as `once` does.
    std::tuple<RunReport, RunReport, RunReport> RunAll(SourceRunner& runner) {
        auto all = [&]() -> Task<std::tuple<RunReport, RunReport, RunReport>> {
            auto executor = co_await net::this_coro::executor;
            auto [order, e1, users, e2, groups, e3, stats] =
                co_await net::experimental::make_parallel_group(
                    net::co_spawn(executor, runner.Run("users"), net::deferred),
                    net::co_spawn(executor, runner.Run("groups"), net::deferred),
                    net::co_spawn(executor, runner.Run("app_stats"), net::deferred)
                )
                    .async_wait(net::experimental::wait_for_all(), net::use_awaitable);
            (void)order;
            for (const auto& e : {e1, e2, e3}) {
                if (e) {
                    std::rethrow_exception(e);
                }
            }
            co_return std::tuple{users, groups, stats};
        };
        return test::RunAsync(ioc_, all());
    }

    /// Declared first: everything below runs on it.
    net::io_context ioc_{1};
    std::unique_ptr<emulator::Emulator> emulator_;
    metrics::Metrics metrics_;
    Redactor redactor_;
    test::FakeSink sink_;
    std::unique_ptr<SourceSettings> settings_;
    http::Client admin_{ioc_.get_executor(), http::Client::Options{}};
};

// Two requests in flight and a third waiting for a slot when the breach comes back: the
// slot the first answer frees goes to the third, which must not be sent.
TEST_F(LatchTest, ARequestWaitingForItsTurnIsNotSentAfterTheBreach) {
    auto runner = NewRunner(2);
    Admin("POST", "/_admin/mesibo/barrier", R"({"requests":2,"timeout_ms":20000})");
    Admin("POST", "/_admin/mesibo/breach", R"({"disabled":true})");

    const auto [users, groups, stats] = RunAll(*runner);

    const auto s = Stats();
    EXPECT_EQ(s.at("received").to_number<int>(), 2) << json::serialize(s);
    EXPECT_EQ(s.at("after_breach").to_number<int>(), 0) << json::serialize(s);
    for (const auto* r : {&users, &groups, &stats}) {
        EXPECT_EQ(r->outcome, RunOutcome::kLatched) << r->resource << ": " << r->error;
    }
    EXPECT_EQ(users.requests + groups.requests + stats.requests, 2);
    const auto stored = test::RunAsync(ioc_, sink_.GetLatch(kLatchSource));
    ASSERT_TRUE(stored && *stored);
    EXPECT_NE((*stored)->reason.find("TOKENBREACH"), std::string::npos) << (*stored)->reason;

    // Later runs of the same process are refused before they send anything.
    const auto again = test::RunAsync(ioc_, runner->Run("users"));
    EXPECT_EQ(again.outcome, RunOutcome::kLatched);
    EXPECT_EQ(again.requests, 0);
    EXPECT_EQ(Stats().at("received").to_number<int>(), 2);
}

// An operator clears the latch in the database: the same process sends again, and a latch it
// could not store would not be forgotten that way.
TEST_F(LatchTest, AClearedLatchLetsTheSameProcessSendAgain) {
    auto runner = NewRunner(4);
    Admin("POST", "/_admin/mesibo/breach", R"({"disabled":true})");
    const auto latched = test::RunAsync(ioc_, runner->Run("groups"));
    ASSERT_EQ(latched.outcome, RunOutcome::kLatched) << latched.error;
    EXPECT_EQ(test::RunAsync(ioc_, runner->Run("groups")).outcome, RunOutcome::kLatched);

    Admin("POST", "/_admin/mesibo/breach/reset");
    ASSERT_TRUE(test::RunAsync(ioc_, sink_.ClearLatch(kLatchSource)).value());
    const auto resumed = test::RunAsync(ioc_, runner->Run("groups"));
    EXPECT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
    EXPECT_GT(resumed.requests, 0);
}

}  // namespace
}  // namespace chatsync::connectors
