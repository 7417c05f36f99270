// End-to-end: the built-in tiledesk connector against the emulator's Tiledesk mode.

#include <algorithm>
#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

namespace json = boost::json;

constexpr const char* kProject = "5b55e806c93dde00143163dd";
constexpr const char* kOwnerCredentials =
    "      email: owner@tiledesk.test\n      password: tiledesk-password\n";

/// `once` with the Tiledesk rate limit on a clock 60 times faster than the real one: the
/// emulator allows 200 requests a second, and chatsyncd's budget counts its 150 a "minute"
/// over one second (a test-only option).
std::vector<std::string> OnceOnFastRateClock(const std::string& config) {
    return {"-c", config, "--test-hook", "rate_window=1s", "once"};
}

/// Flags for the emulator's Tiledesk mode: `requests` conversations of `messages` messages,
/// and the documented limit of 200 requests per `rate_window` ("" : no limit).
std::vector<std::string>
TiledeskFlags(int requests, int messages, const std::string& rate_window = "") {
    std::vector<std::string> flags{
        "--mode",
        "tiledesk",
        "--tiledesk-requests",
        std::to_string(requests),
        "--tiledesk-messages-per-request",
        std::to_string(messages),
        "--tiledesk-rate-limit",
        rate_window.empty() ? "0" : "200"};
    if (!rate_window.empty()) {
        flags.insert(flags.end(), {"--tiledesk-rate-window", rate_window});
    }
    return flags;
}

/// A config with one tiledesk source. `config_yaml` holds the credentials (and any other
/// config values), indented by six spaces.
std::string TiledeskConfig(
    const std::string& dsn,
    const std::string& source,
    const Emulator& emu,
    const std::string& data_dir,
    const std::string& config_yaml = kOwnerCredentials,
    const std::string& extra_source_yaml = "",
    const std::string& admin_listen = "",
    const std::string& project = kProject
) {
    return "data_dir: " + data_dir + "\ndatabase:\n  dsn: \"" + dsn + "\"\nadmin:\n  listen: \"" +
           admin_listen + "\"\nlog:\n  level: debug\nlimits:\n  shutdown_grace: 10s\n" +
           "sources:\n  - name: " + source + "\n    connector: tiledesk\n    config:\n" +
           "      base_url: " + emu.url() + "/v3\n      project_id: \"" + project + "\"\n" +
           config_yaml +
           "    retry: {max_attempts: 4, initial_backoff: 50ms, max_backoff: 500ms}\n" +
           extra_source_yaml;
}

std::int64_t IsoMillis(const json::value& v) {
    const auto t = ParseIso8601(v.as_string(), true);
    EXPECT_TRUE(t.has_value()) << v;
    return t ? std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count()
             : 0;
}

std::size_t CodePoints(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
        return (c & 0xC0) != 0x80;
    }));
}

std::string Text(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return "\\N";
    }
    return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

/// One line per conversation (sorted by _id): the fields a user would check, and when the
/// emulator last changed it.
std::string RequestDigest(const json::array& requests) {
    std::vector<std::string> lines;
    for (const auto& r : requests) {
        const auto& o = r.as_object();
        lines.push_back(
            Text(o, "_id") + "|" + Text(o, "request_id") + "|" + Text(o, "status") + "|" +
            Text(o, "ticket_id") + "|" + std::to_string(CodePoints(Text(o, "first_text"))) + "|" +
            std::to_string(IsoMillis(o.at("updatedAt")))
        );
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

std::string MessageDigest(const json::array& messages) {
    std::vector<std::string> lines;
    for (const auto& m : messages) {
        const auto& o = m.as_object();
        lines.push_back(
            Text(o, "_id") + "|" + Text(o, "recipient") + "|" + Text(o, "sender") + "|" +
            std::to_string(CodePoints(Text(o, "text"))) + "|" +
            std::to_string(IsoMillis(o.at("createdAt")))
        );
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

std::string PgRequestDigest(const std::string& dsn, const std::string& source) {
    return Scalar(
        dsn,
        "SELECT coalesce(string_agg(_id || '|' || request_id || '|' || status || '|' || "
        "coalesce(ticket_id::text, '\\N') || '|' || coalesce(char_length(first_text), 0) || '|' "
        "|| "
        "(extract(epoch FROM updated_at) * 1000)::bigint || E'\\n', '' ORDER BY _id COLLATE "
        "\"C\"), '') FROM " +
            source + ".requests"
    );
}

std::string PgMessageDigest(const std::string& dsn, const std::string& source) {
    return Scalar(
        dsn,
        "SELECT coalesce(string_agg(_id || '|' || request_id || '|' || coalesce(sender, '\\N') "
        "|| '|' || coalesce(char_length(text), 0) || '|' || (extract(epoch FROM created_at) * "
        "1000)::bigint || "
        "E'\\n', '' ORDER BY _id COLLATE \"C\"), '') FROM " +
            source + ".messages"
    );
}

/// Where two digests first differ, for a readable failure.
std::string FirstDifference(const std::string& want, const std::string& got) {
    const auto [a, b] = std::mismatch(want.begin(), want.end(), got.begin(), got.end());
    const auto line_start = [](const std::string& s, std::string::const_iterator it) {
        const auto pos = s.rfind('\n', static_cast<std::size_t>(it - s.begin()));
        return pos == std::string::npos ? 0 : pos + 1;
    };
    const auto wl = line_start(want, a);
    const auto gl = line_start(got, b);
    return "emulator: " + want.substr(wl, want.find('\n', wl) - wl) +
           "\npostgres: " + got.substr(gl, got.find('\n', gl) - gl);
}

::testing::AssertionResult DigestsMatch(const std::string& want, const std::string& got) {
    if (want == got) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "rows differ (" << want.size() << " vs " << got.size() << " bytes)\n"
           << FirstDifference(want, got);
}

/// The request_ids of every messages call in a request log, and how often each was called.
std::map<std::string, int> MessageCalls(const json::array& log) {
    std::map<std::string, int> out;
    const std::string prefix = std::string("/v3/") + kProject + "/requests/";
    for (const auto& e : log) {
        const std::string path(e.at("path").as_string());
        if (path.starts_with(prefix) && path.ends_with("/messages")) {
            out[path.substr(prefix.size(), path.size() - prefix.size() - 9)] += 1;
        }
    }
    return out;
}

int CountStatus(const json::array& log, int status) {
    return static_cast<int>(std::count_if(log.begin(), log.end(), [&](const json::value& e) {
        return e.at("status").to_number<int>() == status;
    }));
}

/// Row versions (xmin) by key: a row rewritten by an UPDATE gets a new one.
std::map<std::string, std::string> RowVersions(const std::string& dsn, const std::string& table) {
    std::map<std::string, std::string> out;
    for (const auto& row : Query(dsn, "SELECT _id, xmin::text FROM " + table)) {
        out[row[0]] = row[1];
    }
    return out;
}

TEST(Tiledesk, FullSyncThenOnlyWhatChanged) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu(TiledeskFlags(5000, 10, "1s"));
    // Five more bots than the seed has, so that deleting three leaves some standing.
    emu.Admin("POST", "/_admin/tiledesk/add", R"({"count":0,"bots":5})");
    TempDir dir;
    const auto source = UniqueName("tiledesk");
    const auto config = dir.Write("c.yaml", TiledeskConfig(dsn, source, emu, dir.path()));

    auto first = RunChatsyncd(OnceOnFastRateClock(config), {}, std::chrono::minutes(10));
    ASSERT_EQ(first.exit_code, 0) << first.output;
    auto data = emu.Admin("GET", "/_admin/tiledesk/dataset").as_object();
    const auto& requests = data.at("requests").as_array();
    const auto& messages = data.at("messages").as_array();
    ASSERT_EQ(requests.size(), 5000U);
    ASSERT_EQ(messages.size(), 50000U);
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".requests"), "5000");
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".messages"), "50000");
    EXPECT_TRUE(DigestsMatch(RequestDigest(requests), PgRequestDigest(dsn, source)));
    EXPECT_TRUE(DigestsMatch(MessageDigest(messages), PgMessageDigest(dsn, source)));
    EXPECT_EQ(
        Scalar(
            dsn, "SELECT count(DISTINCT status) FROM " + source + ".requests WHERE status >= 1000"
        ),
        "1"
    ) << "closed conversations are synced";

    auto log = emu.Requests();
    EXPECT_EQ(CountStatus(log, 429), 0) << "the default budget stays under 200 a minute";
    const auto calls = MessageCalls(log);
    EXPECT_EQ(calls.size(), 5000U);
    EXPECT_TRUE(std::all_of(calls.begin(), calls.end(), [](const auto& c) { return c.second == 1; })
    ) << "each conversation's messages are fetched once";
    // Project entities.
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".bots"),
        std::to_string(data.at("bots").as_array().size() - 2)
    ) << "every bot but the identity bot and the trashed one";
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".leads"),
        std::to_string(std::count_if(
            data.at("leads").as_array().begin(),
            data.at("leads").as_array().end(),
            [](const json::value& l) { return l.at("status").to_number<int>() == 100; }
        ))
    );
    EXPECT_NE(Scalar(dsn, "SELECT count(*) FROM " + source + ".members"), "0");
    EXPECT_NE(Scalar(dsn, "SELECT count(*) FROM " + source + ".departments"), "0");
    // ObjectIds stay text, ISO dates become timestamptz, nested documents are flattened.
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY column_name) FROM "
            "information_schema.columns WHERE table_schema = '" +
                source +
                "' AND table_name = 'requests' AND column_name IN ('_id', 'updated_at', "
                "'lead__email', 'department__name')"
        ),
        "_id:text,department__name:text,lead__email:text,updated_at:timestamp with time zone"
    );

    // Changes: 100 conversations get a message, 20 new ones arrive, 3 bots are deleted.
    const auto before_requests = RowVersions(dsn, source + ".requests");
    const auto before_messages = RowVersions(dsn, source + ".messages");
    const auto updated =
        emu.Admin("POST", "/_admin/tiledesk/update", R"({"count":100,"add_messages":1})")
            .at("updated")
            .as_array();
    const auto added =
        emu.Admin("POST", "/_admin/tiledesk/add", R"({"count":20,"messages_per_request":3})")
            .at("added")
            .as_array();
    std::set<std::string> changed_ids;
    std::set<std::string> updated_keys;
    for (const auto& u : updated) {
        changed_ids.insert(std::string(u.at("request_id").as_string()));
        updated_keys.insert(std::string(u.at("_id").as_string()));
    }
    for (const auto& a : added) {
        changed_ids.insert(std::string(a.at("request_id").as_string()));
    }
    ASSERT_EQ(updated_keys.size(), 100U);
    ASSERT_EQ(changed_ids.size(), 120U);
    const auto bot_ids = Query(
        dsn, "SELECT _id FROM " + source + ".bots WHERE name LIKE 'FAQ bot %' ORDER BY _id LIMIT 3"
    );
    ASSERT_EQ(bot_ids.size(), 3U);
    emu.Admin(
        "POST",
        "/_admin/tiledesk/delete",
        R"({"kind":"bots","ids":[")" + bot_ids[0][0] + R"(",")" + bot_ids[1][0] + R"(",")" +
            bot_ids[2][0] + R"("]})"
    );
    emu.Admin("POST", "/_admin/requests/clear");

    auto second = RunChatsyncd(OnceOnFastRateClock(config), {}, std::chrono::minutes(5));
    ASSERT_EQ(second.exit_code, 0) << second.output;
    log = emu.Requests();
    // Only the changed conversations' messages were fetched.
    std::set<std::string> fetched;
    for (const auto& [id, n] : MessageCalls(log)) {
        fetched.insert(id);
        EXPECT_EQ(n, 1) << id;
    }
    EXPECT_EQ(fetched, changed_ids);
    // The listing asked for changes since the day before the last one seen, in UTC.
    int listings = 0;
    for (const auto& e : log) {
        if (e.at("path").as_string() != std::string("/v3/") + kProject + "/requests") {
            continue;
        }
        ++listings;
        const std::string q(e.at("query").as_string());
        EXPECT_NE(q.find("status=all"), std::string::npos) << q;
        EXPECT_NE(q.find("filterRangeField=updatedAt"), std::string::npos) << q;
        EXPECT_NE(q.find("timezone=UTC"), std::string::npos) << q;
        EXPECT_NE(q.find("start_date="), std::string::npos) << q;
        EXPECT_NE(q.find("limit=100"), std::string::npos) << q;
    }
    EXPECT_GE(listings, 1);
    EXPECT_LE(listings, 5) << "the second run re-read far more than what changed";

    // Exactly the updated rows were rewritten; the new ones were added.
    const auto after_requests = RowVersions(dsn, source + ".requests");
    EXPECT_EQ(after_requests.size(), 5020U);
    std::set<std::string> rewritten;
    for (const auto& [key, version] : before_requests) {
        if (after_requests.at(key) != version) {
            rewritten.insert(key);
        }
    }
    EXPECT_EQ(rewritten, updated_keys);
    const auto after_messages = RowVersions(dsn, source + ".messages");
    EXPECT_EQ(after_messages.size(), 50000U + 100U + 60U);
    for (const auto& [key, version] : before_messages) {
        EXPECT_EQ(after_messages.at(key), version) << "message " << key << " was rewritten";
    }
    data = emu.Admin("GET", "/_admin/tiledesk/dataset").as_object();
    EXPECT_TRUE(
        DigestsMatch(RequestDigest(data.at("requests").as_array()), PgRequestDigest(dsn, source))
    );
    EXPECT_TRUE(
        DigestsMatch(MessageDigest(data.at("messages").as_array()), PgMessageDigest(dsn, source))
    );
    // The deleted bots are marked, the others are not.
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT string_agg(_id, ',' ORDER BY _id) FROM " + source +
                ".bots WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        bot_ids[0][0] + "," + bot_ids[1][0] + "," + bot_ids[2][0]
    );
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".bots WHERE _chatsync_deleted_at IS NULL"),
        std::to_string(data.at("bots").as_array().size() - 2)
    );
}

/// Day-granular date filters: a conversation changed late in the day of the last sync, or
/// just before the server's own midnight, is found by the next run.
class TiledeskDays : public ::testing::TestWithParam<std::string> {};

TEST_P(TiledeskDays, LateChangesAcrossMidnightAreNotMissed) {
    CHATSYNC_REQUIRE_DSN(dsn);
    // The server runs in Los Angeles: the legacy date parser reads days in that zone.
    auto flags = TiledeskFlags(40, 2);
    flags.insert(
        flags.end(),
        {"--tiledesk-timezone", "America/Los_Angeles", "--tiledesk-date-filter", GetParam()}
    );
    Emulator emu(flags);
    TempDir dir;
    const auto source = UniqueName("tiledesk_days");
    const auto config = dir.Write("c.yaml", TiledeskConfig(dsn, source, emu, dir.path()));
    const auto pin = [&](const std::string& when) {
        emu.Admin("POST", "/_admin/tiledesk/clock", R"({"now":")" + when + R"("})");
    };
    const auto sync = [&] {
        auto run = RunChatsyncd({"-c", config, "once"});
        EXPECT_EQ(run.exit_code, 0) << run.output;
    };
    const auto seeded = emu.Admin("GET", "/_admin/tiledesk/dataset").at("requests").as_array();
    const auto request_id = [&](std::size_t i) {
        return std::string(seeded.at(i).at("request_id").as_string());
    };
    const auto update = [&](const std::string& rid) {
        emu.Admin(
            "POST",
            "/_admin/tiledesk/update",
            R"({"request_ids":[")" + rid + R"("],"add_messages":1})"
        );
    };
    const auto expect_in_step = [&](const char* step) {
        const auto data = emu.Admin("GET", "/_admin/tiledesk/dataset").as_object();
        EXPECT_TRUE(DigestsMatch(
            RequestDigest(data.at("requests").as_array()), PgRequestDigest(dsn, source)
        )) << step;
        EXPECT_TRUE(DigestsMatch(
            MessageDigest(data.at("messages").as_array()), PgMessageDigest(dsn, source)
        )) << step;
    };

    // Across midnight UTC: synced at 23:50, a change at 23:59:30, the next run after midnight.
    pin("2026-03-10T23:50:00Z");
    emu.Admin("POST", "/_admin/tiledesk/add", R"({"count":1})");
    sync();
    expect_in_step("first sync");
    pin("2026-03-10T23:59:30Z");
    update(request_id(3));
    pin("2026-03-11T00:05:00Z");
    emu.Admin("POST", "/_admin/tiledesk/add", R"({"count":1})");
    emu.Admin("POST", "/_admin/requests/clear");
    sync();
    expect_in_step("after midnight UTC");
    bool asked_day_before = false;
    for (const auto& e : emu.Requests()) {
        const std::string q(e.at("query").as_string());
        asked_day_before = asked_day_before ||
                           q.find("start_date=09%2F03%2F2026") != std::string::npos ||
                           q.find("start_date=09/03/2026") != std::string::npos;
    }
    EXPECT_TRUE(asked_day_before) << "the window starts a day before the last change seen";

    // Early in the UTC day, still the previous day in Los Angeles: a legacy server reads
    // "12/03/2026" as 07:00 UTC, after a change at 06:00. The overlap day keeps it in.
    pin("2026-03-12T05:00:00Z");
    emu.Admin("POST", "/_admin/tiledesk/add", R"({"count":1})");
    sync();
    pin("2026-03-12T06:00:00Z");
    update(request_id(5));
    pin("2026-03-12T06:30:00Z");
    sync();
    expect_in_step("early UTC morning");
}

INSTANTIATE_TEST_SUITE_P(
    DateFilters,
    TiledeskDays,
    ::testing::Values("current", "legacy"),
    [](const auto& test_info) { return test_info.param; }
);

struct RefusalCase {
    std::string name;
    /// Config values (credentials) and the project id.
    std::string config_yaml;
    std::string project = kProject;
    /// Text the one error line must contain.
    std::string message;
    /// Whether the config's token is a real one that the test revokes before the start.
    bool revoke_token = false;
    /// Requests the emulator may see in all (sign-in included).
    std::size_t max_requests = 3;
};

void PrintTo(const RefusalCase& c, std::ostream* os) {
    *os << c.name;
}

class TiledeskRefusal : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(TiledeskRefusal, OneLineOneCountedErrorNoRetryStormNoCheckpoint) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto& c = GetParam();
    Emulator emu(TiledeskFlags(30, 5));
    std::string config_yaml = c.config_yaml;
    if (c.revoke_token) {
        const auto signin = HttpCall(
            "POST",
            emu.url() + "/v3/auth/signin",
            R"({"email":"owner@tiledesk.test","password":"tiledesk-password"})",
            {{"Content-Type", "application/json"}}
        );
        ASSERT_EQ(signin.status, 200U) << signin.body;
        const auto token = std::string(json::parse(signin.body).at("token").as_string());
        emu.Admin("POST", "/_admin/tiledesk/tokens", R"({"action":"revoke"})");
        config_yaml = "      token: \"" + token + "\"\n";
    }
    emu.Admin("POST", "/_admin/requests/clear");
    TempDir dir;
    const auto source = UniqueName("tiledesk_refused");
    // Every resource is due every second, so a retry storm would show within the wait.
    const std::string fast =
        "    schedule: {interval: 1s, jitter: 0s}\n"
        "    resources: {requests: {interval: 1s, jitter: 0s}, leads: {interval: 1s, jitter: "
        "0s}}\n";
    const auto config = dir.Write(
        "c.yaml",
        TiledeskConfig(dsn, source, emu, dir.path(), config_yaml, fast, "127.0.0.1:0", c.project)
    );
    const auto log_path = dir.path() + "/daemon.log";
    auto daemon = StartChatsyncd({"-c", config, "run"}, log_path);
    const auto port = AdminPort(*daemon);
    ASSERT_NE(port, 0) << daemon->Output();
    ASSERT_TRUE(WaitFor(
        [&] { return daemon->Output().find("sync failed") != std::string::npos; },
        std::chrono::seconds(20)
    )) << daemon->Output();
    // Several schedule periods: the held resources must stay quiet.
    std::this_thread::sleep_for(std::chrono::seconds(4));
    const auto metrics =
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics").body;
    const auto output = daemon->Output();
    daemon.reset();

    // Text log lines: "<time> <level> <message>".
    std::size_t error_lines = 0;
    std::istringstream out_lines(output);
    for (std::string line; std::getline(out_lines, line);) {
        const auto space = line.find(' ');
        error_lines += space != std::string::npos && line.compare(space, 7, " error ") == 0;
    }
    EXPECT_EQ(error_lines, 1U) << output;
    EXPECT_NE(output.find(c.message), std::string::npos) << output;
    const auto log = emu.Requests();
    EXPECT_LE(log.size(), c.max_requests) << json::serialize(log);
    // One counted error, whatever its kind.
    double errors = 0;
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("chatsync_errors_total{") &&
            line.find("source=\"" + source + "\"") != std::string::npos) {
            errors += std::stod(line.substr(line.rfind(' ') + 1));
        }
    }
    EXPECT_EQ(errors, 1) << metrics;
    EXPECT_NE(metrics.find("outcome=\"held\""), std::string::npos) << "held runs are counted";
    EXPECT_EQ(SavedPositions(dsn, source), "0");
    EXPECT_EQ(output.find("tiledesk-password"), std::string::npos);
    EXPECT_EQ(output.find("wrong-password"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases,
    TiledeskRefusal,
    ::testing::Values(
        RefusalCase{
            "wrong_password",
            "      email: owner@tiledesk.test\n      password: wrong-password\n",
            kProject,
            "login rejected the credentials: Authentication failed. Wrong password.",
            false,
            1},
        RefusalCase{
            "revoked_token",
            "",
            kProject,
            "Tiledesk rejected the credentials (HTTP 401 Unauthorized)",
            true,
            2},
        RefusalCase{
            "unknown_project",
            kOwnerCredentials,
            "5b55e806c93dde00143163de",
            "Tiledesk refused project_id: Project not found with id: 5b55e806c93dde00143163de",
            false,
            3},
        RefusalCase{
            "malformed_project",
            kOwnerCredentials,
            "not-a-project",
            "Tiledesk refused project_id: Invalid project id: not-a-project",
            false,
            3},
        RefusalCase{
            "not_a_member",
            "      email: outsider@tiledesk.test\n      password: outsider-password\n",
            kProject,
            "Tiledesk denied access: you dont belong to the project.",
            false,
            3}
    ),
    [](const auto& test_info) { return test_info.param.name; }
);

TEST(Tiledesk, RevokedSignInTokenIsRenewedOnce) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu(TiledeskFlags(30, 5));
    TempDir dir;
    const auto source = UniqueName("tiledesk_renew");
    const auto config = dir.Write(
        "c.yaml",
        TiledeskConfig(
            dsn,
            source,
            emu,
            dir.path(),
            kOwnerCredentials,
            "    schedule: {interval: 1s, jitter: 0s}\n",
            "127.0.0.1:0"
        )
    );
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
    const auto count = [&](const std::string& text) {
        std::size_t n = 0;
        const auto out = daemon->Output();
        for (std::size_t pos = 0; (pos = out.find(text, pos)) != std::string::npos; ++pos) {
            ++n;
        }
        return n;
    };
    ASSERT_TRUE(WaitFor(
        [&] { return count("resource=bots outcome=success") >= 1; }, std::chrono::seconds(20)
    )) << daemon->Output();
    emu.Admin("POST", "/_admin/tiledesk/tokens", R"({"action":"revoke"})");
    const auto before = count("resource=bots outcome=success");
    ASSERT_TRUE(WaitFor(
        [&] { return count("resource=bots outcome=success") >= before + 2; },
        std::chrono::seconds(20)
    )) << daemon->Output();
    const auto output = daemon->Output();
    daemon.reset();
    int signins = 0;
    int rejected = 0;
    for (const auto& e : emu.Requests()) {
        signins += e.at("path").as_string() == "/v3/auth/signin" ? 1 : 0;
        rejected += e.at("status").to_number<int>() == 401 ? 1 : 0;
    }
    EXPECT_EQ(signins, 2) << "one sign-in at the start, one after the revocation";
    EXPECT_GE(rejected, 1);
    EXPECT_LE(rejected, 2) << "requests in flight when the token was revoked, and no more";
    EXPECT_EQ(output.find("sync failed"), std::string::npos) << output;
}

/// Without chatsync's own budget, the API's 429s pace the sync: with a Retry-After header it
/// waits exactly that, without one it backs off; either way nothing is lost. The limit runs
/// on a clock 12 times faster than the real one (200 requests per 5 seconds), which is still
/// below the rate chatsyncd reaches on its own.
struct NoBudgetCase {
    std::string name;
    bool retry_after;
    int requests;
};

void PrintTo(const NoBudgetCase& c, std::ostream* os) {
    *os << c.name;
}

class TiledeskNoBudget : public ::testing::TestWithParam<NoBudgetCase> {};

TEST_P(TiledeskNoBudget, CompletesThroughRateLimitAnswers) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto& c = GetParam();
    Emulator emu(TiledeskFlags(c.requests, 10, "5s"));
    emu.Admin(
        "POST",
        "/_admin/tiledesk/rate-limit",
        std::string(R"({"retry_after":)") + (c.retry_after ? "true" : "false") + "}"
    );
    // However slow the machine, some answers are 429s: the window's limit is reached only by
    // a client fast enough, so three are forced as well, in the same form.
    emu.Admin(
        "POST",
        "/_admin/faults",
        std::string(R"({"kind":"429","count":3,"after":20,"path_prefix":"/v3/","retry_after":)") +
            (c.retry_after ? "1" : "false") + "}"
    );
    TempDir dir;
    const auto source = UniqueName("tiledesk_nobudget");
    auto yaml = TiledeskConfig(
        dsn,
        source,
        emu,
        dir.path(),
        kOwnerCredentials,
        "    rate_limit: {requests_per_minute: 0, concurrency: 4}\n"
    );
    // A request refused at the start of a window waits out the rest of it, however fast the
    // requests before it were sent: with backoffs of up to 2 s, its 20 waits outlast 5 s.
    const std::string backoff = "max_backoff: 500ms";
    ASSERT_NE(yaml.find(backoff), std::string::npos);
    yaml.replace(yaml.find(backoff), backoff.size(), "max_backoff: 2s");
    const auto config = dir.Write("c.yaml", yaml);
    auto run = RunChatsyncd({"-c", config, "once"}, {}, std::chrono::minutes(10));
    ASSERT_EQ(run.exit_code, 0) << run.output.substr(0, 4000);
    const auto log = emu.Requests();
    EXPECT_GE(CountStatus(log, 429), 3);
    EXPECT_NE(
        run.output.find(c.retry_after ? "reason=retry_after" : "reason=backoff"), std::string::npos
    );
    const auto data = emu.Admin("GET", "/_admin/tiledesk/dataset").as_object();
    EXPECT_TRUE(
        DigestsMatch(RequestDigest(data.at("requests").as_array()), PgRequestDigest(dsn, source))
    );
    EXPECT_TRUE(
        DigestsMatch(MessageDigest(data.at("messages").as_array()), PgMessageDigest(dsn, source))
    );
}

INSTANTIATE_TEST_SUITE_P(
    RateLimit,
    TiledeskNoBudget,
    ::testing::Values(
        NoBudgetCase{"retry_after", true, 1000},
        NoBudgetCase{"backoff", false, 1000}
    ),
    [](const auto& test_info) { return test_info.param.name; }
);

}  // namespace
}  // namespace chatsync::test
