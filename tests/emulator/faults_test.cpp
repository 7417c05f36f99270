// Faults switched on through the admin API (or --fault) hit exactly the requests they match.

#include "emulator/frame/faults.hpp"

#include <ctime>
#include <iomanip>
#include <sstream>

#include <gtest/gtest.h>

#include "emulator_fixture.hpp"

namespace chatsync::emulator::test {
namespace {

using std::chrono::system_clock;

std::optional<system_clock::time_point> ParseHttpDate(const std::string& text) {
    std::tm tm{};
    std::istringstream in(text);
    in.imbue(std::locale::classic());
    in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S GMT");
    if (in.fail()) {
        return std::nullopt;
    }
    return system_clock::from_time_t(timegm(&tm));
}

void AddFaults(TestClient& client, const std::string& json) {
    const auto result = client.Post("/_admin/faults", json);
    ASSERT_EQ(result.status, 200u) << result.body;
}

/// Content-Length announced in a raw response, and the bytes of body that followed the head.
std::pair<std::size_t, std::size_t> AnnouncedAndReceived(const std::string& raw) {
    const auto head_end = raw.find("\r\n\r\n");
    const auto length_at = raw.find("Content-Length: ");
    if (head_end == std::string::npos || length_at == std::string::npos) {
        return {0, 0};
    }
    return {std::stoul(raw.substr(length_at + 16)), raw.size() - head_end - 4};
}

TEST(EmulatorFaults, HttpDateIsImfFixdate) {
    using namespace std::chrono;
    const auto t = sys_days{year{1994} / November / 6} + hours(8) + minutes(49) + seconds(37);
    EXPECT_EQ(HttpDate(t), "Sun, 06 Nov 1994 08:49:37 GMT");

    Fault fault;
    fault.kind = FaultKind::k429;
    fault.retry_after = 2;
    EXPECT_EQ(RetryAfterValue(fault, t), "2");
    fault.retry_after_date = true;
    EXPECT_EQ(RetryAfterValue(fault, t), "Sun, 06 Nov 1994 08:49:39 GMT");
    // Rounded up to the next whole second, never down.
    EXPECT_EQ(RetryAfterValue(fault, t + milliseconds(1)), "Sun, 06 Nov 1994 08:49:40 GMT");
}

TEST(EmulatorFaults, TooManyRequestsCarriesRetryAfterSeconds) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":"429"})");
    const auto limited = client.Get("/generic/page");
    EXPECT_EQ(limited.status, 429u);
    EXPECT_EQ(limited.Header("Retry-After"), "2");
    EXPECT_EQ(limited.body, R"({"error":"rate limited"})");
    EXPECT_EQ(client.Get("/generic/page").status, 200u);  // count defaults to 1
}

TEST(EmulatorFaults, TooManyRequestsCarriesRetryAfterDate) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":429,"retry_after":5,"retry_after_date":true})");
    const auto before = system_clock::now();
    const auto limited = client.Get("/generic/page");
    const auto after = system_clock::now();
    ASSERT_EQ(limited.status, 429u);
    const auto date = ParseHttpDate(limited.Header("Retry-After").value_or(""));
    ASSERT_TRUE(date.has_value()) << limited.Header("Retry-After").value_or("(none)");
    EXPECT_GE(*date, before + std::chrono::seconds(5));
    EXPECT_LE(*date, after + std::chrono::seconds(6));
}

TEST(EmulatorFaults, ServerErrorsAndRetryAfterOn503) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(
        client, R"([{"kind":"500"},{"kind":"502"},{"kind":"503","retry_after":7},{"kind":"503"}])"
    );
    EXPECT_EQ(client.Get("/generic/page").status, 500u);
    EXPECT_EQ(client.Get("/generic/page").status, 502u);
    const auto with_retry = client.Get("/generic/page");
    EXPECT_EQ(with_retry.status, 503u);
    EXPECT_EQ(with_retry.Header("Retry-After"), "7");
    const auto without = client.Get("/generic/page");
    EXPECT_EQ(without.status, 503u);
    EXPECT_FALSE(without.Header("Retry-After").has_value());
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
}

TEST(EmulatorFaults, CountAfterAndPathSelectRequests) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":"500","count":2,"after":1,"path":"/generic/page"})");
    EXPECT_EQ(client.Get("/generic/offset").status, 200u);
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
    EXPECT_EQ(client.Get("/generic/page?page=2").status, 500u);
    EXPECT_EQ(client.Get("/generic/offset").status, 200u);
    EXPECT_EQ(client.Get("/generic/page?page=2").status, 500u);
    EXPECT_EQ(client.Get("/generic/page?page=2").status, 200u);
}

TEST(EmulatorFaults, FirstMatchingFaultWins) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(
        client, R"([{"kind":"500","path":"/generic/offset","count":-1},{"kind":"502","count":-1}])"
    );
    EXPECT_EQ(client.Get("/generic/offset").status, 500u);
    EXPECT_EQ(client.Get("/generic/page").status, 502u);
    EXPECT_EQ(client.Get("/_admin/stats").status, 200u);  // admin routes are never faulted
    EXPECT_EQ(client.Send("DELETE", "/_admin/faults").status, 200u);
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
    AddFaults(client, R"({"kind":"500","count":-1})");
    EXPECT_EQ(client.Post("/_admin/faults/clear", "").status, 200u);
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
}

TEST(EmulatorFaults, MalformedPageThreeAlways) {
    RunningEmulator emulator(SmallOptions(50));
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":"malformed","path":"/generic/page","page":3,"count":-1})");
    for (int round = 0; round < 2; ++round) {
        EXPECT_NO_THROW(client.Get("/generic/page?page=2&per_page=10").Json());
        const auto bad = client.Get("/generic/page?page=3&per_page=10");
        EXPECT_EQ(bad.status, 200u);
        // Beast read exactly Content-Length bytes, so the length was right for what was sent.
        EXPECT_FALSE(bad.body.empty());
        EXPECT_THROW(bad.Json(), std::exception) << bad.body;
        EXPECT_TRUE(bad.body.starts_with("{\"data\":[{\"id\":21,"));
    }
    // The connection stays usable after a malformed answer.
    EXPECT_EQ(client.Get("/generic/page?page=4&per_page=10").status, 200u);
}

TEST(EmulatorFaults, TruncateSendsHalfTheAnnouncedBodyThenCloses) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":"truncate"})");
    const std::string raw =
        RawExchange(emulator.Port(), "GET /generic/page?per_page=10 HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw;
    const auto [announced, received] = AnnouncedAndReceived(raw);
    EXPECT_GT(announced, 100u);
    EXPECT_EQ(received, announced / 2);
}

TEST(EmulatorFaults, DropClosesWithoutAnswer) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":"drop","path":"/generic/cursor"})");
    EXPECT_EQ(RawExchange(emulator.Port(), "GET /generic/cursor HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    EXPECT_EQ(client.Get("/generic/cursor").status, 200u);
    const auto log = client.Get("/_admin/requests").Json().as_array();
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log.at(0).at("status").as_int64(), 0);
    EXPECT_EQ(log.at(0).at("fault").as_string(), "drop");
    EXPECT_EQ(log.at(1).at("status").as_int64(), 200);
}

TEST(EmulatorFaults, DelayWaitsThenAnswers) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    AddFaults(client, R"({"kind":"delay","ms":300})");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST(EmulatorFaults, StartupFaults) {
    Options options = SmallOptions();
    options.faults = {R"({"kind":"503","retry_after":1})", R"({"kind":"429","count":1})"};
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const auto first = client.Get("/generic/page");
    EXPECT_EQ(first.status, 503u);
    EXPECT_EQ(first.Header("Retry-After"), "1");
    EXPECT_EQ(client.Get("/generic/page").status, 429u);
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
}

TEST(EmulatorFaults, RejectsBadFaults) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Post("/_admin/faults", R"({"kind":"explode"})").status, 400u);
    EXPECT_EQ(client.Post("/_admin/faults", R"({"kind":"500","cuont":3})").status, 400u);
    EXPECT_EQ(client.Post("/_admin/faults", R"({"kind":"500","count":-2})").status, 400u);
    EXPECT_EQ(client.Post("/_admin/faults", "not json").status, 400u);
    EXPECT_EQ(client.Get("/_admin/faults").body, "[]");
    EXPECT_THROW(
        {
            Options options;
            options.faults = {R"({"kind":"nope"})"};
            RunningEmulator broken(options);
        },
        std::invalid_argument
    );
}

}  // namespace
}  // namespace chatsync::emulator::test
