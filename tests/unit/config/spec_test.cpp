#include "connectors/spec.hpp"

#include <map>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "connectors/builtin.hpp"

namespace chatsync::config {
namespace {

using namespace std::chrono_literals;
namespace cn = chatsync::connectors;

constexpr const char* kOneResource =
    "resources:\n"
    "  - {name: items, request: {path: /items}, primary_key: id}\n";

cn::ConnectorSpec Parse(const std::string& yaml) {
    try {
        return ParseConnectorSpec(yaml, "specs/demo_api.yaml");
    } catch (const ConfigErrors& e) {
        ADD_FAILURE() << e.what();
        return {};
    }
}

std::vector<ConfigError> SpecErrorsOf(const std::string& yaml) {
    try {
        ParseConnectorSpec(yaml, "spec.yaml");
    } catch (const ConfigErrors& e) {
        return e.errors();
    }
    return {};
}

TEST(ConnectorSpec, MinimalSpecGetsTheModelDefaults) {
    const auto spec = Parse(kOneResource);
    EXPECT_EQ(spec.name, "demo_api");  // the file's stem
    EXPECT_EQ(spec.base_url, "");
    EXPECT_EQ(spec.auth.kind, cn::AuthKind::kNone);
    EXPECT_EQ(spec.rate_limit.requests_per_minute, 0U);
    EXPECT_EQ(spec.rate_limit.concurrency, 4U);
    ASSERT_EQ(spec.resources.size(), 1U);
    const auto& r = spec.resources[0];
    EXPECT_EQ(r.name, "items");
    EXPECT_EQ(r.request.method, "GET");
    EXPECT_EQ(r.request.path, "/items");
    EXPECT_FALSE(r.request.body);
    EXPECT_EQ(r.records_path, "");
    EXPECT_FALSE(r.records_optional);
    EXPECT_EQ(r.primary_key, std::vector<std::string>{"id"});
    EXPECT_EQ(r.pagination.kind, cn::PaginationKind::kNone);
    EXPECT_FALSE(r.incremental);
    EXPECT_FALSE(r.parent);
    EXPECT_FALSE(r.soft_delete);
    EXPECT_EQ(r.schedule.interval, 5min);
    EXPECT_EQ(r.schedule.jitter, 0s);
    EXPECT_EQ(r.max_nesting, 3U);
    EXPECT_TRUE(r.enabled);
}

TEST(ConnectorSpec, ReadsEveryTopLevelKey) {
    const auto spec = Parse(
        "name: demo\n"
        "base_url: \"{{ config.base_url }}\"\n"
        "params:\n"
        "  base_url: {required: true, description: \"API root\"}\n"
        "  token: {required: true, secret: true}\n"
        "  page_size: {default: 100}\n"
        "headers: {Accept: application/json, X-Version: 2}\n"
        "rate_limit: {requests_per_minute: 150, concurrency: 2}\n"
        "schedule: {interval: 10m, jitter: 30s}\n" +
        std::string(kOneResource)
    );
    EXPECT_EQ(spec.name, "demo");
    EXPECT_EQ(spec.base_url, "{{ config.base_url }}");
    ASSERT_EQ(spec.params.size(), 3U);
    EXPECT_TRUE(spec.params.at("base_url").required);
    EXPECT_EQ(spec.params.at("base_url").description, "API root");
    EXPECT_TRUE(spec.params.at("token").secret);
    EXPECT_FALSE(spec.params.at("token").default_value);
    EXPECT_EQ(spec.params.at("page_size").default_value, "100");
    const std::vector<cn::TemplatePair> headers{{"Accept", "application/json"}, {"X-Version", "2"}};
    EXPECT_EQ(spec.headers, headers);
    EXPECT_EQ(spec.rate_limit.requests_per_minute, 150U);
    EXPECT_EQ(spec.rate_limit.concurrency, 2U);
    EXPECT_EQ(spec.schedule.interval, 10min);
    EXPECT_EQ(spec.schedule.jitter, 30s);
    // Resources without a schedule of their own take the spec's.
    EXPECT_EQ(spec.resources[0].schedule.interval, 10min);
    EXPECT_EQ(spec.resources[0].schedule.jitter, 30s);
}

TEST(ConnectorSpec, ResourceScheduleOverridesTheSpecsFieldByField) {
    const auto spec = Parse(
        "schedule: {interval: 10m, jitter: 30s}\n"
        "resources:\n"
        "  - {name: a, request: {path: /a}, primary_key: id, schedule: {interval: 1m}}\n"
        "  - {name: b, request: {path: /b}, primary_key: id, schedule: {jitter: 0s}}\n"
    );
    EXPECT_EQ(spec.resources[0].schedule.interval, 1min);
    EXPECT_EQ(spec.resources[0].schedule.jitter, 30s);
    EXPECT_EQ(spec.resources[1].schedule.interval, 10min);
    EXPECT_EQ(spec.resources[1].schedule.jitter, 0s);
}

TEST(ConnectorSpec, ReadsEveryResourceKey) {
    const auto spec = Parse(
        "resources:\n"
        "  - name: records\n"
        "    request:\n"
        "      method: POST\n"
        "      path: /generic/search\n"
        "      query: {updated_since: \"{{ cursor.start }}\", limit: 50, flag: true, empty:}\n"
        "      headers: {X-Trace: \"1\"}\n"
        "      body: {filter: {since: \"{{ cursor.start }}\"}}\n"
        "    records: data.items\n"
        "    records_optional: true\n"
        "    primary_key: [id, sub.id]\n"
        "    soft_delete: true\n"
        "    schedule: {interval: 1m, jitter: 5s}\n"
        "    min_interval: 30s\n"
        "    error_rules: [{when: {status: 404}, action: ignore}]\n"
        "    max_nesting: 5\n"
        "    enabled: false\n"
        "  - name: notes\n"
        "    request: {path: \"/records/{{ parent.id }}/notes\"}\n"
        "    primary_key: id\n"
        "    parent: {resource: records, fields: {record_id: id, owner: owner.id}, only_changed: "
        "false}\n"
    );
    ASSERT_EQ(spec.resources.size(), 2U);
    const auto& r = spec.resources[0];
    EXPECT_EQ(r.request.method, "POST");
    EXPECT_EQ(r.request.path, "/generic/search");
    const std::vector<cn::TemplatePair> query{
        {"updated_since", "{{ cursor.start }}"}, {"limit", "50"}, {"flag", "true"}, {"empty", ""}};
    EXPECT_EQ(r.request.query, query);
    const std::vector<cn::TemplatePair> headers{{"X-Trace", "1"}};
    EXPECT_EQ(r.request.headers, headers);
    ASSERT_TRUE(r.request.body);
    EXPECT_EQ(
        boost::json::serialize(*r.request.body), R"({"filter":{"since":"{{ cursor.start }}"}})"
    );
    EXPECT_EQ(r.records_path, "data.items");
    EXPECT_TRUE(r.records_optional);
    EXPECT_EQ(r.primary_key, (std::vector<std::string>{"id", "sub.id"}));
    EXPECT_TRUE(r.soft_delete);
    EXPECT_EQ(r.schedule.interval, 1min);
    EXPECT_EQ(r.schedule.jitter, 5s);
    EXPECT_EQ(r.min_interval, 30s);
    EXPECT_EQ(spec.resources[1].min_interval, 0s) << "no limit unless a spec sets one";
    ASSERT_EQ(r.error_rules.size(), 1U);
    EXPECT_EQ(r.error_rules[0].action, cn::ErrorAction::kIgnore);
    EXPECT_EQ(r.max_nesting, 5U);
    EXPECT_FALSE(r.enabled);
    const auto& child = spec.resources[1];
    ASSERT_TRUE(child.parent);
    EXPECT_EQ(child.parent->resource, "records");
    const std::vector<std::pair<std::string, std::string>> fields{
        {"record_id", "id"}, {"owner", "owner.id"}};
    EXPECT_EQ(child.parent->fields, fields);
    EXPECT_FALSE(child.parent->only_changed);
}

TEST(ConnectorSpec, ColumnTypesByRecordPath) {
    const auto spec = Parse(
        "resources:\n"
        "  - name: users\n"
        "    request: {path: /users}\n"
        "    primary_key: uid\n"
        "    column_types:\n"
        "      uid: bigint\n"
        "      pinned: boolean\n"
        "      profile.score: double precision\n"
        "      balance: numeric\n"
        "      seen_at: timestamptz\n"
        "      note: text\n"
        "      extra: jsonb\n"
    );
    ASSERT_EQ(spec.resources.size(), 1U);
    const std::map<std::string, ColumnType, std::less<>> expected{
        {"uid", ColumnType::kBigint},
        {"pinned", ColumnType::kBoolean},
        {"profile.score", ColumnType::kDouble},
        {"balance", ColumnType::kNumeric},
        {"seen_at", ColumnType::kTimestamptz},
        {"note", ColumnType::kText},
        {"extra", ColumnType::kJsonb},
    };
    EXPECT_EQ(spec.resources[0].column_types, expected);
    EXPECT_TRUE(Parse(kOneResource).resources[0].column_types.empty());
}

TEST(ConnectorSpec, ColumnTypeErrorsNameTheSpecFile) {
    try {
        ParseConnectorSpec(
            "resources:\n"
            "  - name: users\n"
            "    request: {path: /users}\n"
            "    primary_key: uid\n"
            "    column_types: {uid: integer}\n",
            "specs/chat.yaml"
        );
        FAIL() << "expected ConfigErrors";
    } catch (const ConfigErrors& e) {
        EXPECT_STREQ(
            e.what(),
            "specs/chat.yaml:5:25: resources[0].column_types.uid: expected one of boolean, "
            "bigint, numeric, double precision, timestamptz, text, jsonb (got 'integer')"
        );
    }
}

// Auth --------------------------------------------------------------------------------------

TEST(ConnectorSpec, RecordsPathsAndPartition) {
    const auto spec = Parse(
        "resources:\n"
        "  - name: users\n"
        "    request: {method: POST, path: /backend/}\n"
        "    records: [users, user]\n"
        "    primary_key: uid\n"
        "    partition: {field: address, alphabet: ab, split_at: 50, metacharacters: \"%_\",\n"
        "                any_char: _, never_literal: \"*\", case: probe, unique: true}\n"
    );
    ASSERT_EQ(spec.resources.size(), 1U);
    const auto& r = spec.resources[0];
    EXPECT_EQ(r.records_path, "users");
    EXPECT_EQ(r.more_records_paths, std::vector<std::string>{"user"});
    ASSERT_TRUE(r.partition);
    EXPECT_EQ(r.partition->field, "address");
    EXPECT_EQ(r.partition->alphabet, "ab");
    EXPECT_EQ(r.partition->split_at, 50);
    EXPECT_EQ(r.partition->wildcard, "*");
    EXPECT_EQ(r.partition->escape, "\\");
    EXPECT_EQ(r.partition->metacharacters, "%_");
    EXPECT_EQ(r.partition->any_char, "_");
    EXPECT_EQ(r.partition->never_literal, "*");
    EXPECT_EQ(r.partition->case_mode, cn::PartitionSpec::Case::kProbe);
    EXPECT_TRUE(r.partition->unique);
    EXPECT_TRUE(r.partition->exclusion_probes);

    const auto errors = SpecErrorsOf(
        "resources:\n"
        "  - {name: users, request: {path: /u}, primary_key: id, records: [],\n"
        "     partition: {field: address, alphabet: \"\"}}\n"
    );
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].key_path(), "resources[0].records");
    EXPECT_EQ(errors[1].key_path(), "resources[0].partition.alphabet");
}

TEST(ConnectorSpec, AuthBearer) {
    const auto spec =
        Parse("auth: {type: bearer, token: \"{{ config.token }}\"}\n" + std::string(kOneResource));
    EXPECT_EQ(spec.auth.kind, cn::AuthKind::kBearer);
    EXPECT_EQ(spec.auth.token, "{{ config.token }}");
}

TEST(ConnectorSpec, AuthBasic) {
    const auto spec = Parse(
        "auth: {type: basic, username: \"{{ config.user }}\", password: \"{{ config.password "
        "}}\"}\n" +
        std::string(kOneResource)
    );
    EXPECT_EQ(spec.auth.kind, cn::AuthKind::kBasic);
    EXPECT_EQ(spec.auth.username, "{{ config.user }}");
    EXPECT_EQ(spec.auth.password, "{{ config.password }}");
}

TEST(ConnectorSpec, AuthApiKeyInEveryPlacement) {
    struct Case {
        const char* in;
        cn::ApiKeyPlacement placement;
    };

    const Case cases[] = {
        {"header", cn::ApiKeyPlacement::kHeader},
        {"query", cn::ApiKeyPlacement::kQuery},
        {"body", cn::ApiKeyPlacement::kBody},
        {"path", cn::ApiKeyPlacement::kPath},
    };
    for (const auto& c : cases) {
        const auto spec = Parse(
            std::string("auth: {type: api_key, in: ") + c.in +
            ", name: X-API-Key, value: \"{{ config.token }}\"}\n" + kOneResource
        );
        EXPECT_EQ(spec.auth.kind, cn::AuthKind::kApiKey) << c.in;
        EXPECT_EQ(spec.auth.placement, c.placement) << c.in;
        EXPECT_EQ(spec.auth.key_name, "X-API-Key") << c.in;
        EXPECT_EQ(spec.auth.key_value, "{{ config.token }}") << c.in;
    }
    // `in` defaults to header, and a key placed in the path needs no name.
    EXPECT_EQ(
        Parse("auth: {type: api_key, name: k, value: v}\n" + std::string(kOneResource))
            .auth.placement,
        cn::ApiKeyPlacement::kHeader
    );
    EXPECT_EQ(
        Parse("auth: {type: api_key, in: path, value: v}\n" + std::string(kOneResource))
            .auth.key_name,
        ""
    );
    const auto errors =
        SpecErrorsOf("auth: {type: api_key, in: query, value: v}\n" + std::string(kOneResource));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].key_path(), "auth.name");
    EXPECT_EQ(errors[0].message(), "required key is missing");
}

TEST(ConnectorSpec, AuthLogin) {
    const auto spec = Parse(
        "auth:\n"
        "  type: login\n"
        "  login:\n"
        "    request:\n"
        "      method: POST\n"
        "      path: /auth/login\n"
        "      body: {username: \"{{ config.username }}\", password: \"{{ config.password }}\"}\n"
        "    token_path: token\n"
        "    header_name: X-Auth\n"
        "    header_value: \"JWT {{ auth.token }}\"\n"
        "    token_ttl: 50m\n" +
        std::string(kOneResource)
    );
    EXPECT_EQ(spec.auth.kind, cn::AuthKind::kLogin);
    EXPECT_EQ(spec.auth.login.method, "POST");
    EXPECT_EQ(spec.auth.login.path, "/auth/login");
    ASSERT_TRUE(spec.auth.login.body);
    EXPECT_EQ(
        boost::json::serialize(*spec.auth.login.body),
        R"({"username":"{{ config.username }}","password":"{{ config.password }}"})"
    );
    EXPECT_EQ(spec.auth.token_path, "token");
    EXPECT_EQ(spec.auth.header_name, "X-Auth");
    EXPECT_EQ(spec.auth.header_value, "JWT {{ auth.token }}");
    EXPECT_EQ(spec.auth.token_ttl, 50min);

    const auto defaults = Parse(
        "auth: {type: login, login: {request: {path: /login}, token_path: t}}\n" +
        std::string(kOneResource)
    );
    EXPECT_EQ(defaults.auth.header_name, "Authorization");
    EXPECT_EQ(defaults.auth.header_value, "Bearer {{ auth.token }}");
    EXPECT_EQ(defaults.auth.token_ttl, 0s);
}

TEST(ConnectorSpec, AuthNone) {
    EXPECT_EQ(
        Parse("auth: {type: none}\n" + std::string(kOneResource)).auth.kind, cn::AuthKind::kNone
    );
}

// Pagination --------------------------------------------------------------------------------

cn::PaginationSpec PaginationOf(const std::string& flow) {
    const auto spec = Parse(
        "resources:\n"
        "  - name: items\n"
        "    request: {path: /items}\n"
        "    primary_key: id\n"
        "    pagination: " +
        flow + "\n"
    );
    return spec.resources.empty() ? cn::PaginationSpec{} : spec.resources[0].pagination;
}

TEST(ConnectorSpec, PaginationNone) {
    EXPECT_EQ(PaginationOf("{type: none}").kind, cn::PaginationKind::kNone);
}

TEST(ConnectorSpec, PaginationPageNumber) {
    const auto p = PaginationOf(
        "{type: page_number, inject: body, page_param: p, start_page: 0, page_size: 25, "
        "send_page_size: true, limit_param: per_page, total_pages_path: meta.pages, max_pages: 9, "
        "stop_on_short_page: true}"
    );
    EXPECT_EQ(p.kind, cn::PaginationKind::kPageNumber);
    EXPECT_EQ(p.inject, cn::Injection::kBody);
    EXPECT_EQ(p.page_param, "p");
    EXPECT_EQ(p.start_page, 0);
    EXPECT_EQ(p.page_size, 25);
    EXPECT_TRUE(p.send_page_size);
    EXPECT_EQ(p.limit_param, "per_page");
    EXPECT_EQ(p.total_pages_path, "meta.pages");
    EXPECT_EQ(p.max_pages, 9);
    EXPECT_TRUE(p.stop_on_short_page);
    const auto d = PaginationOf("{type: page_number}");
    EXPECT_EQ(d.inject, cn::Injection::kQuery);
    EXPECT_EQ(d.page_param, "page");
    EXPECT_EQ(d.start_page, 1);
    EXPECT_EQ(d.page_size, 100);
    EXPECT_FALSE(d.send_page_size);
}

TEST(ConnectorSpec, PaginationOffset) {
    const auto p = PaginationOf(
        "{type: offset, offset_param: skip, limit_param: take, page_size: 50, total_path: total, "
        "inject: none}"
    );
    EXPECT_EQ(p.kind, cn::PaginationKind::kOffset);
    EXPECT_EQ(p.offset_param, "skip");
    EXPECT_EQ(p.limit_param, "take");
    EXPECT_EQ(p.page_size, 50);
    EXPECT_EQ(p.total_path, "total");
    EXPECT_EQ(p.inject, cn::Injection::kNone);
}

TEST(ConnectorSpec, PaginationNextUrl) {
    const auto p = PaginationOf("{type: next_url, next_url_path: links.next, has_more_path: more}");
    EXPECT_EQ(p.kind, cn::PaginationKind::kNextUrl);
    EXPECT_EQ(p.next_url_path, "links.next");
    EXPECT_EQ(p.has_more_path, "more");
}

TEST(ConnectorSpec, PaginationCursorFromBodyOrHeader) {
    const auto body =
        PaginationOf("{type: cursor, token_path: meta.next_cursor, token_param: after}");
    EXPECT_EQ(body.kind, cn::PaginationKind::kCursor);
    EXPECT_EQ(body.token_path, "meta.next_cursor");
    EXPECT_EQ(body.token_param, "after");
    const auto header = PaginationOf("{type: cursor, token_header: X-Next-Cursor}");
    EXPECT_EQ(header.token_header, "X-Next-Cursor");
    EXPECT_EQ(header.token_path, "");
    EXPECT_EQ(header.token_param, "cursor");
}

TEST(ConnectorSpec, PaginationLinkHeader) {
    EXPECT_EQ(
        PaginationOf("{type: link_header, max_pages: 3}").kind, cn::PaginationKind::kLinkHeader
    );
}

TEST(ConnectorSpec, PaginationNoneTakesNoOtherKeys) {
    const auto errors = SpecErrorsOf(
        "resources:\n"
        "  - name: items\n"
        "    request: {path: /items}\n"
        "    primary_key: id\n"
        "    pagination: {type: none, page_size: 10}\n"
    );
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].message(), "'page_size' does not apply to pagination type 'none'");
    EXPECT_EQ(errors[0].line(), 5);
    EXPECT_EQ(errors[0].column(), 30);
}

// Incremental -------------------------------------------------------------------------------

cn::IncrementalSpec IncrementalOf(const std::string& flow) {
    const auto spec = Parse(
        "resources:\n"
        "  - name: items\n"
        "    request: {path: /items}\n"
        "    primary_key: id\n"
        "    incremental: " +
        flow + "\n"
    );
    if (spec.resources.empty() || !spec.resources[0].incremental) {
        return {};
    }
    return *spec.resources[0].incremental;
}

TEST(ConnectorSpec, IncrementalDefaults) {
    const auto inc = IncrementalOf("{cursor_field: updated_at}");
    EXPECT_EQ(inc.cursor_field, "updated_at");
    EXPECT_EQ(inc.start_param, "");
    EXPECT_EQ(inc.end_param, "");
    EXPECT_EQ(inc.format, cn::CursorFormat::kIso8601);
    EXPECT_FALSE(inc.record_format);
    EXPECT_EQ(inc.initial_value, "");
    EXPECT_EQ(inc.lookback, 0s);
}

TEST(ConnectorSpec, IncrementalFormats) {
    struct Case {
        const char* yaml;
        cn::CursorFormat format;
        const char* pattern;
        const char* initial;
    };

    const Case cases[] = {
        {"iso8601", cn::CursorFormat::kIso8601, "", "2020-01-01T00:00:00Z"},
        {"unix", cn::CursorFormat::kUnixSeconds, "", "1577836800"},
        {"unix_ms", cn::CursorFormat::kUnixMillis, "", "1577836800000"},
        {"number", cn::CursorFormat::kNumber, "", "42"},
        {"\"%Y-%m-%d\"", cn::CursorFormat::kCustom, "%Y-%m-%d", "2020-01-31"},
    };
    for (const auto& c : cases) {
        const auto inc = IncrementalOf(
            std::string("{cursor_field: ts, start_param: since, end_param: until, format: ") +
            c.yaml + ", record_format: " + c.yaml + ", initial_value: \"" + c.initial +
            "\", lookback: 1h}"
        );
        EXPECT_EQ(inc.format, c.format) << c.yaml;
        EXPECT_EQ(inc.format_pattern, c.pattern) << c.yaml;
        ASSERT_TRUE(inc.record_format) << c.yaml;
        EXPECT_EQ(*inc.record_format, c.format) << c.yaml;
        EXPECT_EQ(inc.record_format_pattern, c.pattern) << c.yaml;
        EXPECT_EQ(inc.initial_value, c.initial) << c.yaml;
        EXPECT_EQ(inc.start_param, "since");
        EXPECT_EQ(inc.end_param, "until");
        EXPECT_EQ(inc.lookback, 1h);
    }
}

TEST(ConnectorSpec, RecordFormatMayDifferFromRequestFormat) {
    const auto inc =
        IncrementalOf("{cursor_field: ts, format: \"%Y-%m-%d\", record_format: unix_ms}");
    EXPECT_EQ(inc.format, cn::CursorFormat::kCustom);
    EXPECT_EQ(inc.format_pattern, "%Y-%m-%d");
    EXPECT_EQ(inc.record_format, cn::CursorFormat::kUnixMillis);
    EXPECT_EQ(inc.record_format_pattern, "");
}

TEST(ConnectorSpec, InitialValueMustMatchTheCustomPattern) {
    const auto errors = SpecErrorsOf(
        "resources:\n"
        "  - name: items\n"
        "    request: {path: /items}\n"
        "    primary_key: id\n"
        "    incremental: {cursor_field: ts, format: \"%Y-%m-%d\", initial_value: \"31/01/2020\"}\n"
    );
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].message(), "does not match format '%Y-%m-%d' (got '31/01/2020')");
}

// Error rules -------------------------------------------------------------------------------

TEST(ConnectorSpec, ErrorRuleConditionsAndActions) {
    const auto spec = Parse(
        "error_rules:\n"
        "  - when: {status: [401]}\n"
        "    action: auth_failed\n"
        "  - when: {status: [\"5xx\", 429]}\n"
        "    action: retry\n"
        "    message: \"upstream {{ status }}\"\n"
        "  - when: {body_path: result, equals: false}\n"
        "    action: fatal\n"
        "    message: \"{{ body.error }}\"\n"
        "  - when: {body_contains: \"TOKENBREACH\"}\n"
        "    action: latch\n"
        "  - when: {status: 4XX, body_contains: quota, body_path: code, equals: 42}\n"
        "    action: rate_limited\n"
        "  - when: {body_path: state, equals: \"ok\"}\n"
        "    action: success\n"
        "  - action: ignore\n" +
        std::string(kOneResource)
    );
    ASSERT_EQ(spec.error_rules.size(), 7U);
    const auto& r = spec.error_rules;
    EXPECT_EQ(r[0].status, std::vector<unsigned>{401});
    EXPECT_EQ(r[0].action, cn::ErrorAction::kAuthFailed);

    ASSERT_EQ(r[1].status.size(), 101U);
    EXPECT_EQ(r[1].status.front(), 500U);
    EXPECT_EQ(r[1].status[99], 599U);
    EXPECT_EQ(r[1].status.back(), 429U);
    EXPECT_EQ(r[1].action, cn::ErrorAction::kRetry);
    EXPECT_EQ(r[1].message, "upstream {{ status }}");

    EXPECT_TRUE(r[2].status.empty());
    EXPECT_EQ(r[2].body_path, "result");
    ASSERT_TRUE(r[2].body_equals);
    EXPECT_EQ(*r[2].body_equals, boost::json::value(false));
    EXPECT_EQ(r[2].action, cn::ErrorAction::kFatal);
    EXPECT_EQ(r[2].message, "{{ body.error }}");

    EXPECT_EQ(r[3].body_contains, "TOKENBREACH");
    EXPECT_EQ(r[3].action, cn::ErrorAction::kLatch);

    ASSERT_EQ(r[4].status.size(), 100U);
    EXPECT_EQ(r[4].status.front(), 400U);
    EXPECT_EQ(r[4].status.back(), 499U);
    EXPECT_EQ(r[4].body_contains, "quota");
    EXPECT_EQ(*r[4].body_equals, boost::json::value(42));
    EXPECT_EQ(r[4].action, cn::ErrorAction::kRateLimited);

    EXPECT_EQ(*r[5].body_equals, boost::json::value("ok"));
    EXPECT_EQ(r[5].action, cn::ErrorAction::kSuccess);

    EXPECT_TRUE(r[6].status.empty());
    EXPECT_EQ(r[6].action, cn::ErrorAction::kIgnore);
}

TEST(ConnectorSpec, StatusClassesExpandAndDuplicatesCollapse) {
    const auto spec = Parse(
        "error_rules: [{when: {status: [1xx, 2xx, 3xx, 404, 4xx]}, action: retry}]\n" +
        std::string(kOneResource)
    );
    const auto& status = spec.error_rules.at(0).status;
    ASSERT_EQ(status.size(), 400U);
    EXPECT_EQ(status.front(), 100U);
    EXPECT_EQ(status[299], 399U);
    EXPECT_EQ(status[300], 404U);  // listed before its class
    EXPECT_EQ(status.back(), 499U);
}

TEST(ConnectorSpec, ErrorRuleNeedsAnAction) {
    const auto errors =
        SpecErrorsOf("error_rules: [{when: {status: 500}}]\n" + std::string(kOneResource));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].key_path(), "error_rules[0].action");
    EXPECT_EQ(errors[0].message(), "required key is missing");
}

// Bodies ------------------------------------------------------------------------------------

TEST(ConnectorSpec, BodyYamlBecomesTypedJson) {
    const auto spec = Parse(
        "resources:\n"
        "  - name: items\n"
        "    request:\n"
        "      method: POST\n"
        "      path: /search\n"
        "      body:\n"
        "        int: 123\n"
        "        negative: -7\n"
        "        big: 18446744073709551615\n"
        "        float: 1.5\n"
        "        exp: 2e3\n"
        "        yes: true\n"
        "        no: false\n"
        "        nothing: null\n"
        "        tilde: ~\n"
        "        empty:\n"
        "        quoted_int: \"123\"\n"
        "        single_quoted_bool: 'true'\n"
        "        tagged: !!str 12\n"
        "        tagged_int: !!int \"12\"\n"
        "        word: hello\n"
        "        yes_word: yes\n"
        "        template: \"{{ page.number }}\"\n"
        "        list: [1, \"a\", {b: null}]\n"
        "        block: |\n"
        "          two\n"
        "          lines\n"
        "    primary_key: id\n"
    );
    ASSERT_EQ(spec.resources.size(), 1U);
    const auto& body = spec.resources[0].request.body;
    ASSERT_TRUE(body);
    const auto& o = body->as_object();
    EXPECT_TRUE(o.at("int").is_int64());
    EXPECT_EQ(o.at("int").as_int64(), 123);
    EXPECT_EQ(o.at("negative").as_int64(), -7);
    EXPECT_TRUE(o.at("big").is_uint64());
    EXPECT_TRUE(o.at("float").is_double());
    EXPECT_EQ(o.at("float").as_double(), 1.5);
    EXPECT_EQ(o.at("exp").as_double(), 2000.0);
    EXPECT_EQ(o.at("yes"), boost::json::value(true));
    EXPECT_EQ(o.at("no"), boost::json::value(false));
    EXPECT_TRUE(o.at("nothing").is_null());
    EXPECT_TRUE(o.at("tilde").is_null());
    EXPECT_TRUE(o.at("empty").is_null());
    EXPECT_EQ(o.at("quoted_int"), boost::json::value("123"));
    EXPECT_EQ(o.at("single_quoted_bool"), boost::json::value("true"));
    EXPECT_EQ(o.at("tagged"), boost::json::value("12"));
    EXPECT_EQ(o.at("tagged_int"), boost::json::value(12));
    EXPECT_EQ(o.at("word"), boost::json::value("hello"));
    // YAML 1.2: only true/false are booleans.
    EXPECT_EQ(o.at("yes_word"), boost::json::value("yes"));
    EXPECT_EQ(o.at("template"), boost::json::value("{{ page.number }}"));
    EXPECT_EQ(boost::json::serialize(o.at("list")), R"([1,"a",{"b":null}])");
    EXPECT_EQ(o.at("block"), boost::json::value("two\nlines\n"));
}

TEST(ConnectorSpec, ScalarBodyAndEmptyKeysStayAsWritten) {
    const auto spec = Parse(
        "resources:\n"
        "  - {name: a, request: {method: POST, path: /a, body: [1, 2]}, primary_key: id}\n"
        "  - {name: b, request: {method: POST, path: /b, body: \"raw\"}, primary_key: id}\n"
    );
    EXPECT_EQ(boost::json::serialize(*spec.resources[0].request.body), "[1,2]");
    EXPECT_EQ(*spec.resources[1].request.body, boost::json::value("raw"));
}

// Text as written ---------------------------------------------------------------------------

TEST(ConnectorSpec, SpecTextIsNotInterpolated) {
    setenv("CHATSYNC_TEST_SPEC_VAR", "expanded", 1);
    const auto spec =
        Parse("base_url: \"${CHATSYNC_TEST_SPEC_VAR}\"\n" + std::string(kOneResource));
    unsetenv("CHATSYNC_TEST_SPEC_VAR");
    EXPECT_EQ(spec.base_url, "${CHATSYNC_TEST_SPEC_VAR}");
}

TEST(ConnectorSpec, ErrorsNameTheSpecText) {
    try {
        ParseConnectorSpec("resources: [{name: items, request: {path: /i}}]\n", "builtin:demo");
        FAIL() << "expected ConfigErrors";
    } catch (const ConfigErrors& e) {
        EXPECT_STREQ(
            e.what(), "builtin:demo:1:13: resources[0].primary_key: required key is missing"
        );
    }
}

TEST(ConnectorSpec, NonMappingSpecIsRejected) {
    const auto errors = SpecErrorsOf("- just\n- a list\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].message(), "expected a mapping, got a list");
    EXPECT_EQ(errors[0].line(), 1);
    EXPECT_EQ(errors[0].column(), 1);
}

// Every built-in spec that ships must parse; this guards the specs others add.
TEST(ConnectorSpec, EveryBuiltinSpecParses) {
    for (const auto& name : BuiltinConnectorNames()) {
        const auto text = connectors::BuiltinSpec(name);
        ASSERT_TRUE(text) << name;
        try {
            const auto spec = ParseConnectorSpec(std::string(*text), "builtin:" + name);
            EXPECT_FALSE(spec.resources.empty()) << name;
        } catch (const ConfigErrors& e) {
            ADD_FAILURE() << e.what();
        }
    }
}

}  // namespace
}  // namespace chatsync::config
