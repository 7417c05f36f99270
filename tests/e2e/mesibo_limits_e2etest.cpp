// End-to-end: what the built-in mesibo connector never sends. Nothing after the first
// TOKENBREACH answer, whatever the concurrency; appstats at most once an hour per source and
// database, across processes.

#include <csignal>
#include <cstdio>
#include <string>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

namespace json = boost::json;

constexpr const char* kAppToken = "mesibo-limits-token";

/// One mesibo source with four requests in flight at most, no request budget, and every
/// resource due every second unless its spec says otherwise.
std::string LimitsConfig(
    const std::string& dsn,
    const std::string& source,
    const Emulator& emu,
    const std::string& data_dir
) {
    return "data_dir: " + data_dir + "\ndatabase:\n  dsn: \"" + dsn +
           "\"\nadmin:\n  listen: \"\"\nlog:\n  level: debug\nsources:\n  - name: " + source +
           "\n    connector: mesibo\n    config:\n      base_url: " + emu.url() +
           "\n      token: " + kAppToken +
           "\n    rate_limit: {requests_per_minute: 0, concurrency: 4}\n"
           "    schedule: {interval: 1s, jitter: 0s}\n"
           "    retry: {max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms}\n"
           "    http: {stable_egress: true}\n";
}

json::object Stats(Emulator& emu) {
    return emu.Admin("GET", "/_admin/stats").at("mesibo").as_object();
}

std::int64_t Count(const json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v == nullptr || v->is_null() ? 0 : v->to_number<std::int64_t>();
}

/// The three top-level resources start together and their first requests are held until all
/// three wait, then answered TOKENBREACH at once: every later request would be one that left
/// after the breach was on its way back.
class MesiboBreachInFlight : public ::testing::TestWithParam<const char*> {};

TEST_P(MesiboBreachInFlight, NoRequestLeavesAfterTheFirstTokenBreach) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const std::string command = GetParam();
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-token",
         kAppToken,
         "--mesibo-users",
         "600",
         "--mesibo-groups",
         "40"}
    );
    TempDir dir;
    const auto source = UniqueName("mesibo_inflight");
    const auto config = dir.Write("c.yaml", LimitsConfig(dsn, source, emu, dir.path()));
    emu.Admin("POST", "/_admin/mesibo/barrier", R"({"requests":3,"timeout_ms":20000})");
    emu.Admin("POST", "/_admin/mesibo/breach", "{}");

    std::string output;
    if (command == "once") {
        auto run = RunChatsyncd({"-c", config, "once"});
        output = run.output;
        EXPECT_EQ(run.exit_code, 1) << output;
    } else {
        auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
        // Forced, not waited for: users and groups come round every second, and each of their
        // runs after the latch must be refused before it sends anything. Six refusals prove
        // the scheduler tried again after the breach.
        const bool refused = WaitFor(
            [&] { return Occurrences(daemon->Output(), "source is latched") >= 6; },
            std::chrono::seconds(60)
        );
        output = daemon->Output();
        EXPECT_TRUE(refused) << output;
        daemon->Signal(SIGTERM);
        EXPECT_EQ(daemon->Wait(std::chrono::seconds(30)), 0);
    }

    const auto stats = Stats(emu);
    std::printf(
        "mesibo breach in flight (%s): %s\n", command.c_str(), json::serialize(stats).c_str()
    );
    EXPECT_EQ(Count(stats, "received"), 3) << json::serialize(stats);
    EXPECT_EQ(Count(stats, "after_breach"), 0) << json::serialize(stats);
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM chatsync.latches WHERE source = '" + source + "'"), "1"
    );
    EXPECT_EQ(output.find(kAppToken), std::string::npos) << "the app token leaked";
}

INSTANTIATE_TEST_SUITE_P(
    Mesibo,
    MesiboBreachInFlight,
    ::testing::Values("once", "run"),
    [](const auto& test_info) { return std::string(test_info.param); }
);

TEST(MesiboAppStats, CalledOnceForTwoRunsInAnHourAndAgainAfterIt) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-token",
         kAppToken,
         "--mesibo-users",
         "20",
         "--mesibo-groups",
         "2"}
    );
    TempDir dir;
    const auto source = UniqueName("mesibo_appstats");
    const auto config = dir.Write("c.yaml", LimitsConfig(dsn, source, emu, dir.path()));
    const auto appstats = [&] {
        const auto stats = Stats(emu);
        const auto* ops = stats.at("ops").as_object().if_contains("appstats");
        return ops == nullptr ? std::int64_t{0} : ops->to_number<std::int64_t>();
    };

    auto first = RunChatsyncd({"-c", config, "once", "--source", source});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    EXPECT_EQ(appstats(), 1);

    // A second process minutes later: the database says the hour has not passed.
    auto second = RunChatsyncd({"-c", config, "once", "--source", source});
    EXPECT_EQ(second.exit_code, 0) << second.output;
    EXPECT_NE(second.output.find("outcome=not_due"), std::string::npos) << second.output;
    EXPECT_EQ(appstats(), 1) << second.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".app_stats"), "1");

    // An hour later, for the database and for the API alike.
    Query(
        dsn,
        "UPDATE chatsync.resource_state SET last_call_at = last_call_at - interval '61 minutes' "
        "WHERE source = '" +
            source + "' AND resource = 'app_stats'"
    );
    emu.Admin("POST", "/_admin/mesibo/clock", R"({"advance_ms":3660000})");
    auto third = RunChatsyncd({"-c", config, "once", "--source", source});
    EXPECT_EQ(third.exit_code, 0) << third.output;
    EXPECT_EQ(appstats(), 2) << third.output;
    EXPECT_EQ(Count(Stats(emu).at("errors").as_object(), "RATELIMITED"), 0)
        << json::serialize(Stats(emu));
}

}  // namespace
}  // namespace chatsync::test
