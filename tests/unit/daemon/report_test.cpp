#include "daemon/report.hpp"

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "support/json_schema.hpp"

namespace chatsync::daemon {
namespace {

namespace json = boost::json;

/// The lines of `text`, without their newlines.
std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

/// Where the word ending at the first occurrence of `word` in `line` ends: right-aligned
/// columns end at the same place.
std::size_t EndOf(const std::string& line, const std::string& word) {
    const auto at = line.find(word);
    return at == std::string::npos ? std::string::npos : at + word.size();
}

/// A parent with 2000 records and 4001 comments (the quickstart's first run).
connectors::RunReport Quickstart() {
    connectors::RunReport r;
    r.source = "demo";
    r.resource = "records";
    r.outcome = RunOutcome::kSuccess;
    r.pages = 20;
    r.requests = 2020;
    r.rows_written = 6001;
    r.rows_unchanged = 7;
    r.rows_deleted = 3;
    r.cursor = "2024-01-01T00:33:20.000Z";
    r.seconds = 4.5;
    r.tables = {
        {.name = {"demo", "records"}, .written = 2000, .unchanged = 7, .deleted = 3},
        {.name = {"demo", "comments"}, .written = 4001, .unchanged = 0, .deleted = 0},
    };
    return r;
}

connectors::RunReport Held() {
    connectors::RunReport r;
    r.source = "demo";
    r.resource = "stats";
    r.outcome = RunOutcome::kHeld;
    r.error = "source held after resource records was refused";
    return r;
}

sink::ResourceState Synced() {
    sink::ResourceState s;
    s.source = "demo";
    s.resource = "records";
    s.cursor = "2024-01-01T00:33:20.000Z";
    s.last_run_at = sink::TimePoint{} + std::chrono::seconds(1'765'000'000);
    s.last_success_at = s.last_run_at;
    s.next_run_at = *s.last_run_at + std::chrono::minutes(5);
    s.last_outcome = RunOutcome::kSuccess;
    s.last_rows_written = 6001;
    s.last_rows_unchanged = 7;
    s.last_tables = Quickstart().tables;
    return s;
}

sink::ResourceState NeverRun() {
    sink::ResourceState s;
    s.source = "demo";
    s.resource = "stats";
    return s;
}

const RowCounts kRows = {{"demo.records", 2000}, {"demo.comments", 4001}};

TEST(Report, TheSummaryHasALinePerTableUnderItsRun) {
    const auto lines = Lines(FormatSummary({Quickstart(), Held()}, kRows));
    ASSERT_EQ(lines.size(), 7U) << FormatSummary({Quickstart(), Held()}, kRows);
    EXPECT_EQ(lines[0], "");
    const auto& header = lines[1];
    const auto& run = lines[2];
    EXPECT_EQ(
        run,
        "demo           records            success         20      6001         7         3       "
        "4.5"
    );
    EXPECT_EQ(lines[3].rfind("  table demo.records ", 0), 0U) << lines[3];
    EXPECT_EQ(lines[4].rfind("  table demo.comments ", 0), 0U) << lines[4];
    // Each table's counts stand under the run's, and its rows under ROWS.
    for (const auto& [line, written, unchanged, deleted, rows] :
         std::vector<std::tuple<std::string, std::string, std::string, std::string, std::string>>{
             {lines[3], "2000", "7", "3", "2000"}, {lines[4], "4001", "0", "0", "4001"}}) {
        EXPECT_EQ(EndOf(line, " " + written + " "), EndOf(header, "WRITTEN") + 1) << line;
        EXPECT_EQ(
            EndOf(line, " " + written + " " + std::string(8, ' ') + unchanged),
            EndOf(header, "UNCHANGED")
        ) << line;
        EXPECT_EQ(line.size(), EndOf(header, "ROWS")) << line;
        EXPECT_EQ(line.substr(line.size() - rows.size()), rows) << line;
        EXPECT_NE(line.find(" " + deleted + " "), std::string::npos) << line;
    }
    // A run that ended before it began names no table.
    EXPECT_EQ(lines[5].rfind("demo           stats              held ", 0), 0U) << lines[5];
    EXPECT_EQ(lines[6], "    error: source held after resource records was refused");
}

TEST(Report, ATableNotCountedShowsADash) {
    const auto lines = Lines(FormatSummary({Quickstart()}, {{"demo.records", 2000}}));
    ASSERT_EQ(lines.size(), 5U);
    EXPECT_EQ(lines[4].back(), '-') << lines[4];
    EXPECT_EQ(lines[3].substr(lines[3].size() - 4), "2000") << lines[3];
}

TEST(Report, StatusHasALinePerTableOfTheLastRun) {
    SourceStatus demo{.source = "demo", .resources = {Synced(), NeverRun()}, .latch = {}};
    const auto text = FormatStatus({demo}, kRows);
    const auto lines = Lines(text);
    ASSERT_EQ(lines.size(), 5U) << text;
    const auto& header = lines[0];
    EXPECT_EQ(
        lines[1].rfind("demo           records            2025-12-06 05:46:40 success ", 0), 0U
    ) << lines[1];
    EXPECT_EQ(
        lines[2],
        "  table demo.records                                                   2000         7  "
        "deleted 3         rows 2000"
    );
    EXPECT_EQ(
        lines[3],
        "  table demo.comments                                                  4001         0  "
        "deleted 0         rows 4001"
    );
    EXPECT_EQ(EndOf(lines[2], "2000"), EndOf(header, "WRITTEN"));
    EXPECT_EQ(EndOf(lines[2], "7"), EndOf(header, "UNCHANGED"));
    EXPECT_EQ(
        lines[4].rfind("demo           stats              -                   never run", 0), 0U
    ) << lines[4];
}

TEST(Report, StatusNamesTheReplicaOfEachLastRunWhenAskedTo) {
    auto synced = Synced();
    synced.replica = "chatsync-1";
    SourceStatus demo{.source = "demo", .resources = {synced, NeverRun()}, .latch = {}};
    const auto alone = FormatStatus({demo}, kRows);
    EXPECT_EQ(alone.find("replica"), std::string::npos) << alone;
    const auto lines = Lines(FormatStatus({demo}, kRows, true));
    ASSERT_EQ(lines.size(), 6U);
    EXPECT_EQ(lines[2], "    last run on replica chatsync-1");
    // A resource that never ran names none.
    EXPECT_EQ(lines[5].rfind("demo           stats ", 0), 0U) << lines[5];
}

TEST(Report, StatusOfALatchedSourceSaysWhyAndHowToClearIt) {
    sink::Latch latch{
        .source = "demo",
        .reason = "TOKENBREACH",
        .set_at = sink::TimePoint{} + std::chrono::seconds(1'765'000'000),
        .set_by = "host:1"};
    SourceStatus demo{.source = "demo", .resources = {Synced()}, .latch = latch};
    const auto lines = Lines(FormatStatus({demo}, kRows));
    ASSERT_EQ(lines.size(), 6U);
    EXPECT_NE(lines[1].find(" latched "), std::string::npos) << lines[1];
    EXPECT_EQ(lines[4], "    source demo latched since 2025-12-06 05:46:40: TOKENBREACH");
    EXPECT_EQ(lines[5], "    no resource of it runs until: chatsyncd breach clear --source demo");
}

const std::string kOnceSchema = std::string(CHATSYNC_SOURCE_DIR) + "/docs/once.schema.json";
const std::string kStatusSchema = std::string(CHATSYNC_SOURCE_DIR) + "/docs/status.schema.json";

TEST(Report, OnceJsonGivesEveryRunAndTableAsItsSchemaSays) {
    const auto doc = json::parse(SummaryJson({Quickstart(), Held()}, {{"demo.records", 2000}}));
    EXPECT_EQ(test::ValidateJsonFile(doc, kOnceSchema), std::vector<std::string>{});
    const auto& runs = doc.at("runs").as_array();
    ASSERT_EQ(runs.size(), 2U);
    const auto& run = runs[0].as_object();
    EXPECT_EQ(run.at("outcome"), "success");
    EXPECT_TRUE(run.at("error").is_null());
    EXPECT_EQ(run.at("written"), 6001);
    EXPECT_EQ(run.at("cursor"), "2024-01-01T00:33:20.000Z");
    const auto& tables = run.at("tables").as_array();
    ASSERT_EQ(tables.size(), 2U);
    EXPECT_EQ(
        tables[0], json::parse(R"({"table": "demo.records", "schema": "demo", "name": "records",
                        "written": 2000, "unchanged": 7, "deleted": 3, "rows": 2000})")
    );
    EXPECT_TRUE(tables[1].at("rows").is_null());
    EXPECT_EQ(runs[1].at("outcome"), "held");
    EXPECT_EQ(runs[1].at("tables").as_array().size(), 0U);
    EXPECT_TRUE(runs[1].at("cursor").is_null());
}

TEST(Report, StatusJsonGivesEveryResourceAndLatchAsItsSchemaSays) {
    sink::Latch latch{
        .source = "other",
        .reason = "TOKENBREACH",
        .set_at = sink::TimePoint{} + std::chrono::seconds(1'765'000'000),
        .set_by = "host:1"};
    sink::ResourceState other = NeverRun();
    other.source = "other";
    const auto doc = json::parse(StatusJson(
        {{.source = "demo", .resources = {Synced(), NeverRun()}, .latch = {}},
         {.source = "other", .resources = {other}, .latch = latch}},
        kRows
    ));
    EXPECT_EQ(test::ValidateJsonFile(doc, kStatusSchema), std::vector<std::string>{});
    const auto& resources = doc.at("resources").as_array();
    ASSERT_EQ(resources.size(), 3U);
    EXPECT_EQ(resources[0].at("last_run_at"), "2025-12-06T05:46:40.000Z");
    EXPECT_EQ(resources[0].at("next_run_at"), "2025-12-06T05:51:40.000Z");
    EXPECT_EQ(resources[0].at("tables").as_array()[1].at("rows"), 4001);
    EXPECT_TRUE(resources[1].at("outcome").is_null());
    EXPECT_TRUE(resources[1].at("last_run_at").is_null());
    EXPECT_EQ(resources[2].at("outcome"), "latched");
    EXPECT_TRUE(resources[2].at("next_run_at").is_null());
    ASSERT_EQ(doc.at("latches").as_array().size(), 1U);
    EXPECT_EQ(doc.at("latches").as_array()[0].at("reason"), "TOKENBREACH");
}

TEST(Report, TablesAreListedOnceEachForCounting) {
    auto again = Quickstart();
    again.tables.push_back({.name = {"demo", "notes"}});
    const std::vector<sink::TableName> expected = {
        {"demo", "records"}, {"demo", "comments"}, {"demo", "notes"}};
    EXPECT_EQ(TablesOf(std::vector<connectors::RunReport>{Quickstart(), again}), expected);
    EXPECT_EQ(
        TablesOf(std::vector<SourceStatus>{
            {.source = "demo", .resources = {Synced(), NeverRun()}, .latch = {}}}),
        (std::vector<sink::TableName>{{"demo", "records"}, {"demo", "comments"}})
    );
}

}  // namespace
}  // namespace chatsync::daemon
