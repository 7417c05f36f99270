// What the loader refuses before reading any key: a file with nothing in it, a file that is
// not UTF-8 text, a YAML stream of more than one document, and a database DSN that libpq
// would refuse, each with its place in the file and never with the bytes or the password it
// holds.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "unit/config/load_errors.hpp"

namespace chatsync::config {
namespace {

TEST(ConfigText, AnEmptyFileIsRefusedInOneLine) {
    for (const std::string yaml : {"", "\n\n", "   \n\t\n", "# nothing yet\n\n# still nothing\n"}) {
        EXPECT_EQ(
            Errors(yaml),
            "test.yaml: the config file is empty (nothing but comments or white space): it "
            "needs at least a sources list (chatsync.example.yaml documents every key)"
        ) << "'"
          << yaml << "'";
    }
}

TEST(ConfigText, BytesThatAreNotUtf8AreReportedByPositionNotEchoed) {
    struct Case {
        std::string yaml;
        std::string error;
    };

    const std::vector<Case> cases{
        // Latin-1 "é" in a value on line 2.
        {"sources:\n  - name: caf\xe9\n",
         "test.yaml:2:14: not UTF-8 text at byte offset 22: a config file is YAML in UTF-8 (is "
         "this a binary file, or in another encoding?)"},
        // A NUL, as binary files have early (here, what an ELF header looks like).
        {std::string(
             "\x7f"
             "ELF\x02\x01\x01\x00\x00",
             9
         ),
         "test.yaml:1:8: a NUL byte at byte offset 7: a config file is YAML in UTF-8 (is this "
         "a binary file, or in another encoding?)"},
        // A UTF-8 sequence cut short, an overlong "/", a surrogate.
        {"a: \xe2\x82", "test.yaml:1:4: not UTF-8 text at byte offset 3"},
        {"a: \xc0\xaf", "test.yaml:1:4: not UTF-8 text at byte offset 3"},
        {"a: \xed\xa0\x80", "test.yaml:1:4: not UTF-8 text at byte offset 3"},
    };
    for (const auto& c : cases) {
        const auto error = Errors(c.yaml);
        EXPECT_TRUE(error.starts_with(c.error)) << error;
        for (const char ch : error) {
            EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "raw byte echoed: " << error;
        }
    }
    // Multi-byte UTF-8 counts as one column, and is accepted.
    EXPECT_EQ(Errors("sources: []\n# caf\xc3\xa9 \xf0\x9f\x98\x80\n"), "");
}

/// Errors(yaml), failing the whole run when it takes longer than a parse of a small text
/// can: a parser stuck in a loop cannot be stopped, and waiting for it would hang the run.
std::string ErrorsWithin(const std::string& yaml, std::chrono::seconds limit) {
    auto loading = std::async(std::launch::async, [yaml] { return Errors(yaml); });
    if (loading.wait_for(limit) != std::future_status::ready) {
        ADD_FAILURE() << "loading did not finish within " << limit.count() << " s";
        std::fflush(nullptr);  // _Exit flushes nothing, and the failure must be seen.
        std::_Exit(EXIT_FAILURE);
    }
    return loading.get();
}

TEST(ConfigText, AStreamOfEndlessDocumentsIsRefusedQuickly) {
    // yaml-cpp 0.7 reads this malformed text (found by fuzz_config) as an endless run of empty
    // documents: loading it once never returned.
    std::ifstream in(CHATSYNC_SOURCE_DIR "/fuzz/corpus/fuzz_config/endless_documents");
    ASSERT_TRUE(in) << "the fuzz corpus file is missing";
    const std::string endless{std::istreambuf_iterator<char>(in), {}};
    EXPECT_THAT(
        ErrorsWithin(endless, std::chrono::seconds(10)),
        ::testing::MatchesRegex("test\\.yaml:[0-9]+:[0-9]+: expected one YAML document, found "
                                "over 99")
    );

    // A long stream of documents, each separator on its own line: refused without reading the
    // rest, at the second document's content (empty, so the line after its "---").
    std::string many = "sources: []\n";
    for (int i = 0; i < 100'000; ++i) {
        many += "---\n";
    }
    EXPECT_EQ(
        ErrorsWithin(many, std::chrono::seconds(10)),
        "test.yaml:3:1: expected one YAML document, found over 99"
    );
}

TEST(ConfigText, ADsnThatLibpqRefusesIsAConfigErrorAtItsPlace) {
    struct Case {
        std::string dsn;
        std::string error;
    };

    const std::vector<Case> cases{
        {"postgresql://sync:pw-0x5ecret@db.example:99999/chatsync",
         "port '99999' is not a port number (1 to 65535)"},
        {"host=db.example port=54x32 password=pw-0x5ecret",
         "port '54x32' is not a port number (1 to 65535)"},
        {"postgresql://sync:pw-0x5ecret@db.example/chatsync?sslmode=requir",
         "sslmode 'requir' is not one of disable, allow, prefer, require, verify-ca, "
         "verify-full"},
        {"host=db.example sslmode=on password=pw-0x5ecret",
         "sslmode 'on' is not one of disable, allow, prefer, require, verify-ca, verify-full"},
        {"host=db.example sslmod=require password=pw-0x5ecret",
         "cannot be parsed: invalid connection option \"sslmod\""},
        // libpq quotes the token it stumbled on, here the password's second half.
        {"host=db.example password=pw-0x5 ecret",
         "cannot be parsed: missing \"=\" after \"***\" in connection info string"},
        {"host=db.example password='pw-0x5ecret",
         "cannot be parsed: unterminated quoted string in connection info string"},
        // ... and here the whole URI.
        {"postgresql://sync:pw-0x5ecret@[::1/chatsync",
         "cannot be parsed: end of string reached when looking for matching \"]\" in IPv6 "
         "host address in URI: \"***\""},
    };
    for (const auto& c : cases) {
        const auto error = Errors("database:\n  dsn: \"" + c.dsn + "\"\nsources: []\n");
        EXPECT_EQ(error, "test.yaml:2:8: database.dsn: " + c.error) << c.dsn;
        EXPECT_EQ(error.find("0x5"), std::string::npos) << "password shown: " << error;
    }
    // The forms libpq takes pass.
    for (const std::string dsn :
         {"postgresql://sync:pw@db.example:5432/chatsync?sslmode=verify-full",
          "host=a,b port=5432,5433 dbname=chatsync connect_timeout=5 sslmode=disable",
          "postgresql:///chatsync?host=/run/postgresql"}) {
        EXPECT_EQ(Errors("database: {dsn: \"" + dsn + "\"}\nsources: []\n"), "") << dsn;
    }
}

TEST(ConfigText, ADsnFileWithABadDsnIsReportedAtTheKeyThatNamesIt) {
    const std::string dir = std::string(CHATSYNC_SOURCE_DIR) + "/tests/data/config/";
    // token.txt holds one word: no key=value list and no URI.
    const auto error = Errors("database:\n  dsn_file: " + dir + "token.txt\nsources: []\n");
    EXPECT_EQ(
        error,
        "test.yaml:2:13: database.dsn_file: the file's DSN: cannot be parsed: missing \"=\" "
        "after \"***\" in connection info string"
    );
    EXPECT_EQ(error.find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace chatsync::config
