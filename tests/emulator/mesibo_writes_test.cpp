// The Mesibo mode's write ops, injected errors and admin routes change the data as the
// backend API in /work/shared/apis/mesibo.md does; a seed gives the same data every time.

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

}  // namespace
}  // namespace chatsync::emulator::test
