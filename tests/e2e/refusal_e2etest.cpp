// End-to-end: what start-up refuses on this host (a source behind an egress guard with no
// pinned or vouched-for address, or pinned to an address the host lacks), `check-config` and
// `once --source` refuse too, in start-up's words and with the config error's exit code.

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

/// A config with one mesibo source against `url`, with `http_yaml` under it.
std::string MesiboConfig(
    const std::string& dsn,
    const std::string& source,
    const std::string& url,
    const std::string& data_dir,
    const std::string& http_yaml
) {
    return "data_dir: " + data_dir + "\ndatabase:\n  dsn: \"" + dsn +
           "\"\nadmin:\n  listen: \"\"\nsources:\n  - name: " + source +
           "\n    connector: mesibo\n    config:\n      base_url: " + url +
           "\n      token: mesibo-app-token\n" + http_yaml;
}

/// The rest of the line of `output` that follows `prefix` ("" when no line has it).
std::string After(const std::string& output, const std::string& prefix) {
    const auto at = output.find(prefix);
    if (at == std::string::npos) {
        return "";
    }
    const auto from = at + prefix.size();
    return output.substr(from, output.find('\n', from) - from);
}

struct Refused {
    std::string http_yaml;
    /// How start-up's reason begins.
    std::string reason;
};

TEST(Refusal, CheckConfigRefusesWhatStartUpRefusesInItsWords) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "20", "--mesibo-groups", "2"});
    TempDir dir;
    const std::vector<Refused> cases{
        {"", "connector mesibo must send from one address: set http.local_address"},
        // 192.0.2.1 is TEST-NET-1: never assigned to this host.
        {"    http: {local_address: 192.0.2.1}\n",
         "pinned egress address 192.0.2.1 is not on this host ("},
    };
    for (const auto& c : cases) {
        const auto source = UniqueName("mesibo_refused");
        const auto config = dir.Write(
            source + ".yaml", MesiboConfig(dsn, source, emu.url(), dir.path(), c.http_yaml)
        );
        auto check = RunChatsyncd({"-c", config, "check-config"});
        EXPECT_EQ(check.exit_code, kExitConfig) << check.output;
        const auto why =
            After(check.output, config + ": sources[0].http: source " + source + " refused: ");
        EXPECT_TRUE(why.starts_with(c.reason)) << check.output;

        auto start = RunChatsyncd({"-c", config, "once"});
        EXPECT_EQ(start.exit_code, 1) << start.output;
        EXPECT_EQ(
            After(start.output, "source refused source=" + source + " kind=guard_refused error=\""),
            why + "\""
        ) << start.output;
    }
    EXPECT_TRUE(emu.Requests().empty()) << "a refused source sends nothing";

    // Vouched for, or pinned to an address of this host: both pass.
    for (const std::string http :
         {"    http: {stable_egress: true}\n", "    http: {local_address: 127.0.0.1}\n"}) {
        const auto source = UniqueName("mesibo_ok");
        const auto config =
            dir.Write(source + ".yaml", MesiboConfig(dsn, source, emu.url(), dir.path(), http));
        auto check = RunChatsyncd({"-c", config, "check-config"});
        EXPECT_EQ(check.exit_code, 0) << http << check.output;
    }
}

TEST(Refusal, OnceOfARefusedSourceSaysItWasRefusedAndWhy) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "20", "--mesibo-groups", "2"});
    TempDir dir;
    const auto source = UniqueName("mesibo_unpinned");
    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu.url(), dir.path(), ""));
    for (const std::vector<std::string>& only :
         {std::vector<std::string>{"--source", source, "--resource", "app_stats"},
          std::vector<std::string>{"--source", source}}) {
        std::vector<std::string> args{"-c", config, "once"};
        args.insert(args.end(), only.begin(), only.end());
        auto run = RunChatsyncd(args);
        EXPECT_EQ(run.exit_code, kExitConfig) << run.output;
        EXPECT_NE(
            run.output.find(
                "chatsyncd: source " + source +
                " refused: connector mesibo must send from one address: set "
                "http.local_address to a pinned egress address, or http.stable_egress: true"
            ),
            std::string::npos
        ) << run.output;
        EXPECT_EQ(run.output.find("has no top-level resource"), std::string::npos) << run.output;
    }
    EXPECT_TRUE(emu.Requests().empty());
}

/// The example configs pass with their variables set (Mesibo's egress address to one this
/// host has), and so does the quickstart's.
TEST(Refusal, ExampleConfigsPassCheckConfig) {
    const std::map<std::string, std::map<std::string, std::string>> examples{
        {"mesibo.example.yaml",
         {{"CHATSYNC_DSN", "postgresql://chatsync@127.0.0.1/chatsync"},
          {"MESIBO_APP_TOKEN", "app-token-secret"},
          {"MESIBO_EGRESS_IP", "127.0.0.1"}}},
        {"tiledesk.example.yaml",
         {{"CHATSYNC_DSN", "postgresql://chatsync@127.0.0.1/chatsync"},
          {"TILEDESK_PROJECT_ID", "5b55e806c93dde00143163dd"},
          {"TILEDESK_EMAIL", "sync@example.com"},
          {"TILEDESK_PASSWORD", "app-token-secret"}}},
        {"jivochat.example.yaml",
         {{"CHATSYNC_DSN", "postgresql://chatsync@127.0.0.1/chatsync"},
          {"JIVO_WEBHOOK_TOKEN", "app-token-secret"}}},
        {"chatsync.example.yaml", {{"DEMO_TOKEN", "app-token-secret"}}},
        {"quickstart.yaml", {}},
    };
    for (const auto& [file, env] : examples) {
        auto check = RunChatsyncd({"-c", SourceDir() + "/configs/" + file, "check-config"}, env);
        EXPECT_EQ(check.exit_code, 0) << file << ":\n" << check.output;
        EXPECT_EQ(check.output.find("app-token-secret"), std::string::npos) << file;
    }
}

}  // namespace
}  // namespace chatsync::test
