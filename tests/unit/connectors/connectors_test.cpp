#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "connectors/builtin.hpp"
#include "connectors/cursor.hpp"
#include "connectors/error_rules.hpp"
#include "connectors/pagination.hpp"
#include "connectors/request_builder.hpp"
#include "connectors/template.hpp"
#include "core/json.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

json::object Ctx() {
    return json::parse(R"({"config":{"base_url":"https://api.test/v3","token":"tk","n":5},
                          "parent":{"id":42,"name":"x y"},
                          "cursor":{"start":"2024-01-01T00:00:00.000Z"},
                          "page":{"number":3,"offset":200,"limit":100,"token":""}})")
        .as_object();
}

TEST(Template, RendersPathsAndLeavesUnknownEmpty) {
    EXPECT_EQ(Render("/r/{{ parent.id }}/m?x={{config.n}}", Ctx()), "/r/42/m?x=5");
    EXPECT_EQ(Render("a{{ missing.key }}b", Ctx()), "ab");
    EXPECT_EQ(Render("no close {{ here", Ctx()), "no close {{ here");
    EXPECT_TRUE(References("x {{ cursor.start }}", "cursor"));
    EXPECT_FALSE(References("x {{ cursorx }}", "cursor"));
}

TEST(Template, RenderOnlyKeepsPlaceholdersOutsideItsRoot) {
    const auto ctx = json::parse(R"({"source":{"name":"mesibo_eu"},"sourcex":1})").as_object();
    EXPECT_EQ(
        RenderOnly("{{ source.name }}: {{ body.cause }} ({{status}}) {{ sourcex }}", "source", ctx),
        "mesibo_eu: {{ body.cause }} ({{status}}) {{ sourcex }}"
    );
    EXPECT_EQ(RenderOnly("no close {{ source.name", "source", ctx), "no close {{ source.name");
}

TEST(Template, JsonBodyKeepsTypesOfSolePlaceholders) {
    const auto body = json::parse(
        R"({"page":"{{ page.number }}","q":"id={{ parent.id }}","nested":["{{ config.token }}"]})"
    );
    EXPECT_EQ(
        json::serialize(RenderJson(body, Ctx())), R"({"page":3,"q":"id=42","nested":["tk"]})"
    );
}

TEST(Cursor, ReadsFormatsAndComparesValues) {
    const auto iso = ReadCursor(json::value("2024-03-01T10:00:00Z"), CursorFormat::kIso8601, "");
    ASSERT_TRUE(iso);
    EXPECT_EQ(iso->Canonical(), "2024-03-01T10:00:00.000Z");
    const auto unix = ReadCursor(json::value(1709287200), CursorFormat::kUnixSeconds, "");
    ASSERT_TRUE(unix);
    EXPECT_EQ(unix->Canonical(), iso->Canonical());
    const auto ms = ReadCursor(json::value("1709287200000"), CursorFormat::kUnixMillis, "");
    EXPECT_EQ(ms->Canonical(), iso->Canonical());
    EXPECT_EQ(FormatCursor(*iso, CursorFormat::kCustom, "%Y-%m-%d"), "2024-03-01");
    EXPECT_EQ(FormatCursor(*iso, CursorFormat::kUnixMillis, ""), "1709287200000");
    const auto n1 = ReadCursor(json::value(10), CursorFormat::kNumber, "");
    const auto n2 = ReadCursor(json::value("11"), CursorFormat::kNumber, "");
    EXPECT_TRUE(*n1 < *n2);
    EXPECT_EQ(n2->Canonical(), "11");
    EXPECT_FALSE(ReadCursor(json::value("soon"), CursorFormat::kIso8601, ""));
}

TEST(Cursor, AnIntegerBeyond64BitsIsANumberAndGoesOutAsOne) {
    boost::system::error_code ec;
    ParseRepairs repairs;
    const auto record = ParseJson(R"({"seq":123456789012345678901234567890})", ec, repairs);
    ASSERT_FALSE(ec);
    const auto big = ReadCursor(record.at("seq"), CursorFormat::kNumber, "");
    ASSERT_TRUE(big);
    EXPECT_FALSE(big->is_time);
    EXPECT_TRUE(*ReadCursor(json::value(10), CursorFormat::kNumber, "") < *big);
    // A record's value placed whole in a request body keeps its digits.
    json::object context;
    context["record"] = record;
    EXPECT_EQ(
        SerializeJson(RenderJson(json::parse(R"({"after":"{{ record.seq }}"})"), context)),
        R"({"after":123456789012345678901234567890})"
    );
}

TEST(Cursor, WindowStartsAtCommittedMinusLookbackOrInitial) {
    IncrementalSpec spec;
    spec.lookback = std::chrono::minutes(10);
    spec.initial_value = "2020-01-01T00:00:00Z";
    EXPECT_EQ(WindowStart(spec, std::nullopt)->Canonical(), "2020-01-01T00:00:00.000Z");
    EXPECT_EQ(
        WindowStart(spec, std::string("2024-01-01T00:10:00.000Z"))->Canonical(),
        "2024-01-01T00:00:00.000Z"
    );
    spec.initial_value.clear();
    EXPECT_FALSE(WindowStart(spec, std::nullopt));
}

http::Response Resp(unsigned status, std::string body = "{}", http::Headers headers = {}) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

TEST(ErrorRules, DefaultsMapStatusesToActions) {
    const std::vector<const ErrorRule*> none;
    EXPECT_EQ(Classify(none, Resp(200), nullptr).action, ErrorAction::kSuccess);
    EXPECT_EQ(Classify(none, Resp(429), nullptr).action, ErrorAction::kRateLimited);
    EXPECT_EQ(Classify(none, Resp(503), nullptr).action, ErrorAction::kRetry);
    EXPECT_EQ(
        Classify(none, Resp(503, "", {{"Retry-After", "3"}}), nullptr).action,
        ErrorAction::kRateLimited
    );
    EXPECT_EQ(Classify(none, Resp(502), nullptr).action, ErrorAction::kRetry);
    EXPECT_EQ(Classify(none, Resp(401), nullptr).action, ErrorAction::kAuthFailed);
    EXPECT_EQ(Classify(none, Resp(404), nullptr).action, ErrorAction::kFatal);
}

TEST(ErrorRules, MesiboTokenBreachMessageNamesTheSourceToClear) {
    auto spec = config::ParseConnectorSpec(std::string(*BuiltinSpec("mesibo")), "builtin:mesibo");
    BindSource(spec, "mesibo_eu");
    const auto body = boost::json::parse(R"({"error":"TOKENBREACH","code":503,"result":false})");
    http::Response response;
    response.status = 200;
    response.body = boost::json::serialize(body);
    std::vector<const ErrorRule*> rules;
    for (const auto& r : spec.error_rules) {
        rules.push_back(&r);
    }
    const auto verdict = Classify(rules, response, &body);
    EXPECT_EQ(verdict.action, ErrorAction::kLatch);
    EXPECT_NE(
        verdict.message.find("'chatsyncd breach clear --source mesibo_eu'"), std::string::npos
    ) << verdict.message;
    EXPECT_EQ(verdict.message.find('<'), std::string::npos) << verdict.message;
    EXPECT_EQ(verdict.message.find("{{"), std::string::npos) << verdict.message;
}

TEST(ErrorRules, BodyEnvelopeRulesWinOverDefaultsAndRenderMessages) {
    ErrorRule breach;
    breach.body_path = "code";
    breach.body_equals = json::value("TOKENBREACH");
    breach.action = ErrorAction::kLatch;
    breach.message = "mesibo said {{ body.code }} ({{ status }})";
    ErrorRule envelope;
    envelope.status = {200};
    envelope.body_path = "result";
    envelope.body_equals = json::value(false);
    envelope.action = ErrorAction::kFatal;
    const std::vector<const ErrorRule*> rules{&breach, &envelope};
    const auto b1 = json::parse(R"({"result":false,"code":"TOKENBREACH"})");
    const auto v1 = Classify(rules, Resp(200, json::serialize(b1)), &b1);
    EXPECT_EQ(v1.action, ErrorAction::kLatch);
    EXPECT_EQ(v1.message, "mesibo said TOKENBREACH (200)");
    const auto b2 = json::parse(R"({"result":false,"code":"AUTHFAIL"})");
    EXPECT_EQ(Classify(rules, Resp(200, json::serialize(b2)), &b2).action, ErrorAction::kFatal);
    const auto b3 = json::parse(R"({"result":true})");
    EXPECT_EQ(Classify(rules, Resp(200, json::serialize(b3)), &b3).action, ErrorAction::kSuccess);
}

TEST(ErrorRules, MessagesNameTheSourceTheyStop) {
    ConnectorSpec spec;
    ErrorRule breach;
    breach.body_path = "error";
    breach.body_equals = json::value("TOKENBREACH");
    breach.action = ErrorAction::kLatch;
    breach.message = "{{ body.error }}: run 'chatsyncd breach clear --source {{ source.name }}'";
    spec.error_rules.push_back(breach);
    ResourceSpec stats;
    stats.name = "app_stats";
    ErrorRule limited;
    limited.body_path = "error";
    limited.action = ErrorAction::kIgnore;
    limited.message = "{{ source.name }}/app_stats: {{ body.error }} ({{ status }})";
    stats.error_rules.push_back(limited);
    spec.resources.push_back(stats);

    BindSource(spec, "mesibo_eu");
    const auto body = json::parse(R"({"result":false,"error":"TOKENBREACH"})");
    const auto latch = Classify({&spec.error_rules[0]}, Resp(200, json::serialize(body)), &body);
    EXPECT_EQ(latch.action, ErrorAction::kLatch);
    EXPECT_EQ(latch.message, "TOKENBREACH: run 'chatsyncd breach clear --source mesibo_eu'");
    const auto ignored =
        Classify({&spec.resources[0].error_rules[0]}, Resp(200, json::serialize(body)), &body);
    EXPECT_EQ(ignored.message, "mesibo_eu/app_stats: TOKENBREACH (200)");
}

TEST(Pagination, PageNumberStopsAtTotalPagesAndEmptyPages) {
    PaginationSpec spec;
    spec.kind = PaginationKind::kPageNumber;
    spec.total_pages_path = "total_pages";
    auto pos = FirstPosition(spec);
    const auto body = json::parse(R"({"total_pages":2})");
    auto next = NextPosition(spec, pos, &body, Resp(200), 100, "http://h/x");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->number, 2);
    EXPECT_FALSE(NextPosition(spec, *next, &body, Resp(200), 100, "http://h/x"));
    EXPECT_FALSE(NextPosition(spec, pos, &body, Resp(200), 0, "http://h/x"));
}

TEST(Pagination, OffsetAdvancesByRecordsAndStopsAtTotal) {
    PaginationSpec spec;
    spec.kind = PaginationKind::kOffset;
    spec.total_path = "total";
    const auto body = json::parse(R"({"total":150})");
    auto next = NextPosition(spec, FirstPosition(spec), &body, Resp(200), 100, "http://h/x");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->offset, 100);
    EXPECT_FALSE(NextPosition(spec, *next, &body, Resp(200), 50, "http://h/x"));
}

TEST(Pagination, NextUrlResolvesRelativeLinks) {
    PaginationSpec spec;
    spec.kind = PaginationKind::kNextUrl;
    spec.next_url_path = "links.next";
    const auto body = json::parse(R"({"links":{"next":"/api/items?after=9"}})");
    const auto next = NextPosition(
        spec, FirstPosition(spec), &body, Resp(200), 10, "https://h.test/api/items?x=1"
    );
    ASSERT_TRUE(next);
    EXPECT_EQ(next->url, "https://h.test/api/items?after=9");
    const auto end = json::parse(R"({"links":{"next":null}})");
    EXPECT_FALSE(NextPosition(spec, *next, &end, Resp(200), 10, next->url));
}

TEST(Pagination, CursorFromBodyOrHeaderAndHasMore) {
    PaginationSpec spec;
    spec.kind = PaginationKind::kCursor;
    spec.token_path = "meta.next";
    spec.has_more_path = "meta.more";
    auto body = json::parse(R"({"meta":{"next":"abc","more":true}})");
    auto next = NextPosition(spec, FirstPosition(spec), &body, Resp(200), 5, "http://h/x");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->token, "abc");
    body = json::parse(R"({"meta":{"next":"def","more":false}})");
    EXPECT_FALSE(NextPosition(spec, *next, &body, Resp(200), 5, "http://h/x"));
    spec.token_path.clear();
    spec.has_more_path.clear();
    spec.token_header = "X-Next";
    next = NextPosition(
        spec, FirstPosition(spec), nullptr, Resp(200, "[]", {{"x-next", "t2"}}), 5, "http://h/x"
    );
    ASSERT_TRUE(next);
    EXPECT_EQ(next->token, "t2");
}

TEST(Pagination, LinkHeaderFindsRelNextAmongOthers) {
    EXPECT_EQ(
        LinkNext(R"(<https://h/x?page=9>; rel="last", <https://h/x?page=2>; rel="next")"),
        "https://h/x?page=2"
    );
    EXPECT_EQ(LinkNext(R"(<https://h/x?page=2>; rel="prev next")"), "https://h/x?page=2");
    EXPECT_EQ(
        LinkNext(R"(<https://h/x?page=2>; rel="next", <https://h/x?page=3>; rel="last")"),
        "https://h/x?page=2"
    );
    EXPECT_EQ(
        LinkNext(R"(<https://h/x?page=2>; rel=next, <https://h/x?page=3>; rel=last)"),
        "https://h/x?page=2"
    );
    EXPECT_FALSE(LinkNext(R"(<https://h/x?page=1>; rel="prev")"));
}

TEST(Pagination, PositionRoundTripsThroughJson) {
    PagePosition p;
    p.number = 4;
    p.offset = 300;
    p.url = "http://h/n";
    p.token = "t";
    p.pages = 3;
    const auto q = PagePosition::FromJson(p.ToJson());
    EXPECT_EQ(q.number, 4);
    EXPECT_EQ(q.offset, 300);
    EXPECT_EQ(q.url, "http://h/n");
    EXPECT_EQ(q.token, "t");
    EXPECT_EQ(q.pages, 3);
}

TEST(RequestBuilder, BuildsUrlQueryPaginationAndAuth) {
    ConnectorSpec connector;
    connector.base_url = "{{ config.base_url }}";
    connector.auth.kind = AuthKind::kApiKey;
    connector.auth.placement = ApiKeyPlacement::kQuery;
    connector.auth.key_name = "api_key";
    connector.auth.key_value = "{{ config.token }}";
    RequestSpec spec;
    spec.path = "/items";
    spec.query = {{"since", "{{ cursor.start }}"}, {"empty", "{{ nothing }}"}};
    PaginationSpec pagination;
    pagination.kind = PaginationKind::kOffset;
    PagePosition pos;
    pos.offset = 200;
    const auto req = BuildRequest(connector, spec, pagination, pos, Ctx());
    EXPECT_EQ(
        req.url,
        "https://api.test/v3/"
        "items?since=2024-01-01T00%3A00%3A00.000Z&offset=200&limit=100&api_key=tk"
    );
    EXPECT_EQ(req.method, "GET");
    EXPECT_TRUE(req.body.empty());
}

TEST(RequestBuilder, InjectsPaginationAndKeyIntoJsonBody) {
    ConnectorSpec connector;
    connector.base_url = "http://h";
    connector.auth.kind = AuthKind::kApiKey;
    connector.auth.placement = ApiKeyPlacement::kBody;
    connector.auth.key_name = "token";
    connector.auth.key_value = "{{ config.token }}";
    RequestSpec spec;
    spec.method = "POST";
    spec.path = "/";
    spec.body = json::parse(R"({"op":"usersget"})");
    PaginationSpec pagination;
    pagination.kind = PaginationKind::kPageNumber;
    pagination.inject = Injection::kBody;
    PagePosition pos;
    pos.number = 2;
    const auto req = BuildRequest(connector, spec, pagination, pos, Ctx());
    EXPECT_EQ(json::parse(req.body), json::parse(R"({"op":"usersget","page":2,"token":"tk"})"));
    EXPECT_EQ(*http::FindHeader(req.headers, "content-type"), "application/json");
}

TEST(RequestBuilder, BasicAndBearerHeaders) {
    ConnectorSpec connector;
    connector.base_url = "http://h";
    connector.auth.kind = AuthKind::kBasic;
    connector.auth.username = "user";
    connector.auth.password = "{{ config.token }}";
    RequestSpec spec;
    spec.path = "/x";
    const auto basic = BuildRequest(connector, spec, {}, {}, Ctx());
    EXPECT_EQ(*http::FindHeader(basic.headers, "Authorization"), "Basic dXNlcjp0aw==");
    connector.auth.kind = AuthKind::kLogin;
    connector.auth.header_value = "JWT {{ auth.token }}";
    auto ctx = Ctx();
    ctx["auth"] = json::object{{"token", "abc"}};
    const auto login = BuildRequest(connector, spec, {}, {}, ctx);
    EXPECT_EQ(*http::FindHeader(login.headers, "Authorization"), "JWT abc");
}

TEST(RequestBuilder, FollowsNextUrlWithoutRepeatingTheQuery) {
    ConnectorSpec connector;
    connector.base_url = "http://h";
    RequestSpec spec;
    spec.path = "/items";
    spec.query = {{"size", "10"}};
    PaginationSpec pagination;
    pagination.kind = PaginationKind::kNextUrl;
    PagePosition pos;
    pos.url = "http://h/items?size=10&after=5";
    EXPECT_EQ(
        BuildRequest(connector, spec, pagination, pos, Ctx()).url, "http://h/items?size=10&after=5"
    );
}

}  // namespace
}  // namespace chatsync::connectors
