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

namespace chatsync::emulator::test {
namespace {

namespace json = boost::json;

constexpr std::string_view kToken = "mesibo-app-token";

Options MbOptions(std::int64_t users = 1000, std::int64_t groups = 150) {
    Options options;
    options.modes = {"mesibo"};
    options.mesibo_users = users;
    options.mesibo_groups = groups;
    return options;
}

/// POSTs `body` (JSON text) to /backend/ with the app token unless it names one, and returns
/// the answer, which must be HTTP 200 whatever the outcome.
json::object Op(TestClient& client, std::string_view body, const Headers& headers = {}) {
    json::object request = json::parse(body).as_object();
    if (!request.contains("token")) {
        request["token"] = kToken;
    }
    const HttpResult r = client.Post("/backend/", json::serialize(request), headers);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.Json().as_object();
}

void ExpectError(const json::object& answer, std::string_view error, std::int64_t code) {
    EXPECT_EQ(answer.at("result"), json::value(false)) << json::serialize(answer);
    EXPECT_EQ(answer.at("error").as_string(), error) << json::serialize(answer);
    EXPECT_EQ(answer.at("code").as_int64(), code) << json::serialize(answer);
}

std::vector<std::string> Properties(const json::object& answer) {
    std::vector<std::string> out;
    for (const auto& p : answer.at("properties").as_array()) {
        out.emplace_back(p.as_string());
    }
    return out;
}

/// A uid or gid written as a number or as a string.
std::int64_t IdOf(const json::value& v) {
    return v.is_string() ? std::stoll(std::string(v.as_string())) : v.as_int64();
}

/// The rows of a list answer: the array, the single object, or nothing.
std::vector<json::object>
Rows(const json::object& answer, std::string_view one, std::string_view many) {
    std::vector<json::object> rows;
    if (const auto* single = answer.if_contains(one)) {
        rows.push_back(single->as_object());
    }
    if (const auto* list = answer.if_contains(many)) {
        for (const auto& row : list->as_array()) {
            rows.push_back(row.as_object());
        }
    }
    return rows;
}

json::object Dataset(TestClient& client) {
    const HttpResult r = client.Get("/_admin/mesibo/dataset");
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.Json().as_object();
}

std::string EscapeLike(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '_' || c == '%' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

std::string UsersGetBody(const std::string& address, std::int64_t count = 100) {
    json::object body{{"op", "usersget"}, {"count", count}};
    body["user"] = json::object{{"address", address}};
    return json::serialize(body);
}

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

TEST(EmulatorMesibo, UserWriteOps) {
    RunningEmulator emulator(MbOptions(30, 5));
    TestClient client = emulator.Client();
    auto answer =
        Op(client,
           R"({"op":"useradd","user":{"address":"new@example.com","name":"New One",
            "token":{"appid":"com.example.app","expiry":60}}})");
    ASSERT_EQ(answer.at("result"), json::value(true)) << json::serialize(answer);
    const std::int64_t uid = IdOf(answer.at("user").at("uid"));
    const std::string token(answer.at("user").at("token").as_string());
    EXPECT_EQ(token.size(), 49u);
    EXPECT_EQ(answer.at("user").at("address").as_string(), "new@example.com");
    // The same op regenerates: same uid, new token.
    answer = Op(
        client,
        R"({"op":"useradd","user":{"address":"new@example.com","token":{"appid":"com.example.app"}}})"
    );
    EXPECT_EQ(IdOf(answer.at("user").at("uid")), uid);
    EXPECT_NE(answer.at("user").at("token").as_string(), token);
    auto found = Op(client, UsersGetBody("new@example.com"));
    EXPECT_EQ(found.at("user").at("profile").at("name").as_string(), "New One");
    EXPECT_EQ(found.at("user").at("appid").as_string(), "com.example.app");
    EXPECT_EQ(found.at("user").at("token").as_string(), "");

    answer = Op(client, R"({"op":"useradd","user":{"name":"x"}})");
    ExpectError(answer, "MISSINGPARAMS", 400);
    EXPECT_EQ(Properties(answer), (std::vector<std::string>{"uid", "address"}));
    answer = Op(client, R"({"op":"useradd","user":{"uid":1,"address":"a@b"}})");
    ExpectError(answer, "BADREQ", 400);
    EXPECT_EQ(answer.at("cause").as_string(), "Both uid and address are specified");
    EXPECT_EQ(answer.at("action").as_string(), "Specify either uid or address");
    answer = Op(client, R"({"op":"useradd","user":{"address":"a@b","token":{}}})");
    ExpectError(answer, "MISSINGPARAMS", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"appid"});
    for (const std::string_view appid : {"nodot", "123.456"}) {
        answer =
            Op(client,
               R"({"op":"useradd","user":{"address":"a@b","token":{"appid":")" +
                   std::string(appid) + R"("}}})");
        ExpectError(answer, "BADVALUE", 400);
        EXPECT_EQ(Properties(answer), std::vector<std::string>{"appid"});
    }
    // A failing op changes nothing.
    answer = Op(client, R"({"op":"useradd","user":{"address":"a@b","active":"maybe"}})");
    ExpectError(answer, "BADVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"active"});
    EXPECT_EQ(Op(client, UsersGetBody("a@b")).at("count").as_int64(), 0);
    ExpectError(
        Op(client, R"({"op":"useradd","user":{"address":"mesibo-system-user"}})"), "BADVALUE", 400
    );

    answer =
        Op(client,
           R"({"op":"userset","user":{"uid":)" + std::to_string(uid) +
               R"(,"active":0,"profile":{"status":"away"}}})");
    EXPECT_EQ(answer.at("result"), json::value(true));
    EXPECT_FALSE(answer.contains("user"));
    found = Op(client, UsersGetBody("new@example.com"));
    EXPECT_EQ(found.at("user").at("active").as_int64(), 0);
    EXPECT_EQ(found.at("user").at("profile").at("status").as_string(), "away");
    answer = Op(client, R"({"op":"userset","user":{"address":"ghost@example.com"}})");
    ExpectError(answer, "INVALIDVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"address"});

    answer = Op(
        client,
        R"({"op":"usertoken","user":{"address":"new@example.com","token":{"appid":"com.example.other"}}})"
    );
    EXPECT_EQ(answer.at("user").at("appid").as_string(), "com.example.other");
    EXPECT_EQ(answer.at("user").at("token").as_string().size(), 49u);

    answer = Op(client, R"({"op":"userdel","user":{"address":"mesibo-system-user"}})");
    ExpectError(answer, "BADVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"address"});
    ExpectError(Op(client, R"({"op":"userdel","user":{}})"), "MISSINGPARAMS", 400);
    EXPECT_EQ(
        Op(client, R"({"op":"userdel","user":{"uid":")" + std::to_string(uid) + R"("}})")
            .at("result"),
        json::value(true)
    );
    EXPECT_EQ(Op(client, UsersGetBody("new@example.com")).at("count").as_int64(), 0);

    const auto stats = client.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("ops").at("useradd").as_int64(), 9);
    EXPECT_EQ(stats.at("write_ops").as_int64(), 15);
}

TEST(EmulatorMesibo, GroupWriteOps) {
    RunningEmulator emulator(MbOptions(30, 5));
    TestClient client = emulator.Client();
    // Make one user inactive: groupeditmembers skips it silently, as it skips unknown ones.
    client.Post(
        "/_admin/mesibo/users/update",
        R"({"users":[{"address":"user0001@example.com","active":false}]})"
    );
    const auto data = Dataset(client);
    std::vector<std::string> active;
    for (const auto& u : data.at("users").as_array()) {
        if (u.at("active").as_bool() && u.at("address").as_string() != "user0001@example.com") {
            active.emplace_back(u.at("address").as_string());
        }
    }
    ASSERT_GE(active.size(), 3u);
    json::object add{{"op", "groupadd"}};
    add["group"] = json::object{
        {"name", "Fresh group"},
        {"flags", 2},
        {"members", json::object{{"m", active[0] + "," + active[1]}}},
    };
    auto answer = Op(client, json::serialize(add));
    ASSERT_EQ(answer.at("result"), json::value(true)) << json::serialize(answer);
    const std::int64_t gid = IdOf(answer.at("group").at("gid"));
    const std::string g = std::to_string(gid);
    answer = Op(client, R"({"op":"groupsget","group":{"name":"Fresh*"}})");
    EXPECT_EQ(answer.at("group").at("flag").as_int64(), 2);
    EXPECT_GT(answer.at("group").at("ets").as_int64(), 31'000'000);

    answer = Op(
        client,
        R"({"op":"groupeditmembers","group":{"gid":)" + g + R"(,"members":{"m":")" + active[2] +
            R"(,user0001@example.com,ghost@example.com","permissions":{"send":false},"admin":{"modify":true}}}})"
    );
    EXPECT_EQ(IdOf(answer.at("group").at("gid")), gid);
    auto members = Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + g + "}}");
    ASSERT_EQ(members.at("mcount").as_int64(), 3);
    const auto& third = members.at("members").at(2).as_object();
    EXPECT_EQ(third.at("address").as_string(), active[2]);
    EXPECT_EQ(third.at("cansend").as_int64(), 0);
    EXPECT_EQ(third.at("permissions").at("send"), json::value(false));
    EXPECT_EQ(third.at("admin").at("modify"), json::value(true));
    EXPECT_FALSE(members.at("members").at(0).as_object().contains("admin"));

    // Removal, the alias op, and the form of the PHP sample (group.delete=1).
    Op(client,
       R"({"op":"groupmembers","group":{"gid":)" + g + R"(,"delete":1,"members":{"m":")" +
           active[0] + R"("}}})");
    members = Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + g + "}}");
    EXPECT_EQ(members.at("mcount").as_int64(), 2);

    answer = Op(client, R"({"op":"groupeditmembers","group":{"gid":)" + g + "}}");
    ExpectError(answer, "MISSINGPARAMS", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"members"});
    answer =
        Op(client,
           R"({"op":"groupeditmembers","group":{"gid":)" + g +
               R"(,"members":{"m":"mesibo-system-user"}}})");
    ExpectError(answer, "BADVALUE", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"members"});
    ExpectError(
        Op(client, R"({"op":"groupeditmembers","group":{"gid":5,"members":{"m":"x"}}})"),
        "INVALIDVALUE",
        400
    );

    answer = Op(client, R"({"op":"groupset","group":{"name":"x"}})");
    ExpectError(answer, "MISSINGPARAMS", 400);
    EXPECT_EQ(Properties(answer), std::vector<std::string>{"gid"});
    Op(client, R"({"op":"groupset","group":{"gid":)" + g + R"(,"name":"Renamed"}})");
    EXPECT_EQ(
        Op(client, R"({"op":"groupsget","group":{"name":"Renamed"}})").at("groupscount").as_int64(),
        1
    );
    EXPECT_EQ(
        IdOf(Op(client, R"({"op":"groupdel","group":{"gid":)" + g + "}}").at("group").at("gid")),
        gid
    );
    ExpectError(Op(client, R"({"op":"groupdel","group":{"gid":)" + g + "}}"), "INVALIDVALUE", 400);
    ExpectError(Op(client, R"({"op":"groupdel"})"), "MISSINGPARAMS", 400);

    answer =
        Op(client,
           R"({"op":"message","message":{"from":")" + active[0] + R"(","to":")" + active[1] +
               R"(","message":"hi"}})");
    EXPECT_GT(answer.at("mid").as_int64(), 0);
    answer =
        Op(client, R"({"op":"message","message":{"from":"nobody@x","to":"y","message":"hi"}})");
    ExpectError(answer, "INVALIDVALUE", 400);
    EXPECT_EQ(Properties(answer), (std::vector<std::string>{"uid", "from"}));
    ExpectError(Op(client, R"({"op":"message","message":{"to":"y"}})"), "MISSINGPARAMS", 400);
}

TEST(EmulatorMesibo, InjectedErrorsAnswerTheNextRequests) {
    RunningEmulator emulator(MbOptions(20, 3));
    TestClient client = emulator.Client();
    auto r = client.Post(
        "/_admin/mesibo/errors",
        R"({"error":"SOMETHINGNEW","code":418,"cause":"odd","count":2,"ops":["usersget"]})"
    );
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.Json().at("errors").as_array().size(), 1u);
    EXPECT_EQ(Op(client, R"({"op":"groupsget"})").at("result"), json::value(true));
    for (int i = 0; i < 2; ++i) {
        const auto answer = Op(client, R"({"op":"usersget","id":3})");
        ExpectError(answer, "SOMETHINGNEW", 418);
        EXPECT_EQ(answer.at("cause").as_string(), "odd");
        EXPECT_EQ(answer.at("id").as_int64(), 3);
    }
    EXPECT_EQ(Op(client, R"({"op":"usersget"})").at("result"), json::value(true));

    // A documented name brings its code and texts; every op is hit without "ops".
    client.Post(
        "/_admin/mesibo/errors",
        R"([{"error":"QUOTAEXCEEDED"},{"error":"CREDITSEXCEEDED"},{"error":"UNUSEDTRIALUSERS"}])"
    );
    auto answer = Op(client, R"({"op":"groupsget"})");
    ExpectError(answer, "QUOTAEXCEEDED", 503);
    EXPECT_EQ(answer.at("cause").as_string(), "You account resource limit(s) has been reached");
    answer = Op(client, R"({"op":"useradd"})");
    ExpectError(answer, "CREDITSEXCEEDED", 402);
    EXPECT_TRUE(answer.contains("action"));
    ExpectError(Op(client, R"({"op":"usersget"})"), "UNUSEDTRIALUSERS", 503);

    // Forever, with another HTTP status, until cleared; and the on-premise build field.
    client.Post("/_admin/mesibo/errors", R"({"error":"BADREQ","count":-1,"status":502})");
    client.Post("/_admin/mesibo/config", R"({"build":230609})");
    for (int i = 0; i < 3; ++i) {
        r = client.Post("/backend/", R"({"op":"usersget","token":"mesibo-app-token"})");
        EXPECT_EQ(r.status, 502u);
        EXPECT_EQ(r.Json().at("error").as_string(), "BADREQ");
        EXPECT_EQ(r.Json().at("build").as_int64(), 230609);
    }
    EXPECT_EQ(
        client.Send("DELETE", "/_admin/mesibo/errors").Json().at("errors").as_array().size(), 0u
    );
    EXPECT_EQ(Op(client, R"({"op":"usersget"})").at("result"), json::value(true));
    EXPECT_EQ(client.Post("/_admin/mesibo/errors", R"({"code":1})").status, 400u);
}

TEST(EmulatorMesibo, AdminRoutesChangeTheDataAndDumpIt) {
    RunningEmulator emulator(MbOptions(40, 6));
    TestClient client = emulator.Client();
    auto data = Dataset(client);
    EXPECT_EQ(data.at("users").as_array().size(), 40u);
    EXPECT_EQ(data.at("groups").as_array().size(), 6u);
    EXPECT_EQ(data.at("ids").as_string(), "mixed");
    std::int64_t member_rows = 0;
    for (const auto& g : data.at("groups").as_array()) {
        member_rows += g.at("members").as_int64();
    }
    EXPECT_EQ(static_cast<std::int64_t>(data.at("members").as_array().size()), member_rows);

    auto r = client.Post(
        "/_admin/mesibo/users/add",
        R"({"users":[{"address":"zed@example.com","name":"Zed","pinned":true}],"count":2})"
    );
    ASSERT_EQ(r.status, 200u) << r.body;
    const json::value added_body = r.Json();
    const auto& added = added_body.at("added").as_array();
    ASSERT_EQ(added.size(), 3u);
    const std::int64_t zed = added.at(0).at("uid").as_int64();
    EXPECT_EQ(added.at(1).at("address").as_string(), "added0000@example.com");
    auto first = Rows(Op(client, R"({"op":"usersget","count":1})"), "user", "users");
    EXPECT_EQ(first.size(), 1u);
    EXPECT_EQ(
        client.Post("/_admin/mesibo/users/add", R"({"users":[{"address":"zed@example.com"}]})")
            .status,
        400u
    );

    r = client.Post(
        "/_admin/mesibo/users/update",
        R"({"users":[{"uid":)" + std::to_string(zed) +
            R"(,"address":"zed2@example.com","online":true},{"uid":1}]})"
    );
    EXPECT_EQ(r.Json().at("updated").as_array().size(), 1u);
    EXPECT_EQ(r.Json().at("missing").as_array().size(), 1u);
    EXPECT_EQ(Op(client, UsersGetBody("zed2@example.com")).at("user").at("online").as_int64(), 1);

    r = client.Post(
        "/_admin/mesibo/groups/add",
        R"({"groups":[{"name":"Admin made","members":["zed2@example.com","added0000@example.com"]}]})"
    );
    ASSERT_EQ(r.status, 200u) << r.body;
    const std::int64_t gid = r.Json().at("added").at(0).at("gid").as_int64();
    const std::string g = std::to_string(gid);
    EXPECT_EQ(
        Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + g + "}}").at("mcount").as_int64(),
        2
    );
    r = client.Post(
        "/_admin/mesibo/members/add",
        R"({"gid":)" + g +
            R"(,"members":["added0001@example.com","ghost"],"send":false,"aflags":4096})"
    );
    EXPECT_EQ(r.Json().at("added").as_array().size(), 1u);
    EXPECT_EQ(r.Json().at("skipped").as_array().size(), 1u);
    auto members = Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + g + "}}");
    EXPECT_EQ(members.at("members").at(2).at("admin").at("owner"), json::value(true));
    EXPECT_EQ(members.at("members").at(2).at("cansend").as_int64(), 0);
    r = client.Post(
        "/_admin/mesibo/members/remove",
        R"({"gid":)" + g + R"(,"members":[)" + std::to_string(zed) + "]}"
    );
    EXPECT_EQ(r.Json().at("removed").at(0).as_int64(), zed);
    EXPECT_EQ(client.Post("/_admin/mesibo/members/nope", R"({"gid":)" + g + "}").status, 404u);

    r = client.Post(
        "/_admin/mesibo/groups/update",
        R"({"groups":[{"gid":)" + g + R"(,"name":"Admin renamed","pinned":true}]})"
    );
    EXPECT_EQ(r.Json().at("updated").at(0).as_int64(), gid);
    auto groups = Rows(Op(client, R"({"op":"groupsget"})"), "group", "groups");
    EXPECT_EQ(groups.at(0).at("name").as_string(), "Admin renamed");

    // Deleting a user takes its memberships along.
    client.Post("/_admin/mesibo/users/delete", R"({"addresses":["added0000@example.com"]})");
    EXPECT_EQ(
        Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + g + "}}").at("mcount").as_int64(),
        1
    );
    r = client.Post("/_admin/mesibo/groups/delete", R"({"gids":[)" + g + ",1]}");
    EXPECT_EQ(r.Json().at("deleted").as_array().size(), 1u);

    r = client.Post("/_admin/mesibo/seed", R"({"users":10,"groups":2,"max_members":5,"seed":9})");
    EXPECT_EQ(r.Json().at("users").as_int64(), 10);
    EXPECT_EQ(r.Json().at("groups").as_int64(), 2);
    const auto stats = client.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("users").as_int64(), 10);
    EXPECT_EQ(stats.at("groups").as_int64(), 2);
    EXPECT_LE(stats.at("members").as_int64(), 10);

    const auto clock = client.Post("/_admin/mesibo/clock", R"({"now":1700000000})").Json();
    EXPECT_EQ(clock.at("now_s").as_int64(), 1700000000);
    EXPECT_EQ(clock.at("now").as_string(), "2023-11-14T22:13:20.000Z");
    EXPECT_EQ(
        client.Post("/_admin/mesibo/clock", R"({"now":null})").Json().at("pinned"),
        json::value(false)
    );
    const auto config = client.Get("/_admin/mesibo/config").Json();
    EXPECT_EQ(config.at("ip_limit").as_int64(), 5);
    EXPECT_EQ(config.at("appstats_interval_ms").as_int64(), 3'600'000);
    EXPECT_EQ(client.Post("/_admin/mesibo/config", R"({"ids":"hex"})").status, 400u);
    client.Post("/_admin/mesibo/config", R"({"token":"rotated"})");
    ExpectError(Op(client, R"({"op":"usersget"})"), "AUTHFAIL", 401);
    EXPECT_EQ(Op(client, R"({"op":"usersget","token":"rotated"})").at("result"), json::value(true));
}

TEST(EmulatorMesibo, LimitedOpsAndQuietOps) {
    Options options = MbOptions(20, 3);
    options.mesibo_limited_ops = true;
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    ExpectError(Op(client, R"({"op":"usersget"})"), "BADVALUE", 501);
    EXPECT_EQ(
        Op(client, R"({"op":"useradd","user":{"address":"x@example.com"}})").at("result"),
        json::value(true)
    );
    client.Post("/_admin/mesibo/config", R"({"limited_ops":false})");
    EXPECT_EQ(Op(client, R"({"op":"version"})").at("backend").at("build").as_int64(), 230609);
    EXPECT_EQ(Op(client, R"({"op":"usersync"})").at("result"), json::value(true));
}

TEST(EmulatorMesibo, SeedIsDeterministic) {
    const auto summary = [](std::uint64_t seed) {
        Options options = MbOptions(400, 30);
        options.seed = seed;
        RunningEmulator emulator(options);
        TestClient client = emulator.Client();
        json::object data = Dataset(client);
        std::string out;
        for (const auto& u : data.at("users").as_array()) {
            out += std::to_string(u.at("uid").as_int64()) +
                   std::string(u.at("address").as_string()) + ";";
        }
        for (const auto& m : data.at("members").as_array()) {
            out += std::to_string(m.at("gid").as_int64()) + ":" +
                   std::to_string(m.at("uid").as_int64()) + ";";
        }
        return out;
    };
    EXPECT_EQ(summary(3), summary(3));
    EXPECT_NE(summary(3), summary(4));
}

TEST(EmulatorMesibo, CommandLineFlags) {
    const Options o = ParseCommandLine({"--mesibo-users",
                                        "7",
                                        "--mesibo-groups=2",
                                        "--mesibo-max-members",
                                        "3",
                                        "--mesibo-token",
                                        "t",
                                        "--mesibo-ip-limit",
                                        "0",
                                        "--mesibo-ip-ttl",
                                        "8h",
                                        "--mesibo-trusted",
                                        "--mesibo-max-count",
                                        "20",
                                        "--mesibo-appstats-interval",
                                        "0",
                                        "--mesibo-ids",
                                        "string",
                                        "--mesibo-origin-check",
                                        "off",
                                        "--mesibo-case-insensitive",
                                        "--mesibo-limited-ops",
                                        "--mesibo-build",
                                        "5"})
                          .options;
    EXPECT_EQ(o.mesibo_users, 7);
    EXPECT_EQ(o.mesibo_groups, 2);
    EXPECT_EQ(o.mesibo_max_members, 3);
    EXPECT_EQ(o.mesibo_token, "t");
    EXPECT_EQ(o.mesibo_ip_limit, 0);
    EXPECT_EQ(o.mesibo_ip_ttl, std::chrono::hours(8));
    EXPECT_TRUE(o.mesibo_trusted && o.mesibo_limited_ops);
    EXPECT_EQ(o.mesibo_collation, "ci");
    EXPECT_EQ(o.mesibo_max_count, 20);
    EXPECT_EQ(o.mesibo_appstats_interval.count(), 0);
    EXPECT_EQ(o.mesibo_ids, "string");
    EXPECT_EQ(o.mesibo_origin_check, "off");
    EXPECT_EQ(o.mesibo_build, 5);
    EXPECT_EQ(o.mesibo_escapes, "honoured");
    EXPECT_EQ(o.mesibo_flags, "int");
    EXPECT_EQ(o.mesibo_counts, "rows");
    const Options m = ParseCommandLine({"--mesibo-collation",
                                        "ai_ci",
                                        "--mesibo-escapes=ignored",
                                        "--mesibo-flags",
                                        "mixed",
                                        "--mesibo-counts",
                                        "total"})
                          .options;
    EXPECT_EQ(m.mesibo_collation, "ai_ci");
    EXPECT_EQ(m.mesibo_escapes, "ignored");
    EXPECT_EQ(m.mesibo_flags, "mixed");
    EXPECT_EQ(m.mesibo_counts, "total");
    EXPECT_EQ(ParseCommandLine({}).options.mesibo_collation, "binary");
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"--mesibo-collation", "ci_ai"},
             {"--mesibo-escapes", "honored"},
             {"--mesibo-flags", "string"},
             {"--mesibo-counts", "all"}}) {
        EXPECT_THROW(ParseCommandLine(bad), std::invalid_argument) << bad[0];
    }
    for (const std::string_view flag :
         {"--mesibo-collation", "--mesibo-escapes", "--mesibo-flags", "--mesibo-counts"}) {
        EXPECT_NE(Usage().find(flag), std::string::npos) << flag;
    }
    EXPECT_THROW(ParseCommandLine({"--mesibo-ids", "hex"}), std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--mesibo-max-count", "0"}), std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--mesibo-nope", "1"}), std::invalid_argument);
    EXPECT_NE(Usage().find("--mesibo-ip-limit"), std::string::npos);
}

TEST(EmulatorMesibo, FlagsComeAsIntsBoolsOrBoth) {
    const auto forms = [](std::string_view flags) {
        Options options = MbOptions(300, 20);
        options.mesibo_flags = std::string(flags);
        RunningEmulator emulator(options);
        TestClient client = emulator.Client();
        // Form of every flag field seen: 'i' for 0/1, 'b' for true/false.
        std::map<std::string, std::set<char>> seen;
        const auto note = [&seen](const json::object& row, std::string_view key) {
            const json::value& v = row.at(key);
            EXPECT_TRUE(v.is_bool() || v.as_int64() == 0 || v.as_int64() == 1) << key;
            seen[std::string(key)].insert(v.is_bool() ? 'b' : 'i');
        };
        for (const auto& u : Rows(Op(client, R"({"op":"usersget"})"), "user", "users")) {
            for (const std::string_view key : {"active", "pinned", "online"}) {
                note(u, key);
            }
            // Bit fields stay numbers.
            EXPECT_TRUE(u.at("flags").is_int64());
        }
        for (const auto& g : Rows(Op(client, R"({"op":"groupsget"})"), "group", "groups")) {
            note(g, "pinned");
        }
        const std::int64_t gid = Dataset(client).at("groups").at(0).at("gid").as_int64();
        const auto members =
            Op(client, R"({"op":"groupgetmembers","group":{"gid":)" + std::to_string(gid) + "}}");
        for (const auto& m : members.at("members").as_array()) {
            for (const std::string_view key :
                 {"cansend", "canrecv", "canpub", "cansub", "canlist"}) {
                note(m.as_object(), key);
            }
            // The permissions object has booleans in every form.
            EXPECT_TRUE(m.at("permissions").at("send").is_bool());
        }
        return seen;
    };
    for (const auto& [flags, want] :
         {std::pair("int", std::set<char>{'i'}),
          std::pair("bool", std::set<char>{'b'}),
          std::pair("mixed", std::set<char>{'b', 'i'})}) {
        const auto seen = forms(flags);
        EXPECT_EQ(seen.size(), 8u) << flags;
        for (const auto& [key, kinds] : seen) {
            EXPECT_EQ(kinds, want) << flags << " " << key;
        }
    }
    // Switchable at run time, and a record keeps its form under mixed.
    RunningEmulator emulator(MbOptions(50, 5));
    TestClient client = emulator.Client();
    const std::string one = UsersGetBody("user0001@example.com");
    EXPECT_TRUE(Op(client, one).at("user").at("active").is_int64());
    EXPECT_EQ(
        client.Post("/_admin/mesibo/config", R"({"flags":"bool"})").Json().at("flags").as_string(),
        "bool"
    );
    EXPECT_TRUE(Op(client, one).at("user").at("active").is_bool());
    client.Post("/_admin/mesibo/config", R"({"flags":"mixed"})");
    const bool form = Op(client, one).at("user").at("active").is_bool();
    EXPECT_EQ(Op(client, one).at("user").at("active").is_bool(), form);
    EXPECT_EQ(client.Post("/_admin/mesibo/config", R"({"flags":"yes"})").status, 400u);
}

TEST(EmulatorMesibo, CountsCarryTheRowsOrTheTotalBeforeTheCap) {
    Options options = MbOptions();
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const auto check = [&client](std::int64_t users, std::int64_t user_family) {
        auto answer = Op(client, R"({"op":"usersget"})");
        EXPECT_EQ(answer.at("count").as_int64(), 100);
        EXPECT_EQ(answer.at("userscount").as_int64(), users);
        answer = Op(client, UsersGetBody("user*", 20));
        EXPECT_EQ(answer.at("count").as_int64(), 20);
        EXPECT_EQ(answer.at("userscount").as_int64(), user_family);
    };
    check(100, 20);
    client.Post("/_admin/mesibo/config", R"({"counts":"total"})");
    check(1000, 130);
    auto answer = Op(client, R"({"op":"groupsget","count":10})");
    EXPECT_EQ(answer.at("count").as_int64(), 10);
    EXPECT_EQ(answer.at("groupscount").as_int64(), 150);
    // One match is still an object, and no match still counts only.
    answer = Op(client, UsersGetBody("user0001@example.com"));
    EXPECT_EQ(answer.at("userscount").as_int64(), 1);
    EXPECT_TRUE(answer.contains("user"));
    EXPECT_EQ(Op(client, UsersGetBody("nobody*")).at("userscount").as_int64(), 0);
    // The 130-member group lists 100 and counts 130.
    const json::object data = Dataset(client);
    for (const auto& g : data.at("groups").as_array()) {
        if (g.at("members").as_int64() == 130) {
            answer =
                Op(client,
                   R"({"op":"groupgetmembers","group":{"gid":)" +
                       std::to_string(g.at("gid").as_int64()) + "}}");
            EXPECT_EQ(answer.at("count").as_int64(), 100);
            EXPECT_EQ(answer.at("mcount").as_int64(), 130);
        }
    }
    client.Post("/_admin/mesibo/config", R"({"counts":"rows"})");
    check(100, 20);
}

TEST(EmulatorMesibo, CollationsAndEscapesShapeTheFilters) {
    Options options = MbOptions();
    options.mesibo_counts = "total";
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const auto total = [&client](const std::string& address) {
        return Op(client, UsersGetBody(address)).at("userscount").as_int64();
    };
    const auto config = [&client](std::string_view body) {
        const HttpResult r = client.Post("/_admin/mesibo/config", std::string(body));
        EXPECT_EQ(r.status, 200u) << r.body;
        return r.Json();
    };
    // binary, honoured: the defaults.
    EXPECT_EQ(config("{}").at("collation").as_string(), "binary");
    EXPECT_EQ(total("élodie*"), 110);
    EXPECT_EQ(total("elodie*"), 0);
    EXPECT_EQ(total("ÉLODIE*"), 0);
    EXPECT_EQ(total("support\\_*"), 120);
    EXPECT_EQ(total("support_*"), 160);
    EXPECT_EQ(total("sales\\%eu*"), 60);
    EXPECT_EQ(total("\\_ops*"), 10);
    EXPECT_EQ(total("_ops*"), 80);
    // ci folds ASCII letters only: "ÉLODIE" finds the capitalised family.
    EXPECT_EQ(config(R"({"collation":"ci"})").at("case_insensitive"), json::value(true));
    EXPECT_EQ(total("ÉLODIE*"), 20);
    EXPECT_EQ(total("OFFICE*"), 50);
    EXPECT_EQ(total("elodie*"), 0);
    // ai_ci folds accents, in LIKE character by character and in exact filters as a whole.
    config(R"({"collation":"ai_ci"})");
    EXPECT_EQ(total("elodie*"), 130);
    EXPECT_EQ(total("ELODIE000@EXAMPLE.FR"), 1);
    EXPECT_EQ(total("aero000@example.dk"), 1);
    EXPECT_EQ(total("aer*"), 0);
    EXPECT_EQ(total("ærø*"), 25);
    EXPECT_EQ(total("lucja.zak*"), 20);
    // Exact lookups follow the collation too: useradd finds the user it already has.
    const auto added = Op(client, R"({"op":"useradd","user":{"address":"ELODIE000@example.fr"}})");
    const auto existing = Rows(Op(client, UsersGetBody("élodie000@example.fr")), "user", "users");
    ASSERT_EQ(existing.size(), 1u);
    EXPECT_EQ(IdOf(added.at("user").at("uid")), IdOf(existing[0].at("uid")));
    EXPECT_EQ(Dataset(client).at("users").as_array().size(), 1000u);
    // Group names under ai_ci: "equipe*" finds both Équipe families.
    auto answer = Op(client, R"({"op":"groupsget","group":{"name":"equipe*"}})");
    EXPECT_EQ(answer.at("groupscount").as_int64(), 15);
    // Ignored escapes: the backslash is a character the addresses do not have.
    EXPECT_EQ(config(R"({"escapes":"ignored"})").at("escapes").as_string(), "ignored");
    EXPECT_EQ(total("support\\_*"), 0);
    EXPECT_EQ(total("support_*"), 160);
    // The old switch is an alias.
    EXPECT_EQ(config(R"({"case_insensitive":false})").at("collation").as_string(), "binary");
    EXPECT_EQ(client.Post("/_admin/mesibo/config", R"({"collation":"latin1"})").status, 400u);

    // Command-line switches.
    Options flags = MbOptions(100, 5);
    flags.mesibo_collation = "ai_ci";
    flags.mesibo_escapes = "ignored";
    RunningEmulator other(flags);
    TestClient other_client = other.Client();
    const auto cfg = other_client.Get("/_admin/mesibo/config").Json();
    EXPECT_EQ(cfg.at("collation").as_string(), "ai_ci");
    EXPECT_EQ(cfg.at("escapes").as_string(), "ignored");
    EXPECT_EQ(cfg.at("flags").as_string(), "int");
    EXPECT_EQ(cfg.at("counts").as_string(), "rows");
}

/// Sends `body` to /backend/ on a connection of its own, on another thread.
std::future<json::object> Later(std::uint16_t port, std::string body) {
    return std::async(std::launch::async, [port, body = std::move(body)] {
        TestClient client(port);
        json::object request = json::parse(body).as_object();
        request["token"] = kToken;
        return client.Post("/backend/", json::serialize(request)).Json().as_object();
    });
}

/// Polls GET /_admin/mesibo/barrier until `waiting` requests are held.
void AwaitHeld(TestClient& admin, std::int64_t waiting) {
    for (int i = 0; i < 500; ++i) {
        if (admin.Get("/_admin/mesibo/barrier").Json().at("waiting").as_int64() == waiting) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "never " << waiting << " held requests";
}

TEST(EmulatorMesibo, BarrierHoldsAnswersUntilEnoughRequestsWait) {
    RunningEmulator emulator(MbOptions(50, 5));
    TestClient admin = emulator.Client();
    auto barrier = admin.Post("/_admin/mesibo/barrier", R"({"requests":3,"timeout_ms":0})").Json();
    EXPECT_EQ(barrier.at("armed"), json::value(true));
    EXPECT_EQ(barrier.at("requests").as_int64(), 3);
    EXPECT_EQ(barrier.at("timeout_ms").as_int64(), 0);
    EXPECT_EQ(barrier.at("last_release"), json::value(nullptr));

    auto first = Later(emulator.Port(), R"({"op":"usersget","count":1})");
    auto second = Later(emulator.Port(), R"({"op":"groupsget","count":1})");
    AwaitHeld(admin, 2);
    // Held, not answered: the admin API still answers, and the API ops were not run yet.
    EXPECT_EQ(first.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
    EXPECT_EQ(second.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
    auto stats = admin.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("held").as_int64(), 2);
    EXPECT_EQ(stats.at("received").as_int64(), 2);
    EXPECT_EQ(stats.at("requests").as_int64(), 0);
    auto third = Later(emulator.Port(), R"({"op":"usersget","count":2})");
    EXPECT_EQ(first.get().at("count").as_int64(), 1);
    EXPECT_EQ(second.get().at("op").as_string(), "groupsget");
    EXPECT_EQ(third.get().at("count").as_int64(), 2);
    barrier = admin.Get("/_admin/mesibo/barrier").Json();
    EXPECT_EQ(barrier.at("armed"), json::value(false));
    EXPECT_EQ(barrier.at("releases").as_int64(), 1);
    EXPECT_EQ(barrier.at("last_release").at("held").as_int64(), 3);
    EXPECT_EQ(barrier.at("last_release").at("timed_out"), json::value(false));
    // One use: the next request is answered at once.
    TestClient client = emulator.Client();
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":1})").at("count").as_int64(), 1);

    // The timeout lets fewer go, counted from the first arrival.
    admin.Post("/_admin/mesibo/barrier", R"({"requests":5,"timeout_ms":150})");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":1})").at("count").as_int64(), 1);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
    barrier = admin.Get("/_admin/mesibo/barrier").Json();
    EXPECT_EQ(barrier.at("last_release").at("held").as_int64(), 1);
    EXPECT_EQ(barrier.at("last_release").at("timed_out"), json::value(true));

    // DELETE answers the held requests now.
    admin.Post("/_admin/mesibo/barrier", R"({"requests":5,"timeout_ms":0})");
    auto held = Later(emulator.Port(), R"({"op":"usersget","count":3})");
    AwaitHeld(admin, 1);
    barrier = admin.Send("DELETE", "/_admin/mesibo/barrier").Json();
    EXPECT_EQ(barrier.at("armed"), json::value(false));
    EXPECT_EQ(held.get().at("count").as_int64(), 3);

    EXPECT_EQ(admin.Post("/_admin/mesibo/barrier", R"({"requests":0})").status, 400u);
    EXPECT_EQ(admin.Post("/_admin/mesibo/barrier", R"({"timeout_ms":5})").status, 400u);
    EXPECT_EQ(
        admin.Post("/_admin/mesibo/barrier", R"({"requests":2,"timeout_ms":-1})").status, 400u
    );
}

TEST(EmulatorMesibo, BarrierAndBreachShowWhetherAClientStopsAfterTokenBreach) {
    RunningEmulator emulator(MbOptions(50, 5));
    TestClient admin = emulator.Client();
    auto stats = admin.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("first_breach_at_ms"), json::value(nullptr));
    EXPECT_EQ(stats.at("after_breach").as_int64(), 0);

    // A client with two requests in flight: both arrive before either is answered, so
    // neither counts, however the threads are scheduled.
    admin.Post("/_admin/mesibo/breach", R"({"disabled":true})");
    admin.Post("/_admin/mesibo/barrier", R"({"requests":2,"timeout_ms":0})");
    const auto before = std::chrono::system_clock::now();
    auto a = Later(emulator.Port(), R"({"op":"usersget"})");
    auto b = Later(emulator.Port(), R"({"op":"groupsget"})");
    ExpectError(a.get(), "TOKENBREACH", 503);
    ExpectError(b.get(), "TOKENBREACH", 503);
    stats = admin.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("after_breach").as_int64(), 0);
    const std::int64_t at = stats.at("first_breach_at_ms").as_int64();
    EXPECT_GE(
        at, std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count()
    );
    // A request sent after an answer was received counts, whatever it is.
    TestClient client = emulator.Client();
    ExpectError(Op(client, R"({"op":"usersget"})"), "TOKENBREACH", 503);
    ExpectError(Op(client, R"({"op":"usersget","token":"wrong"})"), "AUTHFAIL", 401);
    stats = admin.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("after_breach").as_int64(), 2);
    EXPECT_EQ(stats.at("first_breach_at_ms").as_int64(), at);
    EXPECT_EQ(stats.at("errors").at("TOKENBREACH").as_int64(), 3);

    // Resetting the breach starts the accounting afresh.
    admin.Post("/_admin/mesibo/breach/reset", "");
    stats = admin.Get("/_admin/stats").Json().at("mesibo");
    EXPECT_EQ(stats.at("first_breach_at_ms"), json::value(nullptr));
    EXPECT_EQ(stats.at("after_breach").as_int64(), 0);
    EXPECT_EQ(Op(client, R"({"op":"usersget","count":1})").at("result"), json::value(true));
    EXPECT_EQ(admin.Get("/_admin/stats").Json().at("mesibo").at("after_breach").as_int64(), 0);
    // An injected TOKENBREACH starts it too.
    admin.Post("/_admin/mesibo/errors", R"({"error":"TOKENBREACH"})");
    ExpectError(Op(client, R"({"op":"usersget"})"), "TOKENBREACH", 503);
    EXPECT_FALSE(admin.Get("/_admin/stats").Json().at("mesibo").at("first_breach_at_ms").is_null());
}

TEST(EmulatorMesibo, StoppingAnswersHeldRequests) {
    std::future<std::string> held;
    {
        RunningEmulator emulator(MbOptions(20, 2));
        TestClient admin = emulator.Client();
        admin.Post("/_admin/mesibo/barrier", R"({"requests":9,"timeout_ms":0})");
        held = std::async(std::launch::async, [port = emulator.Port()] {
            try {
                TestClient client(port);
                return client.Post("/backend/", R"({"op":"usersget","token":"x"})").body;
            } catch (const std::exception& e) {
                return std::string(e.what());
            }
        });
        AwaitHeld(admin, 1);
    }
    // The emulator stopped and was destroyed with a request held; the client got an answer
    // or a closed connection, not a hang.
    EXPECT_EQ(held.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace chatsync::emulator::test
