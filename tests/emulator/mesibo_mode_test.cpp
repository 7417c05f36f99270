// The Mesibo mode answers as the backend API in /work/shared/apis/mesibo.md: one POST per op,
// always HTTP 200, 100-row lists without an offset narrowed by `*` wildcards, one match as an
// object, ids as numbers and strings, the error table, appstats once per hour, and TOKENBREACH
// once a sixth client address uses the token.

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "emulator/mesibo/data.hpp"
#include "emulator_fixture.hpp"
#include "mesibo_test_support.hpp"

namespace chatsync::emulator::test {
namespace {

TEST(EmulatorMesibo, EnvelopeAuthAndCors) {
    RunningEmulator emulator(MbOptions(50, 10));
    TestClient client = emulator.Client();

    // The real capture: HTTP 200, result false, error/code/cause/properties, op echoed.
    auto answer = Op(client, R"({"op":"usersget","token":"wrong","id":42})");
    ExpectError(answer, "AUTHFAIL", 401);
    EXPECT_EQ(answer.at("cause").as_string(), "Invalid or expired app token");
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"token"});
    EXPECT_EQ(answer.at("op").as_string(), "usersget");
    EXPECT_EQ(answer.at("id").as_int64(), 42);
    EXPECT_FALSE(answer.contains("build"));
    const HttpResult raw = client.Post("/backend/", R"({"op":"usersget"})");
    EXPECT_EQ(raw.status, 200u);
    ExpectError(raw.Json().as_object(), "AUTHFAIL", 401);
    EXPECT_EQ(raw.Header("Access-Control-Allow-Origin").value_or(""), "*");
    EXPECT_EQ(raw.Header("Access-Control-Allow-Methods").value_or(""), "GET, POST, OPTIONS");
    EXPECT_EQ(raw.Header("Content-Type").value_or(""), "application/json");

    // Success: the op, the id and result:true close the object.
    answer = Op(client, R"({"op":"usersget","count":1,"id":"7"})");
    EXPECT_EQ(answer.at("result"), json::value(true));
    EXPECT_EQ(answer.at("op").as_string(), "usersget");
    EXPECT_EQ(answer.at("id").as_int64(), 7);
    EXPECT_FALSE(Op(client, R"({"op":"usersget","count":1})").contains("id"));

    // Not JSON, or JSON but not an object.
    for (const std::string_view body : {"{nope", "[1,2]", "\"x\""}) {
        const HttpResult r = client.Post("/backend/", std::string(body));
        EXPECT_EQ(r.status, 200u);
        ExpectError(r.Json().as_object(), "BADPAYLOAD", 400);
        EXPECT_EQ(r.Json().at("cause").as_string(), "The input request is not a valid JSON object");
    }
    answer = Op(client, R"({})");
    ExpectError(answer, "MISSINGPARAMS", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"op"});
    EXPECT_FALSE(answer.contains("op"));
    // An op not in the 2023 table, including names only older sources use.
    for (const std::string_view op : {"nosuchop", "useredit", "getmembers", "deluser"}) {
        answer = Op(client, R"({"op":")" + std::string(op) + R"("})");
        ExpectError(answer, "BADVALUE", 501);
        EXPECT_EQ(Properties(answer), std::vector<std::string>{"op"});
    }
    // The alias paths and the CORS preflight.
    EXPECT_EQ(
        client.Post("/backend", R"({"op":"usersget","token":"mesibo-app-token"})")
            .Json()
            .at("result"),
        json::value(true)
    );
    // JSON labelled as a form (what `curl -d` sends) is still read as JSON.
    const HttpResult labelled = client.Send(
        "POST",
        "/backend/",
        R"({"op":"usersget","token":"mesibo-app-token","count":2})",
        {{"Content-Type", "application/x-www-form-urlencoded"}}
    );
    EXPECT_EQ(labelled.Json().at("count").as_int64(), 2) << labelled.body;
    const HttpResult preflight = client.Send("OPTIONS", "/backend/");
    EXPECT_EQ(preflight.status, 200u);
    EXPECT_EQ(
        preflight.Header("Access-Control-Allow-Headers").value_or(""), "Content-Type, Authorization"
    );
    EXPECT_EQ(client.Send("PUT", "/backend/", "{}").status, 405u);
}

TEST(EmulatorMesibo, LegacyApiPhpTakesQueryAndFormParameters) {
    RunningEmulator emulator(MbOptions(300, 10));
    TestClient client = emulator.Client();
    auto r = client.Get("/api.php?op=usersget&token=mesibo-app-token&addr=user000*&count=5");
    ASSERT_EQ(r.status, 200u);
    auto answer = r.Json().as_object();
    EXPECT_EQ(answer.at("count").as_int64(), 5);
    for (const auto& user : Rows(answer, "user", "users")) {
        EXPECT_TRUE(user.at("address").as_string().starts_with("user000"));
    }
    // The trufflehog capture was a GET on api.php with a bad token.
    r = client.Get("/api.php?op=useradd&token=bad");
    ExpectError(r.Json().as_object(), "AUTHFAIL", 401);
    EXPECT_EQ(r.Json().at("op").as_string(), "useradd");

    r = client.Send(
        "POST",
        "/api.php",
        "op=useradd&token=mesibo-app-token&addr=legacy%40example.com&name=Old+Style&appid=com."
        "example.legacy",
        {{"Content-Type", "application/x-www-form-urlencoded"}}
    );
    answer = r.Json().as_object();
    ASSERT_EQ(answer.at("result"), json::value(true)) << r.body;
    const std::int64_t uid = IdOf(answer.at("user").at("uid"));
    EXPECT_EQ(answer.at("user").at("token").as_string().size(), 49u);
    r = client.Get("/api.php?op=usersget&token=mesibo-app-token&uid=" + std::to_string(uid));
    EXPECT_EQ(r.Json().at("user").at("profile").at("name").as_string(), "Old Style");
}

TEST(EmulatorMesibo, UsersGetReturnsAtMostOneHundredInTheDocumentedOrder) {
    RunningEmulator emulator(MbOptions());
    TestClient client = emulator.Client();
    auto answer = Op(client, R"({"op":"usersget"})");
    EXPECT_EQ(answer.at("count").as_int64(), 100);
    EXPECT_EQ(answer.at("userscount").as_int64(), 100);
    const auto rows = Rows(answer, "user", "users");
    ASSERT_EQ(rows.size(), 100u);
    // pinned desc, online (regaddr) desc, uid asc.
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const auto key = [](const json::object& u) {
            return std::tuple(
                -u.at("pinned").as_int64(), -u.at("online").as_int64(), IdOf(u.at("uid"))
            );
        };
        EXPECT_LT(key(rows[i - 1]), key(rows[i]));
    }
    EXPECT_EQ(rows[0].at("pinned").as_int64(), 1);
    // The documented row shape.
    const auto& u = rows[0];
    for (const std::string_view key :
         {"uid",
          "address",
          "ipaddr",
          "lastonline",
          "active",
          "pinned",
          "online",
          "flag",
          "flags",
          "token",
          "appid",
          "profile"}) {
        EXPECT_TRUE(u.contains(key)) << key;
    }
    EXPECT_EQ(u.at("token").as_string(), "");
    EXPECT_FALSE(u.contains("cts"));
    EXPECT_GE(u.at("lastonline").as_int64(), 0);

    // count 0 or above the cap is the cap; there is no offset to page with.
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":20})").at("count").as_int64(), 20);
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":"30"})").at("count").as_int64(), 30);
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":0})").at("count").as_int64(), 100);
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":5000})").at("count").as_int64(), 100);
    const auto again =
        Rows(Op(client, R"({"op":"usersget","offset":100,"page":2})"), "user", "users");
    EXPECT_EQ(IdOf(again.front().at("uid")), IdOf(rows.front().at("uid")));
    ExpectError(Op(client, R"({"op":"usersget","count":"many"})"), "BADVALUE", 400);

    // The old documentation's cap of 20 as an option.
    client.Post("/_admin/mesibo/config", R"({"max_count":20})");
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":50})").at("count").as_int64(), 20);
}

TEST(EmulatorMesibo, WildcardsNarrowAndPrefixSplittingReachesEveryUser) {
    RunningEmulator emulator(MbOptions());
    TestClient client = emulator.Client();
    const json::object data = Dataset(client);
    std::set<std::int64_t> expected;
    std::set<std::string> alphabet;
    for (const auto& user : data.at("users").as_array()) {
        expected.insert(user.at("uid").as_int64());
        const std::string address(user.at("address").as_string());
        for (std::size_t i = 0; i < address.size();) {
            const auto lead = static_cast<unsigned char>(address[i]);
            const std::size_t n = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
            alphabet.insert(address.substr(i, n));
            i += n;
        }
    }
    ASSERT_EQ(expected.size(), 1000u);

    // Split a prefix until each query returns less than the cap.
    std::set<std::int64_t> seen;
    std::size_t deepest = 0;
    int requests = 0;
    std::vector<std::string> pending{""};
    while (!pending.empty()) {
        const std::string prefix = pending.back();
        pending.pop_back();
        const auto rows = Rows(Op(client, UsersGetBody(EscapeLike(prefix) + "*")), "user", "users");
        ++requests;
        for (const auto& row : rows) {
            EXPECT_TRUE(row.at("address").as_string().starts_with(prefix));
            seen.insert(IdOf(row.at("uid")));
        }
        if (rows.size() < 100) {
            continue;
        }
        deepest = std::max(deepest, prefix.size() + 1);
        for (const auto& c : alphabet) {
            pending.push_back(prefix + c);
        }
    }
    EXPECT_EQ(seen, expected);
    // "user" (130 users) and "user0" (100) are full, as are "support_team_" and "élodie".
    EXPECT_GE(deepest, 6u);
    // Every full prefix costs one request per character in use (about 70).
    EXPECT_LT(requests, 4000);

    // An exact address without a wildcard is exact, `_` included.
    auto rows = Rows(Op(client, UsersGetBody("user0001@example.com")), "user", "users");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("address").as_string(), "user0001@example.com");
    rows = Rows(Op(client, UsersGetBody("support_team_000@corp.example")), "user", "users");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("address").as_string(), "support_team_000@corp.example");
    // `_` is LIKE's one-character wildcard: unescaped it also matches "support-team…".
    std::set<char> separators;
    for (const auto& row : Rows(Op(client, UsersGetBody("support_team*")), "user", "users")) {
        separators.insert(row.at("address").as_string()[7]);
    }
    EXPECT_EQ(separators, (std::set<char>{'_', '-'}));
    for (const auto& row : Rows(Op(client, UsersGetBody("support\\_team*")), "user", "users")) {
        EXPECT_EQ(row.at("address").as_string()[7], '_');
    }
    // `%` works like `*`; matching is case-sensitive unless configured otherwise.
    EXPECT_GT(Op(client, UsersGetBody("+49151%")).at("count").as_int64(), 0);
    EXPECT_EQ(Op(client, UsersGetBody("OFFICE*")).at("count").as_int64(), 0);
    client.Post("/_admin/mesibo/config", R"({"case_insensitive":true})");
    EXPECT_GT(Op(client, UsersGetBody("OFFICE*")).at("count").as_int64(), 0);
    // Filters longer than 128 characters are BADVALUE.
    const auto answer = Op(client, UsersGetBody(std::string(129, 'a')));
    ExpectError(answer, "BADVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"address"});
}

TEST(EmulatorMesibo, OneMatchIsAnObjectAndNoMatchOnlyCounts) {
    RunningEmulator emulator(MbOptions(200, 20));
    TestClient client = emulator.Client();
    auto answer = Op(client, UsersGetBody("user0003@example.com"));
    EXPECT_EQ(answer.at("count").as_int64(), 1);
    EXPECT_EQ(answer.at("userscount").as_int64(), 1);
    ASSERT_TRUE(answer.contains("user"));
    EXPECT_TRUE(answer.at("user").is_object());
    EXPECT_FALSE(answer.contains("users"));
    const std::int64_t uid = IdOf(answer.at("user").at("uid"));
    answer = Op(client, R"({"op":"usersget","user":{"uid":")" + std::to_string(uid) + R"("}})");
    EXPECT_EQ(IdOf(answer.at("user").at("uid")), uid);

    answer = Op(client, UsersGetBody("nobody*"));
    EXPECT_EQ(answer.at("count").as_int64(), 0);
    EXPECT_EQ(answer.at("userscount").as_int64(), 0);
    EXPECT_FALSE(answer.contains("users"));
    EXPECT_FALSE(answer.contains("user"));
    EXPECT_EQ(answer.at("result"), json::value(true));

    // Groups have the same quirk; members never do.
    const json::object data = Dataset(client);
    const auto& first = data.at("groups").at(0).as_object();
    const std::int64_t gid = first.at("gid").as_int64();
    answer = Op(client, R"({"op":"groupsget","group":{"gid":)" + std::to_string(gid) + "}}");
    ASSERT_TRUE(answer.contains("group")) << json::serialize(answer);
    EXPECT_EQ(answer.at("groupscount").as_int64(), 1);
    EXPECT_EQ(answer.at("group").at("name"), first.at("name"));
    answer = Op(client, R"({"op":"groupsget","group":{"name":"No such group"}})");
    EXPECT_EQ(answer.at("groupscount").as_int64(), 0);
    EXPECT_FALSE(answer.contains("groups") || answer.contains("group"));

    std::int64_t single = 0;
    std::int64_t empty = 0;
    for (const auto& g : data.at("groups").as_array()) {
        if (g.at("members").as_int64() == 1) {
            single = g.at("gid").as_int64();
        }
        if (g.at("members").as_int64() == 0) {
            empty = g.at("gid").as_int64();
        }
    }
    ASSERT_NE(single, 0);
    ASSERT_NE(empty, 0);
    answer =
        Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + std::to_string(single) + "}}");
    EXPECT_EQ(answer.at("mcount").as_int64(), 1);
    EXPECT_EQ(answer.at("members").as_array().size(), 1u);
    answer =
        Op(client, R"({"op":"groupmembersget","group":{"gid":)" + std::to_string(empty) + "}}");
    EXPECT_EQ(answer.at("mcount").as_int64(), 0);
    EXPECT_TRUE(answer.at("members").as_array().empty());
}

TEST(EmulatorMesibo, GroupsAndMembersAreCappedToo) {
    RunningEmulator emulator(MbOptions());
    TestClient client = emulator.Client();
    auto answer = Op(client, R"({"op":"groupsget"})");
    EXPECT_EQ(answer.at("groupscount").as_int64(), 100);
    const auto groups = Rows(answer, "group", "groups");
    ASSERT_EQ(groups.size(), 100u);
    for (const std::string_view key :
         {"gid",
          "name",
          "ats",
          "ets",
          "expiryext",
          "type",
          "flag",
          "sflags",
          "pinned",
          "profile"}) {
        EXPECT_TRUE(groups[5].contains(key)) << key;
    }
    // pinned desc, name asc, gid desc.
    for (std::size_t i = 1; i < groups.size(); ++i) {
        const auto& a = groups[i - 1];
        const auto& b = groups[i];
        if (a.at("pinned") == b.at("pinned")) {
            const std::string an(a.at("name").as_string());
            const std::string bn(b.at("name").as_string());
            EXPECT_LE(an, bn);
            if (an == bn) {
                EXPECT_GT(IdOf(a.at("gid")), IdOf(b.at("gid")));
            }
        } else {
            EXPECT_EQ(a.at("pinned").as_int64(), 1);
        }
    }

    const json::object data = Dataset(client);
    std::map<std::int64_t, std::int64_t> sizes;
    std::map<std::string, int> names;
    for (const auto& g : data.at("groups").as_array()) {
        sizes[g.at("gid").as_int64()] = g.at("members").as_int64();
        ++names[std::string(g.at("name").as_string())];
    }
    // Names repeat: an exact name can list two groups.
    const auto dup =
        std::find_if(names.begin(), names.end(), [](const auto& n) { return n.second > 1; });
    ASSERT_NE(dup, names.end());
    json::object by_name{{"op", "groupsget"}, {"group", json::object{{"name", dup->first}}}};
    EXPECT_EQ(Op(client, json::serialize(by_name)).at("groups").as_array().size(), 2u);

    // Exactly 100, just over 100, and the largest group: the list stops at 100.
    std::set<std::int64_t> seen_sizes;
    for (const auto& [gid, size] : sizes) {
        seen_sizes.insert(size);
        if (size != 100 && size != 101 && size != 130) {
            continue;
        }
        answer = Op(
            client,
            R"({"op":"groupgetmembers","count":1000,"group":{"gid":)" + std::to_string(gid) + "}}"
        );
        EXPECT_EQ(answer.at("mcount").as_int64(), 100) << size;
        EXPECT_EQ(answer.at("members").as_array().size(), 100u);
        EXPECT_EQ(IdOf(answer.at("gid")), gid);
        const auto& m = answer.at("members").at(0).as_object();
        for (const std::string_view key :
             {"gid",
              "uid",
              "address",
              "cansend",
              "canrecv",
              "canpub",
              "cansub",
              "canlist",
              "permissions"}) {
            EXPECT_TRUE(m.contains(key)) << key;
        }
        // The first member owns the seeded groups.
        EXPECT_EQ(m.at("admin").at("owner"), json::value(true));
    }
    EXPECT_TRUE(
        seen_sizes.count(100) == 1 && seen_sizes.count(101) == 1 && seen_sizes.count(130) == 1
    );

    answer = Op(client, R"({"op":"groupgetmembers"})");
    ExpectError(answer, "MISSINGPARAMS", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"gid"});
    answer = Op(client, R"({"op":"groupgetmembers","group":{"gid":1}})");
    ExpectError(answer, "INVALIDVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"gid"});
    answer =
        Op(client, R"({"op":"groupsget","group":{"name":")" + std::string(129, 'x') + R"("}})");
    ExpectError(answer, "BADVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"name"});
}

TEST(EmulatorMesibo, IdsComeAsNumbersAndAsStrings) {
    RunningEmulator emulator(MbOptions(300, 40));
    TestClient client = emulator.Client();
    const auto kinds =
        [&client](
            std::string_view op, std::string_view one, std::string_view many, std::string_view key
        ) {
            std::set<bool> strings;
            for (const auto& row :
                 Rows(Op(client, R"({"op":")" + std::string(op) + R"("})"), one, many)) {
                strings.insert(row.at(key).is_string());
            }
            return strings;
        };
    EXPECT_EQ(kinds("usersget", "user", "users", "uid"), (std::set<bool>{false, true}));
    EXPECT_EQ(kinds("groupsget", "group", "groups", "gid"), (std::set<bool>{false, true}));
    client.Post("/_admin/mesibo/config", R"({"ids":"number"})");
    EXPECT_EQ(kinds("usersget", "user", "users", "uid"), (std::set<bool>{false}));
    client.Post("/_admin/mesibo/config", R"({"ids":"string"})");
    EXPECT_EQ(kinds("groupsget", "group", "groups", "gid"), (std::set<bool>{true}));
    const auto added = Op(client, R"({"op":"useradd","user":{"address":"s@example.com"}})");
    EXPECT_TRUE(added.at("user").at("uid").is_string());
}

TEST(EmulatorMesibo, AppStatsIsRateLimitedToOncePerHour) {
    RunningEmulator emulator(MbOptions(20, 3));
    TestClient client = emulator.Client();
    client.Post("/_admin/mesibo/clock", R"({"now":"2025-01-01T00:00:00Z"})");
    auto answer = Op(client, R"({"op":"appstats"})");
    EXPECT_EQ(answer.at("result"), json::value(true)) << json::serialize(answer);
    EXPECT_EQ(answer.at("stats").at("users").as_int64(), 20);
    answer = Op(client, R"({"op":"appstats"})");
    ExpectError(answer, "RATELIMITED", 503);
    EXPECT_TRUE(answer.at("cause").as_string().starts_with("This OP is for testing only"));
    client.Post("/_admin/mesibo/clock", R"({"advance_ms":3599000})");
    ExpectError(Op(client, R"({"op":"appstats"})"), "RATELIMITED", 503);
    client.Post("/_admin/mesibo/clock", R"({"advance_ms":1000})");
    EXPECT_EQ(Op(client, R"({"op":"appstats"})").at("result"), json::value(true));
    // Other ops are not limited, and the admin API can forget the last call.
    EXPECT_EQ(Op(client, R"({"op":"usersget"})").at("result"), json::value(true));
    EXPECT_EQ(
        client.Post("/_admin/mesibo/appstats/reset", "").Json().at("reset"), json::value(true)
    );
    EXPECT_EQ(Op(client, R"({"op":"appstats"})").at("result"), json::value(true));
    const auto stats = client.Get("/_admin/stats").Json();
    EXPECT_EQ(stats.at("mesibo").at("ops").at("appstats").as_int64(), 5);
    EXPECT_EQ(stats.at("mesibo").at("errors").at("RATELIMITED").as_int64(), 2);
}

TEST(EmulatorMesibo, TokenBreachOnTheSixthDistinctAddress) {
    RunningEmulator emulator(MbOptions(20, 3));
    const std::string usersget = R"({"op":"usersget","count":1})";
    for (int i = 1; i <= 5; ++i) {
        TestClient client(emulator.Port(), "127.0.0." + std::to_string(i));
        EXPECT_EQ(Op(client, usersget).at("result"), json::value(true)) << i;
        // The same address again takes no new slot.
        EXPECT_EQ(Op(client, usersget).at("result"), json::value(true)) << i;
    }
    // A wrong token is refused before the address counts.
    TestClient seventh(emulator.Port(), "127.0.0.7");
    ExpectError(Op(seventh, R"({"op":"usersget","token":"nope"})"), "AUTHFAIL", 401);
    TestClient sixth(emulator.Port(), "127.0.0.6");
    auto answer = Op(sixth, usersget);
    ExpectError(answer, "TOKENBREACH", 503);
    EXPECT_FALSE(answer.contains("cause"));
    EXPECT_EQ(answer.at("op").as_string(), "usersget");
    // From now on every request with the token fails, from any address and for any op.
    TestClient first(emulator.Port(), "127.0.0.1");
    ExpectError(Op(first, usersget), "TOKENBREACH", 503);
    ExpectError(Op(first, R"({"op":"groupsget"})"), "TOKENBREACH", 503);

    TestClient admin = emulator.Client();
    auto clients = admin.Get("/_admin/mesibo/clients").Json();
    EXPECT_EQ(clients.at("disabled"), json::value(true));
    EXPECT_EQ(clients.at("limit").as_int64(), 5);
    EXPECT_EQ(clients.at("slots").as_array().size(), 5u);
    const auto& seen = clients.at("tokens").at(kToken).as_array();
    EXPECT_EQ(seen.size(), 6u);
    EXPECT_EQ(seen.at(5).as_string(), "127.0.0.6");
    EXPECT_EQ(clients.at("tokens").at("nope").at(0).as_string(), "127.0.0.7");
    // The request log names the peer of every request.
    std::set<std::string> remotes;
    const json::value log = admin.Get("/_admin/requests").Json();
    for (const auto& entry : log.as_array()) {
        remotes.insert(std::string(entry.at("remote").as_string()));
    }
    EXPECT_EQ(remotes.size(), 7u);
    EXPECT_EQ(remotes.count("127.0.0.6"), 1u);
    EXPECT_EQ(admin.Get("/_admin/stats").Json().at("mesibo").at("breaches").as_int64(), 1);

    // Only the admin API re-enables the app.
    clients = admin.Post("/_admin/mesibo/breach/reset", "").Json();
    EXPECT_EQ(clients.at("disabled"), json::value(false));
    EXPECT_TRUE(clients.at("slots").as_array().empty());
    EXPECT_EQ(Op(sixth, usersget).at("result"), json::value(true));
    // And can disable it without six addresses.
    admin.Post("/_admin/mesibo/breach", R"({"disabled":true})");
    ExpectError(Op(sixth, usersget), "TOKENBREACH", 503);
}

TEST(EmulatorMesibo, TrustedAppsAndTheLimitOption) {
    Options options = MbOptions(20, 3);
    options.mesibo_ip_limit = 2;
    options.mesibo_trusted = true;
    RunningEmulator emulator(options);
    const std::string usersget = R"({"op":"usersget","count":1})";
    for (int i = 1; i <= 4; ++i) {
        TestClient client(emulator.Port(), "127.0.0." + std::to_string(i));
        EXPECT_EQ(Op(client, usersget).at("result"), json::value(true)) << i;
    }
    TestClient admin = emulator.Client();
    auto clients = admin.Get("/_admin/mesibo/clients").Json();
    EXPECT_EQ(clients.at("trusted_violations").as_int64(), 2);
    admin.Post("/_admin/mesibo/config", R"({"trusted":false})");
    TestClient fifth(emulator.Port(), "127.0.0.5");
    ExpectError(Op(fifth, usersget), "TOKENBREACH", 503);
    // An idle slot can be set to age out (the notes are unsure whether it does).
    admin.Post("/_admin/mesibo/breach/reset", "");
    admin.Post("/_admin/mesibo/config", R"({"ip_ttl_ms":60000,"ip_limit":1})");
    admin.Post("/_admin/mesibo/clock", R"({"now":"2025-01-01T00:00:00Z"})");
    EXPECT_EQ(Op(fifth, usersget).at("result"), json::value(true));
    admin.Post("/_admin/mesibo/clock", R"({"advance_ms":60000})");
    TestClient sixth(emulator.Port(), "127.0.0.6");
    EXPECT_EQ(Op(sixth, usersget).at("result"), json::value(true));
    ExpectError(Op(fifth, usersget), "TOKENBREACH", 503);
}

TEST(EmulatorMesibo, BadOriginForMobileUserAgents) {
    RunningEmulator emulator(MbOptions(20, 3));
    TestClient client = emulator.Client();
    const std::string usersget = R"({"op":"usersget"})";
    auto answer = Op(client, usersget, {{"User-Agent", "Mozilla/5.0 (Linux; Android 14)"}});
    ExpectError(answer, "BADORIGIN", 502);
    EXPECT_TRUE(answer.at("cause").as_string().starts_with("The backend API MUST NOT"));
    ExpectError(Op(client, usersget, {{"User-Agent", "Something MOBILE/1"}}), "BADORIGIN", 502);
    EXPECT_EQ(
        Op(client, usersget, {{"User-Agent", "chatsync/1.0"}}).at("result"), json::value(true)
    );
    EXPECT_EQ(Op(client, usersget, {{"X-Device", "Android"}}).at("result"), json::value(true));
    client.Post("/_admin/mesibo/config", R"({"origin_check":"any-header"})");
    ExpectError(Op(client, usersget, {{"X-Device", "Android"}}), "BADORIGIN", 502);
    client.Post("/_admin/mesibo/config", R"({"origin_check":"off"})");
    EXPECT_EQ(Op(client, usersget, {{"User-Agent", "Android"}}).at("result"), json::value(true));
}

}  // namespace
}  // namespace chatsync::emulator::test
