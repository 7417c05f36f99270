// Every pagination route walks the dataset exactly once, honours updated_since, and ends with
// an empty page rather than an error.

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator_fixture.hpp"

namespace chatsync::emulator::test {
namespace {

/// The URL of the entry with rel="<rel>" in a Link header, or "".
std::string LinkRel(const std::string& header, std::string_view rel) {
    std::size_t pos = 0;
    while ((pos = header.find('<', pos)) != std::string::npos) {
        const auto close = header.find('>', pos);
        const std::string url = header.substr(pos + 1, close - pos - 1);
        const auto end = header.find(", <", close);
        const std::string params = header.substr(
            close + 1, end == std::string::npos ? std::string::npos : end - close - 1
        );
        if (params.find("rel=\"" + std::string(rel) + "\"") != std::string::npos) {
            return url;
        }
        pos = close;
    }
    return {};
}

std::string Since(const std::string& iso) {
    return "updated_since=" + UrlEncode(iso);
}

/// Walks every GET route with the given filter query ("" or "updated_since=...").
std::vector<std::pair<std::string, std::vector<std::int64_t>>>
WalkAllRoutes(TestClient& client, const std::string& since, int size) {
    const std::string filter = since.empty() ? "" : Since(since);
    const std::string f = filter.empty() ? "" : "&" + filter;
    const std::string s = std::to_string(size);
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> walks;

    int page = 1;
    walks.emplace_back(
        "page",
        WalkPages(
            client,
            "/generic/page?page=1&per_page=" + s + f,
            [](const HttpResult& r) { return r.Json().at("data"); },
            [&](const HttpResult& r) {
                const auto json = r.Json();
                EXPECT_EQ(json.at("page").as_int64(), page);
                if (json.at("data").as_array().empty()) {
                    EXPECT_GE(page, json.at("total_pages").as_int64());
                    return std::string();
                }
                return "/generic/page?page=" + std::to_string(++page) + "&per_page=" + s + f;
            }
        )
    );

    std::int64_t offset = 0;
    walks.emplace_back(
        "offset",
        WalkPages(
            client,
            "/generic/offset?offset=0&limit=" + s + f,
            [](const HttpResult& r) { return r.Json().at("items"); },
            [&](const HttpResult& r) {
                const auto count =
                    static_cast<std::int64_t>(r.Json().at("items").as_array().size());
                if (count == 0) {
                    return std::string();
                }
                offset += count;
                return "/generic/offset?offset=" + std::to_string(offset) + "&limit=" + s + f;
            }
        )
    );

    walks.emplace_back(
        "next",
        WalkPages(
            client,
            "/generic/next?page_size=" + s + f,
            [](const HttpResult& r) { return r.Json().at("results"); },
            [&](const HttpResult& r) {
                const auto json = r.Json();
                const auto& next = json.at("next");
                if (next.is_null()) {
                    return std::string();
                }
                const std::string url(next.as_string());
                EXPECT_TRUE(url.starts_with("http://127.0.0.1:")) << url;
                if (!filter.empty()) {
                    EXPECT_NE(url.find(filter), std::string::npos) << url;
                }
                return TargetOf(url);
            }
        )
    );

    walks.emplace_back(
        "cursor",
        WalkPages(
            client,
            "/generic/cursor?limit=" + s + f,
            [](const HttpResult& r) { return r.Json().at("records"); },
            [&](const HttpResult& r) {
                const auto json = r.Json();
                const auto& meta = json.at("meta");
                EXPECT_EQ(meta.at("has_more").as_bool(), !meta.at("next_cursor").is_null());
                if (meta.at("next_cursor").is_null()) {
                    return std::string();
                }
                return "/generic/cursor?limit=" + s + f +
                       "&cursor=" + UrlEncode(std::string(meta.at("next_cursor").as_string()));
            }
        )
    );

    walks.emplace_back(
        "cursor-header",
        WalkPages(
            client,
            "/generic/cursor-header?limit=" + s + f,
            [](const HttpResult& r) { return r.Json(); },
            [&](const HttpResult& r) {
                const auto cursor = r.Header("X-Next-Cursor");
                return cursor ? "/generic/cursor-header?limit=" + s + f +
                                    "&cursor=" + UrlEncode(*cursor)
                              : std::string();
            }
        )
    );

    walks.emplace_back(
        "link",
        WalkPages(
            client,
            "/generic/link?page=1&per_page=" + s + f,
            [](const HttpResult& r) { return r.Json(); },
            [&](const HttpResult& r) {
                const auto link = r.Header("Link");
                EXPECT_TRUE(link.has_value());
                EXPECT_NE(LinkRel(link.value_or(""), "last"), "");
                const std::string next = LinkRel(link.value_or(""), "next");
                return next.empty() ? std::string() : TargetOf(next);
            }
        )
    );

    std::vector<std::int64_t> searched;
    for (int n = 1; n < 10000; ++n) {
        boost::json::object body{{"page", n}, {"per_page", size}};
        if (!since.empty()) {
            body["updated_since"] = since;
        }
        const auto result = client.Post("/generic/search", boost::json::serialize(body));
        EXPECT_EQ(result.status, 200u) << result.body;
        const auto ids = Ids(result.Json().at("data"));
        if (ids.empty()) {
            break;
        }
        searched.insert(searched.end(), ids.begin(), ids.end());
    }
    walks.emplace_back("search", searched);
    return walks;
}

TEST(EmulatorPagination, EveryRouteWalksTheDatasetOnce) {
    RunningEmulator emulator;  // default 1000 records
    TestClient client = emulator.Client();
    for (const auto& [route, ids] : WalkAllRoutes(client, "", 37)) {
        EXPECT_EQ(ids, Range(1, 1000)) << route;
    }
}

TEST(EmulatorPagination, UpdatedSinceFiltersEveryRoute) {
    RunningEmulator emulator(SmallOptions(300));
    TestClient client = emulator.Client();
    // Record id starts at 2024-01-01T00:00:00Z + id seconds; 00:03:20 is record 200. The
    // "+01:00" form checks that the offset is honoured (and needs its '+' percent-encoded).
    for (const std::string since : {"2024-01-01T00:03:20.000Z", "2024-01-01T01:03:20+01:00"}) {
        for (const auto& [route, ids] : WalkAllRoutes(client, since, 13)) {
            EXPECT_EQ(ids, Range(200, 300)) << route << " since " << since;
        }
    }
}

TEST(EmulatorPagination, RejectsUnparsableUpdatedSince) {
    RunningEmulator emulator(SmallOptions());
    TestClient client = emulator.Client();
    // An unencoded '+' arrives as a space.
    EXPECT_EQ(client.Get("/generic/page?updated_since=2024-01-01T00:00:00+01:00").status, 400u);
    EXPECT_EQ(client.Get("/generic/page?updated_since=yesterday").status, 400u);
    EXPECT_EQ(client.Get("/generic/cursor?cursor=not-a-cursor").status, 400u);
    EXPECT_EQ(client.Get("/generic/page?page=0").status, 400u);
    EXPECT_EQ(client.Get("/generic/page?per_page=abc").status, 400u);
}

TEST(EmulatorPagination, PastTheEndIsAnEmptyList) {
    RunningEmulator emulator(SmallOptions(10));
    TestClient client = emulator.Client();
    const auto page = client.Get("/generic/page?page=99&per_page=5").Json();
    EXPECT_TRUE(page.at("data").as_array().empty());
    EXPECT_EQ(page.at("total").as_int64(), 10);
    EXPECT_EQ(page.at("total_pages").as_int64(), 2);
    EXPECT_TRUE(client.Get("/generic/offset?offset=50").Json().at("items").as_array().empty());
    EXPECT_TRUE(client.Get("/generic/link?page=9").Json().as_array().empty());
    EXPECT_TRUE(client.Get("/generic/page?updated_since=2030-01-01T00:00:00Z")
                    .Json()
                    .at("data")
                    .as_array()
                    .empty());
    const auto cursor = client.Get("/generic/cursor?updated_since=2030-01-01T00:00:00Z").Json();
    EXPECT_TRUE(cursor.at("records").as_array().empty());
    EXPECT_TRUE(cursor.at("meta").at("next_cursor").is_null());
    EXPECT_FALSE(cursor.at("meta").at("has_more").as_bool());
}

TEST(EmulatorPagination, PageSizeIsCapped) {
    Options options = SmallOptions(120);
    options.max_page_size = 50;
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const auto page = client.Get("/generic/page?per_page=500").Json();
    EXPECT_EQ(page.at("per_page").as_int64(), 50);
    EXPECT_EQ(page.at("data").as_array().size(), 50u);
    EXPECT_EQ(page.at("total_pages").as_int64(), 3);
    EXPECT_EQ(client.Get("/generic/offset?limit=500").Json().at("items").as_array().size(), 50u);
    EXPECT_EQ(client.Get("/generic/cursor-header?limit=500").Json().as_array().size(), 50u);
}

TEST(EmulatorPagination, LinkHeaderHasNextOnlyBeforeTheLastPage) {
    RunningEmulator emulator(SmallOptions(10));
    TestClient client = emulator.Client();
    const auto first = client.Get("/generic/link?page=1&per_page=4");
    const std::string link = first.Header("Link").value_or("");
    EXPECT_EQ(TargetOf(LinkRel(link, "next")), "/generic/link?page=2&per_page=4");
    EXPECT_EQ(TargetOf(LinkRel(link, "last")), "/generic/link?page=3&per_page=4");
    EXPECT_EQ(first.Header("X-Total-Count"), "10");
    const auto last = client.Get("/generic/link?page=3&per_page=4");
    EXPECT_EQ(LinkRel(last.Header("Link").value_or(""), "next"), "");
    EXPECT_NE(LinkRel(last.Header("Link").value_or(""), "last"), "");
    EXPECT_EQ(Ids(last.Json()), Range(9, 10));
}

TEST(EmulatorPagination, SingleRecordAndComments) {
    RunningEmulator emulator(SmallOptions(20));
    TestClient client = emulator.Client();
    const auto record = client.Get("/generic/records/7");
    ASSERT_EQ(record.status, 200u);
    const auto json = record.Json();
    EXPECT_EQ(json.at("id").as_int64(), 7);
    EXPECT_EQ(json.at("updated_at").as_string(), "2024-01-01T00:00:07.000Z");
    EXPECT_TRUE(json.at("score").is_double());
    EXPECT_TRUE(json.at("profile").at("address").at("geo").at("lat").is_double());
    EXPECT_TRUE(json.at("profile").at("address").at("zip").is_string());
    EXPECT_EQ(client.Get("/generic/records/999").status, 404u);
    EXPECT_EQ(client.Get("/generic/records/999").body, R"({"error":"not found"})");
    EXPECT_EQ(client.Get("/generic/records/abc").status, 404u);
    EXPECT_EQ(client.Get("/generic/nothing-here").status, 404u);
    EXPECT_EQ(client.Post("/generic/page", "{}").status, 405u);

    // Record 5 has 1 + 5 % 3 = 3 comments.
    const auto first = client.Get("/generic/records/5/comments?per_page=2").Json();
    ASSERT_EQ(first.at("data").as_array().size(), 2u);
    EXPECT_EQ(first.at("data").at(0).at("id").as_string(), "5-1");
    EXPECT_EQ(first.at("data").at(0).at("record_id").as_int64(), 5);
    EXPECT_TRUE(first.at("has_more").as_bool());
    const auto second = client.Get("/generic/records/5/comments?per_page=2&page=2").Json();
    ASSERT_EQ(second.at("data").as_array().size(), 1u);
    EXPECT_EQ(second.at("data").at(0).at("id").as_string(), "5-3");
    EXPECT_FALSE(second.at("has_more").as_bool());
    EXPECT_EQ(client.Get("/generic/records/3/comments").Json().at("data").as_array().size(), 1u);
    EXPECT_EQ(client.Get("/generic/records/999/comments").status, 404u);
}

TEST(EmulatorPagination, SameSeedSameDataset) {
    Options seven = SmallOptions(200);
    seven.seed = 7;
    Options eight = seven;
    eight.seed = 8;
    RunningEmulator a(seven);
    RunningEmulator b(seven);
    RunningEmulator c(eight);
    const std::string dataset_a = a.Client().Get("/_admin/dataset").body;
    EXPECT_EQ(dataset_a, b.Client().Get("/_admin/dataset").body);
    EXPECT_NE(dataset_a, c.Client().Get("/_admin/dataset").body);
    // Unicode and the three shapes of "note" all occur.
    EXPECT_NE(dataset_a.find("ë"), std::string::npos);
    EXPECT_NE(dataset_a.find("\"note\":null"), std::string::npos);
    EXPECT_NE(dataset_a.find("\"note\":\""), std::string::npos);
    const auto records = boost::json::parse(dataset_a).as_array();
    EXPECT_TRUE(std::any_of(records.begin(), records.end(), [](const auto& r) {
        return !r.as_object().contains("note");
    }));
    EXPECT_TRUE(std::any_of(records.begin(), records.end(), [](const auto& r) {
        return r.at("profile").at("city").is_null();
    }));
}

TEST(EmulatorPagination, MutateMakesExactlyKRecordsNewer) {
    RunningEmulator emulator(SmallOptions(200));
    TestClient client = emulator.Client();
    // The newest record before any change is 200, at 00:03:20.
    const std::string after_initial = Since("2024-01-01T00:03:20.001Z");

    const auto changed = Ids(client.Post("/_admin/mutate", R"({"count":7})").Json().at("changed"));
    ASSERT_EQ(changed.size(), 7u);
    EXPECT_TRUE(std::is_sorted(changed.begin(), changed.end()));
    EXPECT_LT(changed.front(), 30);  // spread over the id range
    EXPECT_GT(changed.back(), 170);
    const auto newer = client.Get("/generic/page?per_page=1000&" + after_initial).Json();
    auto newer_ids = Ids(newer.at("data"));
    std::sort(newer_ids.begin(), newer_ids.end());
    EXPECT_EQ(newer_ids, changed);
    const std::string batch_time(newer.at("data").at(0).at("updated_at").as_string());
    EXPECT_NE(newer.at("data").at(0).at("name").as_string().find("(rev 1)"), std::string::npos);

    // A second mutation is strictly later than the first.
    const auto again =
        Ids(client.Post("/_admin/mutate", R"({"fraction":0.1})").Json().at("changed"));
    EXPECT_EQ(again.size(), 20u);
    const auto since_first = ParseIso8601(batch_time).value() + std::chrono::milliseconds(1);
    auto newest = Ids(client.Get("/generic/cursor?limit=1000&" + Since(FormatIso8601(since_first)))
                          .Json()
                          .at("records"));
    std::sort(newest.begin(), newest.end());
    EXPECT_EQ(newest, again);

    EXPECT_EQ(
        Ids(client.Post("/_admin/mutate", R"({"ids":[5,99999]})").Json().at("changed")),
        std::vector<std::int64_t>{5}
    );
    // Still every record exactly once, the mutated ones last.
    const auto all = Ids(client.Get("/generic/page?per_page=1000").Json().at("data"));
    EXPECT_EQ(all.size(), 200u);
    EXPECT_EQ(all.back(), 5);
    EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), 200u);
}

TEST(EmulatorPagination, AddAndDelete) {
    RunningEmulator emulator(SmallOptions(10));
    TestClient client = emulator.Client();
    EXPECT_EQ(Ids(client.Post("/_admin/add", R"({"count":3})").Json().at("added")), Range(11, 13));
    EXPECT_EQ(
        Ids(client.Post("/_admin/delete", R"({"ids":[1,12,500]})").Json().at("deleted")),
        (std::vector<std::int64_t>{1, 12})
    );
    EXPECT_EQ(client.Get("/generic/records/1").status, 404u);
    EXPECT_EQ(client.Get("/generic/records/13").status, 200u);
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 11);
    EXPECT_EQ(client.Get("/_admin/stats").Json().at("records").as_int64(), 11);
    // New ids continue after the largest ever used, even when it was deleted.
    client.Post("/_admin/delete", R"({"ids":[13]})");
    EXPECT_EQ(Ids(client.Post("/_admin/add", R"({"count":1})").Json().at("added")), Range(14, 14));
}

TEST(EmulatorPagination, ServesConcurrentClientsWithoutFailures) {
    RunningEmulator emulator;
    constexpr int kThreads = 4;
    constexpr int kRequestsEach = 1000;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            TestClient client = emulator.Client();
            for (int i = 0; i < kRequestsEach; ++i) {
                const auto page = 1 + (i + t) % 50;
                if (client.Get("/generic/page?per_page=20&page=" + std::to_string(page)).status !=
                    200) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = kThreads * kRequestsEach / seconds;
    EXPECT_EQ(failures.load(), 0);
    // Reported, not asserted: timing belongs in benchmarks, and the client threads share the
    // machine's cores with the server.
    RecordProperty("requests_per_second", static_cast<int>(rate));
}

}  // namespace
}  // namespace chatsync::emulator::test
