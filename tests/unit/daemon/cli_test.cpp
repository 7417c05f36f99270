#include "daemon/cli.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace chatsync::daemon {
namespace {

using namespace std::chrono_literals;

TEST(Cli, TestHooksAreUnsetByDefault) {
    const auto args = ParseArguments({"-c", "c.yaml", "run"});
    EXPECT_EQ(args.command, Command::kRun);
    EXPECT_FALSE(args.test_hooks.rate_window);
    EXPECT_FALSE(args.test_hooks.rederive_batch);
    EXPECT_FALSE(args.test_hooks.stall_on_sigusr1);
}

TEST(Cli, ParsesEveryTestHook) {
    const auto args = ParseArguments(
        {"-c",
         "c.yaml",
         "--test-hook",
         "rate_window=1s",
         "--test-hook",
         "stall_on_sigusr1=4s",
         "rederive",
         "--source",
         "jivo",
         "--test-hook",
         "rederive_batch=2"}
    );
    EXPECT_EQ(args.command, Command::kRederive);
    EXPECT_EQ(args.test_hooks.rate_window, Millis{1s});
    EXPECT_EQ(args.test_hooks.stall_on_sigusr1, Millis{4s});
    EXPECT_EQ(args.test_hooks.rederive_batch, 2U);
}

TEST(Cli, RefusesBadTestHooks) {
    const std::vector<std::string> bad[] = {
        {"--test-hook", "rate_window=1000", "once"},
        {"--test-hook", "rate_window=0", "once"},
        {"--test-hook", "stall_on_sigusr1=", "run"},
        {"--test-hook", "rederive_batch=0", "run"},
        {"--test-hook", "rederive_batch=2x", "run"},
        {"--test-hook", "rederive_batch=-1", "run"},
        {"--test-hook", "no_such_hook=1", "run"},
        {"run", "--test-hook"},
    };
    for (const auto& args : bad) {
        EXPECT_THROW(ParseArguments(args), std::invalid_argument) << args[1];
    }
}

TEST(Cli, UsageSaysTheTestHooksAreForTestsOnly) {
    const auto usage = Usage();
    EXPECT_NE(usage.find("for tests only"), std::string::npos);
    EXPECT_NE(usage.find("--test-hook rate_window=DURATION"), std::string::npos);
    EXPECT_NE(usage.find("--test-hook rederive_batch=N"), std::string::npos);
    EXPECT_NE(usage.find("--test-hook stall_on_sigusr1=DURATION"), std::string::npos);
}

TEST(Cli, JsonGoesWithOnceAndStatusOnly) {
    EXPECT_FALSE(ParseArguments({"status"}).json);
    EXPECT_TRUE(ParseArguments({"status", "--json"}).json);
    EXPECT_TRUE(ParseArguments({"--json", "once", "--source", "demo"}).json);
    const std::vector<std::vector<std::string>> elsewhere = {
        {"run", "--json"},
        {"reset", "--source", "demo", "--json"},
        {"check-config", "--json"},
        {"healthcheck", "--json"},
    };
    for (const auto& args : elsewhere) {
        try {
            ParseArguments(args);
            ADD_FAILURE() << args[0] << " took --json";
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()), "--json goes with 'once' and 'status'") << args[0];
        }
    }
}

}  // namespace
}  // namespace chatsync::daemon
