// The Tiledesk mode answers as tiledesk-server does behind api.tiledesk.com/v3: auth and its
// failure shapes, request-list paging and filters, day-granular date ranges in a zone, live
// changes, deletions and the per-minute budget.

#include <chrono>
#include <set>
#include <thread>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "core/text.hpp"
#include "emulator/tiledesk/tz.hpp"
#include "emulator_fixture.hpp"

namespace chatsync::emulator::test {
namespace {

namespace json = boost::json;

constexpr std::string_view kPid = "5b55e806c93dde00143163dd";

Options TdOptions(std::int64_t requests = 60, std::int64_t messages = 3) {
    Options options;
    options.modes = {"tiledesk"};
    options.tiledesk_requests = requests;
    options.tiledesk_messages_per_request = messages;
    options.tiledesk_rate_limit = 0;
    return options;
}

Headers OwnerBasic() {
    return {{"Authorization", "Basic " + Base64Encode("owner@tiledesk.test:tiledesk-password")}};
}

std::string P(std::string_view suffix) {
    return "/v3/" + std::string(kPid) + std::string(suffix);
}

std::set<std::string> RequestIds(const json::value& body) {
    std::set<std::string> ids;
    for (const auto& r : body.at("requests").as_array()) {
        ids.insert(std::string(r.at("request_id").as_string()));
    }
    return ids;
}

std::string SignIn(TestClient& client, std::string_view email, std::string_view password) {
    const auto r = client.Post(
        "/v3/auth/signin",
        R"({"email":")" + std::string(email) + R"(","password":")" + std::string(password) +
            R"("})",
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(r.status, 200u) << r.body;
    return std::string(r.Json().at("token").as_string());
}

void ExpectUnauthorized(const HttpResult& r) {
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.body, "Unauthorized");
    EXPECT_EQ(r.Header("WWW-Authenticate").value_or(""), "Basic realm=\"Users\"");
    EXPECT_NE(r.Header("Content-Type").value_or("").find("text/plain"), std::string::npos);
}

TEST(EmulatorTiledesk, JwtSignInAndItsFailures) {
    RunningEmulator emulator(TdOptions());
    TestClient client = emulator.Client();
    const std::string token = SignIn(client, "Owner@Tiledesk.test", "tiledesk-password");
    ASSERT_TRUE(token.starts_with("JWT ey"));
    EXPECT_EQ(client.Get(P("/requests"), {{"Authorization", token}}).status, 200u);
    // The scheme is case-insensitive; Bearer is not a scheme the server knows.
    EXPECT_EQ(
        client.Get(P("/requests"), {{"Authorization", "jwt " + token.substr(4)}}).status, 200u
    );
    ExpectUnauthorized(client.Get(P("/requests"), {{"Authorization", "Bearer " + token.substr(4)}})
    );
    ExpectUnauthorized(client.Get(P("/requests")));
    ExpectUnauthorized(client.Get(P("/requests"), {{"Authorization", "JWT nonsense.x.y"}}));
    // A token in the query alone passes passport but not the two-part header check.
    const auto q = client.Get(P("/requests?secret_token=") + UrlEncode(token.substr(4)));
    EXPECT_EQ(q.status, 403u);
    EXPECT_EQ(q.body, R"({"success":false,"msg":"Unauthorized."})");

    auto r = client.Post(
        "/v3/auth/signin",
        R"({"email":"owner@tiledesk.test","password":"x"})",
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.body, R"({"success":false,"msg":"Authentication failed. Wrong password."})");
    r = client.Post(
        "/v3/auth/signin",
        R"({"email":"nobody@tiledesk.test","password":"x"})",
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.body, R"({"success":false,"msg":"Authentication failed. User not found."})");
    r = client.Post(
        "/v3/auth/signin",
        R"({"email":"not-an-email","password":""})",
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.Json().at("errors").as_array().size(), 2u);
    // Form bodies are accepted too, and the unversioned path exists on the server itself.
    r = client.Send(
        "POST",
        "/auth/signin",
        "email=owner%40tiledesk.test&password=tiledesk-password",
        {{"Content-Type", "application/x-www-form-urlencoded"}}
    );
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.Json().at("user").at("email").as_string(), "owner@tiledesk.test");
    EXPECT_FALSE(r.Json().at("user").as_object().contains("password"));

    // Revocation and expiry both end in 401.
    const std::string second = SignIn(client, "owner@tiledesk.test", "tiledesk-password");
    r = client.Post("/_admin/tiledesk/tokens", R"({"action":"revoke","token":")" + token + "\"}");
    EXPECT_EQ(r.Json().at("revoked").as_int64(), 1);
    ExpectUnauthorized(client.Get(P("/requests"), {{"Authorization", token}}));
    EXPECT_EQ(client.Get(P("/requests"), {{"Authorization", second}}).status, 200u);
    client.Post("/_admin/tiledesk/tokens", R"({"action":"expire"})");
    ExpectUnauthorized(client.Get(P("/requests"), {{"Authorization", second}}));
}

TEST(EmulatorTiledesk, TokenTtl) {
    Options options = TdOptions(5);
    options.tiledesk_token_ttl = std::chrono::hours(1);
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const std::string token = SignIn(client, "owner@tiledesk.test", "tiledesk-password");
    EXPECT_EQ(client.Get(P("/leads"), {{"Authorization", token}}).status, 200u);
    client.Post("/_admin/tiledesk/clock", R"({"offset_ms":3600001})");
    ExpectUnauthorized(client.Get(P("/leads"), {{"Authorization", token}}));
}

TEST(EmulatorTiledesk, BasicAuthAndProjectErrors) {
    RunningEmulator emulator(TdOptions());
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Get(P("/requests"), OwnerBasic()).status, 200u);
    EXPECT_EQ(
        client
            .Get(
                P("/requests"),
                {{"Authorization",
                  "Basic " + Base64Encode("OWNER@tiledesk.test:tiledesk-password")}}
            )
            .status,
        200u
    );
    ExpectUnauthorized(client.Get(
        P("/requests"), {{"Authorization", "Basic " + Base64Encode("owner@tiledesk.test:nope")}}
    ));

    // Project checks run before authentication.
    auto r = client.Get("/v3/not-an-id/requests");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.body, R"({"error":"Invalid project id: not-an-id"})");
    r = client.Get("/v3/aaaaaaaaaaaaaaaaaaaaaaaa/requests", OwnerBasic());
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.body, R"({"error":"Project not found with id: aaaaaaaaaaaaaaaaaaaaaaaa"})");

    r = client.Get(
        P("/requests"),
        {{"Authorization", "Basic " + Base64Encode("outsider@tiledesk.test:outsider-password")}}
    );
    EXPECT_EQ(r.status, 403u);
    EXPECT_EQ(r.body, R"({"success":false,"msg":"you dont belong to the project."})");
    const Headers agent{
        {"Authorization", "Basic " + Base64Encode("agent@tiledesk.test:agent-password")}};
    r = client.Get(P("/messages"), agent);
    EXPECT_EQ(r.status, 403u);
    EXPECT_EQ(r.body, R"({"success":false,"msg":"you dont have the required role."})");
    r = client.Get(P("/requests/support-group-nope"), OwnerBasic());
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body, R"({"success":false,"msg":"Object not found."})");
    r = client.Get(P("/no-such-route"), OwnerBasic());
    EXPECT_EQ(r.status, 404u);
    EXPECT_NE(r.body.find("Cannot GET /v3/"), std::string::npos);
    // Departments need no credentials at all.
    r = client.Get(P("/departments"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.Json().as_array().size(), 2u);
    EXPECT_EQ(client.Get(P("/departments/allstatus"), OwnerBasic()).Json().as_array().size(), 3u);
    r = client.Get("/v3/projects", OwnerBasic());
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.Json().at(0).at("id_project").at("_id").as_string(), kPid);
}

TEST(EmulatorTiledesk, AgentsSeeOnlyTheirConversations) {
    RunningEmulator emulator(TdOptions(80));
    TestClient client = emulator.Client();
    const Headers agent{
        {"Authorization", "Basic " + Base64Encode("agent@tiledesk.test:agent-password")}};
    const auto mine = client.Get(P("/requests?status=all&limit=100"), agent).Json();
    const auto all = client.Get(P("/requests?status=all&limit=100"), OwnerBasic()).Json();
    EXPECT_LT(mine.at("count").as_int64(), all.at("count").as_int64());
    for (const auto& r : mine.at("requests").as_array()) {
        EXPECT_EQ(r.at("participants").at(0).as_string(), "5aaa99024c3b110014b478f1");
    }
    // Agents get the reduced bot objects.
    const auto bots = client.Get(P("/faq_kb"), agent).Json();
    EXPECT_FALSE(bots.at(0).as_object().contains("createdAt"));
}

TEST(EmulatorTiledesk, PaginationDefaultsAndCaps) {
    RunningEmulator emulator(TdOptions(150, 1));
    TestClient client = emulator.Client();
    auto body = client.Get(P("/requests?status=all"), OwnerBasic()).Json();
    EXPECT_EQ(body.at("perPage").as_int64(), 40);
    const std::int64_t count = body.at("count").as_int64();
    EXPECT_GT(count, 100);
    EXPECT_EQ(body.at("requests").as_array().size(), 40u);
    body = client.Get(P("/requests?status=all&limit=100"), OwnerBasic()).Json();
    EXPECT_EQ(body.at("perPage").as_int64(), 100);
    EXPECT_EQ(body.at("requests").as_array().size(), 100u);
    // Above 100 the limit silently falls back to 40, it is not clamped.
    body = client.Get(P("/requests?status=all&limit=101"), OwnerBasic()).Json();
    EXPECT_EQ(body.at("perPage").as_int64(), 40);
    EXPECT_EQ(body.at("requests").as_array().size(), 40u);
    // Pages are 0-based and disjoint; together they cover count.
    std::set<std::string> seen;
    for (int page = 0;; ++page) {
        const auto b =
            client
                .Get(P("/requests?status=all&limit=30&page=") + std::to_string(page), OwnerBasic())
                .Json();
        const auto ids = RequestIds(b);
        if (ids.empty()) {
            break;
        }
        for (const auto& id : ids) {
            EXPECT_TRUE(seen.insert(id).second) << id;
        }
    }
    EXPECT_EQ(static_cast<std::int64_t>(seen.size()), count);
    // Default order: createdAt descending.
    body = client.Get(P("/requests?status=all"), OwnerBasic()).Json();
    const auto& rs = body.at("requests").as_array();
    EXPECT_GE(rs.at(0).at("createdAt").as_string(), rs.at(1).at("createdAt").as_string());
    body =
        client.Get(P("/requests?status=all&sort=updatedAt&direction=1&no_count=true"), OwnerBasic())
            .Json();
    EXPECT_EQ(body.at("count").as_int64(), 0);
    const auto& asc = body.at("requests").as_array();
    for (std::size_t i = 1; i < asc.size(); ++i) {
        EXPECT_LE(asc.at(i - 1).at("updatedAt").as_string(), asc.at(i).at("updatedAt").as_string());
    }
    // Leads page the same way but have no cap.
    body = client.Get(P("/leads?limit=500"), OwnerBasic()).Json();
    EXPECT_EQ(body.at("perPage").as_int64(), 500);
    EXPECT_EQ(
        body.at("count").as_int64(), static_cast<std::int64_t>(body.at("leads").as_array().size())
    );
}

TEST(EmulatorTiledesk, StatusFilterExcludesClosedByDefault) {
    RunningEmulator emulator(TdOptions(200, 1));
    TestClient client = emulator.Client();
    const auto open = client.Get(P("/requests?limit=100"), OwnerBasic()).Json();
    const auto all = client.Get(P("/requests?status=all&limit=100"), OwnerBasic()).Json();
    const auto closed = client.Get(P("/requests?status=1000&limit=100"), OwnerBasic()).Json();
    const auto two = client.Get(P("/requests?status=100,200,x&limit=100"), OwnerBasic()).Json();
    const auto none = client.Get(P("/requests?status=abc"), OwnerBasic()).Json();
    EXPECT_GT(closed.at("count").as_int64(), 0);
    EXPECT_LT(
        open.at("count").as_int64() + closed.at("count").as_int64(), all.at("count").as_int64() + 1
    );
    for (const auto& r : open.at("requests").as_array()) {
        const auto s = r.at("status").as_int64();
        EXPECT_TRUE(s < 1000 && s != 50 && s != 150) << s;
    }
    for (const auto& r : closed.at("requests").as_array()) {
        EXPECT_EQ(r.at("status").as_int64(), 1000);
    }
    for (const auto& r : two.at("requests").as_array()) {
        const auto s = r.at("status").as_int64();
        EXPECT_TRUE(s == 100 || s == 200) << s;
    }
    EXPECT_EQ(none.at("count").as_int64(), 0);
    // Populated by default, ids with no_populate.
    const auto& first = all.at("requests").at(0);
    EXPECT_TRUE(first.at("department").is_object());
    EXPECT_TRUE(first.at("requester").is_object());
    const auto plain = client.Get(P("/requests?status=all&no_populate=true"), OwnerBasic()).Json();
    EXPECT_TRUE(plain.at("requests").at(0).at("department").is_string());
    EXPECT_EQ(plain.at("requests").at(0).at("_id").as_string().size(), 24u);
}

/// One conversation created at 23:59 UTC on 2025-06-10 (01:59 on the 11th in Rome).
std::string AddLateRequest(TestClient& client) {
    client.Post("/_admin/tiledesk/clock", R"({"now":"2025-06-10T23:59:00Z"})");
    const auto added =
        client.Post("/_admin/tiledesk/add", R"({"count":1,"messages_per_request":2})");
    EXPECT_EQ(added.status, 200u) << added.body;
    return std::string(added.Json().at("added").at(0).at("request_id").as_string());
}

bool Finds(TestClient& client, const std::string& query, const std::string& rid) {
    const auto r = client.Get(P("/requests?status=all&limit=100&") + query, OwnerBasic());
    EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
    return r.status == 200 && RequestIds(r.Json()).count(rid) == 1;
}

TEST(EmulatorTiledesk, DateFiltersAreDayGranularInTheGivenZone) {
    RunningEmulator emulator(TdOptions(20, 1));
    TestClient client = emulator.Client();
    const std::string rid = AddLateRequest(client);
    const std::string f = "filterRangeField=updatedAt&";
    EXPECT_TRUE(Finds(client, f + "start_date=10/06/2025&end_date=10/06/2025&timezone=UTC", rid));
    EXPECT_FALSE(Finds(client, f + "start_date=11/06/2025&timezone=UTC", rid));
    // In Rome the same instant is the 11th.
    EXPECT_FALSE(
        Finds(client, f + "start_date=10/06/2025&end_date=10/06/2025&timezone=Europe%2FRome", rid)
    );
    EXPECT_TRUE(Finds(client, f + "start_date=11/06/2025&timezone=Europe%2FRome", rid));
    // Without `timezone` the server's default (Europe/Rome) applies.
    EXPECT_FALSE(Finds(client, f + "end_date=10/06/2025", rid));
    EXPECT_TRUE(Finds(client, f + "end_date=11/06/2025", rid));
    // A time makes the end inclusive at that instant; YYYY/MM/DD is accepted too.
    EXPECT_FALSE(Finds(client, f + "end_date=10/06/2025%2023:58&timezone=UTC", rid));
    EXPECT_TRUE(Finds(client, f + "end_date=10/06/2025,%2023:59:01&timezone=UTC", rid));
    EXPECT_TRUE(Finds(client, f + "start_date=2025/06/10&timezone=UTC", rid));
    // The default range field is createdAt: an old conversation touched now is not in range.
    const auto old_rid =
        std::string(client.Get(P("/requests?status=all&sort=createdAt&direction=1"), OwnerBasic())
                        .Json()
                        .at("requests")
                        .at(0)
                        .at("request_id")
                        .as_string());
    client.Post(
        "/_admin/tiledesk/update", R"({"request_ids":[")" + old_rid + R"("],"add_messages":1})"
    );
    EXPECT_TRUE(Finds(client, f + "start_date=10/06/2025&timezone=UTC", old_rid));
    EXPECT_FALSE(Finds(client, "start_date=10/06/2025&timezone=UTC", old_rid));

    auto r = client.Get(P("/requests?start_date=2025-06-10"), OwnerBasic());
    EXPECT_EQ(r.status, 500u);
    EXPECT_EQ(r.Json().at("success").as_bool(), false);
    EXPECT_TRUE(r.Json().as_object().contains("error"));
    r = client.Get(P("/requests?start_date=10/06/2025&timezone=Mars%2FOlympus"), OwnerBasic());
    EXPECT_EQ(r.status, 500u);
}

TEST(EmulatorTiledesk, DefaultZoneIsConfigurable) {
    Options options = TdOptions(5, 1);
    options.tiledesk_default_timezone = "UTC";
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const std::string rid = AddLateRequest(client);
    EXPECT_TRUE(Finds(client, "filterRangeField=updatedAt&end_date=10/06/2025", rid));
}

TEST(EmulatorTiledesk, LegacyDateParserUsesTheServerZone) {
    Options options = TdOptions(5, 1);
    options.tiledesk_legacy_dates = true;
    options.tiledesk_timezone = "Europe/Rome";
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const std::string rid = AddLateRequest(client);
    // `timezone` is ignored; the process zone (Rome) decides the day.
    EXPECT_TRUE(Finds(client, "filterRangeField=updatedAt&start_date=11/06/2025&timezone=UTC", rid)
    );
    EXPECT_FALSE(Finds(client, "filterRangeField=updatedAt&start_date=12/06/2025", rid));
    // With an end date the range is on createdAt whatever filterRangeField says, and the end
    // day's following midnight is included.
    EXPECT_TRUE(
        Finds(client, "filterRangeField=updatedAt&start_date=11/06/2025&end_date=11/06/2025", rid)
    );
    // The old parser knew DD/MM/YYYY only.
    EXPECT_EQ(client.Get(P("/requests?start_date=2025/06/11"), OwnerBasic()).status, 500u);
}

TEST(EmulatorTiledesk, UpdatesAndAdditionsAreVisible) {
    RunningEmulator emulator(TdOptions(30, 2));
    TestClient client = emulator.Client();
    const auto before = client.Get(P("/requests?status=all&limit=100"), OwnerBasic()).Json();
    client.Post("/_admin/tiledesk/clock", R"({"now":"2025-01-05T12:00:00Z"})");
    auto r = client.Post("/_admin/tiledesk/update", R"({"count":3,"add_messages":2})");
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto updated = r.Json().at("updated").as_array();
    ASSERT_EQ(updated.size(), 3u);
    const std::string rid(updated.at(0).at("request_id").as_string());
    EXPECT_EQ(updated.at(0).at("updatedAt").as_string(), "2025-01-05T12:00:00.001Z");
    const auto recent = client
                            .Get(
                                P("/requests?status=all&preflight=true&filterRangeField=updatedAt&"
                                  "start_date=05/01/2025&timezone=UTC"),
                                OwnerBasic()
                            )
                            .Json();
    EXPECT_EQ(recent.at("count").as_int64(), 3);
    const auto msgs = client.Get(P("/requests/") + rid + "/messages", OwnerBasic()).Json();
    EXPECT_EQ(msgs.as_array().size(), 4u);
    EXPECT_EQ(msgs.at(3).at("createdAt").as_string(), "2025-01-05T12:00:00.001Z");

    client.Post("/_admin/tiledesk/clock", R"({"now":"2025-01-06T08:00:00Z"})");
    r = client.Post("/_admin/tiledesk/add", R"({"count":2,"messages_per_request":3})");
    ASSERT_EQ(r.status, 200u);
    const auto after = client.Get(P("/requests?status=all&limit=100"), OwnerBasic()).Json();
    EXPECT_EQ(after.at("count").as_int64(), before.at("count").as_int64() + 2);
    const std::string added(r.Json().at("added").at(0).at("request_id").as_string());
    const auto one = client.Get(P("/requests/") + added, OwnerBasic()).Json();
    EXPECT_EQ(one.at("status").as_int64(), 100);
    EXPECT_EQ(one.at("createdAt").as_string(), "2025-01-06T08:00:00.000Z");
    // Closing a conversation drops it from the default (open) listing.
    client.Post("/_admin/tiledesk/update", R"({"request_ids":[")" + added + R"("],"status":1000})");
    EXPECT_EQ(
        client.Get(P("/requests/") + added, OwnerBasic()).Json().at("status").as_int64(), 1000
    );
    const auto open = client.Get(P("/requests?limit=100"), OwnerBasic()).Json();
    EXPECT_EQ(RequestIds(open).count(added), 0u);

    // The dump reflects everything and is deterministic for a seed.
    const auto dump = client.Get("/_admin/tiledesk/dataset").Json();
    EXPECT_EQ(dump.at("requests").as_array().size(), 32u);
    client.Post("/_admin/tiledesk/seed", R"({"requests":30,"messages_per_request":2})");
    const std::string a = client.Get("/_admin/tiledesk/dataset").body;
    client.Post("/_admin/tiledesk/seed", R"({"requests":30,"messages_per_request":2})");
    EXPECT_EQ(client.Get("/_admin/tiledesk/dataset").body, a);
    client.Post("/_admin/tiledesk/seed", R"({"requests":30,"messages_per_request":2,"seed":9})");
    EXPECT_NE(client.Get("/_admin/tiledesk/dataset").body, a);
}

TEST(EmulatorTiledesk, Deletions) {
    RunningEmulator emulator(TdOptions(20, 1));
    TestClient client = emulator.Client();
    auto bots = client.Get(P("/faq_kb"), OwnerBasic()).Json().as_array();
    EXPECT_EQ(bots.size(), 3u);  // identity and trashed bots are hidden
    EXPECT_EQ(client.Get(P("/bots?all=true"), OwnerBasic()).Json().as_array().size(), 4u);
    const std::string bot(bots.at(1).at("_id").as_string());
    client.Post("/_admin/tiledesk/delete", R"({"kind":"bots","ids":[")" + bot + "\"]}");
    EXPECT_EQ(client.Get(P("/faq_kb"), OwnerBasic()).Json().as_array().size(), 2u);
    EXPECT_EQ(client.Get(P("/faq_kb/") + bot, OwnerBasic()).status, 404u);

    auto members = client.Get(P("/project_users"), OwnerBasic()).Json().as_array();
    EXPECT_EQ(members.size(), 5u);  // the trashed colleague is hidden
    const std::string member(members.back().at("_id").as_string());
    auto r = client.Post(
        "/_admin/tiledesk/delete",
        R"({"kind":"project_users","soft":true,"ids":[")" + member + "\"]}"
    );
    EXPECT_EQ(r.Json().at("deleted").as_array().size(), 1u);
    EXPECT_EQ(client.Get(P("/project_users"), OwnerBasic()).Json().as_array().size(), 4u);
    EXPECT_EQ(
        client.Get(P("/project_users?trashed=true"), OwnerBasic()).Json().as_array().size(), 6u
    );
    EXPECT_EQ(
        client.Get(P("/project_users?role=owner&role=admin"), OwnerBasic())
            .Json()
            .as_array()
            .size(),
        2u
    );

    const auto leads = client.Get(P("/leads"), OwnerBasic()).Json();
    const std::int64_t lead_count = leads.at("count").as_int64();
    const std::string lead(leads.at("leads").at(0).at("_id").as_string());
    client.Post("/_admin/tiledesk/delete", R"({"kind":"leads","ids":[")" + lead + "\"]}");
    EXPECT_EQ(client.Get(P("/leads"), OwnerBasic()).Json().at("count").as_int64(), lead_count - 1);
    EXPECT_EQ(client.Get(P("/leads/") + lead, OwnerBasic()).status, 404u);
    // A conversation of the deleted lead now populates it as null.
    const auto rs =
        client.Get(P("/requests?status=all&limit=100&lead=") + lead, OwnerBasic()).Json();
    for (const auto& req : rs.at("requests").as_array()) {
        EXPECT_TRUE(req.at("lead").is_null());
    }
    const std::string lead2(leads.at("leads").at(1).at("_id").as_string());
    client.Post(
        "/_admin/tiledesk/delete", R"({"kind":"leads","soft":true,"ids":[")" + lead2 + "\"]}"
    );
    const auto deleted = client.Get(P("/leads?status=1000"), OwnerBasic()).Json();
    EXPECT_EQ(deleted.at("count").as_int64(), 1);
}

TEST(EmulatorTiledesk, RateLimitAndReset) {
    Options options = TdOptions(5, 1);
    options.tiledesk_rate_limit = 5;
    options.tiledesk_rate_window = std::chrono::milliseconds(400);
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(client.Get(P("/departments")).status, 200u) << i;
    }
    auto r = client.Get(P("/requests"), OwnerBasic());
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(r.body, R"({"message":"Rate limit exceeded"})");
    EXPECT_FALSE(r.Header("Retry-After").has_value());
    // Admin routes are outside the budget.
    EXPECT_EQ(client.Get("/_admin/tiledesk/clock").status, 200u);
    std::this_thread::sleep_for(std::chrono::milliseconds(450));
    EXPECT_EQ(client.Get(P("/requests"), OwnerBasic()).status, 200u);
    client.Post("/_admin/tiledesk/rate-limit", R"({"limit":0})");
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(client.Get(P("/departments")).status, 200u);
    }
    client.Post("/_admin/tiledesk/rate-limit", R"({"limit":2})");
    client.Get(P("/departments"));
    client.Get(P("/departments"));
    EXPECT_EQ(client.Get(P("/departments")).status, 429u);
}

TEST(EmulatorTiledesk, MessagesRoutes) {
    RunningEmulator emulator(TdOptions(10, 6));
    TestClient client = emulator.Client();
    const auto rs = client.Get(P("/requests?status=all"), OwnerBasic()).Json();
    const std::string rid(rs.at("requests").at(0).at("request_id").as_string());
    const auto msgs = client.Get(P("/requests/") + rid + "/messages", OwnerBasic()).Json();
    ASSERT_EQ(msgs.as_array().size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) {
        const auto& m = msgs.at(i);
        EXPECT_EQ(m.at("recipient").as_string(), rid);
        EXPECT_EQ(m.at("_id").as_string().size(), 24u);
        EXPECT_TRUE(m.as_object().contains("__v"));
        EXPECT_FALSE(m.as_object().contains("id"));
        if (i > 0) {
            EXPECT_LE(msgs.at(i - 1).at("createdAt").as_string(), m.at("createdAt").as_string());
        }
    }
    EXPECT_EQ(
        msgs.at(0).at("text").as_string(), rs.at("requests").at(0).at("first_text").as_string()
    );
    const std::string mid(msgs.at(2).at("_id").as_string());
    EXPECT_EQ(
        client.Get(P("/requests/") + rid + "/messages/" + mid, OwnerBasic())
            .Json()
            .at("_id")
            .as_string(),
        mid
    );
    EXPECT_EQ(client.Get(P("/requests/unknown/messages"), OwnerBasic()).body, "[]");
    // The project feed: newest first, 10 by default and again 10 above 50.
    auto feed = client.Get(P("/messages"), OwnerBasic()).Json().as_array();
    EXPECT_EQ(feed.size(), 10u);
    EXPECT_GE(feed.at(0).at("createdAt").as_string(), feed.at(9).at("createdAt").as_string());
    EXPECT_EQ(client.Get(P("/messages?limit=51"), OwnerBasic()).Json().as_array().size(), 10u);
    EXPECT_EQ(client.Get(P("/messages?limit=50"), OwnerBasic()).Json().as_array().size(), 50u);
}

// How fast the emulator serves is measured by bench/sync.sh, not here: a timed assertion fails
// on a busy machine or under the sanitizers.
TEST(EmulatorTiledesk, LargeDatasetIsSeededAndPagedInFull) {
    RunningEmulator emulator(TdOptions(0, 0));
    TestClient client = emulator.Client();
    auto r = client.Post("/_admin/tiledesk/seed", R"({"requests":5000,"messages_per_request":10})");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.Json().at("messages").as_int64(), 50000);
    std::int64_t seen = 0;
    for (int page = 0; page < 60; ++page) {
        const auto b = client
                           .Get(
                               P("/requests?status=all&limit=100&sort=updatedAt&direction=1&page="
                               ) + std::to_string(page),
                               OwnerBasic()
                           )
                           .Json();
        seen += static_cast<std::int64_t>(b.at("requests").as_array().size());
    }
    const auto rid = std::string(client.Get(P("/requests?status=all"), OwnerBasic())
                                     .Json()
                                     .at("requests")
                                     .at(0)
                                     .at("request_id")
                                     .as_string());
    EXPECT_EQ(
        client.Get(P("/requests/") + rid + "/messages", OwnerBasic()).Json().as_array().size(), 10u
    );
    EXPECT_LT(seen, 5001);
    EXPECT_GT(seen, 4500);
}

TEST(EmulatorTiledesk, TimeZones) {
    const auto rome = TimeZone::Load("Europe/Rome");
    ASSERT_NE(rome, nullptr);
    EXPECT_EQ(rome->OffsetAt(1'749'600'000), 7200);  // 2025-06-11, CEST
    EXPECT_EQ(rome->OffsetAt(1'736'000'000), 3600);  // 2025-01-04, CET
    // 2025-06-11T00:00 in Rome is 2025-06-10T22:00Z.
    EXPECT_EQ(rome->LocalToUtc(1'749'600'000), 1'749'600'000 - 7200);
    EXPECT_EQ(TimeZone::Load("UTC")->OffsetAt(0), 0);
    EXPECT_EQ(TimeZone::Load("Nowhere/Special"), nullptr);
    EXPECT_EQ(TimeZone::Load("../etc/passwd"), nullptr);
}

}  // namespace
}  // namespace chatsync::emulator::test
