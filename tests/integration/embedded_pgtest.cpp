#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <stdlib.h>

#include "integration/pg_fixture.hpp"
#include "sink/embedded.hpp"

namespace chatsync::test {
namespace {

namespace fs = std::filesystem;

/// A temporary directory removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "chatsync-pg-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) {
            path_ = pattern;
        }
    }

    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

bool CanConnect(const std::string& dsn) {
    try {
        pqxx::connection conn(dsn + " connect_timeout=3");
        pqxx::nontransaction tx(conn);
        return tx.exec("SELECT current_database()")[0][0].as<std::string>() == "chatsync";
    } catch (const std::exception&) {
        return false;
    }
}

TEST(EmbeddedPostgres, StartsAClusterServesItsDsnAndStops) {
    const sink::EmbeddedPostgres::Options defaults;
    if (!fs::exists(defaults.bin_dir / "initdb")) {
        if (PgRequired()) {
            FAIL() << "no PostgreSQL server binaries in " << defaults.bin_dir
                   << " and CHATSYNC_REQUIRE_PG=1";
        }
        GTEST_SKIP() << "no PostgreSQL server binaries in " << defaults.bin_dir;
    }
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());

    sink::EmbeddedPostgres pg({.dir = dir.path()});
    auto dsn = pg.Start();
    ASSERT_TRUE(dsn.has_value()) << dsn.error();
    EXPECT_NE(dsn->find("host=" + (dir.path() / "run").string()), std::string::npos) << *dsn;
    EXPECT_NE(dsn->find("dbname=chatsync"), std::string::npos) << *dsn;
    EXPECT_TRUE(fs::exists(dir.path() / "pgdata" / "PG_VERSION"));
    EXPECT_TRUE(CanConnect(*dsn));

    {
        // A second instance finds the server running, uses it, and leaves it running.
        sink::EmbeddedPostgres again({.dir = dir.path()});
        auto dsn2 = again.Start();
        ASSERT_TRUE(dsn2.has_value()) << dsn2.error();
        EXPECT_EQ(*dsn2, *dsn);
        EXPECT_TRUE(again.Stop());
    }
    EXPECT_TRUE(CanConnect(*dsn));

    EXPECT_TRUE(pg.Stop());
    EXPECT_FALSE(CanConnect(*dsn));
    EXPECT_FALSE(fs::exists(dir.path() / "pgdata" / "postmaster.pid"));
}

TEST(EmbeddedPostgres, FailureNamesTheStepAndTheLog) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    sink::EmbeddedPostgres pg({.dir = dir.path(), .bin_dir = dir.path() / "no-such-bin"});
    auto dsn = pg.Start();
    ASSERT_FALSE(dsn.has_value());
    EXPECT_NE(dsn.error().message().find("initdb"), std::string::npos) << dsn.error().message();
    EXPECT_NE(dsn.error().message().find((dir.path() / "setup.log").string()), std::string::npos)
        << dsn.error().message();
}

}  // namespace
}  // namespace chatsync::test
