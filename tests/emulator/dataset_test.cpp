// Pure parts: dataset ordering and mutation times, cursor tokens, page windows, JSON numbers
// and command-line parsing.

#include "emulator/generic/dataset.hpp"

#include <set>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "emulator/frame/json_writer.hpp"
#include "emulator/frame/options.hpp"
#include "emulator/generic/pagination.hpp"

namespace chatsync::emulator::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(EmulatorDataset, StartsOrderedOneSecondApart) {
    Dataset dataset(Dataset::Options{.records = 5, .seed = 3});
    ASSERT_EQ(dataset.Size(), 5u);
    std::int64_t expected = 1;
    for (const Record* r : dataset.Ordered()) {
        EXPECT_EQ(r->id, expected);
        EXPECT_EQ(r->updated_at, DatasetEpoch() + seconds(expected));
        EXPECT_NO_THROW(boost::json::parse(r->json));
        ++expected;
    }
    EXPECT_EQ(dataset.Since(DatasetEpoch() + seconds(4)).size(), 2u);
    EXPECT_EQ(dataset.Since(DatasetEpoch() + seconds(4) + milliseconds(1)).size(), 1u);
}

TEST(EmulatorDataset, RecordDoesNotDependOnTheRecordCount) {
    Dataset small(Dataset::Options{.records = 3, .seed = 9});
    Dataset large(Dataset::Options{.records = 300, .seed = 9});
    EXPECT_EQ(small.Find(3)->json, large.Find(3)->json);
}

/// Leaf values of a JSON document (arrays count as one, like a column).
std::size_t Leaves(const boost::json::value& v) {
    if (!v.is_object()) {
        return 1;
    }
    std::size_t n = 0;
    for (const auto& kv : v.get_object()) {
        n += Leaves(kv.value());
    }
    return n;
}

TEST(EmulatorDataset, WideRecordsAddNestedFieldsAndSurviveMutation) {
    Dataset narrow(Dataset::Options{.records = 50, .seed = 4});
    Dataset wide(Dataset::Options{.records = 50, .seed = 4, .wide = true});
    for (std::int64_t id = 1; id <= 50; ++id) {
        const auto n = boost::json::parse(narrow.Find(id)->json);
        const auto w = boost::json::parse(wide.Find(id)->json);
        // The narrow fields are the same; 19 more follow them.
        for (const auto& kv : n.as_object()) {
            EXPECT_EQ(w.as_object().at(kv.key()), kv.value()) << id << " " << kv.key();
        }
        EXPECT_EQ(Leaves(w), Leaves(n) + 19) << wide.Find(id)->json;
        EXPECT_TRUE(w.at("company").at("billing").is_object());
        EXPECT_TRUE(w.at("roles").is_array());
    }
    wide.Mutate({7}, DatasetEpoch());
    const auto mutated = boost::json::parse(wide.Find(7)->json);
    EXPECT_NE(mutated.at("name").as_string().find("(rev 1)"), std::string::npos);
    EXPECT_TRUE(mutated.as_object().contains("bio"));
}

TEST(EmulatorDataset, MutationTimesAreStrictlyLaterThanAnyBefore) {
    Dataset dataset(Dataset::Options{.records = 10, .seed = 1});
    // A clock behind the data still moves forward: last + 1 ms.
    const SysTime stale = DatasetEpoch();
    EXPECT_EQ(dataset.Mutate({2, 4}, stale), (std::vector<std::int64_t>{2, 4}));
    EXPECT_EQ(dataset.Find(2)->updated_at, DatasetEpoch() + seconds(10) + milliseconds(1));
    EXPECT_EQ(dataset.Find(4)->updated_at, dataset.Find(2)->updated_at);
    dataset.Mutate({3}, stale);
    EXPECT_EQ(dataset.Find(3)->updated_at, DatasetEpoch() + seconds(10) + milliseconds(2));
    // A clock ahead wins, truncated to whole milliseconds.
    const SysTime later = DatasetEpoch() + std::chrono::hours(1) + std::chrono::microseconds(1500);
    dataset.Mutate({1}, later);
    EXPECT_EQ(
        dataset.Find(1)->updated_at, DatasetEpoch() + std::chrono::hours(1) + milliseconds(1)
    );
    const auto ordered = dataset.Ordered();
    EXPECT_EQ(ordered.back()->id, 1);
    EXPECT_EQ(ordered[ordered.size() - 2]->id, 3);
    // Deleting the newest record does not let a later change reuse its time.
    dataset.Remove({1});
    dataset.Mutate({5}, stale);
    EXPECT_GT(
        dataset.Find(5)->updated_at, DatasetEpoch() + std::chrono::hours(1) + milliseconds(1)
    );
}

TEST(EmulatorDataset, PickSpreadIsDistinctAndSpread) {
    Dataset dataset(Dataset::Options{.records = 100, .seed = 1});
    for (int round = 0; round < 5; ++round) {
        const auto ids = dataset.PickSpread(10);
        ASSERT_EQ(ids.size(), 10u);
        EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 10u);
        EXPECT_LE(ids.front(), 10);
        EXPECT_GE(ids.back(), 91);
        dataset.Mutate(ids, SysTime{});
    }
    EXPECT_EQ(dataset.PickSpread(1000).size(), 100u);
}

TEST(EmulatorDataset, CommentsPerRecord) {
    Dataset dataset(Dataset::Options{.records = 6, .seed = 1});
    for (std::int64_t id = 1; id <= 6; ++id) {
        const auto comments = dataset.Comments(*dataset.Find(id));
        ASSERT_EQ(comments.size(), static_cast<std::size_t>(1 + id % 3));
        EXPECT_EQ(comments.back().id, std::to_string(id) + "-" + std::to_string(comments.size()));
        EXPECT_NO_THROW(boost::json::parse(comments.front().json));
    }
}

TEST(EmulatorCursor, RoundTripsAndToleratesFormDecoding) {
    const CursorKey key{DatasetEpoch() + milliseconds(1234), 987};
    const std::string token = EncodeCursor(key);
    EXPECT_EQ(DecodeCursor(token), key);
    std::string spaced = token;
    for (char& c : spaced) {
        if (c == '+') {
            c = ' ';
        }
    }
    EXPECT_EQ(DecodeCursor(spaced), key);
    EXPECT_FALSE(DecodeCursor("!!!").has_value());
    EXPECT_FALSE(DecodeCursor("aGVsbG8=").has_value());  // "hello"
}

TEST(EmulatorPageSlice, Windows) {
    EXPECT_EQ(PageSlice(10, 1, 4).begin, 0u);
    EXPECT_EQ(PageSlice(10, 3, 4).end, 10u);
    EXPECT_EQ(PageSlice(10, 3, 4).total_pages, 3);
    EXPECT_EQ(PageSlice(10, 4, 4).begin, 10u);
    EXPECT_EQ(PageSlice(0, 1, 4).total_pages, 0);
    EXPECT_EQ(PageSlice(10, INT64_MAX, 4).end, 10u);
    EXPECT_EQ(
        LinkHeader({{"http://a/1", "next"}, {"http://a/9", "last"}}),
        R"(<http://a/1>; rel="next", <http://a/9>; rel="last")"
    );
}

TEST(EmulatorJson, DoublesStayDoubles) {
    std::string out;
    AppendJsonDouble(out, 12.0);
    EXPECT_EQ(out, "12.0");
    out.clear();
    AppendJsonDouble(out, 12.5);
    EXPECT_EQ(out, "12.5");
    out.clear();
    AppendJsonString(out, "a\"b\\c\n\x01Zoë");
    EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001Zoë\"");
}

TEST(EmulatorOptions, ParsesTheDocumentedFlags) {
    const auto parsed = ParseCommandLine(
        {"--listen",
         "127.0.0.1:8085",
         "--port-file=/tmp/p",
         "--records",
         "5",
         "--seed",
         "9",
         "--wide-records",
         "--auth",
         "login",
         "--token",
         "t",
         "--username",
         "u",
         "--password",
         "p",
         "--token-ttl",
         "90s",
         "--max-page-size",
         "10",
         "--log-requests",
         "--fault",
         R"({"kind":"500"})",
         "--fault",
         R"({"kind":"429"})"}
    );
    const Options& o = parsed.options;
    EXPECT_EQ(o.listen_host, "127.0.0.1");
    EXPECT_EQ(o.listen_port, 8085);
    EXPECT_EQ(o.port_file, "/tmp/p");
    EXPECT_EQ(o.records, 5);
    EXPECT_EQ(o.seed, 9u);
    EXPECT_TRUE(o.wide_records);
    EXPECT_FALSE(ParseCommandLine({}).options.wide_records);
    EXPECT_EQ(o.auth, AuthMode::kLogin);
    EXPECT_EQ(o.token_ttl, seconds(90));
    EXPECT_EQ(o.max_page_size, 10);
    EXPECT_TRUE(o.log_requests);
    EXPECT_EQ(o.faults.size(), 2u);
    EXPECT_EQ(ParseCommandLine({"--token-ttl", "3600"}).options.token_ttl, seconds(3600));
    EXPECT_EQ(ParseCommandLine({"--listen", "[::1]:0"}).options.listen_host, "::1");
    EXPECT_THROW(ParseCommandLine({"--auth", "magic"}), std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--records"}), std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--bogus"}), std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--records", "ten"}), std::invalid_argument);
}

}  // namespace
}  // namespace chatsync::emulator::test
