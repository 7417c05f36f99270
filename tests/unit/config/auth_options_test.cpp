// Auth alternatives (`auth: {one_of: [...]}`) and the built-in tiledesk spec's credentials.

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "unit/config/load_errors.hpp"

namespace chatsync::config {
namespace {

namespace cn = chatsync::connectors;

/// A tiledesk source with the given config values (indented six spaces).
std::string Tiledesk(const std::string& values) {
    return "sources:\n"
           "  - name: td\n"
           "    connector: tiledesk\n"
           "    config:\n"
           "      project_id: 5b55e806c93dde00143163dd\n" +
           values;
}

TEST(TiledeskAuth, EmailAndPasswordSignIn) {
    const auto c = LoadString(Tiledesk("      email: a@b.c\n      password: pw\n"), "t.yaml");
    const auto& s = c.sources.at(0);
    EXPECT_EQ(s.connector.auth.kind, cn::AuthKind::kLogin);
    EXPECT_EQ(s.connector.auth.login.path, "/auth/signin");
    EXPECT_EQ(s.connector.auth.header_value, "{{ auth.token }}") << "the token carries 'JWT '";
    EXPECT_EQ(s.values.at("base_url"), "https://api.tiledesk.com/v3");
    EXPECT_NE(
        std::find(s.secret_keys.begin(), s.secret_keys.end(), "password"), s.secret_keys.end()
    );
}

TEST(TiledeskAuth, ATokenWinsAndIsSentAsItIs) {
    const auto c = LoadString(Tiledesk("      token: \"JWT abc\"\n"), "t.yaml");
    const auto& a = c.sources.at(0).connector.auth;
    EXPECT_EQ(a.kind, cn::AuthKind::kApiKey);
    EXPECT_EQ(a.key_name, "Authorization");
    EXPECT_EQ(a.key_value, "{{ config.token }}");
}

TEST(TiledeskAuth, BasicOnRequest) {
    const auto c = LoadString(
        Tiledesk("      email: a@b.c\n      password: pw\n      auth_method: basic\n"), "t.yaml"
    );
    EXPECT_EQ(c.sources.at(0).connector.auth.kind, cn::AuthKind::kBasic);
}

TEST(TiledeskAuth, MissingCredentialsSayWhatWouldDo) {
    EXPECT_NE(
        Errors(Tiledesk("      email: a@b.c\n"))
            .find("connector 'tiledesk' authenticates with login here (email and password with "
                  "auth_method: signin), which needs password (or password_file)"),
        std::string::npos
    ) << Errors(Tiledesk("      email: a@b.c\n"));
    const auto none = Errors(Tiledesk("      email: a@b.c\n      auth_method: oauth\n"));
    EXPECT_NE(
        none.find("needs credentials: set token; email and password with auth_method: "
                  "basic, or email and password with auth_method: signin"),
        std::string::npos
    ) << none;
}

TEST(AuthOptions, ConditionsAndOrder) {
    const std::string spec =
        "sources:\n"
        "  - name: demo\n"
        "    connector:\n"
        "      base_url: http://x\n"
        "      params: {key: {}, user: {}, pass: {secret: true}, mode: {default: a}}\n"
        "      auth:\n"
        "        one_of:\n"
        "          - when: {key: true, mode: a}\n"
        "            type: bearer\n"
        "            token: \"{{ config.key }}\"\n"
        "          - when: {key: false}\n"
        "            type: basic\n"
        "            username: \"{{ config.user }}\"\n"
        "            password: \"{{ config.pass }}\"\n"
        "      resources: [{name: r, request: {path: /r}, primary_key: id}]\n"
        "    config:\n";
    EXPECT_EQ(
        LoadString(spec + "      key: k\n", "t.yaml").sources.at(0).connector.auth.kind,
        cn::AuthKind::kBearer
    );
    EXPECT_EQ(
        LoadString(spec + "      user: u\n      pass: p\n", "t.yaml")
            .sources.at(0)
            .connector.auth.kind,
        cn::AuthKind::kBasic
    );
    // key is set but mode is not 'a': no alternative applies.
    EXPECT_NE(
        Errors(spec + "      key: k\n      mode: b\n").find("needs credentials"), std::string::npos
    );
}

TEST(AuthOptions, MalformedAlternativesAreReported) {
    const std::string head =
        "sources:\n"
        "  - name: demo\n"
        "    connector:\n"
        "      base_url: http://x\n"
        "      resources: [{name: r, request: {path: /r}, primary_key: id}]\n"
        "      auth:\n";
    EXPECT_NE(
        Errors(head + "        one_of: []\n").find("auth.one_of: needs at least one auth"),
        std::string::npos
    );
    // `one_of:` with no value was read through a null node before (found by fuzz_connector_spec).
    EXPECT_NE(
        Errors(head + "        one_of:\n").find("auth.one_of: needs a value"), std::string::npos
    );
    EXPECT_NE(
        Errors(head + "        one_of: [{type: bearer, token: x, when: [a]}]\n")
            .find("auth.one_of[0].when"),
        std::string::npos
    );
    EXPECT_NE(
        Errors(head + "        one_of: [{type: none}]\n        type: bearer\n").find("auth.type"),
        std::string::npos
    ) << "one_of takes no other keys";
    EXPECT_NE(
        Errors(head + "        type: none\n        when: {a: true}\n").find("auth.when"),
        std::string::npos
    ) << "when belongs to alternatives only";
}

TEST(TiledeskExample, LoadsWithItsVariablesSet) {
    setenv("CHATSYNC_DSN", "postgresql://chatsync@127.0.0.1/chatsync", 1);
    setenv("TILEDESK_PROJECT_ID", "5b55e806c93dde00143163dd", 1);
    setenv("TILEDESK_EMAIL", "sync@example.com", 1);
    setenv("TILEDESK_PASSWORD", "pw", 1);
    Config c;
    try {
        c = LoadFile(std::string(CHATSYNC_SOURCE_DIR) + "/configs/tiledesk.example.yaml");
    } catch (const ConfigErrors& e) {
        ADD_FAILURE() << e.what();
    }
    for (const char* name :
         {"CHATSYNC_DSN", "TILEDESK_PROJECT_ID", "TILEDESK_EMAIL", "TILEDESK_PASSWORD"}) {
        unsetenv(name);
    }
    ASSERT_EQ(c.sources.size(), 1U);
    const auto& s = c.sources[0];
    EXPECT_EQ(s.connector.auth.kind, cn::AuthKind::kLogin);
    EXPECT_EQ(s.connector.resources.size(), 6U);
    EXPECT_EQ(s.connector.rate_limit.requests_per_minute, 150U);
}

TEST(MesiboExample, LoadsWithItsVariablesSet) {
    setenv("CHATSYNC_DSN", "postgresql://chatsync@127.0.0.1/chatsync", 1);
    setenv("MESIBO_APP_TOKEN", "app-token", 1);
    setenv("MESIBO_EGRESS_IP", "192.0.2.10", 1);
    Config c;
    try {
        c = LoadFile(std::string(CHATSYNC_SOURCE_DIR) + "/configs/mesibo.example.yaml");
    } catch (const ConfigErrors& e) {
        ADD_FAILURE() << e.what();
    }
    for (const char* name : {"CHATSYNC_DSN", "MESIBO_APP_TOKEN", "MESIBO_EGRESS_IP"}) {
        unsetenv(name);
    }
    ASSERT_EQ(c.sources.size(), 1U);
    const auto& s = c.sources[0];
    EXPECT_EQ(s.http.local_address, "192.0.2.10");
    ASSERT_TRUE(s.connector.egress_guard);
    EXPECT_EQ(s.connector.egress_guard->max_addresses, 2U);
    EXPECT_EQ(s.connector.auth.kind, cn::AuthKind::kApiKey);
    EXPECT_EQ(s.connector.auth.placement, cn::ApiKeyPlacement::kBody);
}

}  // namespace
}  // namespace chatsync::config
