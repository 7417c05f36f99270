// End-to-end: the systemd notification protocol, the watchdog, and SIGHUP reloads.

#include <atomic>
#include <cstring>
#include <mutex>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

using Clock = std::chrono::steady_clock;

/// A fake $NOTIFY_SOCKET that records every datagram with its arrival time.
class NotifySocket final {
public:
    explicit NotifySocket(std::string path)
        : path_(std::move(path)) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
            throw std::runtime_error("cannot bind the notify socket");
        }
        timeval tv{0, 100'000};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        reader_ = std::thread([this] {
            char buf[512];
            while (!stop_) {
                const auto n = recv(fd_, buf, sizeof(buf), 0);
                if (n > 0) {
                    const std::lock_guard lock(mutex_);
                    messages_.emplace_back(
                        Clock::now(), std::string(buf, static_cast<std::size_t>(n))
                    );
                }
            }
        });
    }

    ~NotifySocket() {
        stop_ = true;
        reader_.join();
        close(fd_);
    }

    std::vector<std::pair<Clock::time_point, std::string>> Messages() {
        const std::lock_guard lock(mutex_);
        return messages_;
    }

    std::optional<Clock::time_point> First(const std::string& text) {
        for (const auto& [t, m] : Messages()) {
            if (m == text) {
                return t;
            }
        }
        return std::nullopt;
    }

    std::vector<Clock::time_point> All(const std::string& text) {
        std::vector<Clock::time_point> out;
        for (const auto& [t, m] : Messages()) {
            if (m == text) {
                out.push_back(t);
            }
        }
        return out;
    }

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::pair<Clock::time_point, std::string>> messages_;
    std::thread reader_;
};

TEST(Systemd, ReadyAfterListenersWatchdogFromTheLoopAndStoppingOnSigterm) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "50", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    NotifySocket notify(dir.path() + "/notify.sock");
    const auto port = FreePort();
    const auto source = UniqueName("sd");
    const auto config = dir.Write(
        "c.yaml",
        E2eConfig(dsn, source, emu.url(), dir.path(), "", "127.0.0.1:" + std::to_string(port))
    );
    // SIGUSR1 stalls the event loop for 4 s: a test-only option.
    auto daemon = StartChatsyncd(
        {"-c", config, "--test-hook", "stall_on_sigusr1=4s", "run"},
        dir.path() + "/daemon.log",
        {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "1000000"}}
    );
    ASSERT_TRUE(
        WaitFor([&] { return notify.First("READY=1").has_value(); }, std::chrono::seconds(30))
    ) << daemon->Output();
    // READY=1 promises the listener is bound already.
    EXPECT_EQ(
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz").status, 200U
    );

    // WATCHDOG=1 every half of WATCHDOG_USEC (500 ms): about six in three seconds. Counting
    // over a window, rather than timing single gaps, stays true when this test's reader thread
    // is scheduled late on a loaded machine and receives two queued datagrams at once.
    const auto at_start = notify.All("WATCHDOG=1").size();
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    const auto in_window = notify.All("WATCHDOG=1").size() - at_start;
    EXPECT_GE(in_window, 4U) << "pings too rare for WATCHDOG_USEC=1s";
    EXPECT_LE(in_window, 8U) << "pings far more often than half of WATCHDOG_USEC";

    // A blocked event loop sends no pings: the stall hook blocks it for 4 s. Unblocked, the
    // 2.5 s window below would hold about five pings.
    daemon->Signal(SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    const auto stalled_from = notify.All("WATCHDOG=1").size();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_LE(notify.All("WATCHDOG=1").size(), stalled_from + 1)
        << "pings went on while the loop was blocked";
    const auto stalled_to = notify.All("WATCHDOG=1").size();
    EXPECT_TRUE(WaitFor(
        [&] { return notify.All("WATCHDOG=1").size() >= stalled_to + 3; }, std::chrono::seconds(10)
    )) << "pings did not resume";

    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
    const auto ready = notify.First("READY=1");
    const auto stopping = notify.First("STOPPING=1");
    ASSERT_TRUE(stopping.has_value());
    EXPECT_LT(*ready, *stopping);
}

TEST(Systemd, WatchdogWithoutNotifySocketIsHarmless) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "20", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("nosd");
    const auto config =
        dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path(), "", "127.0.0.1:0"));
    auto daemon = StartChatsyncd(
        {"-c", config, "run"}, dir.path() + "/daemon.log", {{"WATCHDOG_USEC", "100000"}}
    );
    ASSERT_NE(AdminPort(*daemon), 0) << daemon->Output();
    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
}

TEST(Systemd, NoSourcesStillServesHealthAndMetricsUntilStopped) {
    CHATSYNC_REQUIRE_DSN(dsn);
    TempDir dir;
    const auto config = dir.Write(
        "c.yaml",
        "data_dir: " + dir.path() + "\ndatabase:\n  dsn: \"" + dsn +
            "\"\nadmin:\n  listen: \"127.0.0.1:0\"\nsources: []\n"
    );
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
    const auto port = AdminPort(*daemon);
    ASSERT_NE(port, 0) << daemon->Output();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(daemon->Running()) << daemon->Output();
    EXPECT_EQ(
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz").status, 200U
    );
    EXPECT_EQ(HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/readyz").status, 200U);
    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
}

std::string Rows(const std::string& dsn, const std::string& table) {
    try {
        return Scalar(dsn, "SELECT count(*) FROM " + table);
    } catch (const std::exception&) {
        return "none";
    }
}

TEST(Reload, SighupAddsAndRemovesSourcesWithoutDroppingInFlightWork) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "2000", "--auth", "bearer", "--token", kToken});
    // Slow pages, so that the reload lands while the first source is mid-run.
    emu.Admin(
        "POST", "/_admin/faults", R"({"kind":"delay","ms":100,"count":-1,"path":"/generic/page"})"
    );
    TempDir dir;
    const auto first = UniqueName("rl_a");
    const auto second = UniqueName("rl_b");
    const auto only = std::string("    resources:\n") +
                      "      offset: {enabled: false}\n      next: {enabled: false}\n" +
                      "      cursor: {enabled: false}\n      cursor_header: {enabled: false}\n     "
                      " link: {enabled: false}\n" +
                      "      single: {enabled: false}\n      search: {enabled: false}\n";
    const auto config_a = E2eConfig(dsn, first, emu.url(), dir.path(), only, "127.0.0.1:0");
    const auto path = dir.Write("c.yaml", config_a);
    auto daemon = StartChatsyncd({"-c", path, "run"}, dir.path() + "/daemon.log");
    ASSERT_NE(AdminPort(*daemon), 0) << daemon->Output();
    ASSERT_TRUE(WaitFor(
        [&] {
            const auto n = Rows(dsn, first + ".page");
            return n != "none" && std::stoi(n) >= 300;
        },
        std::chrono::seconds(30)
    )) << daemon->Output();

    // Replace the first source by a second one while the first is still syncing.
    auto config_b = config_a;
    config_b.replace(config_b.find("name: " + first), 6 + first.size(), "name: " + second);
    dir.Write("c.yaml", config_b);
    daemon->Signal(SIGHUP);
    ASSERT_TRUE(
        WaitFor([&] { return Rows(dsn, second + ".page") == "2000"; }, std::chrono::seconds(60))
    ) << daemon->Output();
    // The run in flight when the source was removed finished its work.
    EXPECT_TRUE(
        WaitFor([&] { return Rows(dsn, first + ".page") == "2000"; }, std::chrono::seconds(30))
    );
    EXPECT_EQ(
        Scalar(
            dsn, "SELECT string_agg(outcome, ',') FROM chatsync.runs WHERE source = '" + first + "'"
        ),
        "success"
    );
    const auto log = daemon->Output();
    EXPECT_NE(log.find("config reloaded added=" + second + " removed=" + first), std::string::npos)
        << log;

    // An invalid config is refused and the running one stays.
    dir.Write("c.yaml", config_b + "bogus_key: 1\n");
    daemon->Signal(SIGHUP);
    ASSERT_TRUE(WaitFor(
        [&] { return daemon->Output().find("config reload refused") != std::string::npos; },
        std::chrono::seconds(10)
    ));
    EXPECT_NE(daemon->Output().find("bogus_key"), std::string::npos);
    EXPECT_TRUE(daemon->Running());
    const auto port = AdminPort(*daemon);
    const auto metrics =
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics").body;
    EXPECT_NE(
        metrics.find("chatsync_config_reloads_total{outcome=\"refused\"} 1"), std::string::npos
    );
    EXPECT_NE(
        metrics.find("chatsync_config_reloads_total{outcome=\"applied\"} 1"), std::string::npos
    );

    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
}

}  // namespace
}  // namespace chatsync::test
