// The sink's pure parts (identifiers, COPY text, DSN handling, table planning). They need no
// database; they live with the pg tests because they belong to lib/sink.

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sink/detail/conninfo.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/migrations.hpp"
#include "sink/detail/pg_types.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink::detail {
namespace {

TEST(SinkIdentifier, ShortNamesStayAsTheyAre) {
    EXPECT_EQ(ShortIdentifier("updated_at", "updatedAt"), "updated_at");
    const std::string exact(63, 'x');
    EXPECT_EQ(ShortIdentifier(exact, "p"), exact);
}

TEST(SinkIdentifier, LongNamesAreCutAndHashedByPath) {
    const std::string name(100, 'a');
    const std::string a = ShortIdentifier(name, "path.one");
    const std::string b = ShortIdentifier(name, "path.two");
    EXPECT_EQ(a.size(), 63U);
    EXPECT_EQ(a.substr(0, 55), std::string(54, 'a') + "_");
    EXPECT_NE(a, b);
    EXPECT_EQ(a, ShortIdentifier(name, "path.one"));
    // FNV-1a is fixed, so names stay the same across releases.
    EXPECT_EQ(Fnv1a32(""), 2166136261U);
    EXPECT_EQ(Fnv1a32("a"), 0xe40c292cU);
}

TEST(SinkIdentifier, CutsRespectUtf8) {
    const std::string text = std::string(62, 'a') + "\xC3\xA9";  // 64 bytes, é last
    EXPECT_EQ(TruncateUtf8(text, 63), std::string(62, 'a'));
    const std::string name = std::string(53, 'a') + "\xE2\x82\xAC" + std::string(50, 'b');
    const std::string shortened = ShortIdentifier(name, "p");
    EXPECT_EQ(shortened.substr(0, 54), std::string(53, 'a') + "_");
    EXPECT_EQ(SuffixedIdentifier(std::string(63, 'c'), 12), std::string(60, 'c') + "_12");
    EXPECT_EQ(SuffixedIdentifier("x", 2), "x_2");
}

TEST(SinkIdentifier, QuotesIdentifiersAndLiterals) {
    EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(QualifiedName("s", "t"), "\"s\".\"t\"");
    EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
}

TEST(SinkCopy, EscapesTextFormatSpecials) {
    std::string out;
    AppendCopyField(out, std::string("a\tb\nc\\d\re\0f", 12));
    EXPECT_EQ(out, "a\\tb\\nc\\\\d\\ref");
    out.clear();
    AppendCopyField(out, "\\N");
    EXPECT_EQ(out, "\\\\N");
}

TEST(SinkMigrations, FileNamesParse) {
    const auto m = ParseMigrationName("0001_init.sql");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->version, 1);
    EXPECT_EQ(m->name, "init");
    EXPECT_EQ(ParseMigrationName("0012_webhook_events.sql")->version, 12);
    EXPECT_FALSE(ParseMigrationName("init.sql"));
    EXPECT_FALSE(ParseMigrationName("0001_.sql"));
    EXPECT_FALSE(ParseMigrationName("00a1_x.sql"));
    EXPECT_FALSE(ParseMigrationName("0000_x.sql"));
    EXPECT_FALSE(ParseMigrationName("0001_x.txt"));
}

TEST(SinkMigrations, EmbeddedMigrationsAreOrdered) {
    const auto known = KnownMigrations();
    ASSERT_FALSE(known.empty());
    EXPECT_EQ(known.front().version, 1);
    EXPECT_NE(known.front().sql.find("resource_state"), std::string_view::npos);
    EXPECT_TRUE(std::is_sorted(known.begin(), known.end(), [](const auto& a, const auto& b) {
        return a.version < b.version;
    }));
}

TEST(SinkConninfo, AddsSettingsInTheDsnsOwnForm) {
    const ConnSettings settings{5, "chatsync"};
    EXPECT_EQ(
        BuildConninfo("postgresql://u@h/db", settings),
        "postgresql://u@h/db?connect_timeout=5&application_name=chatsync&keepalives_idle=60&"
        "keepalives_interval=15&keepalives_count=4"
    );
    const std::string uri =
        BuildConninfo("postgres://h/db?application_name=x&sslmode=require", settings);
    EXPECT_EQ(uri.find("application_name=chatsync"), std::string::npos) << uri;
    EXPECT_NE(uri.find("&connect_timeout=5"), std::string::npos) << uri;
    const std::string kv = BuildConninfo("host=h connect_timeout = 3", settings);
    EXPECT_EQ(kv.find("connect_timeout='5'"), std::string::npos) << kv;
    EXPECT_NE(kv.find(" application_name='chatsync'"), std::string::npos) << kv;
    EXPECT_EQ(BuildConninfo("", ConnSettings{1, "c"}).substr(0, 19), "connect_timeout='2'");
}

TEST(SinkConninfo, FindsThePasswordInEveryForm) {
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    const auto uri = DsnSecrets("postgresql://me:p%40ss%2Fword@host:5432/db");
    EXPECT_TRUE(has(uri, "p%40ss%2Fword"));
    EXPECT_TRUE(has(uri, "p@ss/word"));
    const auto query = DsnSecrets("postgresql://host/db?user=me&password=hunter2x");
    EXPECT_TRUE(has(query, "hunter2x"));
    const auto kv = DsnSecrets("host=h password='it\\'s secret' user=u");
    EXPECT_TRUE(has(kv, "it's secret"));
    const auto plain = DsnSecrets("host=h password=plainpw");
    EXPECT_TRUE(has(plain, "plainpw"));
}

TEST(SinkPgTypes, EveryTypeRoundTripsThroughItsSqlName) {
    for (const auto& [name, type] : kColumnTypeNames) {
        EXPECT_EQ(ColumnTypeFromSql(SqlTypeName(type)), type) << name;
    }
    // The catalog's spelling (format_type) of the one type whose DDL name is an alias.
    EXPECT_EQ(ColumnTypeFromSql("timestamp with time zone"), ColumnType::kTimestamptz);
    EXPECT_EQ(ColumnTypeFromSql("integer"), std::nullopt);
}

std::vector<ColumnDef> Defs(std::vector<std::pair<std::string, std::string>> cols, ColumnType t) {
    std::vector<ColumnDef> out;
    for (auto& [path, name] : cols) {
        out.push_back(ColumnDef{path, name, t, true});
    }
    return out;
}

TEST(SinkTablePlan, NewTableGetsKeysCommentsAndMetadata) {
    auto batch = Defs({{"id", "id"}, {"a.b", "a__b"}}, ColumnType::kBigint);
    batch.push_back(ColumnDef{"nothing", "nothing", ColumnType::kText, false});
    const auto plan = PlanTable("\"s\".\"t\"", {}, batch, {"id"}, true);
    EXPECT_TRUE(plan.create);
    ASSERT_EQ(plan.columns.size(), 2U);
    EXPECT_EQ(plan.key, std::vector<std::size_t>{0});
    EXPECT_TRUE(plan.has_deleted_at);
    ASSERT_EQ(plan.ddl.size(), 3U);
    EXPECT_EQ(
        plan.ddl[0],
        "CREATE TABLE \"s\".\"t\" (\"id\" bigint NOT NULL, \"a__b\" bigint, "
        "\"_chatsync_synced_at\" timestamptz NOT NULL DEFAULT now(), \"_chatsync_run_id\" text, "
        "\"_chatsync_deleted_at\" timestamptz, PRIMARY KEY (\"id\"))"
    );
    EXPECT_EQ(plan.ddl[2], "COMMENT ON COLUMN \"s\".\"t\".\"a__b\" IS 'a.b'");
}

TEST(SinkTablePlan, ExistingTableWidensAddsAndResolvesCollisions) {
    const std::vector<ExistingColumn> existing = {
        {"id", "bigint", "id"},
        {"updated_at", "timestamp with time zone", "updatedAt"},
        {"n", "bigint", "n"},
        {"legacy", "text", std::nullopt},
        {"_chatsync_synced_at", "timestamp with time zone", std::nullopt},
        {"_chatsync_run_id", "text", std::nullopt},
    };
    std::vector<ColumnDef> batch = {
        {"id", "id", ColumnType::kBigint, true},
        {"updated_at", "updated_at", ColumnType::kText, true},
        {"n", "n", ColumnType::kDouble, true},
        {"legacy", "legacy", ColumnType::kText, true},
        {"updatedAt", "updated_at", ColumnType::kTimestamptz, true},
        {"_chatsync_run_id", "_chatsync_run_id", ColumnType::kText, true},
    };
    const auto plan = PlanTable("\"s\".\"t\"", existing, batch, {"id"}, false);
    EXPECT_FALSE(plan.create);
    ASSERT_EQ(plan.columns.size(), 6U);
    EXPECT_EQ(plan.columns[1].name, "updated_at_2");
    EXPECT_EQ(plan.columns[2].sql_type, "double precision");
    EXPECT_EQ(plan.columns[3].name, "legacy");
    EXPECT_EQ(plan.columns[4].name, "updated_at");
    EXPECT_EQ(plan.columns[5].name, "_chatsync_run_id_2");
    ASSERT_FALSE(plan.ddl.empty());
    EXPECT_EQ(
        plan.ddl[0],
        "ALTER TABLE \"s\".\"t\" ADD COLUMN \"updated_at_2\" text, ALTER COLUMN \"n\" TYPE "
        "double precision USING \"n\"::double precision, ADD COLUMN \"_chatsync_run_id_2\" text"
    );
    EXPECT_NE(
        std::find(
            plan.ddl.begin(), plan.ddl.end(), "COMMENT ON COLUMN \"s\".\"t\".\"legacy\" IS 'legacy'"
        ),
        plan.ddl.end()
    );
}

TEST(SinkTablePlan, DeclaredTypesConvertInsteadOfWidening) {
    const std::vector<ExistingColumn> existing = {
        {"id", "text", "id"},
        {"pinned", "text", "pinned"},
        {"online", "bigint", "online"},
        {"same", "boolean", "same"},
        {"n", "bigint", "n"},
        {"_chatsync_synced_at", "timestamp with time zone", std::nullopt},
        {"_chatsync_run_id", "text", std::nullopt},
    };
    std::vector<ColumnDef> batch = {
        {"id", "id", ColumnType::kBigint, true, true},
        {"pinned", "pinned", ColumnType::kBoolean, true, true},
        {"online", "online", ColumnType::kBoolean, true, true},
        {"same", "same", ColumnType::kBoolean, true, true},
        {"n", "n", ColumnType::kDouble, true, false},
        {"fresh", "fresh", ColumnType::kBoolean, true, true},
    };
    const auto plan = PlanTable("\"s\".\"t\"", existing, batch, {"id"}, false);
    ASSERT_EQ(plan.conversions.size(), 3U);
    EXPECT_EQ(plan.conversions[0].column, "id");
    EXPECT_EQ(
        plan.conversions[0].sql,
        "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"id\" TYPE bigint USING (\"id\"::text)::bigint"
    );
    EXPECT_EQ(plan.conversions[1].from, "text");
    EXPECT_EQ(plan.conversions[1].to, "boolean");
    EXPECT_EQ(
        plan.conversions[2].sql,
        "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"online\" TYPE boolean USING CASE \"online\" "
        "WHEN 0 THEN false WHEN 1 THEN true ELSE (\"online\"::text)::boolean END"
    );
    // Undeclared columns still widen in the one ALTER TABLE; declared new ones are added.
    ASSERT_FALSE(plan.ddl.empty());
    EXPECT_EQ(
        plan.ddl[0],
        "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"n\" TYPE double precision USING "
        "\"n\"::double precision, ADD COLUMN \"fresh\" boolean"
    );
    EXPECT_EQ(plan.columns[1].sql_type, "boolean");
    EXPECT_EQ(plan.columns[1].cell_type, ColumnType::kBoolean);
}

TEST(SinkTablePlan, ConversionsNeverRoundOrNull) {
    EXPECT_EQ(
        ConvertUsing("\"v\"", ColumnType::kDouble, ColumnType::kBigint),
        "CASE WHEN \"v\" = trunc(\"v\") AND abs(\"v\") < 9.2e18 THEN \"v\"::bigint ELSE "
        "(\"v\"::text)::bigint END"
    );
    EXPECT_EQ(
        ConvertUsing("\"v\"", ColumnType::kJsonb, ColumnType::kBoolean), "(\"v\" #>> '{}')::boolean"
    );
    EXPECT_EQ(
        ConvertUsing("\"v\"", ColumnType::kBoolean, ColumnType::kBigint), "\"v\"::integer::bigint"
    );
    EXPECT_EQ(ConvertUsing("\"v\"", ColumnType::kBigint, ColumnType::kJsonb), "to_jsonb(\"v\")");
}

TEST(SinkTablePlan, KeyProblemsAreRejected) {
    const auto batch = Defs({{"id", "id"}}, ColumnType::kBigint);
    EXPECT_THROW(PlanTable("t", {}, batch, {}, false), std::invalid_argument);
    EXPECT_THROW(PlanTable("t", {}, batch, {"uuid"}, false), std::invalid_argument);
    const std::vector<ColumnDef> untyped = {{"id", "id", ColumnType::kText, false}};
    EXPECT_THROW(PlanTable("t", {}, untyped, {"id"}, false), std::invalid_argument);
}

}  // namespace
}  // namespace chatsync::sink::detail
