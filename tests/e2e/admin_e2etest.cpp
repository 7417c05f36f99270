// End-to-end: the admin listener, against a private PostgreSQL that the test stops and starts.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

TEST(Admin, MetricsPassPromtoolAndReadinessFollowsTheDatabase) {
    CHATSYNC_REQUIRE_DSN(shared_dsn);
    PrivateCluster pg;
    Emulator emu({"--records", "150", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("adm");
    const auto config =
        dir.Write("c.yaml", E2eConfig(pg.dsn(), source, emu.url(), dir.path(), "", "127.0.0.1:0"));
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
    const auto port = AdminPort(*daemon);
    ASSERT_NE(port, 0) << daemon->Output();
    const auto base = "http://127.0.0.1:" + std::to_string(port);

    ASSERT_TRUE(WaitFor(
        [&] { return HttpCall("GET", base + "/readyz").status == 200; }, std::chrono::seconds(30)
    )) << HttpCall("GET", base + "/readyz").body;
    EXPECT_EQ(HttpCall("GET", base + "/healthz").status, 200U);

    // Let the first runs finish so that every family has samples.
    ASSERT_TRUE(WaitFor(
        [&] {
            return HttpCall("GET", base + "/metrics").body.find("chatsync_runs_total{") !=
                   std::string::npos;
        },
        std::chrono::seconds(30)
    ));
    const auto metrics = HttpCall("GET", base + "/metrics");
    EXPECT_NE(metrics.Header("Content-Type")->find("text/plain; version=0.0.4"), std::string::npos);
    for (const char* name :
         {"chatsync_build_info",
          "chatsync_http_requests_total",
          "chatsync_http_request_duration_seconds_bucket",
          "chatsync_rows_written_total",
          "chatsync_rows_unchanged_total",
          "chatsync_run_duration_seconds",
          "chatsync_last_success_timestamp_seconds",
          "chatsync_cursor_lag_seconds"}) {
        EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
    }
    EXPECT_EQ(metrics.body.find(kToken), std::string::npos);
    const auto metrics_file = dir.Write("metrics.txt", metrics.body);
    auto promtool = RunProcess({"/bin/sh", "-c", "promtool check metrics < " + metrics_file});
    EXPECT_EQ(promtool.exit_code, 0) << promtool.output;

    pg.Stop();
    EXPECT_TRUE(WaitFor(
        [&] { return HttpCall("GET", base + "/readyz").status == 503; }, std::chrono::seconds(30)
    ));
    const auto down = HttpCall("GET", base + "/readyz");
    EXPECT_NE(down.body.find("database unreachable"), std::string::npos) << down.body;
    EXPECT_EQ(HttpCall("GET", base + "/healthz").status, 200U);
    // The status page still loads, says why it shows no state, and lists the config's source.
    const auto page = HttpCall("GET", base + "/");
    EXPECT_EQ(page.status, 200U);
    EXPECT_NE(page.body.find("cannot read state: "), std::string::npos) << page.body;
    EXPECT_NE(page.body.find("data-source=\"" + source + "\""), std::string::npos) << page.body;

    pg.Start();
    EXPECT_TRUE(WaitFor(
        [&] { return HttpCall("GET", base + "/readyz").status == 200; }, std::chrono::seconds(30)
    )) << HttpCall("GET", base + "/readyz").body;
    EXPECT_TRUE(daemon->Running());

    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
}

}  // namespace
}  // namespace chatsync::test
