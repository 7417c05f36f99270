#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "connectors/builtin.hpp"
#include "unit/config/errors_of.hpp"

namespace chatsync::config {
namespace {

using namespace std::chrono_literals;
namespace cn = chatsync::connectors;

const std::string kDataDir = std::string(CHATSYNC_SOURCE_DIR) + "/tests/data/config/";

Config Load(const std::string& yaml, const std::string& name = "test.yaml") {
    try {
        return LoadString(yaml, name);
    } catch (const ConfigErrors& e) {
        ADD_FAILURE() << e.what();
        return {};
    }
}

bool IsSecret(const SourceConfig& s, const std::string& key) {
    return std::find(s.secret_keys.begin(), s.secret_keys.end(), key) != s.secret_keys.end();
}

/// Sets an environment variable for the life of the object.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value)
        : name_(name) {
        setenv(name, value, 1);
    }

    ~ScopedEnv() { unsetenv(name_); }

    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
};

/// A source with an inline spec that declares base_url (required), token (required, secret)
/// and page_size (default 100), followed by `config` (indented four spaces).
std::string SourceWithConfig(const std::string& config) {
    return "sources:\n"
           "  - name: demo\n"
           "    connector:\n"
           "      name: demo_api\n"
           "      base_url: \"{{ config.base_url }}\"\n"
           "      params:\n"
           "        base_url: {required: true}\n"
           "        token: {required: true, secret: true}\n"
           "        page_size: {default: \"100\"}\n"
           "      auth: {type: bearer, token: \"{{ config.token }}\"}\n"
           "      resources:\n"
           "        - name: records\n"
           "          request: {path: /generic/page, query: {per_page: \"{{ config.page_size }}\", "
           "q: \"{{ config.search }}\"}}\n"
           "          primary_key: id\n"
           "          pagination: {type: page_number}\n"
           "        - name: notes\n"
           "          request: {path: \"/records/{{ parent.id }}/notes\"}\n"
           "          primary_key: id\n"
           "          parent: {resource: records}\n"
           "          schedule: {interval: 1h}\n"
           "    config:\n" +
           config;
}

// Daemon keys -------------------------------------------------------------------------------

TEST(ConfigLoader, ConfigOfAnEmptySourcesListUsesEveryDefault) {
    const Config c = Load("sources: []\n");
    EXPECT_EQ(c.path, "test.yaml");
    EXPECT_EQ(c.data_dir, "/var/lib/chatsync");
    EXPECT_EQ(c.database.dsn, "");
    EXPECT_EQ(c.database.pool_size, 2U);
    EXPECT_EQ(c.database.statement_timeout, 60s);
    EXPECT_EQ(c.database.connect_timeout, 10s);
    EXPECT_EQ(c.database.embedded.bin_dir, "/usr/lib/postgresql/15/bin");
    EXPECT_EQ(c.database.embedded.port, 0);
    EXPECT_EQ(c.database.embedded.run_as_user, "postgres");
    EXPECT_EQ(c.admin.listen, "127.0.0.1:9187");
    EXPECT_EQ(c.admin.stale_after_intervals, 3.0);
    EXPECT_EQ(c.log.level, "info");
    EXPECT_EQ(c.log.format, "text");
    EXPECT_EQ(c.limits.max_concurrent_runs, 4U);
    EXPECT_EQ(c.limits.shutdown_grace, 20s);
    EXPECT_EQ(c.limits.max_response_bytes, 64U << 20U);
    EXPECT_EQ(c.limits.max_batch_rows, 5000U);
    EXPECT_EQ(c.limits.max_in_flight_bytes, 16U << 20U);
    EXPECT_TRUE(c.sources.empty());
}

TEST(ConfigLoader, EmptySourcesListIsAllowed) {
    EXPECT_TRUE(Load("sources: []\n").sources.empty());
    EXPECT_TRUE(Load("sources:\n").sources.empty());
}

TEST(ConfigLoader, ReadsEveryDaemonKey) {
    const Config c = Load(
        "data_dir: state\n"
        "database:\n"
        "  dsn: postgresql://u@db/chatsync\n"
        "  pool_size: 3\n"
        "  statement_timeout: 0\n"
        "  connect_timeout: 5s\n"
        "  embedded: {bin_dir: /opt/pg/bin, port: 5433, run_as_user: pg}\n"
        "admin: {listen: \"[::1]:9000\", stale_after_intervals: 2.5}\n"
        "log: {level: debug, format: json}\n"
        "limits: {max_concurrent_runs: 8, shutdown_grace: 1m30s, max_response_bytes: 1GiB, "
        "max_batch_rows: 100, max_in_flight_bytes: 0}\n",
        "/etc/chatsync/chatsync.yaml"
    );
    EXPECT_EQ(c.data_dir, "/etc/chatsync/state");  // relative to the config file
    EXPECT_EQ(c.database.dsn, "postgresql://u@db/chatsync");
    EXPECT_EQ(c.database.pool_size, 3U);
    EXPECT_EQ(c.database.statement_timeout, 0s);
    EXPECT_EQ(c.database.connect_timeout, 5s);
    EXPECT_EQ(c.database.embedded.bin_dir, "/opt/pg/bin");
    EXPECT_EQ(c.database.embedded.port, 5433);
    EXPECT_EQ(c.database.embedded.run_as_user, "pg");
    EXPECT_EQ(c.admin.listen, "[::1]:9000");
    EXPECT_EQ(c.admin.stale_after_intervals, 2.5);
    EXPECT_EQ(c.log.level, "debug");
    EXPECT_EQ(c.log.format, "json");
    EXPECT_EQ(c.limits.max_concurrent_runs, 8U);
    EXPECT_EQ(c.limits.shutdown_grace, 90s);
    EXPECT_EQ(c.limits.max_response_bytes, 1ULL << 30U);
    EXPECT_EQ(c.limits.max_batch_rows, 100U);
    EXPECT_EQ(c.limits.max_in_flight_bytes, 0U);
}

TEST(ConfigLoader, EmptyAdminListenDisablesIt) {
    EXPECT_EQ(Load("admin: {listen: \"\"}\n").admin.listen, "");
}

TEST(ConfigLoader, ReadsEverySourceKey) {
    const Config c = Load(SourceWithConfig(
        "      base_url: http://127.0.0.1:8080\n"
        "      token: abc\n"
        "    enabled: false\n"
        "    retry: {max_attempts: 3, initial_backoff: 500ms, max_backoff: 10s, max_retry_after: "
        "1m}\n"
        "    http: {connect_timeout: 2s, idle_timeout: 3s, total_timeout: 4s, verify_tls: false, "
        "ca_file: \"\", local_address: 127.0.0.1}\n"
    ));
    ASSERT_EQ(c.sources.size(), 1U);
    const SourceConfig& s = c.sources[0];
    EXPECT_EQ(s.name, "demo");
    EXPECT_FALSE(s.enabled);
    EXPECT_EQ(s.connector_origin, "inline");
    EXPECT_EQ(s.connector.name, "demo_api");
    EXPECT_EQ(s.retry.max_attempts, 3U);
    EXPECT_EQ(s.retry.initial_backoff, 500ms);
    EXPECT_EQ(s.retry.max_backoff, 10s);
    EXPECT_EQ(s.retry.max_retry_after, 1min);
    EXPECT_EQ(s.http.connect_timeout, 2s);
    EXPECT_EQ(s.http.idle_timeout, 3s);
    EXPECT_EQ(s.http.total_timeout, 4s);
    EXPECT_FALSE(s.http.verify_tls);
    EXPECT_EQ(s.http.ca_file, "");
    EXPECT_EQ(s.http.local_address, "127.0.0.1");
    EXPECT_EQ(c.FindSource("demo"), &s);
}

TEST(ConfigLoader, SourceDefaults) {
    const Config c = Load(SourceWithConfig("      base_url: u\n      token: t\n"));
    const SourceConfig& s = c.sources.at(0);
    EXPECT_TRUE(s.enabled);
    EXPECT_EQ(s.retry.max_attempts, 5U);
    EXPECT_EQ(s.retry.initial_backoff, 1s);
    EXPECT_EQ(s.retry.max_backoff, 60s);
    EXPECT_EQ(s.retry.max_retry_after, 15min);
    EXPECT_EQ(s.http.connect_timeout, 10s);
    EXPECT_EQ(s.http.idle_timeout, 30s);
    EXPECT_EQ(s.http.total_timeout, 120s);
    EXPECT_TRUE(s.http.verify_tls);
    EXPECT_TRUE(s.resources.empty());
}

// Config values and secrets -----------------------------------------------------------------

TEST(ConfigLoader, ParamDefaultsFillValues) {
    const Config c = Load(SourceWithConfig("      base_url: http://x\n      token: t0k3n\n"));
    const auto& v = c.sources.at(0).values;
    EXPECT_EQ(v.at("base_url"), "http://x");
    EXPECT_EQ(v.at("token"), "t0k3n");
    EXPECT_EQ(v.at("page_size"), "100");
    EXPECT_EQ(v.count("search"), 0U);  // used by a template but neither set nor declared
}

TEST(ConfigLoader, TemplateReferencesAreAcceptedKeys) {
    const Config c =
        Load(SourceWithConfig("      base_url: http://x\n"
                              "      token: t\n"
                              "      search: open\n"
                              "      page_size: 10\n"));
    EXPECT_EQ(c.sources.at(0).values.at("search"), "open");
    EXPECT_EQ(c.sources.at(0).values.at("page_size"), "10");
}

TEST(ConfigLoader, SecretKeys) {
    ScopedEnv env("CHATSYNC_TEST_PASSWORD", "pa55word");
    const Config c = Load(
        "sources:\n"
        "  - name: demo\n"
        "    connector:\n"
        "      params:\n"
        "        token: {secret: true, default: \"dflt-token\"}\n"
        "        admin_password: {}\n"
        "        api_key: {}\n"
        "        region: {}\n"
        "        account: {}\n"
        "        hint: {secret: true}\n"
        "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
        "    config:\n"
        "      admin_password: ${CHATSYNC_TEST_PASSWORD}\n"
        "      api_key: literal-key\n"
        "      region: ${CHATSYNC_TEST_PASSWORD}\n"
        "      account_file: " +
        kDataDir + "token.txt\n"
    );
    const SourceConfig& s = c.sources.at(0);
    // Declared secret (a default counts), named like a secret, or read from a file.
    EXPECT_EQ(
        s.secret_keys, (std::vector<std::string>{"account", "admin_password", "api_key", "token"})
    );
    EXPECT_FALSE(IsSecret(s, "region"));
    EXPECT_FALSE(IsSecret(s, "hint"));  // declared secret but not set: nothing to hide
    EXPECT_EQ(s.values.at("admin_password"), "pa55word");
    EXPECT_EQ(s.values.at("token"), "dflt-token");
}

TEST(ConfigLoader, ValueFileIsReadTrimmedAndSecret) {
    const Config c = Load(SourceWithConfig(
        "      base_url: http://x\n"
        "      token_file: " +
        kDataDir + "token.txt\n"
    ));
    const SourceConfig& s = c.sources.at(0);
    EXPECT_EQ(s.values.at("token"), "s3cr3t-from-file");
    EXPECT_EQ(s.values.count("token_file"), 0U);
    EXPECT_TRUE(IsSecret(s, "token"));
}

TEST(ConfigLoader, ValueFileOfAnOrdinaryKeyIsStillSecret) {
    const Config c = Load(SourceWithConfig(
        "      base_url_file: " + kDataDir +
        "token.txt\n"
        "      token: t\n"
    ));
    EXPECT_EQ(c.sources.at(0).values.at("base_url"), "s3cr3t-from-file");
    EXPECT_TRUE(IsSecret(c.sources.at(0), "base_url"));
}

TEST(ConfigLoader, ValueFileTrimsEveryTrailingLineBreakOnly) {
    const auto path = std::filesystem::temp_directory_path() / "chatsync_config_test_crlf.txt";
    {
        std::ofstream out(path, std::ios::binary);
        out << "  spaced token \r\n\r\n";
    }
    const Config c = Load(SourceWithConfig(
        "      base_url: u\n"
        "      token_file: " +
        path.string() + "\n"
    ));
    std::filesystem::remove(path);
    EXPECT_EQ(c.sources.at(0).values.at("token"), "  spaced token ");
}

TEST(ConfigLoader, DeclaredParamEndingInFileIsAPlainValue) {
    const Config c = Load(
        "sources:\n"
        "  - name: demo\n"
        "    connector:\n"
        "      params: {export_file: {}}\n"
        "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
        "    config: {export_file: /tmp/out.csv}\n"
    );
    EXPECT_EQ(c.sources.at(0).values.at("export_file"), "/tmp/out.csv");
}

TEST(ConfigLoader, UnreadableFileIsNotAlsoReportedMissing) {
    const auto errors =
        ErrorsOf(SourceWithConfig("      base_url: u\n"
                                  "      token_file: /nonexistent/token\n"));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(
        errors[0].message(), "cannot read file '/nonexistent/token': No such file or directory"
    );
}

TEST(ConfigLoader, EmptyValueLeavesARequiredKeyMissing) {
    const auto errors = ErrorsOf(SourceWithConfig("      base_url: u\n      token:\n"));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].key_path(), "sources[0].config.token");
    EXPECT_EQ(errors[0].message(), "required by connector 'demo_api'; set token or token_file");
}

TEST(ConfigLoader, MissingConfigBlockReportsAtTheSource) {
    const auto errors = ErrorsOf(
        "sources:\n"
        "  - name: demo\n"
        "    connector:\n"
        "      params: {token: {required: true}}\n"
        "      resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
    );
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].line(), 2);
    EXPECT_EQ(errors[0].column(), 5);
    EXPECT_EQ(errors[0].key_path(), "sources[0].config.token");
}

TEST(ConfigLoader, DsnFileIsReadAndTrimmed) {
    const Config c = Load("database: {dsn_file: " + kDataDir + "dsn.txt}\n");
    EXPECT_EQ(c.database.dsn, "postgresql://chatsync:s3cr3t-from-file@db.example/chatsync");
}

// Interpolation -----------------------------------------------------------------------------

TEST(ConfigLoader, InterpolatesEveryScalarBeforeTyping) {
    ScopedEnv pool("CHATSYNC_TEST_POOL", "7");
    ScopedEnv level("CHATSYNC_TEST_LEVEL", "warn");
    ScopedEnv empty("CHATSYNC_TEST_EMPTY", "");
    const Config c = Load(
        "data_dir: /srv/${CHATSYNC_TEST_LEVEL}/${CHATSYNC_TEST_LEVEL}\n"
        "database:\n"
        "  pool_size: ${CHATSYNC_TEST_POOL}\n"
        "  dsn: ${CHATSYNC_TEST_UNSET_DSN:-postgresql://fallback}\n"
        "  embedded: {run_as_user: \"${CHATSYNC_TEST_EMPTY:-nobody}\"}\n"
        "log: {level: \"${CHATSYNC_TEST_LEVEL:-info}\"}\n"
        "limits: {shutdown_grace: \"${CHATSYNC_TEST_POOL}s\"}\n"
    );
    EXPECT_EQ(c.data_dir, "/srv/warn/warn");
    EXPECT_EQ(c.database.pool_size, 7U);
    EXPECT_EQ(c.database.dsn, "postgresql://fallback");
    EXPECT_EQ(c.database.embedded.run_as_user, "nobody");  // empty counts as unset with :-
    EXPECT_EQ(c.log.level, "warn");                        // set wins over the default
    EXPECT_EQ(c.limits.shutdown_grace, 7s);
    // "$${" is a literal "${"; the result is then validated like any other value.
    const auto errors = ErrorsOf("admin: {listen: \"127.0.0.1:$${PORT}\"}\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(
        errors[0].message(), "expected host:port such as 127.0.0.1:9187 (got '127.0.0.1:${PORT}')"
    );
}

TEST(ConfigLoader, InterpolatesInsideInlineSpecsAndConfigValues) {
    ScopedEnv base("CHATSYNC_TEST_BASE", "http://10.0.0.1");
    ScopedEnv token("CHATSYNC_TEST_TOKEN", "tok-123");
    const Config c =
        Load(SourceWithConfig("      base_url: ${CHATSYNC_TEST_BASE}/v1\n"
                              "      token: ${CHATSYNC_TEST_TOKEN}\n"
                              "      search: \"cost $5 and $${literal}\"\n"));
    const SourceConfig& s = c.sources.at(0);
    EXPECT_EQ(s.values.at("base_url"), "http://10.0.0.1/v1");
    EXPECT_EQ(s.values.at("token"), "tok-123");
    EXPECT_EQ(s.values.at("search"), "cost $5 and ${literal}");
    EXPECT_TRUE(IsSecret(s, "token"));
    EXPECT_FALSE(IsSecret(s, "base_url"));
    // Templates are not environment references and pass through untouched.
    EXPECT_EQ(s.connector.base_url, "{{ config.base_url }}");
}

TEST(ConfigLoader, UnsetVariableIsReportedAtItsKey) {
    unsetenv("CHATSYNC_TEST_MISSING_TOKEN");
    const auto errors =
        ErrorsOf(SourceWithConfig("      base_url: u\n"
                                  "      token: ${CHATSYNC_TEST_MISSING_TOKEN}\n"));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].line(), 23);
    EXPECT_EQ(errors[0].column(), 14);
    EXPECT_EQ(errors[0].key_path(), "sources[0].config.token");
    EXPECT_EQ(
        errors[0].message(),
        "environment variable CHATSYNC_TEST_MISSING_TOKEN is not set (use "
        "${CHATSYNC_TEST_MISSING_TOKEN:-default} to give a default)"
    );
}

// Connectors --------------------------------------------------------------------------------

TEST(ConfigLoader, InlineSpecIsNamedAfterTheSourceByDefault) {
    const Config c = Load(
        "sources:\n"
        "  - name: crm\n"
        "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
    );
    EXPECT_EQ(c.sources.at(0).connector.name, "crm");
    EXPECT_EQ(c.sources.at(0).connector_origin, "inline");
}

TEST(ConfigLoader, ConnectorFileRelativeToTheConfigFile) {
    const Config c = LoadFile(kDataDir + "file_connector.yaml");
    ASSERT_EQ(c.sources.size(), 1U);
    const SourceConfig& s = c.sources[0];
    EXPECT_EQ(s.connector_origin, kDataDir + "demo_spec.yaml");
    EXPECT_EQ(s.connector.name, "demo_file");
    EXPECT_EQ(s.connector.auth.kind, cn::AuthKind::kBearer);
    ASSERT_EQ(s.connector.resources.size(), 1U);
    EXPECT_EQ(s.connector.resources[0].pagination.kind, cn::PaginationKind::kPageNumber);
    EXPECT_EQ(s.values.at("token"), "s3cr3t-from-file");
    EXPECT_TRUE(IsSecret(s, "token"));
}

TEST(ConfigLoader, ConnectorFileIsParsedOnceForSeveralSources) {
    const auto errors = [] {
        try {
            LoadString(
                "sources:\n"
                "  - {name: one, connector_file: broken_spec.yaml}\n"
                "  - {name: two, connector_file: broken_spec.yaml}\n",
                kDataDir + "twice.yaml"
            );
        } catch (const ConfigErrors& e) {
            return e.errors();
        }
        return std::vector<ConfigError>{};
    }();
    EXPECT_EQ(errors.size(), 2U);  // the file's two errors, once
}

TEST(ConfigLoader, UnreadableConnectorFile) {
    const auto errors =
        ErrorsOf("sources:\n  - {name: one, connector_file: /nonexistent/spec.yaml}\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].key_path(), "sources[0].connector_file");
    EXPECT_EQ(
        errors[0].message(),
        "cannot read connector file '/nonexistent/spec.yaml': No such file or directory"
    );
}

TEST(ConfigLoader, ConnectorMustBeANameOrAMapping) {
    const auto errors = ErrorsOf("sources:\n  - {name: one, connector: [a, b]}\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(
        errors[0].message(), "expected a built-in connector name or an inline spec, got a list"
    );
}

TEST(ConfigLoader, BuiltinConnectorsLoadByName) {
    // Fill every parameter without a default with a placeholder (so that some auth
    // alternative applies, and long enough for a webhook token); the built-in path must
    // resolve.
    for (const auto& name : BuiltinConnectorNames()) {
        const auto spec = ParseConnectorSpec(std::string(*connectors::BuiltinSpec(name)), name);
        std::string config =
            "webhooks: {listen: \"127.0.0.1:0\"}\nsources:\n  - name: s\n"
            "    connector: " +
            name + "\n    config:\n";
        for (const auto& [key, param] : spec.params) {
            if (!param.default_value) {
                config += "      " + key + ": placeholder-placeholder\n";
            }
        }
        const Config c = Load(config);
        ASSERT_EQ(c.sources.size(), 1U) << name;
        EXPECT_EQ(c.sources[0].connector_origin, "builtin:" + name);
        EXPECT_EQ(c.sources[0].connector.resources.size(), spec.resources.size());
    }
}

// Overrides ---------------------------------------------------------------------------------

TEST(ConfigLoader, SourceOverridesAreAppliedToTheSpec) {
    const Config c =
        Load(SourceWithConfig("      base_url: u\n"
                              "      token: t\n"
                              "    schedule: {interval: 10m, jitter: 30s}\n"
                              "    rate_limit: {requests_per_minute: 150, burst: 5, "
                              "concurrency: 2}\n"
                              "    resources:\n"
                              "      records: {interval: 1m, jitter: 5s}\n"
                              "      notes: {enabled: false}\n"));
    const SourceConfig& s = c.sources.at(0);
    const cn::ConnectorSpec& spec = s.connector;
    EXPECT_EQ(spec.rate_limit.requests_per_minute, 150U);
    EXPECT_EQ(spec.rate_limit.EffectiveBurst(), 5U);
    EXPECT_EQ(spec.rate_limit.concurrency, 2U);
    EXPECT_EQ(spec.schedule.interval, 10min);
    const auto* records = spec.FindResource("records");
    const auto* notes = spec.FindResource("notes");
    ASSERT_TRUE(records && notes);
    EXPECT_EQ(records->schedule.interval, 1min);
    EXPECT_EQ(records->schedule.jitter, 5s);
    EXPECT_TRUE(records->enabled);
    // The spec gives notes a schedule of its own (1h), which the source-level schedule leaves
    // alone; the per-resource override switched it off.
    EXPECT_EQ(notes->schedule.interval, 1h);
    EXPECT_EQ(notes->schedule.jitter, 0s);
    EXPECT_FALSE(notes->enabled);
    ASSERT_EQ(s.resources.size(), 2U);
    EXPECT_EQ(s.resources.at("records").interval, 1min);
    EXPECT_FALSE(s.resources.at("records").enabled);
    EXPECT_EQ(s.resources.at("notes").enabled, false);
}

TEST(ConfigLoader, PartialOverridesKeepTheRest) {
    const Config c =
        Load(SourceWithConfig("      base_url: u\n"
                              "      token: t\n"
                              "    schedule: {jitter: 3s}\n"
                              "    rate_limit: {concurrency: 1}\n"));
    const cn::ConnectorSpec& spec = c.sources.at(0).connector;
    EXPECT_EQ(spec.rate_limit.requests_per_minute, 0U);
    EXPECT_EQ(spec.rate_limit.concurrency, 1U);
    // No burst given: one second's share of the rate, at least one request.
    EXPECT_EQ(spec.rate_limit.EffectiveBurst(), 1U);
    cn::RateLimitSpec fast{.requests_per_minute = 600};
    EXPECT_EQ(fast.EffectiveBurst(), 10U);
    EXPECT_EQ(spec.FindResource("records")->schedule.interval, 5min);
    EXPECT_EQ(spec.FindResource("records")->schedule.jitter, 3s);
    EXPECT_EQ(spec.FindResource("notes")->schedule.interval, 1h);
}

// Summary -----------------------------------------------------------------------------------

TEST(ConfigSummary, ShowsSourcesAndMasksSecrets) {
    ScopedEnv token("CHATSYNC_TEST_TOKEN", "tok-very-secret");
    Config c = Load(
        "database: {dsn: \"postgresql://u:dbpass@db/x\"}\n" +
        SourceWithConfig("      base_url: http://127.0.0.1:8080\n"
                         "      token: ${CHATSYNC_TEST_TOKEN}\n"
                         "    resources: {records: {interval: 1m, jitter: 5s}}\n")
    );
    const std::string summary = Summarize(c);
    EXPECT_EQ(summary.find("tok-very-secret"), std::string::npos) << summary;
    EXPECT_EQ(summary.find("dbpass"), std::string::npos) << summary;
    EXPECT_NE(summary.find("database: dsn ***"), std::string::npos) << summary;
    EXPECT_NE(summary.find("  demo: enabled, connector demo_api (inline)\n"), std::string::npos)
        << summary;
    EXPECT_NE(
        summary.find("config: base_url=http://127.0.0.1:8080, page_size=100, token=***\n"),
        std::string::npos
    ) << summary;
    EXPECT_NE(
        summary.find("      records: every 1m +/-5s, GET /generic/page, pagination page_number "
                     "(page from 1), "
                     "full listing, key id\n"),
        std::string::npos
    ) << summary;
    EXPECT_NE(
        summary.find("      notes: with each run of records, GET /records/{{ parent.id }}/notes, "
                     "pagination none, "
                     "full listing, child of records, key id\n"),
        std::string::npos
    ) << summary;
}

TEST(ConfigSummary, EmbeddedDatabaseAndNoSources) {
    const std::string summary = Summarize(Load("data_dir: /srv/cs\n"));
    EXPECT_NE(
        summary.find("database: embedded cluster under /srv/cs/postgres (bin_dir "
                     "/usr/lib/postgresql/15/bin, "
                     "port any free, user postgres)"),
        std::string::npos
    ) << summary;
    EXPECT_NE(summary.find("sources: none"), std::string::npos) << summary;
    EXPECT_NE(
        summary.find("limits: max_concurrent_runs 4, shutdown_grace 20s, max_response_bytes 64MiB, "
                     "max_batch_rows 5000, max_in_flight_bytes 16MiB\n"),
        std::string::npos
    ) << summary;
}

// The shipped example ------------------------------------------------------------------------

TEST(ConfigExample, LoadsWithItsVariablesSet) {
    ScopedEnv token("DEMO_TOKEN", "example-token");
    const std::string path = std::string(CHATSYNC_SOURCE_DIR) + "/configs/chatsync.example.yaml";
    Config c;
    try {
        c = LoadFile(path);
    } catch (const ConfigErrors& e) {
        FAIL() << e.what();
    }
    ASSERT_EQ(c.sources.size(), 1U);
    const SourceConfig& s = c.sources[0];
    EXPECT_EQ(s.name, "demo");
    EXPECT_EQ(s.values.at("token"), "example-token");
    EXPECT_TRUE(IsSecret(s, "token"));
    EXPECT_EQ(s.connector.name, "demo_api");
    EXPECT_EQ(s.connector.rate_limit.requests_per_minute, 150U);
    const auto* records = s.connector.FindResource("records");
    ASSERT_NE(records, nullptr);
    EXPECT_EQ(records->schedule.interval, 1min);
    EXPECT_EQ(records->pagination.kind, cn::PaginationKind::kPageNumber);
    ASSERT_TRUE(records->incremental);
    EXPECT_EQ(records->incremental->cursor_field, "updated_at");
    EXPECT_FALSE(s.connector.FindResource("record_notes")->enabled);
    // The example documents the defaults, so it must equal a config that sets nothing.
    const Config defaults = Load("sources: []\n");
    EXPECT_EQ(c.data_dir, defaults.data_dir);
    EXPECT_EQ(c.database.dsn, defaults.database.dsn);
    EXPECT_EQ(c.database.pool_size, defaults.database.pool_size);
    EXPECT_EQ(c.database.statement_timeout, defaults.database.statement_timeout);
    EXPECT_EQ(c.database.connect_timeout, defaults.database.connect_timeout);
    EXPECT_EQ(c.database.embedded.bin_dir, defaults.database.embedded.bin_dir);
    EXPECT_EQ(c.database.embedded.port, defaults.database.embedded.port);
    EXPECT_EQ(c.database.embedded.run_as_user, defaults.database.embedded.run_as_user);
    EXPECT_EQ(c.admin.listen, defaults.admin.listen);
    EXPECT_EQ(c.admin.stale_after_intervals, defaults.admin.stale_after_intervals);
    EXPECT_EQ(c.admin.max_connections, defaults.admin.max_connections);
    EXPECT_EQ(c.admin.max_connections_per_client, defaults.admin.max_connections_per_client);
    EXPECT_EQ(c.webhooks.listen, defaults.webhooks.listen);
    EXPECT_EQ(c.webhooks.max_body_bytes, defaults.webhooks.max_body_bytes);
    EXPECT_EQ(c.webhooks.max_batch_events, defaults.webhooks.max_batch_events);
    EXPECT_EQ(c.webhooks.max_connections, defaults.webhooks.max_connections);
    EXPECT_EQ(c.webhooks.max_connections_per_client, defaults.webhooks.max_connections_per_client);
    EXPECT_EQ(c.webhooks.header_timeout, defaults.webhooks.header_timeout);
    EXPECT_EQ(c.webhooks.idle_timeout, defaults.webhooks.idle_timeout);
    EXPECT_EQ(c.webhooks.body_timeout, defaults.webhooks.body_timeout);
    EXPECT_EQ(c.webhooks.body_min_rate, defaults.webhooks.body_min_rate);
    EXPECT_EQ(c.webhooks.max_body_bytes_in_flight, defaults.webhooks.max_body_bytes_in_flight);
    EXPECT_EQ(c.log.level, defaults.log.level);
    EXPECT_EQ(c.log.format, defaults.log.format);
    EXPECT_EQ(c.limits.max_concurrent_runs, defaults.limits.max_concurrent_runs);
    EXPECT_EQ(c.limits.shutdown_grace, defaults.limits.shutdown_grace);
    EXPECT_EQ(c.limits.max_response_bytes, defaults.limits.max_response_bytes);
    EXPECT_EQ(c.limits.max_batch_rows, defaults.limits.max_batch_rows);
    EXPECT_EQ(c.limits.max_in_flight_bytes, defaults.limits.max_in_flight_bytes);
    const SourceConfig plain{};
    EXPECT_EQ(s.retry.max_attempts, plain.retry.max_attempts);
    EXPECT_EQ(s.retry.initial_backoff, plain.retry.initial_backoff);
    EXPECT_EQ(s.retry.max_backoff, plain.retry.max_backoff);
    EXPECT_EQ(s.retry.max_retry_after, plain.retry.max_retry_after);
    EXPECT_EQ(s.http.connect_timeout, plain.http.connect_timeout);
    EXPECT_EQ(s.http.idle_timeout, plain.http.idle_timeout);
    EXPECT_EQ(s.http.total_timeout, plain.http.total_timeout);
    EXPECT_EQ(s.http.verify_tls, plain.http.verify_tls);
}

TEST(ConfigExample, FailsWithoutItsVariables) {
    unsetenv("DEMO_TOKEN");
    try {
        LoadFile(std::string(CHATSYNC_SOURCE_DIR) + "/configs/chatsync.example.yaml");
        FAIL() << "expected ConfigErrors";
    } catch (const ConfigErrors& e) {
        ASSERT_EQ(e.errors().size(), 1U) << e.what();
        EXPECT_EQ(e.errors()[0].key_path(), "sources[0].config.token");
    }
}

}  // namespace
}  // namespace chatsync::config
