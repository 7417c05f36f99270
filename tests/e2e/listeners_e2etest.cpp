// End-to-end: the listeners under abuse. The real chatsyncd with a JivoChat source, attacked
// by bench/abuse.py (the same client bench/abuse.sh reports figures with): idle-connection
// floods at a low and a high open-file limit, bodies to a wrong token, slow bodies, and a
// SIGTERM while bodies are still arriving.

#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAbuseWebhookToken = "wh-abuse-0123456789abcdef";
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20U;

/// chatsyncd with one jivochat source, run under `prlimit --nofile=SOFT:HARD` when
/// `open_files` ("SOFT:HARD") is given.
struct Daemon {
    Daemon(
        const std::string& dsn,
        const std::string& source_name,
        const std::string& open_files = "",
        const std::string& extra_webhooks = "",
        const std::string& grace = "10s"
    )
        : source(source_name) {
        const auto config = dir.Write(
            "c.yaml",
            "data_dir: " + dir.path() + "\ndatabase:\n  dsn: \"" + dsn +
                "\"\nadmin:\n  listen: \"127.0.0.1:0\"\nlog:\n  level: info\n" +
                "limits:\n  shutdown_grace: " + grace + "\nwebhooks:\n  listen: \"127.0.0.1:0\"\n" +
                extra_webhooks + "sources:\n" + "  - name: " + source +
                "\n    connector: jivochat\n    config:\n" +
                "      webhook_token: " + kAbuseWebhookToken + "\n"
        );
        std::vector<std::string> argv;
        if (!open_files.empty()) {
            argv = {"/usr/bin/prlimit", "--nofile=" + open_files};
        }
        for (const std::string& a :
             {std::string(CHATSYNCD_PATH), std::string("-c"), config, std::string("run")}) {
            argv.push_back(a);
        }
        process = std::make_unique<Process>(
            argv, std::map<std::string, std::string>{}, dir.path() + "/daemon.log"
        );
        port = ListenerPort(*process, "webhook listener");
        admin_port = AdminPort(*process);
    }

    std::string Path() const { return "/webhooks/jivochat/" + source + "/" + kAbuseWebhookToken; }

    std::string Metrics() const {
        return HttpCall("GET", "http://127.0.0.1:" + std::to_string(admin_port) + "/metrics").body;
    }

    /// A line of /proc/<pid>/status in KiB ("VmHWM": the peak resident set).
    std::uint64_t StatusKiB(const std::string& key) const {
        std::ifstream in("/proc/" + std::to_string(process->pid()) + "/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind(key + ":", 0) == 0) {
                return std::stoull(line.substr(key.size() + 1));
            }
        }
        return 0;
    }

    TempDir dir;
    std::string source;
    std::unique_ptr<Process> process;
    std::uint16_t port = 0;
    std::uint16_t admin_port = 0;
};

/// Runs bench/abuse.py with `args` and returns the JSON object it prints.
json::object Abuse(const std::vector<std::string>& args, milliseconds timeout = seconds(300)) {
    std::vector<std::string> argv{"/usr/bin/python3", SourceDir() + "/bench/abuse.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto done = RunProcess(argv, {}, timeout);
    EXPECT_EQ(done.exit_code, 0) << done.output;
    const auto brace = done.output.rfind("\n{");
    const auto from = brace == std::string::npos ? 0 : brace + 1;
    json::error_code ec;
    auto value = json::parse(done.output.substr(from), ec);
    if (ec || !value.is_object()) {
        ADD_FAILURE() << "abuse.py printed no JSON: " << done.output;
        return {};
    }
    return value.as_object();
}

/// The value of one counter line in a /metrics text, 0 when absent.
double Counter(const std::string& text, const std::string& series) {
    const auto at = text.find(series + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 1));
}

std::int64_t Int(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->as_int64() : -1;
}

double Real(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<double>() : 1e9;
}

std::int64_t ResultCount(const json::object& o, std::string_view status) {
    const auto* results = o.if_contains("results");
    if (results == nullptr || !results->is_object()) {
        return 0;
    }
    const auto* n = results->as_object().if_contains(status);
    return n != nullptr ? n->as_int64() : 0;
}

/// The flood's figures: /healthz within 1 s, a valid webhook acknowledged within 2 s.
void ExpectServedThroughFlood(const json::object& r) {
    EXPECT_EQ(Int(r, "healthz_status"), 200) << json::serialize(r);
    EXPECT_LT(Real(r, "healthz_seconds"), 1.0) << json::serialize(r);
    EXPECT_EQ(Int(r, "webhook_status"), 200) << json::serialize(r);
    EXPECT_LT(Real(r, "webhook_seconds"), 2.0) << json::serialize(r);
}

TEST(Listeners, TheDaemonRaisesItsOpenFileLimitAndSizesItsBudgetsFromIt) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Daemon daemon(dsn, UniqueName("limit"), "1024:4096");
    const auto log = daemon.process->Output();
    EXPECT_NE(
        log.find("connection budgets open_files=4096 raised=true webhook=3904 "
                 "webhook_per_client=1952 admin=64 admin_per_client=32"),
        std::string::npos
    ) << log;
    std::ifstream limits("/proc/" + std::to_string(daemon.process->pid()) + "/limits");
    const std::string text((std::istreambuf_iterator<char>(limits)), {});
    EXPECT_NE(text.find("Max open files            4096                 4096"), std::string::npos)
        << text;
}

TEST(Listeners, AnIdleFloodAtTheDefaultFileLimitStarvesNothing) {
    CHATSYNC_REQUIRE_DSN(dsn);
    // 1024 descriptors, as systemd gives by default: more idle connections than that.
    Daemon daemon(dsn, UniqueName("flood"), "1024:1024");
    EXPECT_NE(
        daemon.process->Output().find("connection budgets open_files=1024"), std::string::npos
    ) << daemon.process->Output();
    const auto r = Abuse(
        {"idle",
         "--port",
         std::to_string(daemon.port),
         "--admin-port",
         std::to_string(daemon.admin_port),
         "--path",
         daemon.Path(),
         "--count",
         "1100"}
    );
    ExpectServedThroughFlood(r);
    // Within budget: the oldest idle connections made room for the new ones.
    EXPECT_LE(Int(r, "still_open"), 1024 - 128) << json::serialize(r);
    const auto metrics = daemon.Metrics();
    EXPECT_GT(
        Counter(
            metrics,
            R"(chatsync_listener_connections_rejected_total{listener="webhook",reason="idle_closed"})"
        ),
        0
    ) << metrics;
    // Logged, once a minute at most.
    const auto log = daemon.process->Output();
    const std::regex warned("listener refused or closed connections.*listener=webhook");
    EXPECT_EQ(
        std::distance(std::sregex_iterator(log.begin(), log.end(), warned), std::sregex_iterator()),
        1
    ) << log;
    EXPECT_EQ(daemon.process->Running(), true);
}

TEST(Listeners, FiveThousandIdleConnectionsAtAHighFileLimitStarveNothing) {
    CHATSYNC_REQUIRE_DSN(dsn);
    // A long header_timeout: on a slow host, opening 5,000 connections must not outlast it.
    Daemon daemon(dsn, UniqueName("flood"), "16384:16384", "  header_timeout: 2m\n");
    const auto r = Abuse(
        {"idle",
         "--port",
         std::to_string(daemon.port),
         "--admin-port",
         std::to_string(daemon.admin_port),
         "--path",
         daemon.Path(),
         "--count",
         "5000"}
    );
    ExpectServedThroughFlood(r);
    EXPECT_EQ(Int(r, "connect_failed"), 0) << json::serialize(r);
    // All held: the budget is far above 5,000.
    EXPECT_EQ(Int(r, "still_open"), 5000) << json::serialize(r);
}

TEST(Listeners, BodiesToAWrongTokenAreNeverRead) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Daemon daemon(dsn, UniqueName("wrong"));
    const auto r = Abuse(
        {"wrong-token",
         "--port",
         std::to_string(daemon.port),
         "--count",
         "300",
         "--size",
         std::to_string(kMiB)}
    );
    const auto peak_kib = daemon.StatusKiB("VmHWM");
    EXPECT_GT(peak_kib, 0U);
    EXPECT_LT(peak_kib, 128U * 1024U) << json::serialize(r);
    EXPECT_EQ(ResultCount(r, "200"), 0) << json::serialize(r);
    const auto metrics = daemon.Metrics();
    EXPECT_GE(
        Counter(
            metrics, R"(chatsync_webhook_requests_rejected_total{reason="not_found",source=""})"
        ),
        1
    ) << metrics;
}

TEST(Listeners, SlowBodiesStayWithinTheBodyBudget) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const std::uint64_t budget = 32 * kMiB;
    Daemon daemon(dsn, UniqueName("slow"), "", "  max_body_bytes_in_flight: 32MiB\n");
    // 300 bodies of 1 MiB at 256 KiB/s: about 4 s each, all at once.
    const auto r = Abuse(
        {"slow-bodies",
         "--port",
         std::to_string(daemon.port),
         "--path",
         daemon.Path(),
         "--count",
         "300",
         "--size",
         std::to_string(kMiB),
         "--rate",
         "262144"}
    );
    const auto peak_kib = daemon.StatusKiB("VmHWM");
    EXPECT_LT(peak_kib * 1024U, budget + 64 * kMiB)
        << "peak " << peak_kib << " KiB " << json::serialize(r);
    // What fit the budget was taken; the rest was told to come back.
    EXPECT_GT(ResultCount(r, "200"), 0) << json::serialize(r);
    EXPECT_GT(ResultCount(r, "503"), 0) << json::serialize(r);
    EXPECT_EQ(ResultCount(r, "200") + ResultCount(r, "503"), 300) << json::serialize(r);
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + daemon.source + "'"
        ),
        std::to_string(ResultCount(r, "200"))
    );
}

TEST(Listeners, SigtermWithSlowBodiesExitsWithinTheGraceAndLosesNothingAcknowledged) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const int grace_s = 6;
    Daemon daemon(dsn, UniqueName("term"), "", "", std::to_string(grace_s) + "s");
    // 30 bodies of 1 MiB at 20 KiB/s would take 50 s; valid webhooks keep coming meanwhile.
    const auto r = Abuse(
        {"slow-bodies",
         "--port",
         std::to_string(daemon.port),
         "--path",
         daemon.Path(),
         "--count",
         "30",
         "--size",
         std::to_string(kMiB),
         "--rate",
         "20480",
         "--fast",
         "--signal-pid",
         std::to_string(daemon.process->pid()),
         "--signal-after",
         "3"}
    );
    const auto code = daemon.process->Wait(seconds(30));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << daemon.process->Output();
    EXPECT_LE(Real(r, "exit_seconds"), grace_s + 2.0) << json::serialize(r);
    const auto acked = Int(r, "acked_fast") + ResultCount(r, "200");
    EXPECT_GT(Int(r, "acked_fast"), 0) << json::serialize(r);
    const auto stored = std::stoll(Scalar(
        dsn, "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + daemon.source + "'"
    ));
    EXPECT_GE(stored, acked) << json::serialize(r);
}

TEST(Listeners, AStuckCommitDoesNotHoldTheExitPastTheGrace) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const int grace_s = 3;
    Daemon daemon(dsn, UniqueName("stuck"), "", "", std::to_string(grace_s) + "s");
    // Another session holds the source's chats table (only this test's): every commit of a
    // chat event waits.
    const std::string app = daemon.source + "_lock";
    const std::string lock_sql = "BEGIN; LOCK TABLE " + daemon.source +
                                 ".chats IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;";
    Process lock(
        {"/usr/bin/psql", "-X", "-q", dsn, "-c", lock_sql},
        {{"PGAPPNAME", app}},
        daemon.dir.path() + "/lock.log"
    );
    const std::string held =
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN "
        "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" +
        daemon.source +
        "' AND c.relname = 'chats' AND l.granted AND l.mode = 'AccessExclusiveLock'";
    ASSERT_TRUE(WaitFor([&] { return Scalar(dsn, held) == "1"; }, seconds(30)));
    const auto r = Abuse(
        {"slow-bodies",
         "--port",
         std::to_string(daemon.port),
         "--path",
         daemon.Path(),
         "--count",
         "0",
         "--fast",
         "--signal-pid",
         std::to_string(daemon.process->pid()),
         "--signal-after",
         "2"}
    );
    const auto code = daemon.process->Wait(seconds(30));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
    EXPECT_LE(Real(r, "exit_seconds"), grace_s + 2.0) << json::serialize(r);
    EXPECT_EQ(Int(r, "acked_fast"), 0) << json::serialize(r);
    EXPECT_NE(daemon.process->Output().find("shutdown grace period over"), std::string::npos)
        << daemon.process->Output();
    Scalar(
        dsn,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
            app + "'"
    );
}

}  // namespace
}  // namespace chatsync::test
