#include <string>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "integration/pg_fixture.hpp"
#include "sink/upsert_statements.hpp"

/// @file
/// DescribeUpsert: the statements PgSink writes a table with, spelled out for the benchmark.

namespace chatsync::test {
namespace {

class UpsertStatementsTest : public PgFixture {};

TEST_F(UpsertStatementsTest, DescribesTheWriteIntoATableOfTheSameLayout) {
    Commit(Page(
        "people", {Write("people", {"id"}, MakeBatch(Cols({"id", "name"}), {{Int("1"), Txt("a")}}))}
    ));
    const std::string target = "\"" + source_ + "\".people_copy";
    Query("CREATE TABLE " + target + " (LIKE " + Table("people") + " INCLUDING ALL)");

    auto described = sink::DescribeUpsert(dsn_, Table("people"), target, {"id"});
    ASSERT_TRUE(Ok(described));
    EXPECT_NE(described->staging_columns.find("\"name\""), std::string::npos)
        << described->staging_columns;
    EXPECT_NE(described->create_staging.find("_chatsync_stage"), std::string::npos)
        << described->create_staging;
    EXPECT_NE(described->upsert.find(target), std::string::npos) << described->upsert;

    // The database takes them as written: the staging table, and the upsert from it.
    Query(
        "BEGIN; " + described->create_staging + "; PREPARE bench_upsert AS " + described->upsert +
        "; ROLLBACK"
    );
}

TEST_F(UpsertStatementsTest, AMissingTableIsNamed) {
    auto described = sink::DescribeUpsert(dsn_, source_ + ".nothing", source_ + ".other", {"id"});
    ASSERT_FALSE(described.has_value());
    EXPECT_EQ(described.error(), Errc::kSinkPermanent);
    EXPECT_NE(described.error().message().find("no such table"), std::string::npos)
        << described.error();
}

}  // namespace
}  // namespace chatsync::test
