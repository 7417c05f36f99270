// End-to-end: chatsyncd against chatsync-emulator and PostgreSQL.

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

std::string LatestRun(
    const std::string& dsn,
    const std::string& source,
    const std::string& resource,
    const std::string& column
) {
    return Scalar(
        dsn,
        "SELECT " + column + " FROM chatsync.runs WHERE source = '" + source +
            "' AND resource = '" + resource + "' ORDER BY started_at DESC LIMIT 1"
    );
}

/// id -> "name|updated_at in epoch ms" for every record of the emulator.
std::map<std::int64_t, std::string> EmulatorRecords(Emulator& emu) {
    std::map<std::int64_t, std::string> out;
    const auto dataset = emu.Admin("GET", "/_admin/dataset");
    for (const auto& v : dataset.as_array()) {
        const auto& o = v.as_object();
        const auto t = ParseIso8601(std::string(o.at("updated_at").as_string()));
        out[o.at("id").to_number<std::int64_t>()] =
            std::string(o.at("name").as_string()) + "|" +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count()
            );
    }
    return out;
}

std::map<std::int64_t, std::string> TableRecords(const std::string& dsn, const std::string& table) {
    std::map<std::int64_t, std::string> out;
    for (const auto& row : Query(
             dsn,
             "SELECT id, name || '|' || (extract(epoch FROM updated_at) * 1000)::bigint FROM " +
                 table
         )) {
        out[std::stoll(row[0])] = row[1];
    }
    return out;
}

TEST(Sync, FullThenIncrementalLandsEveryRecordExactlyOnce) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "10000", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("full");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};

    auto first = RunChatsyncd(once);
    ASSERT_EQ(first.exit_code, 0) << first.output;
    const auto table = source + ".page";
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + table), "10000");
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + table), "10000");
    EXPECT_EQ(TableRecords(dsn, table), EmulatorRecords(emu));
    EXPECT_EQ(LatestRun(dsn, source, "page", "rows_written"), "10000");
    const auto first_run = LatestRun(dsn, source, "page", "run_id");

    // Nothing changed: nothing is written.
    auto second = RunChatsyncd(once);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_EQ(LatestRun(dsn, source, "page", "outcome"), "success");
    EXPECT_EQ(LatestRun(dsn, source, "page", "rows_written"), "0");
    EXPECT_EQ(
        Scalar(
            dsn, "SELECT count(*) FROM " + table + " WHERE _chatsync_run_id <> '" + first_run + "'"
        ),
        "0"
    );

    // 10% change: exactly those rows change.
    const auto changed = emu.Admin("POST", "/_admin/mutate", R"({"fraction":0.1})")
                             .as_object()
                             .at("changed")
                             .as_array();
    ASSERT_EQ(changed.size(), 1000U);
    auto third = RunChatsyncd(once);
    ASSERT_EQ(third.exit_code, 0) << third.output;
    EXPECT_EQ(LatestRun(dsn, source, "page", "rows_written"), "1000");
    const auto third_run = LatestRun(dsn, source, "page", "run_id");
    std::set<std::int64_t> changed_ids;
    for (const auto& id : changed) {
        changed_ids.insert(id.to_number<std::int64_t>());
    }
    std::set<std::int64_t> rewritten;
    for (const auto& row :
         Query(dsn, "SELECT id FROM " + table + " WHERE _chatsync_run_id = '" + third_run + "'")) {
        rewritten.insert(std::stoll(row[0]));
    }
    EXPECT_EQ(rewritten, changed_ids);
    EXPECT_EQ(TableRecords(dsn, table), EmulatorRecords(emu));
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + table), "10000");
}

TEST(Sync, ARecordWithANulKeepsItsRowAndItsExactOriginal) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "30", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("nul");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};
    emu.Admin(
        "POST",
        "/_admin/raw-fields",
        R"({"id": 7, "members": "\"blob\":\"paste\\u0000d\",\"labels\":[\"x\\u0000y\"]"})"
    );

    auto first = RunChatsyncd(once);
    ASSERT_EQ(first.exit_code, 0) << first.output;
    const auto table = source + ".page";
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + table), "30");
    // The columns hold U+FFFD where the NULs were; the record as sent is beside them.
    EXPECT_EQ(Scalar(dsn, "SELECT blob = E'paste\\uFFFDd' FROM " + table + " WHERE id = 7"), "t");
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + table + " WHERE _chatsync_original IS NOT NULL"), "1"
    );
    const auto original =
        boost::json::parse(Scalar(dsn, "SELECT _chatsync_original FROM " + table + " WHERE id = 7")
        );
    EXPECT_EQ(original.at("blob").as_string(), std::string_view("paste\0d", 7));
    EXPECT_EQ(original.at("labels").at(0).as_string(), std::string_view("x\0y", 3));
    EXPECT_EQ(original.at("id").as_int64(), 7);
    // It is valid JSON to PostgreSQL as well (json keeps \u0000; jsonb cannot).
    EXPECT_EQ(
        Scalar(dsn, "SELECT _chatsync_original::json IS NOT NULL FROM " + table + " WHERE id = 7"),
        "t"
    );

    // The record changes and holds no NUL any more: its original is cleared.
    emu.Admin("POST", "/_admin/raw-fields", R"({"id": 7, "members": ""})");
    emu.Admin("POST", "/_admin/mutate", R"({"ids": [7]})");
    auto second = RunChatsyncd(once);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + table + " WHERE _chatsync_original IS NOT NULL"), "0"
    );
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + table), "30");
}

class Pagination : public ::testing::TestWithParam<std::string> {};

TEST_P(Pagination, EveryStyleListsTheWholeDatasetOnce) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "250", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("pag_" + GetParam());
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    auto run = RunChatsyncd({"-c", config, "once", "--source", source, "--resource", GetParam()});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto table = source + "." + GetParam();
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + table), "250");
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + table), "250");
    EXPECT_EQ(Scalar(dsn, "SELECT min(id) || '-' || max(id) FROM " + table), "1-250");
}

INSTANTIATE_TEST_SUITE_P(
    Styles,
    Pagination,
    ::testing::Values("page", "offset", "next", "cursor", "cursor_header", "link", "search")
);

TEST(Sync, SingleObjectIsAOneRecordPage) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "20", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("single");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    auto run = RunChatsyncd({"-c", config, "once", "--source", source, "--resource", "single"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(Scalar(dsn, "SELECT string_agg(id::text, ',') FROM " + source + ".single"), "7");
}

TEST(Sync, ChildResourcesFollowOnlyChangedParents) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "60", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("child");
    const auto config = dir.Write(
        "c.yaml",
        E2eConfig(
            dsn, source, emu.url(), dir.path(), "    resources:\n      comments: {enabled: true}\n"
        )
    );
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};
    auto first = RunChatsyncd(once);
    ASSERT_EQ(first.exit_code, 0) << first.output;
    // Record i has 1 + i % 3 comments: 60 records -> 20 * (1 + 2 + 3) = 120.
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".comments"), "120");
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT record_id) FROM " + source + ".comments"), "60");

    emu.Admin("POST", "/_admin/requests/clear");
    emu.Admin("POST", "/_admin/mutate", R"({"ids":[5,17]})");
    auto second = RunChatsyncd(once);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    std::set<std::string> comment_paths;
    for (const auto& r : emu.Requests()) {
        const auto path = std::string(r.as_object().at("path").as_string());
        if (path.find("/comments") != std::string::npos) {
            comment_paths.insert(path);
        }
    }
    EXPECT_EQ(
        comment_paths,
        (std::set<std::string>{"/generic/records/5/comments", "/generic/records/17/comments"})
    );
}

TEST(Sync, LargePagesAreWrittenInSeveralTransactions) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "250", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("batch");
    auto yaml = E2eConfig(dsn, source, emu.url(), dir.path());
    yaml.replace(yaml.find("limits:\n"), 8, "limits:\n  max_batch_rows: 30\n");
    const auto config = dir.Write("c.yaml", yaml);
    auto run = RunChatsyncd({"-c", config, "once", "--source", source, "--resource", "page"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + source + ".page"), "250");
    // Pages of 100, 100 and 50 rows in parts of at most 30: 4 + 4 + 2 transactions.
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT xmin::text) FROM " + source + ".page"), "10");
}

TEST(Sync, StartParamCarriesTheCursorWindow) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "150", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("window");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "offset"};
    ASSERT_EQ(RunChatsyncd(once).exit_code, 0);
    emu.Admin("POST", "/_admin/requests/clear");
    auto second = RunChatsyncd(once);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    // The last record is at 00:02:30; the window starts 30 s (the lookback) before it.
    const auto query = std::string(emu.Requests().front().as_object().at("query").as_string());
    EXPECT_NE(query.find("updated_since=2024-01-01T00%3A02%3A00.000Z"), std::string::npos) << query;
    EXPECT_EQ(LatestRun(dsn, source, "offset", "rows_unchanged"), "31");
    EXPECT_EQ(LatestRun(dsn, source, "offset", "rows_written"), "0");
}

TEST(Cli, StatusShowsTheLastRunAndResetForcesAFullResync) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "120", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("cli");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};
    auto first = RunChatsyncd(once);
    ASSERT_EQ(first.exit_code, 0) << first.output;
    // The summary table names the resource and its rows.
    EXPECT_TRUE(std::regex_search(first.output, std::regex(source + " +page +success +2 +120 +0 ")))
        << first.output;

    auto status = RunChatsyncd({"-c", config, "status"});
    ASSERT_EQ(status.exit_code, 0) << status.output;
    EXPECT_TRUE(std::regex_search(
        status.output,
        std::regex(source + " +page +[0-9-]+ [0-9:]+ +success +120 +0 +2024-01-01T00:02:00.000Z")
    )) << status.output;
    EXPECT_TRUE(std::regex_search(status.output, std::regex(source + " +offset +- +never run")))
        << status.output;

    auto reset = RunChatsyncd({"-c", config, "reset", "--source", source, "--resource", "page"});
    ASSERT_EQ(reset.exit_code, 0) << reset.output;
    EXPECT_NE(reset.output.find("reset 1 resource(s)"), std::string::npos) << reset.output;
    emu.Admin("POST", "/_admin/requests/clear");
    auto again = RunChatsyncd(once);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    // A full listing again (no updated_since), and nothing rewritten.
    EXPECT_EQ(LatestRun(dsn, source, "page", "rows_unchanged"), "120");
    EXPECT_EQ(LatestRun(dsn, source, "page", "rows_written"), "0");
    EXPECT_EQ(
        emu.Requests().front().as_object().at("query").as_string().find("updated_since"),
        std::string::npos
    );
}

TEST(Cli, VersionUsageAndUnknownSources) {
    auto version = RunChatsyncd({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.output, "chatsyncd " CHATSYNC_VERSION "\n");
    auto usage = RunChatsyncd({"frobnicate"});
    EXPECT_EQ(usage.exit_code, 64);
    EXPECT_NE(usage.output.find("unexpected argument 'frobnicate'"), std::string::npos);
    auto reset = RunChatsyncd({"-c", SourceDir() + "/configs/quickstart.yaml", "reset"});
    EXPECT_EQ(reset.exit_code, 64);
    EXPECT_NE(reset.output.find("reset needs --source"), std::string::npos) << reset.output;
}

}  // namespace
}  // namespace chatsync::test
