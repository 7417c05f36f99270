// End-to-end: 200 sources from a `sources_dir`, one file each: all of them run, a changed
// file takes effect on SIGHUP without disturbing the others, and a broken file is refused
// with its place while the running sources carry on. The times it measures are printed for
// the README's "Many accounts" section, never asserted: the machine may be busy.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSources = 200;

/// One resource on the emulator's generic listing, every 30 s.
constexpr const char* kSpec = R"(name: many_api
base_url: "{{ config.base_url }}"
params:
  base_url: {required: true}
  token: {required: true, secret: true}
auth: {type: bearer, token: "{{ config.token }}"}
schedule: {interval: 30s}
resources:
  - name: page
    request:
      path: /generic/page
      query: {per_page: "100", updated_since: "{{ cursor.start }}"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 100, total_pages_path: total_pages}
    incremental: {cursor_field: updated_at, format: iso8601, lookback: 0s}
)";

/// "<prefix>_007".
std::string SourceName(const std::string& prefix, int i) {
    char digits[8];
    std::snprintf(digits, sizeof(digits), "%03d", i);
    return prefix + "_" + digits;
}

/// A source file: its token comes from the environment, as a deployment's would.
std::string SourceFile(const std::string& name, const std::string& base_url) {
    return "# one customer's account\n"
           "name: " +
           name +
           "\n"
           "connector_file: ../many_api.yaml\n"
           "config:\n"
           "  base_url: " +
           base_url +
           "\n"
           "  token: ${MANY_TOKEN}\n";
}

double SecondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// How many sources of `prefix` have a successful run that started after `since` (a
/// PostgreSQL timestamp), leaving out `except`.
int SucceededSince(
    const std::string& dsn,
    const std::string& prefix,
    const std::string& since,
    const std::string& except = ""
) {
    return std::stoi(Scalar(
        dsn,
        "SELECT count(DISTINCT source) FROM chatsync.runs WHERE source LIKE '" + prefix +
            "\\_%' AND outcome = 'success' AND started_at > '" + since + "' AND source <> '" +
            except + "'"
    ));
}

TEST(ManySources, TwoHundredFilesRunReloadAndRefuseABrokenOne) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "20", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto prefix = UniqueName("many");
    dir.Write("many_api.yaml", kSpec);
    std::filesystem::create_directory(dir.path() + "/accounts");
    for (int i = 0; i < kSources; ++i) {
        const auto name = SourceName(prefix, i);
        dir.Write("accounts/" + name + ".yaml", SourceFile(name, emu.url()));
    }
    const auto config = dir.Write(
        "chatsync.yaml",
        "data_dir: " + dir.path() + "\ndatabase:\n  dsn: \"" + dsn +
            "\"\nadmin:\n  listen: \"127.0.0.1:0\"\nlog:\n  level: info\n"
            "limits:\n  max_concurrent_runs: 8\n  shutdown_grace: 10s\n"
            "sources_dir: accounts\n"
    );
    const std::map<std::string, std::string> env{{"MANY_TOKEN", kToken}};

    const auto check_started = Clock::now();
    const auto check = RunChatsyncd({"-c", config, "check-config"}, env);
    const double check_seconds = SecondsSince(check_started);
    ASSERT_EQ(check.exit_code, 0) << check.output;

    const auto start = Clock::now();
    const auto before_start = Scalar(dsn, "SELECT now()");
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log", env);
    ASSERT_TRUE(WaitFor(
        [&] { return daemon->Output().find("chatsyncd started") != std::string::npos; },
        std::chrono::minutes(2)
    )) << daemon->Output();
    const double started_seconds = SecondsSince(start);
    EXPECT_NE(daemon->Output().find("sources=200 resources=200"), std::string::npos)
        << daemon->Output();
    ASSERT_TRUE(WaitFor(
        [&] { return SucceededSince(dsn, prefix, before_start) == kSources; },
        std::chrono::minutes(5)
    )) << SucceededSince(dsn, prefix, before_start)
       << " sources ran\n"
       << daemon->Output();
    const double all_ran_seconds = SecondsSince(start);

    // One account's token is rotated (to one the API refuses, which makes the change show):
    // that source alone restarts, with the new token.
    const auto changed = SourceName(prefix, 42);
    const auto before_change = Scalar(dsn, "SELECT now()");
    dir.Write(
        "accounts/" + changed + ".yaml",
        "name: " + changed + "\nconnector_file: ../many_api.yaml\nconfig:\n  base_url: " +
            emu.url() + "\n  token: rotated-but-wrong\n"
    );
    const auto reload_started = Clock::now();
    daemon->Signal(SIGHUP);
    const std::string applied = "config reloaded added= removed= changed=" + changed + "\n";
    ASSERT_TRUE(WaitFor(
        [&] { return daemon->Output().find(applied) != std::string::npos; }, std::chrono::minutes(1)
    )) << daemon->Output();
    const double reload_seconds = SecondsSince(reload_started);
    EXPECT_TRUE(WaitFor(
        [&] {
            return Scalar(
                       dsn,
                       "SELECT count(*) FROM chatsync.runs WHERE source = '" + changed +
                           "' AND outcome = 'failed' AND error LIKE '%401%' AND started_at > '" +
                           before_change + "'"
                   ) == "1";
        },
        std::chrono::minutes(1)
    )) << daemon->Output();

    // A broken file is refused with its place; every source keeps running as it was.
    const auto broken_name = SourceName(prefix, 100);
    const auto broken = dir.Write(
        "accounts/" + broken_name + ".yaml",
        SourceFile(broken_name, emu.url()) + "schedul: {interval: 1m}\n"
    );
    daemon->Signal(SIGHUP);
    ASSERT_TRUE(WaitFor(
        [&] { return daemon->Output().find("config reload refused") != std::string::npos; },
        std::chrono::minutes(1)
    )) << daemon->Output();
    const auto refused_at = Scalar(dsn, "SELECT now()");
    EXPECT_NE(daemon->Output().find(broken + ":7:1: schedul: unknown key"), std::string::npos)
        << daemon->Output();
    EXPECT_TRUE(daemon->Running());
    // Each source but the one whose token was refused runs again after the refusal (their
    // interval is 30 s): the running config stayed.
    EXPECT_TRUE(WaitFor(
        [&] { return SucceededSince(dsn, prefix, refused_at, changed) == kSources - 1; },
        std::chrono::minutes(3)
    )) << SucceededSince(dsn, prefix, refused_at, changed)
       << " sources ran again\n"
       << daemon->Output();

    // check-config names every broken file, not only the first.
    const auto second_name = SourceName(prefix, 150);
    const auto second = dir.Write(
        "accounts/" + second_name + ".yaml", "name: " + second_name + "\nconnector: [unclosed\n"
    );
    const auto bad = RunChatsyncdApart({"-c", config, "check-config"}, env);
    EXPECT_EQ(bad.exit_code, kExitConfig);
    EXPECT_NE(bad.err.find(broken + ":7:1: "), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find(second + ":"), std::string::npos) << bad.err;

    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(30)), 0) << daemon->Output();
    std::printf(
        "many sources: %d files; check-config %.2f s, start-up to \"started\" %.2f s, until "
        "every source ran %.2f s, reload after one changed file %.2f s\n",
        kSources,
        check_seconds,
        started_seconds,
        all_ran_seconds,
        reload_seconds
    );
}

TEST(ManySources, CheckConfigNamesTheFileOfASourceStartUpWouldRefuse) {
    TempDir dir;
    std::filesystem::create_directory(dir.path() + "/accounts");
    dir.Write(
        "accounts/fine.yaml",
        "name: fine\nconnector: mesibo\nconfig: {token: t}\nhttp: {stable_egress: true}\n"
    );
    // A Mesibo app must send from one address: without one, start-up refuses it.
    const auto unpinned = dir.Write(
        "accounts/unpinned.yaml",
        "- name: unpinned\n  connector: mesibo\n"
        "  config: {token: t}\n"
    );
    const auto config = dir.Write(
        "chatsync.yaml",
        "data_dir: " + dir.path() +
            "\ndatabase:\n  dsn: postgresql://127.0.0.1:9/x\nsources_dir: accounts\n"
    );
    const auto check = RunChatsyncdApart({"-c", config, "check-config"});
    EXPECT_EQ(check.exit_code, kExitConfig) << check.out;
    EXPECT_EQ(
        check.err.rfind(unpinned + ": [0].http: source unpinned refused: connector mesibo must", 0),
        0U
    ) << check.err;
}

}  // namespace
}  // namespace chatsync::test
