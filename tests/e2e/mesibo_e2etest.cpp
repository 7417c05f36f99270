// End-to-end: the built-in mesibo connector against the emulator's Mesibo mode.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <vector>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

namespace json = boost::json;

constexpr const char* kAppToken = "mesibo-app-token";

/// A config with one mesibo source without chatsync's own request budget (the emulator has
/// no limit but appstats', and the tests should not wait).
std::string MesiboConfig(
    const std::string& dsn,
    const std::string& source,
    const Emulator& emu,
    const std::string& data_dir,
    const std::string& token = kAppToken,
    const std::string& http_yaml = "    http: {stable_egress: true}\n"
) {
    return "data_dir: " + data_dir + "\ndatabase:\n  dsn: \"" + dsn +
           "\"\nadmin:\n  listen: \"\"\nlog:\n  level: debug\nsources:\n  - name: " + source +
           "\n    connector: mesibo\n    config:\n      base_url: " + emu.url() +
           "\n      token: " + token +
           "\n    rate_limit: {requests_per_minute: 0}\n"
           "    retry: {max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms}\n" +
           http_yaml;
}

std::string Text(const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

std::set<std::string> PgSet(const std::string& dsn, const std::string& sql) {
    std::set<std::string> out;
    for (const auto& row : Query(dsn, sql)) {
        out.insert(row.size() == 1 ? row[0] : row[0] + "|" + row[1]);
    }
    return out;
}

/// The emulator's users ("uid|address"), groups ("gid|name") and memberships ("gid|uid"), as
/// the tables are compared with them.
struct Keys {
    std::set<std::string> users;
    std::set<std::string> groups;
    std::set<std::string> members;
};

Keys DatasetKeys(const json::object& data) {
    Keys keys;
    for (const auto& u : data.at("users").as_array()) {
        keys.users.insert(Text(u.at("uid")) + "|" + Text(u.at("address")));
    }
    for (const auto& g : data.at("groups").as_array()) {
        keys.groups.insert(Text(g.at("gid")) + "|" + Text(g.at("name")));
    }
    for (const auto& m : data.at("members").as_array()) {
        keys.members.insert(Text(m.at("gid")) + "|" + Text(m.at("uid")));
    }
    return keys;
}

json::object Stats(Emulator& emu) {
    return emu.Admin("GET", "/_admin/stats").at("mesibo").as_object();
}

TEST(Mesibo, LoadsEveryUserGroupAndMembershipOnce) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-users",
         "1000",
         "--mesibo-groups",
         "150",
         "--mesibo-max-members",
         "100"}
    );
    TempDir dir;
    const auto source = UniqueName("mesibo");
    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path()));
    auto run = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(
        run.exit_code, 0
    ) << run.output.substr(run.output.size() > 4000 ? run.output.size() - 4000 : 0);

    const auto data = emu.Admin("GET", "/_admin/mesibo/dataset").as_object();
    const auto [users, groups, members] = DatasetKeys(data);
    ASSERT_EQ(users.size(), 1000U);
    ASSERT_EQ(groups.size(), 150U);
    // Keys are unique in PostgreSQL, so equal sets with equal counts mean once each.
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".users"), "1000");
    EXPECT_EQ(PgSet(dsn, "SELECT uid::text, address FROM " + source + ".users"), users);
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".groups"), "150");
    EXPECT_EQ(PgSet(dsn, "SELECT gid::text, name FROM " + source + ".groups"), groups);
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".group_members"),
        std::to_string(members.size())
    );
    EXPECT_EQ(PgSet(dsn, "SELECT gid::text, uid::text FROM " + source + ".group_members"), members);
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".app_stats"), "1");

    // A sync only reads: no write op ever reaches the API.
    const auto stats = Stats(emu);
    std::printf("mesibo full sync requests: %s\n", json::serialize(stats.at("ops")).c_str());
    EXPECT_EQ(stats.at("write_ops").to_number<int>(), 0) << json::serialize(stats);
    for (const auto& [op, n] : stats.at("ops").as_object()) {
        EXPECT_TRUE(
            op == "usersget" || op == "groupsget" || op == "groupgetmembers" || op == "appstats"
        ) << op;
    }
    EXPECT_EQ(run.output.find(kAppToken), std::string::npos) << "the app token leaked";

    // A full pass that no longer sees a user, a group or a membership marks it deleted, and
    // nothing else.
    const auto first_user = data.at("users").as_array().at(0).at("uid");
    const auto& kept_membership = data.at("members").as_array().back();
    const auto kept_gid = kept_membership.at("gid");
    const auto kept_uid = kept_membership.at("uid");
    const auto first_group = data.at("groups").as_array().at(0).at("gid");
    emu.Admin(
        "POST", "/_admin/mesibo/users/delete", "{\"uids\":[" + json::serialize(first_user) + "]}"
    );
    emu.Admin(
        "POST", "/_admin/mesibo/groups/delete", "{\"gids\":[" + json::serialize(first_group) + "]}"
    );
    emu.Admin(
        "POST",
        "/_admin/mesibo/members/remove",
        "{\"gid\":" + json::serialize(kept_gid) + ",\"members\":[" + json::serialize(kept_uid) +
            "]}"
    );
    auto again = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(again.exit_code, 0) << again.output.substr(0, 4000);
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT string_agg(uid::text, ',') FROM " + source +
                ".users WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        Text(first_user)
    );
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT string_agg(gid::text, ',') FROM " + source +
                ".groups WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        Text(first_group)
    );
    const std::string removed = Text(kept_gid) + "|" + Text(kept_uid);
    for (const auto& row : Query(
             dsn,
             "SELECT gid::text || '|' || uid::text FROM " + source +
                 ".group_members WHERE _chatsync_deleted_at IS NOT NULL AND gid::text <> '" +
                 Text(first_group) + "' AND uid::text <> '" + Text(first_user) + "'"
         )) {
        EXPECT_EQ(row[0], removed) << "only the removed membership is marked";
    }
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM " + source + ".group_members WHERE _chatsync_deleted_at IS NOT " +
                "NULL AND gid::text || '|' || uid::text = '" + removed + "'"
        ),
        "1"
    );
}

/// How the server behind the emulator treats the partition filters.
struct ServerCase {
    std::string name;
    std::string escapes;    ///< --mesibo-escapes
    std::string collation;  ///< --mesibo-collation
};

void PrintTo(const ServerCase& c, std::ostream* os) {
    *os << c.name;
}

class MesiboListing : public ::testing::TestWithParam<ServerCase> {};

std::int64_t Ops(const json::object& stats, const char* op) {
    const auto& ops = stats.at("ops").as_object();
    const auto* n = ops.if_contains(op);
    return n == nullptr ? 0 : n->to_number<std::int64_t>();
}

/// Every user, group and membership, compared id by id, whether or not the server honours
/// backslash escapes and folds case or accents, on data whose addresses hold `_`, `%`,
/// accents, leading symbols and mixed case; and the request count of a run.
TEST_P(MesiboListing, ListsEveryUserGroupAndMemberWithinTheRequestBound) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto& c = GetParam();
    constexpr std::int64_t kUsers = 1000;
    constexpr std::int64_t kGroups = 150;
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-users",
         std::to_string(kUsers),
         "--mesibo-groups",
         std::to_string(kGroups),
         "--mesibo-max-members",
         "100",
         "--mesibo-escapes",
         c.escapes,
         "--mesibo-collation",
         c.collation}
    );
    TempDir dir;
    const auto source = UniqueName("mesibo_" + c.name);
    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path()));
    auto run = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(
        run.exit_code, 0
    ) << run.output.substr(run.output.size() > 4000 ? run.output.size() - 4000 : 0);

    const auto data = emu.Admin("GET", "/_admin/mesibo/dataset").as_object();
    const auto [users, groups, members] = DatasetKeys(data);
    ASSERT_EQ(users.size(), static_cast<std::size_t>(kUsers));
    const auto got_users = PgSet(dsn, "SELECT uid::text, address FROM " + source + ".users");
    std::vector<std::string> lost;
    std::set_difference(
        users.begin(), users.end(), got_users.begin(), got_users.end(), std::back_inserter(lost)
    );
    EXPECT_TRUE(lost.empty()) << lost.size() << " users lost, first: " << lost.front();
    EXPECT_EQ(got_users, users);
    EXPECT_EQ(PgSet(dsn, "SELECT gid::text, name FROM " + source + ".groups"), groups);
    EXPECT_EQ(PgSet(dsn, "SELECT gid::text, uid::text FROM " + source + ".group_members"), members);

    const auto first = Stats(emu);
    const std::int64_t requests = Ops(first, "usersget") + Ops(first, "groupsget") +
                                  Ops(first, "groupgetmembers") + Ops(first, "appstats");
    const std::int64_t bound = (3 * (kUsers + kGroups)) / 2 + kGroups + 10;
    std::printf(
        "[ mesibo   ] %s: users %zu groups %zu members %zu; requests %lld (usersget %lld, "
        "groupsget %lld, groupgetmembers %lld), bound %lld\n",
        c.name.c_str(),
        got_users.size(),
        groups.size(),
        members.size(),
        static_cast<long long>(requests),
        static_cast<long long>(Ops(first, "usersget")),
        static_cast<long long>(Ops(first, "groupsget")),
        static_cast<long long>(Ops(first, "groupgetmembers")),
        static_cast<long long>(bound)
    );
    EXPECT_EQ(Ops(first, "groupgetmembers"), kGroups) << "each group's members once";
    if (c.escapes == "honoured") {
        EXPECT_LE(requests, bound);
    }

    // A second run costs the same or less, and still finds everything.
    auto again = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(again.exit_code, 0) << again.output.substr(0, 4000);
    const auto second = Stats(emu);
    const std::int64_t more = Ops(second, "usersget") + Ops(second, "groupsget") +
                              Ops(second, "groupgetmembers") - Ops(first, "usersget") -
                              Ops(first, "groupsget") - Ops(first, "groupgetmembers");
    EXPECT_LE(more, requests);
    EXPECT_EQ(
        Scalar(
            dsn, "SELECT count(*) FROM " + source + ".users WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        "0"
    );
}

INSTANTIATE_TEST_SUITE_P(
    Server,
    MesiboListing,
    ::testing::Values(
        ServerCase{"escapes_binary", "honoured", "binary"},
        ServerCase{"escapes_accent_fold", "honoured", "ai_ci"},
        ServerCase{"no_escapes_binary", "ignored", "binary"},
        ServerCase{"no_escapes_case_fold", "ignored", "ci"}
    ),
    [](const auto& test_info) { return test_info.param.name; }
);

TEST(Mesibo, TokenBreachLatchesTheSourceUntilCleared) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "40", "--mesibo-groups", "4"});
    TempDir dir;
    const auto source = UniqueName("mesibo_breach");
    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path()));
    emu.Admin("POST", "/_admin/mesibo/breach", R"({"disabled":true})");

    auto first = RunChatsyncd({"-c", config, "once"});
    EXPECT_EQ(first.exit_code, 1) << first.output;
    EXPECT_NE(first.output.find("TOKENBREACH"), std::string::npos) << first.output;
    const auto after_breach = emu.Requests().size();
    EXPECT_EQ(after_breach, 1U) << "nothing is sent after the first TOKENBREACH answer";
    EXPECT_NE(
        Scalar(dsn, "SELECT count(*) FROM chatsync.latches WHERE source = '" + source + "'"), "0"
    );

    // A new process on the same database sends nothing either.
    auto second = RunChatsyncd({"-c", config, "once"});
    EXPECT_EQ(second.exit_code, 1) << second.output;
    EXPECT_NE(second.output.find("latched"), std::string::npos) << second.output;
    EXPECT_EQ(emu.Requests().size(), after_breach);

    // The operator deals with the breach, clears the latch, and syncing resumes.
    emu.Admin("POST", "/_admin/mesibo/breach/reset", "{}");
    auto clear = RunChatsyncd({"-c", config, "breach", "clear", "--source", source});
    EXPECT_EQ(clear.exit_code, 0) << clear.output;
    EXPECT_NE(clear.output.find("cleared the latch of source " + source), std::string::npos)
        << clear.output;
    auto third = RunChatsyncd({"-c", config, "once"});
    EXPECT_EQ(third.exit_code, 0) << third.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".users"), "40");
    auto again = RunChatsyncd({"-c", config, "breach", "clear", "--source", source});
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_NE(again.output.find("is not latched"), std::string::npos) << again.output;
}

/// The latch's message tells the operator what to run: with this source's name in it, in the
/// log, on /readyz, in `status` and in chatsync.latches.
TEST(Mesibo, TheLatchNamesTheSourceToClear) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "20", "--mesibo-groups", "2"});
    // Disabled before the daemon starts: its first request is answered TOKENBREACH.
    emu.Admin("POST", "/_admin/mesibo/breach", R"({"disabled":true})");
    TempDir dir;
    const auto source = UniqueName("mesibo_named");
    auto yaml = MesiboConfig(dsn, source, emu, dir.path());
    const std::string no_admin = "listen: \"\"";
    yaml.replace(yaml.find(no_admin), no_admin.size(), "listen: \"127.0.0.1:0\"");
    const auto config = dir.Write("c.yaml", yaml);
    const std::string clear = "chatsyncd breach clear --source " + source + "'";
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
    const auto port = AdminPort(*daemon);
    ASSERT_NE(port, 0) << daemon->Output();
    const auto readyz = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
    ASSERT_TRUE(WaitFor(
        [&] {
            return daemon->Output().find("sync failed") != std::string::npos &&
                   HttpCall("GET", readyz).body.find("latched") != std::string::npos;
        },
        std::chrono::seconds(30)
    )) << daemon->Output();

    const auto ready = HttpCall("GET", readyz);
    EXPECT_EQ(ready.status, 503U);
    EXPECT_NE(ready.body.find("source " + source + " latched: "), std::string::npos) << ready.body;
    EXPECT_NE(ready.body.find(clear), std::string::npos) << ready.body;
    EXPECT_EQ(ready.body.find("<name>"), std::string::npos) << ready.body;
    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
    const auto log = daemon->Output();
    EXPECT_EQ(log.find("<name>"), std::string::npos) << log;
    // Every line with the latch's message: the failed run's, and those of the runs it stopped.
    const std::string message = "Mesibo disabled the app";
    std::size_t breach_lines = 0;
    for (std::size_t at = log.find(message); at != std::string::npos;
         at = log.find(message, at + 1)) {
        const auto begin = log.rfind('\n', at);
        const auto line =
            log.substr(begin == std::string::npos ? 0 : begin + 1, log.find('\n', at) - begin - 1);
        EXPECT_NE(line.find(clear), std::string::npos) << line;
        ++breach_lines;
    }
    EXPECT_GT(breach_lines, 0U) << log;

    const auto reason =
        Scalar(dsn, "SELECT reason FROM chatsync.latches WHERE source = '" + source + "'");
    EXPECT_NE(reason.find(clear), std::string::npos) << reason;
    EXPECT_EQ(reason.find("<name>"), std::string::npos) << reason;

    auto status = RunChatsyncd({"-c", config, "status"});
    EXPECT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find(clear), std::string::npos) << status.output;
    EXPECT_EQ(status.output.find("<name>"), std::string::npos) << status.output;
    // Every resource of the source shows as latched, with no next run (the last column),
    // whatever its last run did; then why, and the command that clears it.
    std::size_t rows = 0;
    std::istringstream lines(status.output);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with(source + " ")) {
            continue;
        }
        ++rows;
        std::istringstream words(line);
        std::vector<std::string> columns{
            std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
        EXPECT_NE(std::find(columns.begin(), columns.end(), "latched"), columns.end()) << line;
        EXPECT_EQ(columns.back(), "-") << "no next run: " << line;
    }
    EXPECT_EQ(rows, 3U) << "users, groups and app_stats\n" << status.output;
    EXPECT_NE(status.output.find("    source " + source + " latched since "), std::string::npos)
        << status.output;
    EXPECT_NE(
        status.output.find(
            "    no resource of it runs until: chatsyncd breach clear --source " + source + "\n"
        ),
        std::string::npos
    ) << status.output;
}

TEST(Mesibo, EveryRequestLeavesFromThePinnedAddress) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "300", "--mesibo-groups", "10"});
    TempDir dir;
    const auto source = UniqueName("mesibo_pinned");
    const auto config = dir.Write(
        "c.yaml",
        MesiboConfig(
            dsn, source, emu, dir.path(), kAppToken, "    http: {local_address: 127.0.0.2}\n"
        )
    );
    auto run = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto log = emu.Requests();
    ASSERT_GT(log.size(), 10U);
    for (const auto& e : log) {
        EXPECT_TRUE(std::string(e.at("remote").as_string()).starts_with("127.0.0.2"))
            << e.at("remote");
    }
    const auto clients = emu.Admin("GET", "/_admin/mesibo/clients");
    EXPECT_EQ(clients.at("tokens").at(kAppToken).as_array().size(), 1U) << json::serialize(clients);
}

TEST(Mesibo, APinnedAddressTheHostLacksRefusesOnlyThatSource) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator mesibo({"--mode", "mesibo", "--mesibo-users", "20", "--mesibo-groups", "2"});
    Emulator generic({"--mode", "generic", "--records", "50", "--auth", "bearer", "--token", kToken}
    );
    TempDir dir;
    const auto pinned = UniqueName("mesibo_elsewhere");
    const auto other = UniqueName("generic_ok");
    // 192.0.2.1 is TEST-NET-1: never assigned to this host.
    std::string yaml =
        MesiboConfig(
            dsn, pinned, mesibo, dir.path(), kAppToken, "    http: {local_address: 192.0.2.1}\n"
        ) +
        "  - name: " + other + "\n    connector_file: " + SourceDir() +
        "/tests/e2e/specs/generic.yaml\n    config:\n      base_url: " + generic.url() +
        "\n      token: " + kToken + "\n";
    const auto config = dir.Write("c.yaml", yaml);
    auto run = RunChatsyncd({"-c", config, "once"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(
        run.output.find("pinned egress address 192.0.2.1 is not on this host"), std::string::npos
    ) << run.output;
    EXPECT_TRUE(mesibo.Requests().empty()) << "the refused source sent nothing";
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + other + ".page"), "50")
        << "the other source synced";
}

TEST(Mesibo, RefusesToStartWithoutAPinnedOrVouchedForAddress) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "20", "--mesibo-groups", "2"});
    TempDir dir;
    const auto source = UniqueName("mesibo_unpinned");
    const auto config =
        dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path(), kAppToken, ""));
    auto run = RunChatsyncd({"-c", config, "once"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(
        run.output.find("set http.local_address to a pinned egress address"), std::string::npos
    ) << run.output;
    EXPECT_TRUE(emu.Requests().empty());
}

/// Six daemons, each pinned to another loopback address, on one database: the recorded
/// addresses stop all but the first two, so Mesibo never sees a third, let alone a sixth.
TEST(Mesibo, SixPinnedDaemonsNeverReachASixthAddress) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "30", "--mesibo-groups", "3"});
    TempDir dir;
    const auto source = UniqueName("mesibo_six");
    std::vector<std::unique_ptr<Process>> daemons;
    for (int i = 2; i <= 7; ++i) {
        const std::string address = "127.0.0." + std::to_string(i);
        const auto config = dir.Write(
            "c" + std::to_string(i) + ".yaml",
            MesiboConfig(
                dsn,
                source,
                emu,
                dir.path(),
                kAppToken,
                "    http: {local_address: " + address + "}\n"
            ) + "    schedule: {interval: 1s, jitter: 0s}\n"
                "    resources: {app_stats: {enabled: false}}\n"
        );
        daemons.push_back(
            StartChatsyncd({"-c", config, "run"}, dir.path() + "/d" + std::to_string(i) + ".log")
        );
    }
    // Every daemon gets several chances to sync.
    ASSERT_TRUE(WaitFor(
        [&] {
            std::size_t refused = 0;
            for (auto& d : daemons) {
                refused += d->Output().find("egress guard") != std::string::npos ? 1 : 0;
            }
            return refused >= 4;
        },
        std::chrono::seconds(30)
    ));
    std::this_thread::sleep_for(std::chrono::seconds(3));
    daemons.clear();
    std::set<std::string> seen;
    for (const auto& e : emu.Requests()) {
        const std::string remote(e.at("remote").as_string());
        seen.insert(remote.substr(0, remote.find(':')));
    }
    EXPECT_LE(seen.size(), 2U) << emu.Requests().size() << " requests";
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM chatsync.egress WHERE source = '" + source + "'"), "2"
    );
    const auto clients = emu.Admin("GET", "/_admin/mesibo/clients");
    EXPECT_FALSE(clients.at("disabled").as_bool()) << json::serialize(clients);
}

struct EnvelopeCase {
    std::string name;
    /// Injected through /_admin/mesibo/errors ("" : none), and the token the config uses.
    std::string inject;
    std::string token = kAppToken;
    /// Whether the run still succeeds (after backing off).
    bool succeeds = false;
    /// Text the output must contain.
    std::string message;
};

void PrintTo(const EnvelopeCase& c, std::ostream* os) {
    *os << c.name;
}

class MesiboEnvelope : public ::testing::TestWithParam<EnvelopeCase> {};

TEST_P(MesiboEnvelope, DocumentedBehaviourCountedAndCheckpointKept) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto& c = GetParam();
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "40", "--mesibo-groups", "4"});
    if (!c.inject.empty()) {
        emu.Admin("POST", "/_admin/mesibo/errors", c.inject);
    }
    TempDir dir;
    const auto source = UniqueName("mesibo_" + c.name);
    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path(), c.token));
    auto run = RunChatsyncd({"-c", config, "once", "--resource", "users", "--source", source});
    EXPECT_EQ(run.exit_code, c.succeeds ? 0 : 1) << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << run.output;
    const std::string failed_runs = Scalar(
        dsn,
        "SELECT count(*) FROM chatsync.runs WHERE source = '" + source +
            "' AND outcome = 'failed' AND error <> ''"
    );
    if (c.succeeds) {
        EXPECT_EQ(failed_runs, "0");
        EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".users"), "40");
        return;
    }
    EXPECT_EQ(failed_runs, "1") << "the failure is recorded once";
    EXPECT_EQ(SavedPositions(dsn, source), "0") << "no checkpoint moved";
    EXPECT_LE(emu.Requests().size(), 3U) << "no retry storm";
}

INSTANTIATE_TEST_SUITE_P(
    Codes,
    MesiboEnvelope,
    ::testing::Values(
        EnvelopeCase{
            "authfail",
            "",
            "wrong-token",
            false,
            "Mesibo rejected the app token: Invalid or expired app token"},
        EnvelopeCase{
            "ratelimited",
            R"({"error":"RATELIMITED","count":2})",
            kAppToken,
            true,
            "rate limited, waiting"},
        EnvelopeCase{
            "badpayload",
            R"({"error":"BADPAYLOAD","count":-1})",
            kAppToken,
            false,
            "Mesibo error BADPAYLOAD (code 400)"},
        EnvelopeCase{
            "unknown_code",
            R"({"error":"NEWFANGLED","code":418,"cause":"a code no document lists","count":-1})",
            kAppToken,
            false,
            "Mesibo error NEWFANGLED (code 418): a code no document lists"}
    ),
    [](const auto& test_info) { return test_info.param.name; }
);

// Declared column types --------------------------------------------------------------------

/// The config of MesiboConfig with the spec read from `spec_path` instead of the built-in one.
std::string WithSpecFile(std::string config, const std::string& spec_path) {
    const std::string builtin = "    connector: mesibo\n";
    const auto at = config.find(builtin);
    if (at != std::string::npos) {
        config.replace(at, builtin.size(), "    connector_file: " + spec_path + "\n");
    }
    return config;
}

/// The built-in mesibo spec as text, without its `column_types` blocks when `declared` is
/// false (how chatsync read Mesibo before types were declared: every type inferred).
std::string MesiboSpec(bool declared) {
    std::ifstream in(SourceDir() + "/lib/connectors/builtin/mesibo.yaml");
    std::stringstream file;
    file << in.rdbuf();
    // A spec file's text is interpolated, unlike a built-in one's: the ${ENV} of a
    // description must not read as a reference.
    std::string all = file.str();
    for (auto at = all.find("${"); at != std::string::npos; at = all.find("${", at)) {
        all.erase(at + 1, 1);
        const auto close = all.find('}', at);
        if (close != std::string::npos) {
            all.erase(close, 1);
        }
    }
    if (declared) {
        return all;
    }
    std::stringstream text(all);
    std::string out;
    std::string line;
    bool skipping = false;
    while (std::getline(text, line)) {
        if (line == "    column_types:") {
            skipping = true;
            continue;
        }
        if (skipping && line.starts_with("      ")) {
            continue;
        }
        skipping = false;
        out += line + "\n";
    }
    return out;
}

/// `column:data_type` of the listed columns of `table`, from information_schema.
std::set<std::string> ColumnTypes(
    const std::string& dsn,
    const std::string& schema,
    const std::string& table,
    const std::vector<std::string>& columns
) {
    std::string names;
    for (const auto& c : columns) {
        names += (names.empty() ? "'" : ", '") + c + "'";
    }
    std::set<std::string> out;
    for (const auto& row : Query(
             dsn,
             "SELECT column_name || ':' || data_type FROM information_schema.columns WHERE "
             "table_schema = '" +
                 schema + "' AND table_name = '" + table + "' AND column_name IN (" + names + ")"
         )) {
        out.insert(row[0]);
    }
    return out;
}

std::set<std::string> Typed(const std::vector<std::string>& columns, const std::string& type) {
    std::set<std::string> out;
    for (const auto& c : columns) {
        out.insert(c + ":" + type);
    }
    return out;
}

const std::vector<std::string> kUserBooleans{"active", "pinned", "online"};
const std::vector<std::string> kUserBigints{"uid", "ipaddr", "lastonline", "flag", "flags"};
const std::vector<std::string>
    kGroupBigints{"gid", "ats", "ets", "expiryext", "type", "flag", "sflags"};
const std::vector<std::string> kMemberBooleans{
    "cansend",
    "canrecv",
    "canpub",
    "cansub",
    "canlist",
    "permissions__send",
    "permissions__recv",
    "permissions__pub",
    "permissions__sub",
    "permissions__list"};

/// Every declared column has its declared type, and every user, group and membership holds
/// the emulator's values, compared id by id.
void ExpectDeclaredTypesAndValues(
    const std::string& dsn,
    const std::string& source,
    const json::object& data
) {
    EXPECT_EQ(ColumnTypes(dsn, source, "users", kUserBooleans), Typed(kUserBooleans, "boolean"));
    EXPECT_EQ(ColumnTypes(dsn, source, "users", kUserBigints), Typed(kUserBigints, "bigint"));
    EXPECT_EQ(ColumnTypes(dsn, source, "groups", kGroupBigints), Typed(kGroupBigints, "bigint"));
    EXPECT_EQ(ColumnTypes(dsn, source, "groups", {"pinned"}), Typed({"pinned"}, "boolean"));
    EXPECT_EQ(
        ColumnTypes(dsn, source, "group_members", {"gid", "uid"}), Typed({"gid", "uid"}, "bigint")
    );
    EXPECT_EQ(
        ColumnTypes(dsn, source, "group_members", kMemberBooleans),
        Typed(kMemberBooleans, "boolean")
    );
    // Admin flags appear only on admins' records; where they made a column, it is boolean.
    for (const auto& row : Query(
             dsn,
             "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema "
             "= '" +
                 source + "' AND table_name = 'group_members' AND column_name LIKE 'admin%'"
         )) {
        EXPECT_EQ(row[1], "boolean") << row[0];
    }

    std::set<std::string> users;
    for (const auto& u : data.at("users").as_array()) {
        users.insert(
            Text(u.at("uid")) + "|" + Text(u.at("active")) + "|" + Text(u.at("pinned")) + "|" +
            Text(u.at("online")) + "|" + Text(u.at("flags")) + "|" + Text(u.at("ipaddr"))
        );
    }
    EXPECT_EQ(
        PgSet(
            dsn,
            "SELECT concat_ws('|', uid, active::text, pinned::text, online::text, flags, ipaddr) "
            "FROM " +
                source + ".users"
        ),
        users
    );
    std::set<std::string> groups;
    for (const auto& g : data.at("groups").as_array()) {
        groups.insert(
            Text(g.at("gid")) + "|" + Text(g.at("pinned")) + "|" + Text(g.at("flags")) + "|" +
            Text(g.at("type")) + "|" + Text(g.at("sflags")) + "|" + Text(g.at("ats"))
        );
    }
    EXPECT_EQ(
        PgSet(
            dsn,
            "SELECT concat_ws('|', gid, pinned::text, flag, type, sflags, ats) FROM " + source +
                ".groups"
        ),
        groups
    );
    std::set<std::string> members;
    for (const auto& m : data.at("members").as_array()) {
        std::string flags;
        for (const char* f : {"send", "recv", "pub", "sub", "list"}) {
            flags += "|" + Text(m.at(f));
        }
        members.insert(Text(m.at("gid")) + "|" + Text(m.at("uid")) + flags + flags);
    }
    EXPECT_EQ(
        PgSet(
            dsn,
            "SELECT concat_ws('|', gid, uid, cansend::text, canrecv::text, canpub::text, "
            "cansub::text, canlist::text, permissions__send::text, permissions__recv::text, "
            "permissions__pub::text, permissions__sub::text, permissions__list::text) FROM " +
                source + ".group_members"
        ),
        members
    );
}

class MesiboTypesForms : public ::testing::TestWithParam<std::string> {};

/// Flags as 0/1 in some records and true/false in others, ids as strings (old api.php) or
/// either: the declared columns are boolean and bigint all the same, with every value right.
TEST_P(MesiboTypesForms, FlagsAreBooleanAndIdsBigintWhateverTheAnswersForm) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const std::string& ids = GetParam();
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-users",
         "200",
         "--mesibo-groups",
         "20",
         "--mesibo-max-members",
         "40",
         "--mesibo-flags",
         "mixed",
         "--mesibo-ids",
         ids}
    );
    TempDir dir;
    const auto source = UniqueName("mesibo_types_" + ids);
    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path()));
    auto run = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(
        run.exit_code, 0
    ) << run.output.substr(run.output.size() > 4000 ? run.output.size() - 4000 : 0);
    const auto data = emu.Admin("GET", "/_admin/mesibo/dataset").as_object();
    ASSERT_EQ(data.at("users").as_array().size(), 200U);
    ExpectDeclaredTypesAndValues(dsn, source, data);
    EXPECT_EQ(run.output.find("converted a column"), std::string::npos)
        << "columns made with their declared types need no conversion";

    // The answers change form on the next run (all true/false, ids as numbers): same columns.
    emu.Admin("POST", "/_admin/mesibo/config", R"({"flags":"bool","ids":"number"})");
    auto again = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(again.exit_code, 0) << again.output.substr(0, 4000);
    ExpectDeclaredTypesAndValues(dsn, source, data);
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".users WHERE _chatsync_deleted_at IS NULL"),
        "200"
    );
}

INSTANTIATE_TEST_SUITE_P(
    Ids,
    MesiboTypesForms,
    ::testing::Values("string", "mixed"),
    [](const auto& test_info) { return test_info.param; }
);

/// Tables that an earlier chatsyncd made by inference (text holding "0" and "true", bigint
/// holding 0/1, ids as text) are converted by the next run, with every row and value kept.
TEST(MesiboTypes, InferredColumnsFromAnEarlierRunAreConvertedWithTheirRows) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-users",
         "150",
         "--mesibo-groups",
         "15",
         "--mesibo-max-members",
         "30",
         "--mesibo-flags",
         "mixed",
         "--mesibo-ids",
         "mixed"}
    );
    TempDir dir;
    const auto source = UniqueName("mesibo_convert");
    const auto inferred_spec = dir.Write("mesibo_inferred.yaml", MesiboSpec(false));
    ASSERT_EQ(MesiboSpec(false).find("column_types"), std::string::npos);
    const auto old_config = dir.Write(
        "old.yaml", WithSpecFile(MesiboConfig(dsn, source, emu, dir.path()), inferred_spec)
    );
    auto first = RunChatsyncd({"-c", old_config, "once"});
    ASSERT_EQ(first.exit_code, 0) << first.output.substr(0, 4000);
    // What inference made of answers that disagree.
    EXPECT_EQ(
        ColumnTypes(dsn, source, "users", {"uid", "pinned"}),
        (std::set<std::string>{"uid:text", "pinned:text"})
    );
    EXPECT_EQ(ColumnTypes(dsn, source, "groups", {"gid"}), (std::set<std::string>{"gid:text"}));
    EXPECT_EQ(
        ColumnTypes(dsn, source, "group_members", {"cansend", "permissions__send"}),
        (std::set<std::string>{"cansend:text", "permissions__send:boolean"})
    );
    const auto rows_before = PgSet(
        dsn,
        "SELECT 'users ' || count(*) FROM " + source +
            ".users UNION ALL SELECT 'groups ' || count(*) FROM " + source +
            ".groups UNION ALL SELECT 'members ' || count(*) FROM " + source + ".group_members"
    );
    // Flags as 0/1 only: the next answers alone would have made bigint columns, and the
    // declared type must win over them too.
    emu.Admin("POST", "/_admin/mesibo/config", R"({"flags":"int"})");

    const auto config = dir.Write("c.yaml", MesiboConfig(dsn, source, emu, dir.path()));
    auto second = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(second.exit_code, 0) << second.output.substr(0, 4000);
    const auto data = emu.Admin("GET", "/_admin/mesibo/dataset").as_object();
    ExpectDeclaredTypesAndValues(dsn, source, data);
    EXPECT_EQ(
        PgSet(
            dsn,
            "SELECT 'users ' || count(*) FROM " + source +
                ".users UNION ALL SELECT 'groups ' || count(*) FROM " + source +
                ".groups UNION ALL SELECT 'members ' || count(*) FROM " + source + ".group_members"
        ),
        rows_before
    );
    EXPECT_EQ(
        Scalar(
            dsn, "SELECT count(*) FROM " + source + ".users WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        "0"
    );
    const std::string converted = "converted a column to its declared type source=" + source +
                                  " table=users column=pinned from=\"text\" to=\"boolean\"";
    EXPECT_NE(second.output.find(converted), std::string::npos) << second.output.substr(0, 4000);
    EXPECT_NE(
        second.output.find("table=users column=uid from=\"text\" to=\"bigint\""), std::string::npos
    );
    // One line per converted column, once.
    auto third = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(third.exit_code, 0) << third.output.substr(0, 4000);
    EXPECT_EQ(third.output.find("converted a column"), std::string::npos);
    EXPECT_EQ(second.output.find(kAppToken), std::string::npos) << "the app token leaked";
}

/// A value its declared type cannot take (here every appid, declared bigint) is bad input:
/// the run fails with the resource, the field and the JSON type, counted as bad_payload, and
/// nothing is committed.
TEST(MesiboTypes, AValueItsDeclaredTypeCannotTakeFailsTheRunAndKeepsTheCheckpoint) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "mesibo", "--mesibo-users", "40", "--mesibo-groups", "4"});
    TempDir dir;
    const auto source = UniqueName("mesibo_badtype");
    std::string spec = MesiboSpec(true);
    const std::string anchor = "      uid: bigint\n";
    const auto at = spec.find(anchor);
    ASSERT_NE(at, std::string::npos);
    spec.insert(at + anchor.size(), "      appid: bigint\n");
    const auto spec_path = dir.Write("mesibo_bad.yaml", spec);
    const auto config =
        dir.Write("c.yaml", WithSpecFile(MesiboConfig(dsn, source, emu, dir.path()), spec_path));
    auto run = RunChatsyncd({"-c", config, "once", "--resource", "users", "--source", source});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    const std::string message =
        "resource users, record 0: field 'appid' is declared bigint but holds a string that "
        "cannot be read as one";
    EXPECT_NE(run.output.find(message), std::string::npos) << run.output;
    EXPECT_NE(
        run.output.find(
            "sync failed source=" + source +
            " resource=users outcome=failed "
            "kind=bad_payload"
        ),
        std::string::npos
    ) << run.output;
    const auto error = Scalar(
        dsn,
        "SELECT error FROM chatsync.runs WHERE source = '" + source + "' AND outcome = 'failed'"
    );
    EXPECT_NE(error.find(message), std::string::npos) << error;
    EXPECT_EQ(error.find("com.example"), std::string::npos) << "a value leaked";
    EXPECT_EQ(run.output.find("com.example"), std::string::npos) << "a value leaked";
    EXPECT_EQ(SavedPositions(dsn, source), "0") << "no checkpoint moved";
    EXPECT_EQ(Scalar(dsn, "SELECT to_regclass('" + source + ".users') IS NULL"), "t")
        << "nothing was written";
}

}  // namespace
}  // namespace chatsync::test
