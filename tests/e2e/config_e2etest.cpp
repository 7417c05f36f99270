// End-to-end: configuration mistakes are refused as such (exit 78, their place in the file)
// before anything touches a database; `once` checks the names it is given first; logs go to
// stderr and a command's report to stdout.

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

/// A config whose database is `dsn_yaml` (the whole `database:` block), with one source.
std::string ConfigWithDatabase(const std::string& database_yaml, const std::string& data_dir) {
    return "data_dir: " + data_dir + "\n" + database_yaml + "admin:\n  listen: \"\"\n" +
           "sources:\n  - name: demo\n    connector_file: " + SourceDir() +
           "/tests/e2e/specs/generic.yaml\n    config:\n      base_url: http://127.0.0.1:9\n" +
           "      token: " + kToken + "\n";
}

TEST(ConfigErrors, ABadDsnIsAConfigErrorNotAnUnavailableDatabase) {
    TempDir dir;
    const std::vector<std::pair<std::string, std::string>> cases{
        {"postgresql://sync:pw-0x5ecret@127.0.0.1:99999/chatsync",
         "port '99999' is not a port number (1 to 65535)"},
        {"postgresql://sync:pw-0x5ecret@127.0.0.1/chatsync?sslmode=bogus",
         "sslmode 'bogus' is not one of disable, allow, prefer, require, verify-ca, verify-full"},
        {"host=127.0.0.1 dbname=chatsync passwd=pw-0x5ecret",
         "cannot be parsed: invalid connection option \"passwd\""},
        {"postgresql://sync:pw-0x5ecret@[::1/chatsync",
         "cannot be parsed: end of string reached when looking for matching \"]\" in IPv6 host "
         "address in URI: \"***\""},
    };
    for (const auto& [dsn, why] : cases) {
        const auto config = dir.Write(
            "c.yaml", ConfigWithDatabase("database:\n  dsn: \"" + dsn + "\"\n", dir.path())
        );
        for (const std::vector<std::string>& command :
             {std::vector<std::string>{"check-config"},
              std::vector<std::string>{"once"},
              std::vector<std::string>{"run"},
              std::vector<std::string>{"status"}}) {
            std::vector<std::string> args{"-c", config};
            args.insert(args.end(), command.begin(), command.end());
            auto r = RunChatsyncdApart(args, {}, std::chrono::seconds(30));
            EXPECT_EQ(r.exit_code, kExitConfig) << command[0] << ": " << r.out << r.err;
            EXPECT_EQ(r.err, config + ":3:8: database.dsn: " + why + "\n") << command[0];
            EXPECT_EQ((r.out + r.err).find("0x5ecret"), std::string::npos) << r.out << r.err;
        }
    }
    // Read from a file, it is reported at the key that names the file.
    const auto dsn_file = dir.Write("dsn", "host=127.0.0.1 port=0 password=pw-0x5ecret\n");
    const auto config = dir.Write(
        "f.yaml", ConfigWithDatabase("database:\n  dsn_file: " + dsn_file + "\n", dir.path())
    );
    auto check = RunChatsyncdApart({"-c", config, "check-config"});
    EXPECT_EQ(check.exit_code, kExitConfig);
    EXPECT_EQ(
        check.err,
        config +
            ":3:13: database.dsn_file: the file's DSN: port '0' is not a port number (1 to "
            "65535)\n"
    );
}

TEST(ConfigErrors, EmptyAndBinaryConfigFilesAreRefusedInOneLine) {
    TempDir dir;
    const auto empty = dir.Write("empty.yaml", "# to be written\n\n");
    const auto binary = dir.Write(
        "binary.yaml",
        std::string(
            "\x7f"
            "ELF\x02\x01\x01\x00\xff",
            9
        )
    );
    const auto latin1 = dir.Write("latin1.yaml", "data_dir: /srv/caf\xe9\n");
    const std::vector<std::pair<std::string, std::string>> cases{
        {empty,
         empty + ": the config file is empty (nothing but comments or white space): it needs at "
                 "least a sources list (chatsync.example.yaml documents every key)\n"},
        {binary,
         binary + ":1:8: a NUL byte at byte offset 7: a config file is YAML in UTF-8 (is this a "
                  "binary file, or in another encoding?)\n"},
        {latin1,
         latin1 + ":1:19: not UTF-8 text at byte offset 18: a config file is YAML in UTF-8 (is "
                  "this a binary file, or in another encoding?)\n"},
    };
    for (const auto& [config, error] : cases) {
        for (const std::string command : {"check-config", "run", "once"}) {
            auto r = RunChatsyncdApart({"-c", config, command}, {}, std::chrono::seconds(30));
            EXPECT_EQ(r.exit_code, kExitConfig) << command << ": " << r.err;
            EXPECT_EQ(r.err, error) << command;
            EXPECT_EQ(r.out, "") << command;
        }
    }
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/postgres"));
}

TEST(Cli, OnceChecksItsNamesBeforeStartingTheEmbeddedDatabase) {
    TempDir dir;
    // No DSN: `once` would start (and first initdb) a private cluster under data_dir.
    const auto config = dir.Write("c.yaml", ConfigWithDatabase("", dir.path()));

    struct Case {
        std::vector<std::string> names;
        std::string error;
    };

    const std::vector<Case> cases{
        {{"--source", "nope"},
         "chatsyncd: no source named 'nope' in " + config + " (it has: demo)\n"},
        {{"--source", "demo", "--resource", "nope"},
         "chatsyncd: source 'demo' has no top-level resource 'nope' (it has: "},
        // A child resource runs inside its parent's run only.
        {{"--source", "demo", "--resource", "comments"},
         "chatsyncd: source 'demo' has no top-level resource 'comments' (it has: "},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args{"-c", config, "once"};
        args.insert(args.end(), c.names.begin(), c.names.end());
        auto r = RunChatsyncdApart(args, {}, std::chrono::seconds(30));
        EXPECT_EQ(r.exit_code, kExitUsage) << r.out << r.err;
        EXPECT_TRUE(r.err.starts_with(c.error)) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(std::filesystem::exists(dir.path() + "/postgres"))
            << "a wrong name started the embedded database";
    }
}

TEST(Cli, LogsGoToStderrAndTheReportToStdout) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "30", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto source = UniqueName("streams");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    auto once = RunChatsyncdApart({"-c", config, "once", "--source", source, "--resource", "page"});
    ASSERT_EQ(once.exit_code, 0) << once.out << once.err;
    // stdout is the summary table alone: `chatsyncd once > report.txt`.
    EXPECT_TRUE(std::regex_search(once.out, std::regex(source + " +page +success +1 +30 +0 ")))
        << once.out;
    const std::regex log_line("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (debug|info|warning|error) ");
    std::istringstream out(once.out);
    for (std::string line; std::getline(out, line);) {
        EXPECT_FALSE(std::regex_search(line, log_line)) << "a log line on stdout: " << line;
    }
    EXPECT_NE(
        once.err.find(" info sync finished source=" + source + " resource=page"), std::string::npos
    ) << once.err;
    EXPECT_EQ(once.err.find("SOURCE"), std::string::npos) << once.err;

    auto status = RunChatsyncdApart({"-c", config, "status"});
    ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
    EXPECT_TRUE(status.out.starts_with("SOURCE ")) << status.out;
    EXPECT_TRUE(
        std::regex_search(status.out, std::regex(source + " +page +[0-9-]+ [0-9:]+ +success"))
    ) << status.out;
    EXPECT_EQ(status.err.find("SOURCE"), std::string::npos) << status.err;
}

TEST(Database, AFailureToAuthorizeNamesItsSqlstate) {
    CHATSYNC_REQUIRE_DSN(dsn);
    // A role that may log in but may create nothing: migrating the state schema is refused
    // with 42501 (insufficient_privilege), which libpqxx 6.4 reports without its code.
    const auto role = UniqueName("noprivs");
    Query(dsn, "CREATE ROLE " + role + " LOGIN");
    const bool uri = dsn.starts_with("postgres");
    const auto as_role =
        dsn + (uri ? (dsn.find('?') == std::string::npos ? "?" : "&") : " ") + "user=" + role;
    TempDir dir;
    const auto config = dir.Write(
        "c.yaml", ConfigWithDatabase("database:\n  dsn: \"" + as_role + "\"\n", dir.path())
    );
    auto status = RunChatsyncdApart({"-c", config, "status"});
    Query(dsn, "DROP ROLE " + role);
    EXPECT_EQ(status.exit_code, kExitUnavailable) << status.err;
    EXPECT_NE(status.err.find("permission denied"), std::string::npos) << status.err;
    EXPECT_NE(status.err.find("(SQLSTATE 42501)"), std::string::npos) << status.err;
    EXPECT_EQ(status.err.find("(SQLSTATE )"), std::string::npos) << status.err;
}

TEST(Database, ARefusedLoginNamesItsSqlstate) {
    CHATSYNC_REQUIRE_DSN(dsn);
    // A role that does not exist: the server refuses the login itself (a wrong password is
    // 28P01, which a test cluster that trusts loopback cannot show).
    const auto role = UniqueName("nosuchrole");
    const bool uri = dsn.starts_with("postgres");
    const auto as_role =
        dsn + (uri ? (dsn.find('?') == std::string::npos ? "?" : "&") : " ") + "user=" + role;
    TempDir dir;
    const auto config = dir.Write(
        "c.yaml", ConfigWithDatabase("database:\n  dsn: \"" + as_role + "\"\n", dir.path())
    );
    auto status = RunChatsyncdApart({"-c", config, "status"});
    EXPECT_EQ(status.exit_code, kExitUnavailable) << status.err;
    EXPECT_NE(status.err.find("FATAL:"), std::string::npos) << status.err;
    EXPECT_NE(status.err.find("(SQLSTATE 28000)"), std::string::npos) << status.err;
}

}  // namespace
}  // namespace chatsync::test
