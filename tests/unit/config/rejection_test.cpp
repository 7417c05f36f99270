#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "unit/config/errors_of.hpp"

namespace chatsync::config {
namespace {

/// One invalid config and the single error it must produce. The column is given as the text
/// the error points at (`at`), found in line `line`, so the table stays readable.
struct Rejection {
    const char* name;
    const char* yaml;
    int line;
    const char* at;
    const char* key_path;
    const char* message;
};

int ColumnOf(const std::string& yaml, int line, const std::string& at) {
    std::size_t start = 0;
    for (int i = 1; i < line; ++i) {
        start = yaml.find('\n', start) + 1;
    }
    const std::string text = yaml.substr(start, yaml.find('\n', start) - start);
    const std::size_t pos = text.find(at);
    return pos == std::string::npos ? -1 : static_cast<int>(pos) + 1;
}

const Rejection kRejections[] = {
    {"UnknownTopLevelKey",
     "data_dri: /tmp\n",
     1,
     "data_dri",
     "data_dri",
     "unknown key 'data_dri' (did you mean 'data_dir'?)"},
    {"UnknownKeySuggestsClosest",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "    schedule: {intervall: 5m}\n",
     4,
     "intervall",
     "sources[0].schedule.intervall",
     "unknown key 'intervall' (did you mean 'interval'?)"},
    {"UnknownKeyWithoutCloseMatchListsKeys",
     "log: {colour: true}\n",
     1,
     "colour",
     "log.colour",
     "unknown key 'colour' (expected one of level, format)"},
    {"DuplicateKey",
     "log: {level: info}\nlog: {level: warn}\n",
     2,
     "log",
     "log",
     "duplicate key 'log' (first at line 1)"},
    {"MappingWhereStringExpected",
     "data_dir: {a: 1}\n",
     1,
     "{",
     "data_dir",
     "expected a string, got a mapping"},
    {"NonIntegerPoolSize",
     "database:\n  pool_size: two\n",
     2,
     "two",
     "database.pool_size",
     "expected an integer (got 'two')"},
    {"PoolSizeOutOfRange",
     "database: {pool_size: 0}\n",
     1,
     "0",
     "database.pool_size",
     "must be between 1 and 1000 (got '0')"},
    {"DurationWithoutUnit",
     "database:\n  statement_timeout: 60\n",
     2,
     "60",
     "database.statement_timeout",
     "expected a duration such as 30s, 5m, 1h, at most 36500d (got '60')"},
    {"ZeroInterval",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "    schedule: {interval: 0}\n",
     4,
     "0",
     "sources[0].schedule.interval",
     "must be longer than 0s"},
    {"BadByteSize",
     "limits:\n  max_response_bytes: 64 megs\n",
     2,
     "64 megs",
     "limits.max_response_bytes",
     "expected a byte size such as 512KiB, 64MiB, 1GiB (got '64 megs')"},
    {"BadLogLevel",
     "log:\n  level: loud\n",
     2,
     "loud",
     "log.level",
     "expected one of trace, debug, info, warn, error (got 'loud')"},
    {"BadBool",
     "sources:\n"
     "  - name: demo\n"
     "    enabled: maybe\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n",
     3,
     "maybe",
     "sources[0].enabled",
     "expected true or false (got 'maybe')"},
    {"BadAdminListen",
     "admin: {listen: localhost}\n",
     1,
     "localhost",
     "admin.listen",
     "expected host:port such as 127.0.0.1:9187 (got 'localhost')"},
    {"SourcesNotAList",
     "sources: {demo: {}}\n",
     1,
     "{",
     "sources",
     "expected a list, got a mapping"},
    {"DuplicateSourceName",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n",
     4,
     "demo",
     "sources[1].name",
     "duplicate source name 'demo' (first at line 2)"},
    {"BadSourceName",
     "sources:\n"
     "  - name: Demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n",
     2,
     "Demo",
     "sources[0].name",
     "must match [a-z][a-z0-9_]{0,62} (it names a PostgreSQL schema) (got 'Demo')"},
    {"ReservedSourceName",
     "sources:\n"
     "  - name: chatsync\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n",
     2,
     "chatsync",
     "sources[0].name",
     "'chatsync' is reserved (chatsync's own schema, or PostgreSQL's)"},
    {"MissingConnector",
     "sources:\n  - name: demo\n",
     2,
     "name",
     "sources[0].connector",
     "required key is missing (or set connector_file)"},
    {"ConnectorAndConnectorFile",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "    connector_file: demo.yaml\n",
     4,
     "connector_file",
     "sources[0].connector_file",
     "set connector or connector_file, not both"},
    {"DuplicateResourceName",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: items, request: {path: /i}, primary_key: id}\n"
     "        - {name: items, request: {path: /j}, primary_key: id}\n",
     6,
     "items",
     "sources[0].connector.resources[1].name",
     "duplicate resource name 'items' (first at line 5)"},
    {"BadResourceName",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: Items, request: {path: /i}, primary_key: id}\n",
     5,
     "Items",
     "sources[0].connector.resources[0].name",
     "must match [a-z][a-z0-9_]* and be at most 63 characters (it names a table)"},
    {"NoResources",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: []}\n",
     3,
     "[",
     "sources[0].connector.resources",
     "a connector needs at least one resource"},
    {"UnknownResourceKey",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          recrods: data\n",
     8,
     "recrods",
     "sources[0].connector.resources[0].recrods",
     "unknown key 'recrods' (did you mean 'records'?)"},
    {"MissingPrimaryKey",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n",
     5,
     "name",
     "sources[0].connector.resources[0].primary_key",
     "required key is missing"},
    {"EmptyPrimaryKey",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: items, request: {path: /i}, primary_key: []}\n",
     5,
     "[]",
     "sources[0].connector.resources[0].primary_key",
     "needs at least one field"},
    {"ColumnTypeUnknown",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          column_types: {pinned: bool}\n",
     8,
     "bool",
     "sources[0].connector.resources[0].column_types.pinned",
     "expected one of boolean, bigint, numeric, double precision, timestamptz, text, jsonb (got "
     "'bool')"},
    {"ColumnTypeMissing",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          column_types:\n"
     "            uid:\n",
     9,
     "uid",
     "sources[0].connector.resources[0].column_types.uid",
     "needs a type: one of boolean, bigint, numeric, double precision, timestamptz, text, jsonb"},
    {"ColumnTypesNotAMapping",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          column_types: [uid, bigint]\n",
     8,
     "[",
     "sources[0].connector.resources[0].column_types",
     "expected a mapping, got a list"},
    {"ColumnTypePathMalformed",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          column_types: {profile..name: text}\n",
     8,
     "profile..name",
     "sources[0].connector.resources[0].column_types.profile..name",
     "expected a field path such as pinned or profile.name (got 'profile..name')"},
    {"ColumnTypePathBeyondMaxNesting",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          max_nesting: 2\n"
     "          column_types: {a.b.c: bigint}\n",
     9,
     "a.b.c",
     "sources[0].connector.resources[0].column_types.a.b.c",
     "is 3 levels deep, deeper than max_nesting (2): it is stored inside a jsonb column, not "
     "as a column of its own"},
    {"ParentUnknown",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: items, request: {path: /i}, primary_key: id}\n"
     "        - {name: notes, request: {path: /n}, primary_key: id, parent: {resource: itemz}}\n",
     6,
     "itemz",
     "sources[0].connector.resources[1].parent.resource",
     "unknown resource 'itemz' (did you mean 'items'?)"},
    {"ParentItself",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: items, request: {path: /i}, primary_key: id}\n"
     "        - {name: notes, request: {path: /n}, primary_key: id, parent: {resource: notes}}\n",
     6,
     "notes}",
     "sources[0].connector.resources[1].parent.resource",
     "a resource cannot be its own parent"},
    {"ParentCycle",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: aa, request: {path: /a}, primary_key: id, parent: {resource: bb}}\n"
     "        - {name: bb, request: {path: /b}, primary_key: id, parent: {resource: aa}}\n",
     5,
     "bb}",
     "sources[0].connector.resources[0].parent.resource",
     "parent chain forms a cycle: aa -> bb -> aa"},
    {"BadPaginationType",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          pagination: {type: pages}\n",
     8,
     "pages",
     "sources[0].connector.resources[0].pagination.type",
     "expected one of none, page_number, offset, next_url, cursor, link_header (got 'pages')"},
    {"NextUrlNeedsPath",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          pagination: {type: next_url}\n",
     8,
     "{",
     "sources[0].connector.resources[0].pagination.next_url_path",
     "required key is missing"},
    {"CursorNeedsToken",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          pagination:\n"
     "            type: cursor\n"
     "            token_param: after\n",
     9,
     "type",
     "sources[0].connector.resources[0].pagination.token_path",
     "required by pagination type 'cursor' (or set token_header)"},
    {"PaginationKeyOfAnotherType",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          pagination: {type: offset, page_param: p}\n",
     8,
     "page_param",
     "sources[0].connector.resources[0].pagination.page_param",
     "'page_param' does not apply to pagination type 'offset'"},
    {"BadCursorFormat",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          incremental: {cursor_field: updated_at, format: yyyy-mm-dd}\n",
     8,
     "yyyy",
     "sources[0].connector.resources[0].incremental.format",
     "expected iso8601, unix, unix_ms, number or a strftime pattern containing % (got "
     "'yyyy-mm-dd')"},
    {"InitialValueNotInFormat",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          incremental: {cursor_field: ts, format: unix, initial_value: 2020-01-01}\n",
     8,
     "2020",
     "sources[0].connector.resources[0].incremental.initial_value",
     "does not match format 'unix' (got '2020-01-01')"},
    {"SoftDeleteOfChildrenOfChangedParentsOnly",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - {name: items, request: {path: /items}, primary_key: id}\n"
     "        - name: notes\n"
     "          parent: {resource: items}\n"
     "          request: {path: /notes}\n"
     "          primary_key: id\n"
     "          soft_delete: true\n",
     10,
     "true",
     "sources[0].connector.resources[1].soft_delete",
     "needs the children of every parent on every run; set parent.only_changed: false"},
    {"SoftDeleteWithIncremental",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          incremental: {cursor_field: updated_at}\n"
     "          soft_delete: true\n",
     9,
     "true",
     "sources[0].connector.resources[0].soft_delete",
     "needs a full listing on every run; it cannot be combined with incremental"},
    {"KeysetWithoutStartFilter",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources:\n"
     "        - name: items\n"
     "          request: {path: /items}\n"
     "          primary_key: id\n"
     "          incremental: {cursor_field: updated_at, keyset: true}\n",
     8,
     "{cursor_field",
     "sources[0].connector.resources[0].incremental.keyset",
     "needs the request to filter by {{ cursor.start }} (start_param or a template)"},
    {"BadAuthType",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      auth: {type: oauth}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     4,
     "oauth",
     "sources[0].connector.auth.type",
     "expected one of none, bearer, basic, api_key, login (got 'oauth')"},
    {"AuthKeyOfAnotherType",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      auth: {type: bearer, token: abc, username: me}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     4,
     "username",
     "sources[0].connector.auth.username",
     "'username' does not apply to auth type 'bearer'"},
    {"LoginNeedsTokenPath",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      auth:\n"
     "        type: login\n"
     "        login: {request: {method: POST, path: /login}}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     6,
     "{",
     "sources[0].connector.auth.login.token_path",
     "required key is missing"},
    {"BadHttpMethod",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      resources: [{name: items, request: {method: FETCH, path: /i}, primary_key: id}]\n",
     4,
     "FETCH",
     "sources[0].connector.resources[0].request.method",
     "expected one of GET, POST, PUT, PATCH, DELETE (got 'FETCH')"},
    {"BadStatusCode",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      error_rules: [{when: {status: [99]}, action: retry}]\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     4,
     "99",
     "sources[0].connector.error_rules[0].when.status[0]",
     "expected a status code (100-599) or a class such as 5xx (got '99')"},
    {"BadStatusClass",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      error_rules: [{when: {status: 6xx}, action: retry}]\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     4,
     "6xx",
     "sources[0].connector.error_rules[0].when.status",
     "expected a status code (100-599) or a class such as 5xx (got '6xx')"},
    {"BadErrorAction",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      error_rules: [{when: {status: 500}, action: explode}]\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     4,
     "explode",
     "sources[0].connector.error_rules[0].action",
     "expected one of success, ignore, retry, rate_limited, auth_failed, fatal, latch, hold (got "
     "'explode')"},
    {"EqualsNeedsBodyPath",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      error_rules: [{when: {equals: false}, action: fatal}]\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n",
     4,
     "false",
     "sources[0].connector.error_rules[0].when.body_path",
     "required with equals"},
    {"UnknownResourceOverride",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "    resources:\n"
     "      itemz: {interval: 1m}\n",
     5,
     "itemz",
     "sources[0].resources.itemz",
     "unknown resource 'itemz' of connector 'demo' (did you mean 'items'?)"},
    {"MissingRequiredParam",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      name: x\n"
     "      params: {token: {required: true}}\n"
     "      auth: {type: bearer, token: \"{{ config.token }}\"}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
     "    config: {}\n",
     8,
     "{",
     "sources[0].config.token",
     "required by connector 'x'; set token or token_file"},
    {"UnknownConfigValue",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      name: x\n"
     "      params: {token: {secret: true}}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
     "    config: {tokn: abc}\n",
     7,
     "tokn",
     "sources[0].config.tokn",
     "unknown key 'tokn' for connector 'x' (did you mean 'token'?)"},
    {"ValueAndValueFile",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      params: {token: {}}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
     "    config:\n"
     "      token: abc\n"
     "      token_file: /etc/hostname\n",
     8,
     "token_file",
     "sources[0].config.token_file",
     "set token or token_file, not both"},
    {"UnreadableValueFile",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      params: {token: {required: true}}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
     "    config:\n"
     "      token_file: /nonexistent/chatsync/token\n",
     7,
     "/nonexistent",
     "sources[0].config.token_file",
     "cannot read file '/nonexistent/chatsync/token': No such file or directory"},
    {"DirectoryAsValueFile",
     "sources:\n"
     "  - name: demo\n"
     "    connector:\n"
     "      params: {token: {required: true}}\n"
     "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
     "    config:\n"
     "      token_file: /\n",
     7,
     "/",
     "sources[0].config.token_file",
     "cannot read file '/': is a directory"},
    {"DsnAndDsnFile",
     "database:\n  dsn: postgresql://x\n  dsn_file: /run/dsn\n",
     3,
     "dsn_file",
     "database.dsn_file",
     "set dsn or dsn_file, not both"},
    {"UnreadableDsnFile",
     "database:\n  dsn_file: /nonexistent/chatsync/dsn\n",
     2,
     "/nonexistent",
     "database.dsn_file",
     "cannot read file '/nonexistent/chatsync/dsn': No such file or directory"},
    {"BackoffOrder",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "    retry: {initial_backoff: 10s, max_backoff: 5s}\n",
     4,
     "5s",
     "sources[0].retry.max_backoff",
     "must not be shorter than initial_backoff (10s)"},
    {"BadLocalAddress",
     "sources:\n"
     "  - name: demo\n"
     "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
     "    http: {local_address: eth0}\n",
     4,
     "eth0",
     "sources[0].http.local_address",
     "expected an IP address such as 192.0.2.10 (got 'eth0')"},
    {"UnsetEnvironmentVariable",
     "data_dir: ${CHATSYNC_TEST_NEVER_SET}\n",
     1,
     "$",
     "data_dir",
     "environment variable CHATSYNC_TEST_NEVER_SET is not set (use "
     "${CHATSYNC_TEST_NEVER_SET:-default} to give a default)"},
    {"UnterminatedReference",
     "data_dir: ${HOME\n",
     1,
     "$",
     "data_dir",
     "unterminated '${' (write '$${' for a literal '${')"},
    {"SecondYamlDocument",
     "log: {}\n---\nlog: {level: warn}\n",
     3,
     "log",
     "",
     "expected one YAML document, found 2"},
    {"YamlSyntaxError",
     "log: {level: info\ndata_dir: /x\n",
     2,
     ": /x",
     "",
     "end of map flow not found"},
};

class ConfigRejectionTable : public testing::TestWithParam<Rejection> {};

TEST_P(ConfigRejectionTable, ReportsOneErrorAtTheOffendingKey) {
    const Rejection& r = GetParam();
    const std::string yaml = r.yaml;
    const auto errors = ErrorsOf(yaml);
    ASSERT_EQ(errors.size(), 1U) << [&] {
        std::string all;
        for (const auto& e : errors) {
            all += std::string(e.what()) + "\n";
        }
        return all;
    }();
    const ConfigError& e = errors[0];
    const int column = ColumnOf(yaml, r.line, r.at);
    ASSERT_GT(column, 0) << "'" << r.at << "' is not in line " << r.line;
    EXPECT_EQ(e.file(), "test.yaml");
    EXPECT_EQ(e.line(), r.line);
    EXPECT_EQ(e.column(), column);
    EXPECT_EQ(e.key_path(), r.key_path);
    EXPECT_EQ(e.message(), r.message);
    const std::string where = "test.yaml:" + std::to_string(r.line) + ":" + std::to_string(column);
    const std::string expected_what =
        where + ": " + (std::string(r.key_path).empty() ? "" : std::string(r.key_path) + ": ") +
        r.message;
    EXPECT_EQ(std::string(e.what()), expected_what);
}

INSTANTIATE_TEST_SUITE_P(
    Table,
    ConfigRejectionTable,
    testing::ValuesIn(kRejections),
    [](const testing::TestParamInfo<Rejection>& p) { return std::string(p.param.name); }
);

TEST(ConfigRejection, UnknownBuiltinConnectorListsTheAvailableOnes) {
    const auto errors = ErrorsOf(
        "sources:\n"
        "  - name: demo\n"
        "    connector: no_such_connector_xyz\n"
    );
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].line(), 3);
    EXPECT_EQ(errors[0].column(), 16);
    EXPECT_EQ(errors[0].key_path(), "sources[0].connector");
    const auto names = BuiltinConnectorNames();
    std::string expected = "unknown connector 'no_such_connector_xyz'";
    if (names.empty()) {
        expected +=
            " (no built-in connectors are available; give an inline spec or connector_file)";
    } else {
        std::string list;
        for (const auto& n : names) {
            list += (list.empty() ? "" : ", ") + n;
        }
        expected += " (available: " + list + ")";
    }
    EXPECT_EQ(errors[0].message(), expected);
}

TEST(ConfigRejection, PathLikeConnectorPointsToConnectorFile) {
    const auto errors = ErrorsOf("sources:\n  - name: demo\n    connector: specs/demo.yaml\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(
        errors[0].message(),
        "unknown connector 'specs/demo.yaml' (to load a spec file, use connector_file)"
    );
}

TEST(ConfigRejection, UnreadableConfigFileNamesThePath) {
    try {
        LoadFile("/nonexistent/chatsync.yaml");
        FAIL() << "expected ConfigErrors";
    } catch (const ConfigErrors& e) {
        ASSERT_EQ(e.errors().size(), 1U);
        EXPECT_STREQ(
            e.what(),
            "/nonexistent/chatsync.yaml: cannot read config file: No such file or directory"
        );
    }
}

TEST(ConfigRejection, BrokenConfigReportsEveryErrorInOnePass) {
    const std::string yaml =
        "data_dri: /tmp\n"                          // 1: unknown key
        "database: {pool_size: many}\n"             // 2: not an integer
        "log: {level: loud}\n"                      // 3: bad enum
        "limits: {shutdown_grace: soon}\n"          // 4: bad duration
        "sources:\n"                                // 5
        "  - name: demo\n"                          // 6
        "    connector:\n"                          // 7
        "      resources:\n"                        // 8
        "        - name: items\n"                   // 9: missing primary_key
        "          request: {path: /i}\n"           // 10
        "          pagination: {type: next_url}\n"  // 11: missing next_url_path
        "    resources: {itemz: {}}\n";             // 12: not checked: the spec has errors
    const auto errors = ErrorsOf(yaml);
    ASSERT_EQ(errors.size(), 6U);
    std::vector<std::pair<int, std::string>> got;
    for (const auto& e : errors) {
        got.emplace_back(e.line(), e.key_path());
    }
    const std::vector<std::pair<int, std::string>> expected{
        {1, "data_dri"},
        {2, "database.pool_size"},
        {3, "log.level"},
        {4, "limits.shutdown_grace"},
        {9, "sources[0].connector.resources[0].primary_key"},
        {11, "sources[0].connector.resources[0].pagination.next_url_path"},
    };
    EXPECT_EQ(got, expected);
    try {
        LoadString(yaml, "broken.yaml");
    } catch (const ConfigErrors& e) {
        const std::string what = e.what();
        EXPECT_EQ(std::count(what.begin(), what.end(), '\n'), 5);
        EXPECT_NE(
            what.find("broken.yaml:2:23: database.pool_size: expected an integer (got 'many')"),
            std::string::npos
        );
    }
}

TEST(ConfigRejection, ErrorsInAConnectorFileNameThatFile) {
    const std::string dir = std::string(CHATSYNC_SOURCE_DIR) + "/tests/data/config/";
    try {
        LoadFile(dir + "broken_connector.yaml");
        FAIL() << "expected ConfigErrors";
    } catch (const ConfigErrors& e) {
        ASSERT_EQ(e.errors().size(), 2U) << e.what();
        const ConfigError& type = e.errors()[0];
        EXPECT_EQ(type.file(), dir + "broken_spec.yaml");
        EXPECT_EQ(type.line(), 7);
        EXPECT_EQ(type.column(), 24);
        EXPECT_EQ(type.key_path(), "resources[0].pagination.type");
        const ConfigError& parent = e.errors()[1];
        EXPECT_EQ(parent.line(), 11);
        EXPECT_EQ(parent.key_path(), "resources[1].parent.resource");
        EXPECT_EQ(parent.message(), "unknown resource 'recrods' (did you mean 'records'?)");
    }
}

TEST(ConfigRejection, ErrorsNeverShowSecretValues) {
    setenv("CHATSYNC_TEST_SECRET_POOL", "hunter2-very-secret", 1);
    const auto errors = ErrorsOf(
        "database: {pool_size: \"${CHATSYNC_TEST_SECRET_POOL}\"}\n"
        "limits: {shutdown_grace: \"x${CHATSYNC_TEST_SECRET_POOL}\"}\n"
    );
    unsetenv("CHATSYNC_TEST_SECRET_POOL");
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].message(), "expected an integer");
    EXPECT_EQ(errors[1].message(), "expected a duration such as 30s, 5m, 1h, at most 36500d");
    for (const auto& e : errors) {
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
    }
}

}  // namespace
}  // namespace chatsync::config
