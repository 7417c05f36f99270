// End-to-end: every run has its row in chatsync.runs and shows in `status`, those that a hold
// stopped before they began included (a skipped run's row: Concurrency.* in faults_e2etest).

#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

TEST(RunLog, RunsThatAHoldStoppedAreRecordedAndShownByStatus) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "20", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("held");
    // A token the API rejects; one resource at a time, so the first refusal holds the source
    // before any other resource starts.
    auto yaml = E2eConfig(dsn, source, emu.url(), dir.path(), "    rate_limit: {concurrency: 1}\n");
    const std::string good = std::string("token: ") + kToken;
    yaml.replace(yaml.find(good), good.size(), "token: wrong-t0k3n");
    const auto config = dir.Write("c.yaml", yaml);

    auto once = RunChatsyncdApart({"-c", config, "once", "--source", source});
    EXPECT_EQ(once.exit_code, 1) << once.out << once.err;
    EXPECT_EQ(emu.Requests().size(), 1U) << "only the first resource sent a request";

    // One row per top-level resource: the refused one failed, the others were held.
    const auto rows = Query(
        dsn,
        "SELECT outcome, count(*), sum(pages), bool_and(finished_at IS NOT NULL), "
        "bool_and(error <> ''), bool_or(strpos(error, 'wrong-t0k3n') > 0) "
        "FROM chatsync.runs WHERE source = '" +
            source + "' GROUP BY outcome ORDER BY outcome"
    );
    const auto top_level =
        Scalar(dsn, "SELECT count(*) FROM chatsync.resource_state WHERE source = '" + source + "'");
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"failed", "1", "0", "t", "t", "f"}));
    EXPECT_EQ(rows[1][0], "held");
    EXPECT_EQ(std::stoi(rows[1][1]) + 1, std::stoi(top_level));
    EXPECT_EQ(rows[1][2], "0");
    EXPECT_EQ(rows[1][3], "t");
    EXPECT_EQ(rows[1][4], "t");
    EXPECT_EQ(rows[1][5], "f") << "the token reached the run log";

    auto status = RunChatsyncdApart({"-c", config, "status"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_EQ(status.out.find("never run"), std::string::npos) << status.out;
    EXPECT_TRUE(
        std::regex_search(status.out, std::regex(source + " +offset +[0-9-]+ [0-9:]+ +held +0 +0 "))
    ) << status.out;
    EXPECT_NE(status.out.find("    error: source held after resource"), std::string::npos)
        << status.out;
    EXPECT_EQ(status.out.find("wrong-t0k3n"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace chatsync::test
