// The request log and stats of the admin API.

#include <gtest/gtest.h>

#include "emulator_fixture.hpp"

namespace chatsync::emulator::test {
namespace {

double UnixNow() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

TEST(EmulatorAdmin, RequestLogRecordsTimesAndStatuses) {
    Options options = SmallOptions();
    options.auth = AuthMode::kHeader;
    options.token = "t";
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const double before = UnixNow();
    client.Get("/generic/page?page=2&per_page=5", {{"X-API-Key", "t"}});
    client.Get("/generic/page");
    client.Get("/generic/records/999", {{"X-API-Key", "t"}});
    client.Post("/generic/search", "{}", {{"X-API-Key", "t"}});
    client.Get("/_admin/stats");  // not logged
    const double after = UnixNow();

    const auto log = client.Get("/_admin/requests");
    ASSERT_EQ(log.status, 200u);
    const auto entries = log.Json().as_array();
    ASSERT_EQ(entries.size(), 4u) << log.body;
    const std::vector<std::int64_t> statuses{200, 401, 404, 200};
    double previous = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        EXPECT_EQ(e.at("status").as_int64(), statuses[i]) << i;
        EXPECT_EQ(e.at("remote").as_string(), "127.0.0.1");
        const double t = e.at("t").as_double();
        EXPECT_GE(t, before - 0.001);
        EXPECT_LE(t, after + 0.001);
        EXPECT_GE(t, previous);
        previous = t;
    }
    EXPECT_EQ(entries[0].at("method").as_string(), "GET");
    EXPECT_EQ(entries[0].at("path").as_string(), "/generic/page");
    EXPECT_EQ(entries[0].at("query").as_string(), "page=2&per_page=5");
    EXPECT_EQ(entries[3].at("method").as_string(), "POST");
    EXPECT_EQ(entries[3].at("query").as_string(), "");
    // Six decimals, as written.
    const auto t_at = log.body.find("\"t\":");
    const auto dot = log.body.find('.', t_at);
    EXPECT_EQ(log.body.find(',', t_at) - dot - 1, 6u);

    EXPECT_EQ(client.Get("/_admin/requests?from=3").Json().as_array().size(), 1u);
    const auto stats = client.Get("/_admin/stats").Json();
    EXPECT_EQ(stats.at("records").as_int64(), 50);
    EXPECT_EQ(stats.at("requests").as_int64(), 4);

    EXPECT_EQ(client.Post("/_admin/requests/clear", "").Json().at("cleared").as_int64(), 4);
    EXPECT_EQ(client.Get("/_admin/requests").body, "[]");
    EXPECT_EQ(client.Get("/_admin/stats").Json().at("requests").as_int64(), 0);
}

TEST(EmulatorAdmin, LogTimeIsWhenTheHeadersArrived) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    client.Post("/_admin/faults", R"({"kind":"delay","ms":400})");
    const double before = UnixNow();
    client.Get("/generic/page");
    const auto entry = client.Get("/_admin/requests").Json().at(0);
    // Taken on arrival, not after the delay.
    EXPECT_LT(entry.at("t").as_double(), before + 0.2);
    EXPECT_EQ(entry.at("status").as_int64(), 200);
    EXPECT_EQ(entry.at("fault").as_string(), "delay");
}

TEST(EmulatorAdmin, UnknownAdminRouteIs404) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Get("/_admin/nothing").status, 404u);
    EXPECT_EQ(client.Post("/_admin/mutate", "{}").status, 400u);
    EXPECT_EQ(client.Post("/_admin/mutate", "[1]").status, 400u);
    EXPECT_EQ(client.Get("/_admin/requests").body, "[]");
}

TEST(EmulatorAdmin, HeadAnswersWithTheHeadOnly) {
    RunningEmulator emulator(SmallOptions());
    const std::string raw = RawExchange(
        emulator.Port(), "HEAD /generic/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw;
    EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;
    EXPECT_NE(raw.find("Content-Length: "), std::string::npos);
    EXPECT_NE(raw.find("Connection: close"), std::string::npos);
}

}  // namespace
}  // namespace chatsync::emulator::test
