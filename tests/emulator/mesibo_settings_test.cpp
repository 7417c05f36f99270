// The Mesibo mode's switches (flags, id and count styles, collations and escapes) and the
// answer barrier that holds requests until a client's whole concurrency has arrived.

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
