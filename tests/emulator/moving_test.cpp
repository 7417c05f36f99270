// The moving listing changes the generic dataset before listing requests, and offset tokens
// shift with it where keyset tokens do not.

#include "emulator/generic/moving.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/text.hpp"
#include "emulator/generic/pagination.hpp"
#include "emulator_fixture.hpp"

namespace chatsync::emulator::test {
namespace {

boost::json::value SetMoving(TestClient& client, const std::string& json) {
    const auto result = client.Post("/_admin/moving", json);
    EXPECT_EQ(result.status, 200u) << result.body;
    return result.Json();
}

boost::json::value Moving(TestClient& client) {
    return client.Get("/_admin/moving").Json();
}

// With 30 records in (updated_at, id) order, seed 1 (the default) picks record 9 first: a
// record on the first page of 10, which a client paging through has already read.
constexpr std::int64_t kPickedBySeed1 = 9;

std::vector<std::int64_t> Without(std::vector<std::int64_t> ids, std::int64_t id) {
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    return ids;
}

TEST(EmulatorMoving, DeleteShiftsAnOffsetListingBack) {
    RunningEmulator emulator(SmallOptions(30));
    TestClient client = emulator.Client();
    EXPECT_EQ(
        Ids(client.Get("/generic/offset?offset=0&limit=10").Json().at("items")), Range(1, 10)
    );

    SetMoving(client, R"({"update":0,"delete":1,"stop_after":1})");
    const auto second = client.Get("/generic/offset?offset=10&limit=10").Json();
    const auto state = Moving(client);
    ASSERT_EQ(Ids(state.at("deleted_ids")), std::vector<std::int64_t>{kPickedBySeed1});
    // Record 11 was first on the second page; the step before this request moved it back to
    // the first page, so this page starts one record later and 11 is never served.
    EXPECT_EQ(Ids(second.at("items")), Range(12, 21));
    EXPECT_EQ(second.at("total").as_int64(), 29);
    const auto first_again =
        Ids(client.Get("/generic/offset?offset=0&limit=10").Json().at("items"));
    EXPECT_EQ(first_again, Without(Range(1, 11), kPickedBySeed1));
    EXPECT_EQ(first_again.back(), 11);
    EXPECT_EQ(client.Get("/generic/records/9").status, 404u);
}

TEST(EmulatorMoving, UpdateMovesARecordToTheEnd) {
    RunningEmulator emulator(SmallOptions(30));
    TestClient client = emulator.Client();
    SetMoving(client, R"({"update":1,"stop_after":1})");
    const auto data = client.Get("/generic/page?per_page=100").Json().at("data").as_array();
    ASSERT_EQ(data.size(), 30u);
    const auto& moved = data.back();
    EXPECT_EQ(moved.at("id").as_int64(), kPickedBySeed1);
    EXPECT_NE(moved.at("name").as_string().find("(rev 1)"), std::string::npos);
    const auto moved_at = ParseIso8601(moved.at("updated_at").as_string()).value();
    for (std::size_t i = 0; i + 1 < data.size(); ++i) {
        EXPECT_LT(ParseIso8601(data[i].at("updated_at").as_string()).value(), moved_at);
    }
    EXPECT_EQ(Ids(data), [] {
        auto ids = Without(Range(1, 30), kPickedBySeed1);
        ids.push_back(kPickedBySeed1);
        return ids;
    }());
    const auto state = Moving(client);
    EXPECT_EQ(state.at("updated").as_int64(), 1);
    EXPECT_EQ(state.at("deleted").as_int64(), 0);
    EXPECT_EQ(state.at("inserted").as_int64(), 0);
}

/// How a test reads a first page of 10 and follows its continuation on one token route.
struct TokenRoute {
    std::string_view name;
    std::string first;
    std::function<boost::json::value(const HttpResult&)> items;
    std::function<std::string(const HttpResult&)> next;
};

std::vector<TokenRoute> TokenRoutes() {
    return {
        {"next",
         "/generic/next?page_size=10",
         [](const HttpResult& r) { return r.Json().at("results"); },
         [](const HttpResult& r) {
             return TargetOf(r.Json().at("next").as_string());
         }},
        {"cursor",
         "/generic/cursor?limit=10",
         [](const HttpResult& r) { return r.Json().at("records"); },
         [](const HttpResult& r) {
             return "/generic/cursor?limit=10&cursor=" +
                    UrlEncode(r.Json().at("meta").at("next_cursor").as_string());
         }},
        {"cursor-header",
         "/generic/cursor-header?limit=10",
         [](const HttpResult& r) { return r.Json(); },
         [](const HttpResult& r) {
             return "/generic/cursor-header?limit=10&cursor=" +
                    UrlEncode(r.Header("X-Next-Cursor").value_or(""));
         }},
    };
}

TEST(EmulatorMoving, KeysetTokensKeepTheirPlaceOffsetTokensShift) {
    for (const GenericTokens tokens : {GenericTokens::kKeyset, GenericTokens::kOffset}) {
        for (const TokenRoute& route : TokenRoutes()) {
            SCOPED_TRACE(std::string(route.name) + " " + std::string(GenericTokensName(tokens)));
            Options options = SmallOptions(30);
            options.generic_tokens = tokens;
            RunningEmulator emulator(options);
            TestClient client = emulator.Client();
            const auto first = client.Get(route.first);
            ASSERT_EQ(first.status, 200u) << first.body;
            EXPECT_EQ(Ids(route.items(first)), Range(1, 10));

            SetMoving(client, R"({"update":0,"delete":1,"stop_after":1})");
            const auto second = client.Get(route.next(first));
            ASSERT_EQ(second.status, 200u) << second.body;
            ASSERT_EQ(
                Ids(Moving(client).at("deleted_ids")), std::vector<std::int64_t>{kPickedBySeed1}
            );
            if (tokens == GenericTokens::kKeyset) {
                // The token names record 10, which is still there: record 11 follows it.
                EXPECT_EQ(Ids(route.items(second)), Range(11, 20));
            } else {
                // The token names position 10, where record 12 now is: exactly one record,
                // 11, is skipped.
                EXPECT_EQ(Ids(route.items(second)), Range(12, 21));
            }
        }
    }
}

TEST(EmulatorMoving, OffsetTokensAreOpaquePositionsAndWalkTheListingOnce) {
    Options options = SmallOptions(100);
    options.generic_tokens = GenericTokens::kOffset;
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const auto first = client.Get("/generic/cursor?limit=10").Json();
    const std::string token(first.at("meta").at("next_cursor").as_string());
    EXPECT_EQ(token, EncodeOffsetCursor(10));
    EXPECT_EQ(Base64Decode(token).value_or(""), "o:10");
    EXPECT_EQ(DecodeOffsetCursor(token).value_or(0), 10u);
    EXPECT_FALSE(DecodeCursor(token).has_value());

    for (const TokenRoute& route : TokenRoutes()) {
        std::string target = route.first;
        std::vector<std::int64_t> ids;
        for (int i = 0; i < 20 && !target.empty(); ++i) {
            const auto result = client.Get(target);
            ASSERT_EQ(result.status, 200u) << result.body;
            const auto page = Ids(route.items(result));
            ids.insert(ids.end(), page.begin(), page.end());
            target = ids.size() < 100 ? route.next(result) : std::string();
        }
        EXPECT_EQ(ids, Range(1, 100)) << route.name;
    }

    // Garbage in either kind is refused; a keyset token is still read in offset mode.
    for (const std::string& bad :
         {Base64Encode("o:x"), Base64Encode("o:-1"), Base64Encode("o:"), std::string("bzo")}) {
        EXPECT_EQ(client.Get("/generic/cursor?cursor=" + UrlEncode(bad)).status, 400u) << bad;
    }
    const std::string keyset = EncodeCursor({DatasetEpoch() + std::chrono::seconds(95), 95});
    EXPECT_EQ(
        Ids(client.Get("/generic/cursor?cursor=" + UrlEncode(keyset)).Json().at("records")),
        Range(96, 100)
    );
    // Past the end is an empty page, as for /generic/offset.
    const auto past = client.Get("/generic/cursor?cursor=" + EncodeOffsetCursor(500)).Json();
    EXPECT_TRUE(past.at("records").as_array().empty());
    EXPECT_FALSE(past.at("meta").at("has_more").as_bool());
}

TEST(EmulatorMoving, TokensSwitchAtRunTimeWithoutMoving) {
    RunningEmulator emulator(SmallOptions(30));
    TestClient client = emulator.Client();
    EXPECT_EQ(Moving(client).at("tokens").as_string(), "keyset");
    const auto state = SetMoving(client, R"({"tokens":"offset"})");
    EXPECT_EQ(state.at("tokens").as_string(), "offset");
    EXPECT_FALSE(state.at("enabled").as_bool());
    const auto page = client.Get("/generic/cursor?limit=10").Json();
    EXPECT_EQ(page.at("meta").at("next_cursor").as_string(), EncodeOffsetCursor(10));
    EXPECT_EQ(Moving(client).at("steps").as_int64(), 0);
    // With other fields, tokens switch and the setting is put in force.
    const auto both = SetMoving(client, R"({"tokens":"keyset","update":2})");
    EXPECT_EQ(both.at("tokens").as_string(), "keyset");
    EXPECT_TRUE(both.at("enabled").as_bool());
    EXPECT_EQ(both.at("update").as_int64(), 2);
}

TEST(EmulatorMoving, EveryStopAfterAndCounters) {
    RunningEmulator emulator(SmallOptions(50));
    TestClient client = emulator.Client();
    const auto state =
        SetMoving(client, R"({"every":3,"update":1,"insert":2,"delete":1,"stop_after":2})");
    EXPECT_TRUE(state.at("enabled").as_bool());
    EXPECT_EQ(state.at("every").as_int64(), 3);
    EXPECT_EQ(state.at("stop_after").as_int64(), 2);
    for (std::int64_t request = 1; request <= 9; ++request) {
        // Neither single records nor admin routes are listing requests.
        client.Get("/generic/records/1");
        client.Get("/generic/records/2/comments");
        client.Get("/_admin/dataset");
        // A step adds 2 and removes 1, before the 3rd and the 6th request are answered.
        const std::int64_t steps = std::min<std::int64_t>(request / 3, 2);
        const auto page = client.Get("/generic/page?per_page=100").Json();
        EXPECT_EQ(page.at("total").as_int64(), 50 + steps) << "request " << request;
    }
    const auto after = Moving(client);
    EXPECT_EQ(after.at("requests").as_int64(), 9);
    EXPECT_EQ(after.at("steps").as_int64(), 2);
    EXPECT_EQ(after.at("setting_steps").as_int64(), 2);
    EXPECT_EQ(after.at("updated").as_int64(), 2);
    EXPECT_EQ(after.at("inserted").as_int64(), 4);
    EXPECT_EQ(after.at("deleted").as_int64(), 2);
    const auto deleted = Ids(after.at("deleted_ids"));
    ASSERT_EQ(deleted.size(), 2u);
    const auto listing = Ids(client.Get("/generic/page?per_page=100").Json().at("data"));
    const std::set<std::int64_t> listed(listing.begin(), listing.end());
    EXPECT_EQ(listed.size(), listing.size());
    for (const auto id : deleted) {
        EXPECT_FALSE(listed.contains(id)) << id;
        EXPECT_EQ(client.Get("/generic/records/" + std::to_string(id)).status, 404u);
    }
    for (const auto id : Range(51, 54)) {
        EXPECT_TRUE(listed.contains(id)) << id;
    }

    // Off: the listing stays put and the counters stay readable.
    const auto off = client.Send("DELETE", "/_admin/moving").Json();
    EXPECT_FALSE(off.at("enabled").as_bool());
    EXPECT_EQ(off.at("steps").as_int64(), 2);
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 52);

    // A new setting starts its own count and steps; the totals go on.
    SetMoving(client, R"({"delete":1,"update":0,"seed":7})");
    EXPECT_EQ(client.Get("/generic/link").status, 200u);
    EXPECT_EQ(client.Post("/generic/search", "{}").status, 200u);
    const auto again = Moving(client);
    EXPECT_EQ(again.at("requests").as_int64(), 2);
    EXPECT_EQ(again.at("setting_steps").as_int64(), 2);
    EXPECT_EQ(again.at("steps").as_int64(), 4);
    EXPECT_EQ(again.at("deleted").as_int64(), 4);
    EXPECT_EQ(Ids(again.at("deleted_ids")).size(), 4u);
    // This request is a listing request too: 52 - 3.
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 49);

    // {"enabled": false} turns it off like DELETE.
    EXPECT_FALSE(SetMoving(client, R"({"enabled":false})").at("enabled").as_bool());
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 49);
    EXPECT_EQ(Moving(client).at("steps").as_int64(), 5);
}

TEST(EmulatorMoving, SameSeedSamePicks) {
    const auto deleted = [](const std::string& setting) {
        RunningEmulator emulator(SmallOptions(200));
        TestClient client = emulator.Client();
        SetMoving(client, setting);
        for (int i = 0; i < 5; ++i) {
            client.Get("/generic/page");
        }
        return Ids(Moving(client).at("deleted_ids"));
    };
    const auto a = deleted(R"({"update":3,"delete":4,"seed":42})");
    EXPECT_EQ(a.size(), 20u);
    EXPECT_EQ(a, deleted(R"({"update":3,"delete":4,"seed":42})"));
    EXPECT_NE(a, deleted(R"({"update":3,"delete":4,"seed":43})"));
}

TEST(EmulatorMoving, RefusedRequestsAreNotCounted) {
    Options options = SmallOptions(30);
    options.auth = AuthMode::kBearer;
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    SetMoving(client, R"({"delete":1})");
    EXPECT_EQ(client.Get("/generic/page").status, 401u);
    EXPECT_EQ(Moving(client).at("requests").as_int64(), 0);
    const Headers bearer{{"Authorization", "Bearer emulator-token"}};
    EXPECT_EQ(client.Get("/generic/page", bearer).Json().at("total").as_int64(), 29);
}

TEST(EmulatorMoving, StartupSetting) {
    Options options = SmallOptions(30);
    options.moving = R"({"update":0,"delete":1,"stop_after":1,"tokens":"offset"})";
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const auto state = Moving(client);
    EXPECT_TRUE(state.at("enabled").as_bool());
    EXPECT_EQ(state.at("tokens").as_string(), "offset");
    EXPECT_EQ(state.at("delete").as_int64(), 1);
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 29);
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 29);

    const auto parsed = ParseCommandLine(
        {"--moving", R"({"every":2})", "--generic-tokens", "offset", "--records", "5"}
    );
    EXPECT_EQ(parsed.options.moving, R"({"every":2})");
    EXPECT_EQ(parsed.options.generic_tokens, GenericTokens::kOffset);
    EXPECT_EQ(ParseCommandLine({}).options.generic_tokens, GenericTokens::kKeyset);
}

TEST(EmulatorMoving, RefusesBadSettingsNamingTheField) {
    RunningEmulator emulator(SmallOptions(30));
    TestClient client = emulator.Client();
    const std::vector<std::pair<std::string, std::string>> bad{
        {R"({"evrey":2})", "evrey"},
        {R"({"every":0})", "every"},
        {R"({"update":-1})", "update"},
        {R"({"insert":"2"})", "insert"},
        {R"({"delete":1.5})", "delete"},
        {R"({"seed":"x"})", "seed"},
        {R"({"stop_after":-1})", "stop_after"},
        {R"({"tokens":"page"})", "tokens"},
        {R"({"enabled":"yes"})", "enabled"},
    };
    for (const auto& [body, field] : bad) {
        const auto result = client.Post("/_admin/moving", body);
        EXPECT_EQ(result.status, 400u) << body;
        EXPECT_NE(result.body.find(field), std::string::npos) << result.body;
    }
    EXPECT_EQ(client.Post("/_admin/moving", "[1]").status, 400u);
    EXPECT_EQ(client.Post("/_admin/moving", "not json").status, 400u);
    // Nothing was put in force.
    EXPECT_FALSE(Moving(client).at("enabled").as_bool());
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 30);

    Options options = SmallOptions(30);
    options.moving = R"({"updat":1})";
    try {
        RunningEmulator broken(options);
        ADD_FAILURE() << "a bad --moving was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("--moving"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("updat"), std::string::npos) << e.what();
    }
    options.moving = "{";
    EXPECT_THROW(RunningEmulator{options}, std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--generic-tokens", "page"}), std::invalid_argument);
}

}  // namespace
}  // namespace chatsync::emulator::test
