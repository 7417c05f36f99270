// End-to-end: every auth style of the connector spec against the emulator's auth modes.

#include <gtest/gtest.h>

#include "core/text.hpp"
#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

struct AuthCase {
    std::string name;
    /// Emulator flags after --auth (the credential is always kToken).
    std::vector<std::string> emulator;
    /// The spec's auth block and the resource's request, indented for an inline connector.
    std::string auth;
    std::string request;
};

void PrintTo(const AuthCase& c, std::ostream* os) {
    *os << c.name;
}

std::string InlineSpec(const AuthCase& c) {
    return "      name: auth_" + c.name +
           "\n"
           "      base_url: \"{{ config.base_url }}\"\n"
           "      params: {base_url: {required: true}, token: {required: true, secret: true}}\n"
           "      auth:\n" +
           c.auth +
           "      resources:\n"
           "        - name: records\n"
           "          request:\n" +
           c.request +
           "          records: data\n"
           "          primary_key: [id]\n"
           "          pagination: {type: page_number, page_size: 100, total_pages_path: "
           "total_pages}\n";
}

const std::string kGetPage =
    "            path: /generic/page\n"
    "            query: {per_page: \"100\"}\n";

std::vector<AuthCase> Cases() {
    return {
        {"bearer",
         {"bearer", "--token", kToken},
         "        type: bearer\n        token: \"{{ config.token }}\"\n",
         kGetPage},
        {"basic",
         {"basic", "--username", "chatsync", "--password", kToken},
         "        type: basic\n        username: chatsync\n        password: \"{{ config.token "
         "}}\"\n",
         kGetPage},
        {"header",
         {"header", "--token", kToken},
         "        type: api_key\n        in: header\n        name: X-API-Key\n        value: \"{{ "
         "config.token }}\"\n",
         kGetPage},
        {"query",
         {"query", "--token", kToken},
         "        type: api_key\n        in: query\n        name: api_key\n        value: \"{{ "
         "config.token }}\"\n",
         kGetPage},
        {"body",
         {"body", "--token", kToken},
         "        type: api_key\n        in: body\n        name: api_key\n        value: \"{{ "
         "config.token }}\"\n",
         "            method: POST\n            path: /generic/search\n"
         "            body: {per_page: 100, page: \"{{ page.number }}\"}\n"},
        {"path",
         {"path", "--token", kToken},
         "        type: api_key\n        in: path\n        value: \"{{ config.token }}\"\n",
         "            path: \"/key/{{ auth.key }}/generic/page\"\n            query: {per_page: "
         "\"100\"}\n"},
        {"login",
         {"login", "--username", "chatsync", "--password", kToken},
         "        type: login\n"
         "        login:\n"
         "          request: {method: POST, path: /auth/login, body: {username: chatsync, "
         "password: \"{{ config.token }}\"}}\n"
         "          token_path: token\n"
         "          header_name: Authorization\n"
         "          header_value: \"Bearer {{ auth.token }}\"\n",
         kGetPage},
    };
}

class Auth : public ::testing::TestWithParam<AuthCase> {};

TEST_P(Auth, SyncsWithTheRightCredentialAndFailsCleanlyWithAWrongOne) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto& c = GetParam();
    std::vector<std::string> flags{"--records", "250", "--auth"};
    flags.insert(flags.end(), c.emulator.begin(), c.emulator.end());
    Emulator emu(flags);
    TempDir dir;
    const auto source = UniqueName("auth_" + c.name);
    const auto good = dir.Write(
        "good.yaml", E2eConfig(dsn, source, emu.url(), dir.path(), "", "", InlineSpec(c))
    );
    auto run = RunChatsyncd({"-c", good, "once"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + source + ".records"), "250");
    EXPECT_EQ(run.output.find(kToken), std::string::npos) << "the credential leaked into the log";

    // A wrong credential: one clear failure, no retry storm, nothing written, no checkpoint.
    auto bad_yaml = E2eConfig(dsn, source + "_bad", emu.url(), dir.path(), "", "", InlineSpec(c));
    bad_yaml.replace(
        bad_yaml.find(std::string("token: ") + kToken),
        7 + std::string(kToken).size(),
        "token: wrong-credential"
    );
    const auto bad = dir.Write("bad.yaml", bad_yaml);
    emu.Admin("POST", "/_admin/requests/clear");
    auto failed = RunChatsyncd({"-c", bad, "once"});
    EXPECT_EQ(failed.exit_code, 1) << failed.output;
    EXPECT_NE(failed.output.find("kind=auth_failed"), std::string::npos) << failed.output;
    EXPECT_LE(emu.Requests().size(), 3U) << "retried a rejected credential";
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.resource_state WHERE source = '" + source +
                "_bad' AND checkpoint IS NOT NULL"
        ),
        "0"
    );
    EXPECT_EQ(failed.output.find("wrong-credential"), std::string::npos)
        << "the credential leaked into the log";
}

INSTANTIATE_TEST_SUITE_P(Styles, Auth, ::testing::ValuesIn(Cases()), [](const auto& test_info) {
    return test_info.param.name;
});

/// The spec of a case, reading the generic API's next-URL listing where the case's request
/// is a plain GET (a path key then travels in every next URL).
std::string NextUrlSpec(const AuthCase& c) {
    auto spec = InlineSpec(c);
    const std::string paged =
        "          pagination: {type: page_number, page_size: 100, total_pages_path: "
        "total_pages}\n";
    if (c.request.find("generic/page") == std::string::npos) {
        return spec;
    }
    auto request = c.request;
    request.replace(request.find("generic/page"), 12, "generic/next");
    request.replace(request.find("per_page"), 8, "page_size");
    spec.replace(spec.find(c.request), c.request.size(), request);
    spec.replace(spec.find("records: data"), 13, "records: results");
    spec.replace(spec.find(paged), paged.size(), "          pagination: {type: next_url, next_url_path: next}\n");
    return spec;
}

class Secrets : public ::testing::TestWithParam<AuthCase> {};

TEST_P(Secrets, NoTableHoldsTheCredentialAfterAnInterruptedRun) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto& c = GetParam();
    // A credential of this test only, so that the search finds nothing another test stored.
    const std::string secret = "s3cr3t-" + UniqueName(c.name) + "-key";
    std::vector<std::string> flags{"--records", "1000", "--auth"};
    for (auto flag : c.emulator) {
        flags.push_back(flag == kToken ? secret : flag);
    }
    Emulator emu(flags);
    // The fourth request never gets an answer: the run is killed with pages committed and a
    // next page still to read.
    emu.Admin("POST", "/_admin/faults", R"({"kind":"delay","ms":600000,"count":1,"after":3})");
    TempDir dir;
    const auto source = UniqueName("secret_" + c.name);
    auto yaml = E2eConfig(dsn, source, emu.url(), dir.path(), "", "", NextUrlSpec(c));
    yaml.replace(yaml.find(std::string("token: ") + kToken), 7 + std::string(kToken).size(),
                 "token: \"" + secret + "\"");
    const auto config = dir.Write("c.yaml", yaml);
    auto daemon = StartChatsyncd({"-c", config, "once"}, dir.path() + "/run.log");
    ASSERT_TRUE(WaitFor(
        [&] { return emu.Admin("GET", "/_admin/faults").as_array().empty(); },
        std::chrono::seconds(60)
    )) << daemon->Output();
    // The pages before the hung request commit on their own; wait for the checkpoint.
    ASSERT_TRUE(WaitFor(
        [&] {
            return Scalar(
                       dsn,
                       "SELECT count(*) FROM chatsync.resource_state WHERE source = '" + source +
                           "' AND checkpoint IS NOT NULL"
                   ) == "1";
        },
        std::chrono::seconds(60)
    )) << daemon->Output();
    daemon->Signal(SIGKILL);
    daemon->Wait(std::chrono::seconds(10));

    // What the database holds for chatsync (its own tables, every source's rows in them) and
    // for this source, as pg_dump writes it. Other tests' tables are left out: they are many.
    const auto dump =
        RunProcess({"/usr/bin/pg_dump", "--data-only", "--schema", "chatsync", "--schema", source, "--dbname", dsn});
    ASSERT_EQ(dump.exit_code, 0) << dump.output.substr(0, 2000);
    ASSERT_NE(dump.output.find(source), std::string::npos) << "the dump lacks this source";
    const std::string checkpoint = Scalar(
        dsn,
        "SELECT checkpoint::text FROM chatsync.resource_state WHERE source = '" + source + "'"
    );
    for (const auto& form :
         {secret, UrlEncode(secret), Base64Encode("chatsync:" + secret)}) {
        EXPECT_EQ(dump.output.find(form), std::string::npos)
            << "the database holds the credential as " << form << "; checkpoint " << checkpoint;
    }
    EXPECT_EQ(daemon->Output().find(secret), std::string::npos) << "the log holds it";

    // The run resumes from that checkpoint and completes.
    auto resumed = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + source + ".records"), "1000");
}

INSTANTIATE_TEST_SUITE_P(Styles, Secrets, ::testing::ValuesIn(Cases()), [](const auto& test_info) {
    return test_info.param.name;
});

TEST(AuthLogin, ExpiredTokenIsRenewedMidRun) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu(
        {"--records",
         "300",
         "--auth",
         "login",
         "--username",
         "chatsync",
         "--password",
         kToken,
         "--token-ttl",
         "1"}
    );
    // Each page takes long enough that the 1-second token expires during the run.
    emu.Admin(
        "POST", "/_admin/faults", R"({"kind":"delay","ms":700,"count":-1,"path":"/generic/page"})"
    );
    TempDir dir;
    const auto source = UniqueName("relogin");
    const auto config = dir.Write(
        "c.yaml", E2eConfig(dsn, source, emu.url(), dir.path(), "", "", InlineSpec(Cases().back()))
    );
    auto run = RunChatsyncd({"-c", config, "once"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT id) FROM " + source + ".records"), "300");
    int logins = 0;
    int rejected = 0;
    for (const auto& r : emu.Requests()) {
        const auto& o = r.as_object();
        logins += o.at("path").as_string() == "/auth/login" ? 1 : 0;
        rejected += o.at("status").to_number<int>() == 401 ? 1 : 0;
    }
    EXPECT_GE(logins, 2);
    EXPECT_EQ(rejected, logins - 1) << "each 401 is followed by exactly one new login";
}

}  // namespace
}  // namespace chatsync::test
