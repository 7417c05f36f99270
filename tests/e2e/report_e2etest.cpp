// End-to-end: `once` and `status` report each table apart (children apart from their
// parent) with the rows it holds, as text and as JSON that keeps to docs/*.schema.json.

#include <regex>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"
#include "support/json_schema.hpp"

namespace chatsync::test {
namespace {

namespace json = boost::json;

const std::string kOnceSchema = SourceDir() + "/docs/once.schema.json";
const std::string kStatusSchema = SourceDir() + "/docs/status.schema.json";

/// The one JSON document on `out`; a test failure when there is anything else.
json::value OneDocument(const std::string& out) {
    boost::system::error_code ec;
    auto doc = json::parse(out, ec);
    EXPECT_FALSE(ec) << "stdout is not one JSON document: " << out;
    return doc;
}

/// The entry of `array` whose `key` is `value`, or null.
const json::value* Find(const json::value& array, const char* key, const std::string& value) {
    for (const auto& v : array.as_array()) {
        if (v.at(key) == json::value(value)) {
            return &v;
        }
    }
    return nullptr;
}

TEST(Reports, OnceAndStatusShowEachTableWithItsRows) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "60", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("report");
    const auto config = dir.Write(
        "c.yaml",
        E2eConfig(
            dsn, source, emu.url(), dir.path(), "    resources:\n      comments: {enabled: true}\n"
        )
    );
    auto once = RunChatsyncdApart({"-c", config, "once", "--source", source, "--resource", "page"});
    ASSERT_EQ(once.exit_code, 0) << once.out << once.err;
    // The run's totals, then its own table and its child's apart, each with its rows:
    // 60 records, and 1 + i % 3 comments for record i, 120 in all.
    EXPECT_TRUE(std::regex_search(once.out, std::regex(source + " +page +success +[0-9]+ +180 +0 "))
    ) << once.out;
    EXPECT_TRUE(
        std::regex_search(once.out, std::regex("\n  table " + source + "\\.page +60 +0 +0 +60\n"))
    ) << once.out;
    EXPECT_TRUE(std::regex_search(
        once.out, std::regex("\n  table " + source + "\\.comments +120 +0 +0 +120\n")
    )) << once.out;

    auto status = RunChatsyncdApart({"-c", config, "status"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_TRUE(std::regex_search(
        status.out, std::regex(source + " +page +[0-9-]+ [0-9:]+ +success +180 +0 ")
    )) << status.out;
    EXPECT_TRUE(std::regex_search(
        status.out, std::regex("\n  table " + source + "\\.page +60 +0  deleted 0 +rows 60\n")
    )) << status.out;
    EXPECT_TRUE(std::regex_search(
        status.out, std::regex("\n  table " + source + "\\.comments +120 +0  deleted 0 +rows 120\n")
    )) << status.out;

    // A full listing again, of records that did not change: every record is read as stored,
    // no comments are fetched (they follow changed parents only), and the tables still hold
    // what they did.
    auto reset = RunChatsyncd({"-c", config, "reset", "--source", source, "--resource", "page"});
    ASSERT_EQ(reset.exit_code, 0) << reset.output;
    auto again =
        RunChatsyncdApart({"-c", config, "once", "--source", source, "--resource", "page", "--json"}
        );
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    const auto summary = OneDocument(again.out);
    EXPECT_EQ(ValidateJsonFile(summary, kOnceSchema), std::vector<std::string>{})
        << json::serialize(summary);
    ASSERT_EQ(summary.at("runs").as_array().size(), 1U) << again.out;
    const auto& run = summary.at("runs").as_array()[0];
    EXPECT_EQ(run.at("outcome"), "success");
    EXPECT_EQ(run.at("written"), 0);
    EXPECT_EQ(run.at("unchanged"), 60);
    EXPECT_EQ(
        run.at("tables"),
        json::parse(
            R"([{"table": ")" + source + R"(.page", "schema": ")" + source +
            R"(", "name": "page", "written": 0, "unchanged": 60, "deleted": 0, "rows": 60},
                {"table": ")" +
            source + R"(.comments", "schema": ")" + source +
            R"(", "name": "comments", "written": 0, "unchanged": 0, "deleted": 0, "rows": 120}])"
        )
    ) << again.out;
    // Logs stay on stderr.
    EXPECT_NE(again.err.find("sync finished source=" + source), std::string::npos) << again.err;

    auto listed = RunChatsyncdApart({"-c", config, "status", "--json"});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const auto doc = OneDocument(listed.out);
    EXPECT_EQ(ValidateJsonFile(doc, kStatusSchema), std::vector<std::string>{})
        << json::serialize(doc);
    const auto* page = Find(doc.at("resources"), "resource", "page");
    ASSERT_NE(page, nullptr) << listed.out;
    EXPECT_EQ(page->at("source"), json::value(source));
    EXPECT_EQ(page->at("outcome"), "success");
    EXPECT_EQ(page->at("unchanged"), 60);
    EXPECT_TRUE(page->at("cursor").is_string());
    EXPECT_TRUE(page->at("unfinished_run").is_null());
    EXPECT_EQ(page->at("tables"), run.at("tables")) << listed.out;
    // A resource never run has no outcome and no tables yet.
    const auto* offset = Find(doc.at("resources"), "resource", "offset");
    ASSERT_NE(offset, nullptr) << listed.out;
    EXPECT_TRUE(offset->at("outcome").is_null());
    EXPECT_TRUE(offset->at("tables").as_array().empty());
    EXPECT_TRUE(doc.at("latches").as_array().empty());
}

TEST(Reports, JsonGoesOnlyWithOnceAndStatus) {
    auto refused = RunChatsyncdApart({"-c", "/nonexistent.yaml", "reset", "--json"});
    EXPECT_EQ(refused.exit_code, 64) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("--json goes with 'once' and 'status'"), std::string::npos)
        << refused.err;
}

}  // namespace
}  // namespace chatsync::test
