#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/json.hpp"
#include "integration/pg_fixture.hpp"
#include "normalize/flatten.hpp"
#include "sink/detail/migrations.hpp"

namespace chatsync::test {
namespace {

using sink::PgSink;

class PgSinkTest : public PgFixture {
protected:
    /// How run `run_id` of `resource` ended, for FinishRun.
    sink::RunEnd End(
        const std::string& resource,
        const std::string& run_id,
        RunOutcome outcome = RunOutcome::kSuccess
    ) const {
        sink::RunEnd end;
        end.source = source_;
        end.resource = resource;
        end.run_id = run_id;
        end.outcome = outcome;
        end.schema = source_;
        return end;
    }

    /// The same, sweeping `table` (named after the resource) of what pass `run_id` did not see.
    sink::RunEnd SweepingEnd(
        const std::string& table,
        const std::string& run_id,
        RunOutcome outcome = RunOutcome::kSuccess
    ) const {
        sink::RunEnd end = End(table, run_id, outcome);
        end.sweeps.push_back(sink::Sweep{table, run_id});
        return end;
    }

    /// column name -> comment (source path).
    std::map<std::string, std::string> ColumnComments(const std::string& table) {
        std::map<std::string, std::string> out;
        for (const auto& row : Query(
                 "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                 "WHERE a.attrelid = to_regclass(" +
                 admin_->quote(Table(table)) +
                 ") AND a.attnum > 0 AND NOT a.attisdropped AND "
                 "col_description(a.attrelid, a.attnum) IS NOT NULL"
             )) {
            out[row[0].as<std::string>()] = row[1].as<std::string>();
        }
        return out;
    }

    /// id -> xmin of every row.
    std::map<std::string, std::string> Xmins(const std::string& table) {
        std::map<std::string, std::string> out;
        for (const auto& row : Query("SELECT id::text, xmin::text FROM " + Table(table))) {
            out[row[0].as<std::string>()] = row[1].as<std::string>();
        }
        return out;
    }

    /// id -> `column` as text ("NULL" for NULL).
    std::map<std::string, std::string> Values(const std::string& table, const std::string& column) {
        std::map<std::string, std::string> out;
        for (const auto& row :
             Query("SELECT id::text, \"" + column + "\"::text FROM " + Table(table))) {
            out[row[0].as<std::string>()] = row[1].is_null() ? "NULL" : row[1].as<std::string>();
        }
        return out;
    }

    sink::ResourceState State(const std::string& resource) {
        auto r = Run(sink_->LoadState(source_, resource));
        EXPECT_TRUE(Ok(r));
        return r.has_value() ? *r : sink::ResourceState{};
    }
};

/// How many migration files deploy/sql/ has, and the last one's version.
const std::string kMigrations = std::to_string(sink::detail::KnownMigrations().size());
const std::string kSchemaVersion = std::to_string(sink::detail::KnownMigrations().back().version);

TEST_F(PgSinkTest, MigrationsApplyOnceAndAreIdempotent) {
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + StateTable("schema_migrations")), kMigrations);
    EXPECT_EQ(
        Scalar("SELECT max(version) FROM " + StateTable("schema_migrations")), kSchemaVersion
    );
    for (const char* table : {"resource_state", "runs", "seen_keys", "latches", "egress"}) {
        EXPECT_EQ(Scalar("SELECT to_regclass('" + StateTable(table) + "') IS NOT NULL"), "t")
            << table;
    }
    EXPECT_EQ(
        Scalar(
            "SELECT relpersistence FROM pg_class WHERE oid = to_regclass('" +
            StateTable("seen_keys") + "')"
        ),
        "u"
    );
    auto again = Run(sink_->Migrate());
    ASSERT_TRUE(Ok(again));
    EXPECT_EQ(std::to_string(*again), kSchemaVersion);
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + StateTable("schema_migrations")), kMigrations);
}

TEST_F(PgSinkTest, ConcurrentMigrationsApplyOnce) {
    // A fresh state schema migrated by two sinks at once (two daemons starting together).
    Query("DROP SCHEMA " + admin_->quote_name(state_schema_) + " CASCADE");
    auto other = MakeSink();
    int done = 0;
    std::vector<Result<int>> results;
    const auto on_done = [&](std::exception_ptr e, Result<int> r) {
        EXPECT_FALSE(e);
        results.push_back(r);
        ++done;
    };
    net::co_spawn(ioc_, sink_->Migrate(), on_done);
    net::co_spawn(ioc_, other->Migrate(), on_done);
    ioc_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (done < 2 && std::chrono::steady_clock::now() < deadline) {
        ioc_.run_one_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(done, 2);
    for (const auto& r : results) {
        EXPECT_TRUE(Ok(r));
    }
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + StateTable("schema_migrations")), kMigrations);
    other->Stop();
}

TEST_F(PgSinkTest, MigrateRefusesNewerDatabase) {
    Query("INSERT INTO " + StateTable("schema_migrations") + " VALUES (9999, 'future', now())");
    auto r = Run(sink_->Migrate());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kSinkPermanent));
    EXPECT_NE(r.error().message().find("9999"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("newer"), std::string::npos) << r.error().message();
}

TEST_F(PgSinkTest, FirstPageCreatesTypedTableWithPrimaryKey) {
    auto batch = MakeBatch(
        {{"id", "id"},
         {"name", "name"},
         {"score", "score"},
         {"active", "active"},
         {"createdAt", "created_at"},
         {"tags", "tags"},
         {"lead.fullname", "lead__fullname"},
         {"alwaysNull", "always_null"}},
        {
            {Int("1"),
             Txt("Ann"),
             Dbl("1.5"),
             Bool(true),
             Ts("2024-01-02T03:04:05Z"),
             Json("[\"a\"]"),
             Txt("A B"),
             kNull},
            {Int("2"),
             Txt("Bob\twith\ttabs\nand \\N"),
             Dbl("2"),
             Bool(false),
             kNull,
             Json("{\"k\": 1}"),
             kNull,
             kNull},
        }
    );
    const auto result = Commit(Page("users", {Write("users", {"id"}, batch)}));
    ASSERT_EQ(result.tables.size(), 1U);
    EXPECT_EQ(result.tables[0].inserted, 2);
    EXPECT_EQ(result.tables[0].updated, 0);
    EXPECT_EQ(result.tables[0].unchanged, 0);

    const auto types = ColumnTypes("users");
    EXPECT_EQ(types.at("id"), "bigint");
    EXPECT_EQ(types.at("name"), "text");
    EXPECT_EQ(types.at("score"), "double precision");
    EXPECT_EQ(types.at("active"), "boolean");
    EXPECT_EQ(types.at("created_at"), "timestamp with time zone");
    EXPECT_EQ(types.at("tags"), "jsonb");
    EXPECT_EQ(types.at("lead__fullname"), "text");
    EXPECT_EQ(types.at("_chatsync_synced_at"), "timestamp with time zone");
    EXPECT_EQ(types.at("_chatsync_run_id"), "text");
    EXPECT_EQ(types.count("_chatsync_deleted_at"), 0U) << "only for resources listed in full";
    EXPECT_EQ(types.count("always_null"), 0U) << "no type known yet";
    EXPECT_EQ(PrimaryKey("users"), std::vector<std::string>{"id"});

    const auto comments = ColumnComments("users");
    EXPECT_EQ(comments.at("created_at"), "createdAt");
    EXPECT_EQ(comments.at("lead__fullname"), "lead.fullname");

    EXPECT_EQ(Values("users", "name").at("2"), "Bob\twith\ttabs\nand \\N");
    EXPECT_EQ(Values("users", "created_at").at("1"), "2024-01-02 03:04:05+00");
    EXPECT_EQ(Values("users", "tags").at("2"), "{\"k\": 1}");
    EXPECT_EQ(Values("users", "_chatsync_run_id").at("1"), "run-1");
}

TEST_F(PgSinkTest, IdenticalPageWritesNothingAndKeepsRowVersions) {
    const auto batch = People({{Int("1"), Txt("a")}, {Int("2"), Txt("b")}, {Int("3"), kNull}});
    Commit(Page("people", {Write("people", {"id"}, batch)}));
    const auto before = Xmins("people");

    const auto result =
        Commit(Page("people", {Write("people", {"id"}, batch, {}, true)}, "{}", "run-2"));
    ASSERT_EQ(result.tables.size(), 1U);
    EXPECT_EQ(result.tables[0].inserted, 0);
    EXPECT_EQ(result.tables[0].updated, 0);
    EXPECT_EQ(result.tables[0].unchanged, 3);
    EXPECT_TRUE(result.tables[0].changed_rows.empty());
    EXPECT_EQ(Xmins("people"), before);
    EXPECT_EQ(Values("people", "_chatsync_run_id").at("1"), "run-1") << "row not rewritten";
    EXPECT_EQ(Scalar("SELECT xmax::text FROM " + Table("people") + " WHERE id = 1"), "0")
        << "unchanged rows are not even locked";
}

TEST_F(PgSinkTest, ChangedRowUpdatesOnlyThatRow) {
    Commit(Page(
        "people",
        {Write(
            "people",
            {"id"},
            People({{Int("1"), Txt("a")}, {Int("2"), Txt("b")}, {Int("3"), Txt("c")}})
        )}
    ));
    const auto before = Xmins("people");
    const auto result = Commit(Page(
        "people",
        {Write(
            "people",
            {"id"},
            People(
                {{Int("1"), Txt("a")},
                 {Int("2"), Txt("B")},
                 {Int("3"), Txt("c")},
                 {Int("4"), Txt("d")}}
            ),
            {},
            true
        )}
    ));
    ASSERT_EQ(result.tables.size(), 1U);
    EXPECT_EQ(result.tables[0].inserted, 1);
    EXPECT_EQ(result.tables[0].updated, 1);
    EXPECT_EQ(result.tables[0].unchanged, 2);
    EXPECT_EQ(result.tables[0].changed_rows, (std::vector<std::size_t>{1, 3}));
    const auto after = Xmins("people");
    EXPECT_EQ(after.at("1"), before.at("1"));
    EXPECT_NE(after.at("2"), before.at("2"));
    EXPECT_EQ(after.at("3"), before.at("3"));
    EXPECT_EQ(Values("people", "name").at("2"), "B");
}

TEST_F(PgSinkTest, LargeBatchRoundTrip) {
    std::vector<std::vector<std::optional<Value>>> rows;
    for (int i = 0; i < 5000; ++i) {
        rows.push_back(
            {Int(std::to_string(i)),
             Txt("name " + std::to_string(i)),
             Dbl(std::to_string(i) + ".5"),
             Ts("2024-01-01T00:00:00Z"),
             Json("{\"i\": " + std::to_string(i) + "}")}
        );
    }
    const auto batch = MakeBatch(Cols({"id", "name", "score", "at", "doc"}), rows);
    const auto first = Commit(Page("big", {Write("big", {"id"}, batch)}));
    EXPECT_EQ(first.tables[0].inserted, 5000);
    rows[4999][1] = Txt("renamed");
    const auto second = Commit(Page(
        "big",
        {Write(
            "big", {"id"}, MakeBatch(Cols({"id", "name", "score", "at", "doc"}), rows), {}, true
        )}
    ));
    EXPECT_EQ(second.tables[0].updated, 1);
    EXPECT_EQ(second.tables[0].unchanged, 4999);
    EXPECT_EQ(second.tables[0].changed_rows, std::vector<std::size_t>{4999});
}

TEST_F(PgSinkTest, NullingAFieldClearsIt) {
    Commit(Page("people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}))}));
    const auto result =
        Commit(Page("people", {Write("people", {"id"}, People({{Int("1"), kNull}}))}));
    ASSERT_EQ(result.tables.size(), 1U);
    EXPECT_EQ(result.tables[0].updated, 1);
    EXPECT_EQ(Values("people", "name").at("1"), "NULL");
}

TEST_F(PgSinkTest, NewFieldAddsColumn) {
    Commit(Page("people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}))}));
    const auto result = Commit(Page(
        "people",
        {Write(
            "people",
            {"id"},
            MakeBatch(Cols({"id", "name", "email"}), {{Int("2"), Txt("b"), Txt("b@x.org")}})
        )}
    ));
    EXPECT_EQ(result.tables[0].inserted, 1);
    EXPECT_EQ(ColumnTypes("people").at("email"), "text");
    EXPECT_EQ(Values("people", "email").at("1"), "NULL");
    EXPECT_EQ(Values("people", "email").at("2"), "b@x.org");
}

TEST_F(PgSinkTest, WideningKeepsEveryValue) {
    const auto write = [&](std::vector<std::optional<Value>> row) {
        Commit(Page(
            "things", {Write("things", {"id"}, MakeBatch(Cols({"id", "v", "j", "t", "ts"}), {row}))}
        ));
    };
    write({Int("1"), Int("1"), Int("5"), Txt("hello"), Ts("2024-05-06T07:08:09Z")});
    EXPECT_EQ(ColumnTypes("things").at("ts"), "timestamp with time zone");
    EXPECT_EQ(ColumnTypes("things").at("v"), "bigint");
    write({Int("2"), Dbl("2.5"), Bool(true), Ts("2024-05-06T07:08:09Z"), Txt("soon")});
    EXPECT_EQ(ColumnTypes("things").at("ts"), "text");
    // Converted in the sink's session, whose time zone is UTC whatever the server's default.
    EXPECT_EQ(Values("things", "ts").at("1"), "2024-05-06 07:08:09+00");
    EXPECT_EQ(Values("things", "ts").at("2"), "soon");
    EXPECT_EQ(ColumnTypes("things").at("v"), "double precision");
    EXPECT_EQ(ColumnTypes("things").at("j"), "text");
    EXPECT_EQ(ColumnTypes("things").at("t"), "text");
    write({Int("3"), Txt("abc"), Json("{\"a\": 1}"), Json("[1, 2]")});
    EXPECT_EQ(ColumnTypes("things").at("v"), "text");
    EXPECT_EQ(ColumnTypes("things").at("j"), "jsonb");
    EXPECT_EQ(ColumnTypes("things").at("t"), "jsonb");

    const auto v = Values("things", "v");
    EXPECT_EQ(v.at("1"), "1");
    EXPECT_EQ(v.at("2"), "2.5");
    EXPECT_EQ(v.at("3"), "abc");
    const auto j = Values("things", "j");
    EXPECT_EQ(j.at("1"), "\"5\"");
    EXPECT_EQ(j.at("2"), "\"true\"");
    EXPECT_EQ(j.at("3"), "{\"a\": 1}");
    const auto t = Values("things", "t");
    EXPECT_EQ(t.at("1"), "\"hello\"");
    EXPECT_EQ(t.at("2"), "\"2024-05-06T07:08:09Z\"");
    EXPECT_EQ(t.at("3"), "[1, 2]");

    // A narrower value into a wide column changes nothing in the table's shape.
    write({Int("4"), Int("7"), Txt("plain"), Int("8")});
    EXPECT_EQ(ColumnTypes("things").at("v"), "text");
    EXPECT_EQ(Values("things", "v").at("4"), "7");
    EXPECT_EQ(Values("things", "j").at("4"), "\"plain\"");
    EXPECT_EQ(Values("things", "t").at("4"), "8");
}

TEST_F(PgSinkTest, BigintWidensToDoubleThenJsonb) {
    const auto write = [&](std::optional<Value> v, const char* id) {
        Commit(Page("n", {Write("n", {"id"}, MakeBatch(Cols({"id", "v"}), {{Int(id), v}}))}));
    };
    write(Int("9007199254740993"), "1");
    write(Dbl("0.25"), "2");
    EXPECT_EQ(ColumnTypes("n").at("v"), "double precision");
    write(Json("{\"x\": true}"), "3");
    EXPECT_EQ(ColumnTypes("n").at("v"), "jsonb");
    const auto v = Values("n", "v");
    EXPECT_EQ(v.at("2"), "0.25");
    EXPECT_EQ(v.at("3"), "{\"x\": true}");
    EXPECT_FALSE(v.at("1").empty());
}

/// The records as a page's text would give them: parsed by ParseJson, flattened.
RowBatch Parsed(const std::vector<std::string>& records, std::uint32_t max_nesting = 3) {
    RowBatch batch;
    for (const auto& text : records) {
        boost::system::error_code ec;
        ParseRepairs repairs;
        const auto v = ParseJson(text, ec, repairs);
        EXPECT_FALSE(ec) << ec.message() << ": " << text;
        if (!ec) {
            normalize::AppendRecord(batch, v.as_object(), {.max_nesting = max_nesting});
        }
    }
    return batch;
}

TEST_F(PgSinkTest, ValuesTheDatabaseCannotTakeAsSentLandExactlyOrAsDocumented) {
    const std::string fffd = "\xEF\xBF\xBD";
    Commit(Page(
        "v",
        {Write(
            "v",
            {"id"},
            Parsed(
                {R"({"id":1,"big":5,"text":"paste\u0000d","tags":["x\u0000y"],"who":"a\ud800b"})"}
            )
        )}
    ));
    EXPECT_EQ(ColumnTypes("v").at("big"), "bigint");
    EXPECT_EQ(ColumnTypes("v").at("tags"), "jsonb");
    std::string nest;
    std::string nest_as_stored;
    for (int i = 0; i < 40; ++i) {
        nest += R"({"a":)";
        nest_as_stored += R"({"a": )";
    }
    nest += "99999999999999999999999" + std::string(40, '}');
    nest_as_stored += "99999999999999999999999" + std::string(40, '}');
    Commit(Page(
        "v",
        {Write(
            "v",
            {"id"},
            Parsed(
                {R"({"id":2,"big":123456789012345678901234567890,"neg":-9223372036854775809,)"
                 R"("nest":)" +
                     nest + "}",
                 R"({"id":3,"big":-9223372036854775808,"neg":1.5})"},
                1
            )
        )}
    ));
    // The bigint column widened to numeric, with every value exact.
    EXPECT_EQ(ColumnTypes("v").at("big"), "numeric");
    EXPECT_EQ(ColumnTypes("v").at("neg"), "numeric");
    const auto big = Values("v", "big");
    EXPECT_EQ(big.at("1"), "5");
    EXPECT_EQ(big.at("2"), "123456789012345678901234567890");
    EXPECT_EQ(big.at("3"), "-9223372036854775808");
    EXPECT_EQ(Values("v", "neg").at("2"), "-9223372036854775809");
    EXPECT_EQ(Values("v", "neg").at("3"), "1.5");
    // Deeper than max_nesting: one jsonb value, its big integer exact.
    EXPECT_EQ(ColumnTypes("v").at("nest"), "jsonb");
    EXPECT_EQ(Values("v", "nest").at("2"), nest_as_stored);
    EXPECT_EQ(Values("v", "text").at("1"), "paste" + fffd + "d");
    EXPECT_EQ(Values("v", "tags").at("1"), R"(["x)" + fffd + R"(y"])");
    EXPECT_EQ(Values("v", "who").at("1"), "a" + fffd + "b");
}

/// A batch whose columns other than `id` have declared types.
RowBatch Declared(
    const std::vector<std::pair<std::string, ColumnType>>& types,
    const std::vector<std::vector<std::optional<Value>>>& rows
) {
    RowBatch batch;
    std::vector<std::size_t> index{batch.Declare("id", "id", ColumnType::kBigint)};
    for (const auto& [path, type] : types) {
        index.push_back(batch.Declare(path, path, type));
    }
    for (const auto& row : rows) {
        batch.AddRow();
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (row[i]) {
                batch.Set(index[i], *row[i]);
            }
        }
    }
    return batch;
}

TEST_F(PgSinkTest, InferredColumnsConvertToTheirDeclaredTypesWithEveryValue) {
    // Types inferred from answers that disagreed: flags as 0/1 and true/false became text,
    // 0/1 alone bigint, ids as strings text, whole numbers double.
    Commit(Page(
        "users",
        {Write(
            "users",
            {"id"},
            MakeBatch(
                Cols({"id", "pinned", "online", "uid", "n", "gone"}),
                {{Int("1"), Txt("0"), Int("1"), Txt("5302"), Dbl("3"), Txt("true")},
                 {Int("2"), Txt("true"), Int("0"), Txt("-7"), Dbl("2.5"), kNull},
                 {Int("3"), kNull, kNull, kNull, kNull, Txt("FALSE")}}
            )
        )}
    ));
    ASSERT_EQ(ColumnTypes("users").at("pinned"), "text");
    ASSERT_EQ(ColumnTypes("users").at("online"), "bigint");
    ASSERT_EQ(ColumnTypes("users").at("n"), "double precision");

    const auto result = Commit(Page(
        "users",
        {Write(
            "users",
            {"id"},
            Declared(
                {{"pinned", ColumnType::kBoolean},
                 {"online", ColumnType::kBoolean},
                 {"uid", ColumnType::kBigint},
                 {"n", ColumnType::kDouble},
                 {"gone", ColumnType::kBoolean}},
                {{Int("4"), Bool(true), Bool(false), Int("9"), Dbl("1"), kNull}}
            )
        )}
    ));
    const auto types = ColumnTypes("users");
    EXPECT_EQ(types.at("pinned"), "boolean");
    EXPECT_EQ(types.at("online"), "boolean");
    EXPECT_EQ(types.at("uid"), "bigint");
    EXPECT_EQ(types.at("n"), "double precision");
    EXPECT_EQ(types.at("gone"), "boolean");
    ASSERT_EQ(result.tables.size(), 1U);
    std::vector<std::string> converted;
    for (const auto& c : result.tables[0].converted) {
        converted.push_back(c.column + ":" + c.from + "->" + c.to);
    }
    EXPECT_EQ(
        converted,
        (std::vector<std::string>{
            "pinned:text->boolean",
            "online:bigint->boolean",
            "uid:text->bigint",
            "gone:text->boolean"})
    );
    const auto pinned = Values("users", "pinned");
    EXPECT_EQ(pinned.at("1"), "false");
    EXPECT_EQ(pinned.at("2"), "true");
    EXPECT_EQ(pinned.at("3"), "NULL");
    EXPECT_EQ(pinned.at("4"), "true");
    const auto online = Values("users", "online");
    EXPECT_EQ(online.at("1"), "true");
    EXPECT_EQ(online.at("2"), "false");
    EXPECT_EQ(online.at("3"), "NULL");
    const auto uid = Values("users", "uid");
    EXPECT_EQ(uid.at("1"), "5302");
    EXPECT_EQ(uid.at("2"), "-7");
    EXPECT_EQ(uid.at("4"), "9");
    EXPECT_EQ(Values("users", "gone").at("1"), "true");
    EXPECT_EQ(Values("users", "gone").at("3"), "false");

    // Declared again: nothing left to convert.
    const auto again = Commit(Page(
        "users",
        {Write(
            "users", {"id"}, Declared({{"pinned", ColumnType::kBoolean}}, {{Int("5"), Bool(false)}})
        )}
    ));
    EXPECT_TRUE(again.tables.at(0).converted.empty());
}

TEST_F(PgSinkTest, NumbersConvertOnlyWhenNoValueChanges) {
    Commit(Page(
        "m",
        {Write(
            "m",
            {"id"},
            MakeBatch(
                Cols({"id", "whole", "flag"}),
                {{Int("1"), Dbl("3"), Dbl("1")}, {Int("2"), Dbl("-4"), Dbl("0")}}
            )
        )}
    ));
    Commit(Page(
        "m",
        {Write(
            "m",
            {"id"},
            Declared(
                {{"whole", ColumnType::kBigint}, {"flag", ColumnType::kBoolean}},
                {{Int("3"), Int("5"), Bool(true)}}
            )
        )}
    ));
    EXPECT_EQ(ColumnTypes("m").at("whole"), "bigint");
    EXPECT_EQ(Values("m", "whole").at("2"), "-4");
    EXPECT_EQ(ColumnTypes("m").at("flag"), "boolean");
    EXPECT_EQ(Values("m", "flag").at("1"), "true");

    // 2.5 has no bigint form: the conversion fails rather than round it.
    Commit(Page("f", {Write("f", {"id"}, MakeBatch(Cols({"id", "v"}), {{Int("1"), Dbl("2.5")}}))}));
    auto r = Run(sink_->CommitPage(Page(
        "f", {Write("f", {"id"}, Declared({{"v", ColumnType::kBigint}}, {{Int("2"), Int("1")}}))}
    )));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(ColumnTypes("f").at("v"), "double precision");
    EXPECT_EQ(Values("f", "v").at("1"), "2.5");
}

TEST_F(PgSinkTest, AValueWithoutADeclaredFormFailsThePageAndKeepsTheTable) {
    Commit(Page(
        "people",
        {Write(
            "people",
            {"id"},
            MakeBatch(Cols({"id", "pinned"}), {{Int("1"), Txt("maybe")}, {Int("2"), Txt("1")}})
        )},
        R"({"page": 1})"
    ));
    auto r = Run(sink_->CommitPage(Page(
        "people",
        {Write(
            "people", {"id"}, Declared({{"pinned", ColumnType::kBoolean}}, {{Int("3"), Bool(true)}})
        )},
        R"({"page": 2})"
    )));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kSinkPermanent));
    const std::string error = r.error().message();
    EXPECT_NE(
        error.find(
            "column \"pinned\" of table " + Table("people") +
            " cannot be converted from text to its declared type boolean"
        ),
        std::string::npos
    ) << error;
    EXPECT_NE(error.find("remove 'pinned' from the resource's column_types"), std::string::npos)
        << error;
    EXPECT_EQ(ColumnTypes("people").at("pinned"), "text");
    EXPECT_EQ(Values("people", "pinned").at("1"), "maybe");
    EXPECT_EQ(Values("people", "pinned").at("2"), "1");
    EXPECT_EQ(Values("people", "pinned").count("3"), 0U);
    EXPECT_EQ(State("people").checkpoint.value_or(""), R"({"page": 1})");

    // Once the operator clears the value, the next page converts the column.
    Query("UPDATE " + Table("people") + " SET pinned = NULL WHERE pinned = 'maybe'");
    Commit(Page(
        "people",
        {Write(
            "people", {"id"}, Declared({{"pinned", ColumnType::kBoolean}}, {{Int("3"), Bool(true)}})
        )}
    ));
    EXPECT_EQ(ColumnTypes("people").at("pinned"), "boolean");
    EXPECT_EQ(Values("people", "pinned").at("2"), "true");
}

TEST_F(PgSinkTest, LongAndCollidingNamesGetDistinctStableColumns) {
    const std::string long_a = std::string(100, 'a');
    const std::string long_b = std::string(100, 'a') + "b";
    const std::vector<Col> cols = {
        {"id", "id"},
        {"updatedAt", "updated_at"},
        {"updated_at", "updated_at"},
        {"x." + long_a, long_a},
        {"x." + long_b, long_b},
    };
    Commit(Page(
        "c",
        {Write(
            "c",
            {"id"},
            MakeBatch(cols, {{Int("1"), Txt("camel"), Txt("snake"), Txt("A"), Txt("B")}})
        )}
    ));
    const auto comments = ColumnComments("c");
    EXPECT_EQ(comments.at("updated_at"), "updatedAt");
    EXPECT_EQ(comments.at("updated_at_2"), "updated_at");
    std::map<std::string, std::string> by_path;
    for (const auto& [name, path] : comments) {
        by_path[path] = name;
    }
    const std::string& name_a = by_path.at("x." + long_a);
    const std::string& name_b = by_path.at("x." + long_b);
    EXPECT_LE(name_a.size(), 63U);
    EXPECT_LE(name_b.size(), 63U);
    EXPECT_NE(name_a, name_b);
    EXPECT_EQ(name_a.substr(0, 54), std::string(54, 'a'));

    // The next page names the columns in the other order; the comments keep each path on
    // its own column.
    const std::vector<Col> reversed = {cols[0], cols[4], cols[3], cols[2], cols[1]};
    Commit(Page(
        "c",
        {Write(
            "c",
            {"id"},
            MakeBatch(reversed, {{Int("2"), Txt("B2"), Txt("A2"), Txt("snake2"), Txt("camel2")}})
        )}
    ));
    EXPECT_EQ(ColumnComments("c"), comments);
    EXPECT_EQ(Values("c", "updated_at").at("2"), "camel2");
    EXPECT_EQ(Values("c", "updated_at_2").at("2"), "snake2");
    EXPECT_EQ(Values("c", name_a).at("2"), "A2");
    EXPECT_EQ(Values("c", name_b).at("2"), "B2");
}

TEST_F(PgSinkTest, LongTableAndSchemaNamesAreShortened) {
    const std::string table = "t" + std::string(80, 'x');
    Commit(Page(table, {Write(table, {"id"}, People({{Int("1"), Txt("a")}}))}));
    EXPECT_EQ(
        Scalar(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = " +
            admin_->quote(source_) + " AND c.relkind = 'r' AND length(c.relname) = 63"
        ),
        "1"
    );
}

TEST_F(PgSinkTest, DuplicateKeysInOneBatchKeepTheLast) {
    const auto result = Commit(Page(
        "people",
        {Write(
            "people",
            {"id"},
            People({{Int("1"), Txt("first")}, {Int("2"), Txt("x")}, {Int("1"), Txt("last")}}),
            {},
            true
        )}
    ));
    EXPECT_EQ(result.tables[0].inserted, 2);
    EXPECT_EQ(result.tables[0].unchanged, 0);
    EXPECT_EQ(result.tables[0].changed_rows, (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(Values("people", "name").at("1"), "last");
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + Table("people")), "2");
}

TEST_F(PgSinkTest, CompositeKeys) {
    const auto batch = [](std::vector<std::vector<std::optional<Value>>> rows) {
        return MakeBatch(Cols({"org", "id", "name"}), rows);
    };
    Commit(Page(
        "members",
        {Write(
            "members",
            {"org", "id"},
            batch(
                {{Txt("o1"), Int("1"), Txt("a")},
                 {Txt("o1"), Int("2"), Txt("b")},
                 {Txt("o2"), Int("1"), Txt("c")}}
            )
        )}
    ));
    EXPECT_EQ(PrimaryKey("members"), (std::vector<std::string>{"org", "id"}));
    const auto result = Commit(Page(
        "members",
        {Write(
            "members",
            {"org", "id"},
            batch(
                {{Txt("o1"), Int("1"), Txt("a")},
                 {Txt("o1"), Int("2"), Txt("B")},
                 {Txt("o2"), Int("1"), Txt("c")}}
            ),
            {},
            true
        )}
    ));
    EXPECT_EQ(result.tables[0].updated, 1);
    EXPECT_EQ(result.tables[0].unchanged, 2);
    EXPECT_EQ(result.tables[0].changed_rows, std::vector<std::size_t>{1});
    EXPECT_EQ(Scalar("SELECT name FROM " + Table("members") + " WHERE org = 'o1' AND id = 2"), "B");
}

TEST_F(PgSinkTest, CheckpointCommitsWithThePageAndRollsBackWithIt) {
    Commit(
        Page("people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}))}, R"({"page": 1})")
    );
    EXPECT_EQ(State("people").checkpoint.value_or(""), R"({"page": 1})");
    EXPECT_EQ(State("people").run_id.value_or(""), "run-1");

    // The second table's value cannot be parsed as its column type: the whole page fails,
    // after the first table's rows went in within the same transaction.
    auto bad =
        MakeBatch(Cols({"id", "n"}), {{Int("1"), Value{"not a number", ColumnType::kBigint}}});
    auto r = Run(sink_->CommitPage(Page(
        "people",
        {Write("people", {"id"}, People({{Int("2"), Txt("b")}, {Int("1"), Txt("changed")}})),
         Write("other", {"id"}, bad)},
        R"({"page": 2})",
        "run-2"
    )));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kSinkPermanent));
    EXPECT_NE(r.error().message().find("not a number"), std::string::npos) << r.error().message();
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + Table("people")), "1");
    EXPECT_EQ(Values("people", "name").at("1"), "a");
    EXPECT_EQ(Scalar("SELECT to_regclass(" + admin_->quote(Table("other")) + ") IS NULL"), "t");
    EXPECT_EQ(State("people").checkpoint.value_or(""), R"({"page": 1})");
    EXPECT_EQ(State("people").run_id.value_or(""), "run-1");

    // The connection is still usable afterwards.
    Commit(
        Page("people", {Write("people", {"id"}, People({{Int("2"), Txt("b")}}))}, R"({"page": 2})")
    );
    EXPECT_EQ(State("people").checkpoint.value_or(""), R"({"page": 2})");
}

TEST_F(PgSinkTest, MissingKeyPathIsPermanent) {
    auto r = Run(sink_->CommitPage(
        Page("people", {Write("people", {"uuid"}, People({{Int("1"), Txt("a")}}))})
    ));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kSinkPermanent));
    EXPECT_NE(r.error().message().find("uuid"), std::string::npos) << r.error().message();
}

TEST_F(PgSinkTest, FinishRunSuccessAdvancesCursorAndClearsCheckpoint) {
    auto run_id = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(run_id));
    Commit(Page(
        "people",
        {Write("people", {"id"}, People({{Int("1"), Txt("a")}}))},
        R"({"page": 3})",
        *run_id
    ));

    sink::RunEnd end;
    end.source = source_;
    end.resource = "people";
    end.run_id = *run_id;
    end.outcome = RunOutcome::kSuccess;
    end.pages = 3;
    end.rows_written = 1;
    end.rows_unchanged = 4;
    end.cursor = "2024-01-01T00:00:00Z";
    end.next_run_at = sink::TimePoint(std::chrono::seconds(1'900'000'000));
    end.schema = source_;
    auto r = Run(sink_->FinishRun(end));
    ASSERT_TRUE(Ok(r));

    auto s = State("people");
    EXPECT_EQ(s.cursor.value_or(""), "2024-01-01T00:00:00Z");
    EXPECT_FALSE(s.checkpoint.has_value());
    EXPECT_EQ(s.last_outcome, RunOutcome::kSuccess);
    EXPECT_TRUE(s.last_success_at.has_value());
    EXPECT_TRUE(s.last_run_at.has_value());
    EXPECT_EQ(s.next_run_at, end.next_run_at);
    EXPECT_EQ(s.last_rows_written, 1);
    EXPECT_EQ(s.last_rows_unchanged, 4);
    EXPECT_EQ(
        Scalar(
            "SELECT outcome || ' ' || pages || ' ' || rows_written || ' ' || rows_unchanged FROM " +
            StateTable("runs") + " WHERE run_id = " + admin_->quote(*run_id)
        ),
        "success 3 1 4"
    );

    // A later success without a cursor keeps the committed one.
    end.cursor.reset();
    ASSERT_TRUE(Ok(Run(sink_->FinishRun(end))));
    EXPECT_EQ(State("people").cursor.value_or(""), "2024-01-01T00:00:00Z");
}

TEST_F(PgSinkTest, FinishRunFailureKeepsCheckpointAndCursor) {
    sink::RunEnd ok;
    ok.source = source_;
    ok.resource = "people";
    ok.run_id = "r0";
    ok.outcome = RunOutcome::kSuccess;
    ok.cursor = "c1";
    ASSERT_TRUE(Ok(Run(sink_->FinishRun(ok))));

    Commit(Page(
        "people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}))}, R"({"page": 7})", "r1"
    ));
    redactor_.Add("sekrit-token-123");
    sink::RunEnd failed;
    failed.source = source_;
    failed.resource = "people";
    failed.run_id = "r1";
    failed.outcome = RunOutcome::kFailed;
    failed.error = "upstream said 500 for token sekrit-token-123";
    failed.cursor = "c2";
    ASSERT_TRUE(Ok(Run(sink_->FinishRun(failed))));

    auto s = State("people");
    EXPECT_EQ(s.cursor.value_or(""), "c1");
    EXPECT_EQ(s.checkpoint.value_or(""), R"({"page": 7})");
    EXPECT_EQ(s.last_outcome, RunOutcome::kFailed);
    EXPECT_EQ(s.last_error, "upstream said 500 for token ***");
    EXPECT_EQ(
        Scalar("SELECT error FROM " + StateTable("runs") + " WHERE run_id = 'r1'"),
        "upstream said 500 for token ***"
    );

    failed.outcome = RunOutcome::kHeld;
    auto bad = Run(sink_->FinishRun(failed));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error(), make_error_code(Errc::kSinkPermanent));
}

TEST_F(PgSinkTest, SoftDeleteSweepMarksExactlyTheUnseenRows) {
    const auto pass = [&](const std::string& pass_id,
                          std::vector<std::vector<std::optional<Value>>> rows) {
        return Commit(Page("people", {Write("people", {"id"}, People(rows), pass_id)}));
    };
    const auto finish = [&](const std::string& pass_id) {
        auto r = Run(sink_->FinishRun(SweepingEnd("people", pass_id)));
        EXPECT_TRUE(Ok(r));
        return r.has_value() ? r->rows_deleted : -1;
    };
    pass("p1", {{Int("1"), Txt("a")}, {Int("2"), Txt("b")}});
    pass("p1", {{Int("3"), Txt("c")}});
    EXPECT_EQ(ColumnTypes("people").count("_chatsync_deleted_at"), 1U);
    EXPECT_EQ(finish("p1"), 0);

    pass("p2", {{Int("1"), Txt("a")}, {Int("3"), Txt("c")}});
    EXPECT_EQ(finish("p2"), 1);
    const auto deleted = Values("people", "_chatsync_deleted_at");
    EXPECT_EQ(deleted.at("1"), "NULL");
    EXPECT_NE(deleted.at("2"), "NULL");
    EXPECT_EQ(deleted.at("3"), "NULL");
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + StateTable("seen_keys")), "0");

    // The row comes back, unchanged otherwise: it is revived, and counted as written.
    const auto result =
        pass("p3", {{Int("1"), Txt("a")}, {Int("2"), Txt("b")}, {Int("3"), Txt("c")}});
    EXPECT_EQ(result.tables[0].updated, 1);
    EXPECT_EQ(result.tables[0].unchanged, 2);
    EXPECT_EQ(Values("people", "_chatsync_deleted_at").at("2"), "NULL");
    EXPECT_EQ(finish("p3"), 0);

    // A failed pass sweeps nothing.
    pass("p4", {{Int("1"), Txt("a")}});
    auto r = Run(sink_->FinishRun(SweepingEnd("people", "p4", RunOutcome::kFailed)));
    ASSERT_TRUE(Ok(r));
    EXPECT_EQ(r->rows_deleted, 0);
    EXPECT_EQ(
        Scalar(
            "SELECT count(*) FROM " + Table("people") + " WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        "0"
    );
}

TEST_F(PgSinkTest, APassThatBeganEmptyRemembersNoKeys) {
    const auto empty = [&] {
        auto r = Run(sink_->EmptyTables({sink_->NameOf(source_, "people")}));
        EXPECT_TRUE(Ok(r));
        return r.has_value() && r->size() == 1 && r->front();
    };
    const auto seen_keys = [&] {
        return Scalar(
            "SELECT count(*) FROM " + StateTable("seen_keys") +
            " WHERE table_name = " + admin_->quote(Table("people"))
        );
    };
    // No table yet: empty.
    EXPECT_TRUE(empty());
    auto first =
        Write("people", {"id"}, People({{Int("1"), Txt("a")}, {Int("2"), Txt("b")}}), "p1");
    first.pass_began_empty = true;
    Commit(Page("people", {std::move(first)}));
    EXPECT_EQ(seen_keys(), "0");
    // The table keeps its soft-delete column all the same.
    EXPECT_EQ(ColumnTypes("people").count("_chatsync_deleted_at"), 1U);
    EXPECT_FALSE(empty());

    // A later pass began with rows in the table: its keys are remembered, and its sweep
    // marks what it did not see.
    Commit(Page("people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}), "p2")}));
    EXPECT_EQ(seen_keys(), "1");
    auto r = Run(sink_->FinishRun(SweepingEnd("people", "p2")));
    ASSERT_TRUE(Ok(r));
    EXPECT_EQ(r->rows_deleted, 1);
    // Soft-deleted rows are rows: the table is not empty.
    Query("UPDATE " + Table("people") + " SET _chatsync_deleted_at = now()");
    EXPECT_FALSE(empty());
    Query("DELETE FROM " + Table("people"));
    EXPECT_TRUE(empty());
}

TEST_F(PgSinkTest, SweepWithCompositeKeys) {
    const auto batch = [](std::vector<std::vector<std::optional<Value>>> rows) {
        return MakeBatch(Cols({"org", "id", "name"}), rows);
    };
    Commit(Page(
        "m",
        {Write(
            "m",
            {"org", "id"},
            batch(
                {{Txt("o1"), Int("1"), Txt("a")},
                 {Txt("o1"), Int("2"), Txt("b")},
                 {Txt("o,2"), Int("1"), Txt("c")}}
            ),
            "s1"
        )}
    ));
    Commit(Page(
        "m",
        {Write(
            "m",
            {"org", "id"},
            batch({{Txt("o1"), Int("1"), Txt("a")}, {Txt("o,2"), Int("1"), Txt("c")}}),
            "s2"
        )}
    ));
    auto r = Run(sink_->FinishRun(SweepingEnd("m", "s2")));
    ASSERT_TRUE(Ok(r));
    EXPECT_EQ(r->rows_deleted, 1);
    EXPECT_EQ(
        Scalar(
            "SELECT org || '/' || id FROM " + Table("m") + " WHERE _chatsync_deleted_at IS NOT NULL"
        ),
        "o1/2"
    );
}

TEST_F(PgSinkTest, BeginRunMarksStaleRunInterrupted) {
    auto first = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(first));
    auto second = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(second));
    EXPECT_NE(*first, *second);
    const auto outcome = [&](const std::string& id) {
        return Scalar(
            "SELECT outcome FROM " + StateTable("runs") + " WHERE run_id = " + admin_->quote(id)
        );
    };
    EXPECT_EQ(outcome(*first), "interrupted");
    EXPECT_EQ(outcome(*second), "running");
    EXPECT_EQ(
        Scalar(
            "SELECT pid FROM " + StateTable("runs") + " WHERE run_id = " + admin_->quote(*second)
        ),
        std::to_string(::getpid())
    );
    EXPECT_NE(
        Scalar(
            "SELECT host FROM " + StateTable("runs") + " WHERE run_id = " + admin_->quote(*second)
        ),
        ""
    );
    EXPECT_EQ(State("people").last_outcome, RunOutcome::kInterrupted);

    // Another resource's run is not touched.
    auto other = Run(sink_->BeginRun(source_, "groups"));
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(outcome(*second), "running");
}

/// Two sinks on one database and state schema stand for two daemons.
class PgRunLockTest : public PgSinkTest {
protected:
    std::string Outcome(const std::string& run_id) {
        return Scalar(
            "SELECT outcome FROM " + StateTable("runs") + " WHERE run_id = " + admin_->quote(run_id)
        );
    }

    std::string RunCount(const std::string& resource, const std::string& outcome = "") {
        std::string sql = "SELECT count(*) FROM " + StateTable("runs") +
                          " WHERE resource = " + admin_->quote(resource);
        if (!outcome.empty()) {
            sql += " AND outcome = " + admin_->quote(outcome);
        }
        return Scalar(sql);
    }
};

TEST_F(PgRunLockTest, OtherProcessIsRefusedUntilTheRunFinishes) {
    auto other = MakeSink();
    auto a = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(a));

    auto busy = Run(other->BeginRun(source_, "people"));
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error(), make_error_code(Errc::kResourceBusy));
    EXPECT_EQ(ErrorKind(busy.error()), "busy");
    EXPECT_TRUE(busy.error() == Condition::kPermanent);
    EXPECT_NE(busy.error().message().find(source_ + "/people"), std::string::npos)
        << busy.error().message();
    // The refused call left the run log and state alone.
    EXPECT_EQ(RunCount("people"), "1");
    EXPECT_EQ(Outcome(*a), "running");
    EXPECT_EQ(State("people").last_outcome, std::nullopt);

    // Another resource of the same source is free.
    auto groups = Run(other->BeginRun(source_, "groups"));
    ASSERT_TRUE(Ok(groups));

    ASSERT_TRUE(Ok(Run(sink_->FinishRun(End("people", *a)))));
    auto b = Run(other->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(b));
    EXPECT_EQ(Outcome(*a), "success");
    EXPECT_EQ(Outcome(*b), "running");
    EXPECT_EQ(RunCount("people", "interrupted"), "0");
    EXPECT_EQ(State("people").last_outcome, RunOutcome::kSuccess);

    // Now the first sink is the one refused.
    auto refused = Run(sink_->BeginRun(source_, "people"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), make_error_code(Errc::kResourceBusy));
    EXPECT_EQ(Outcome(*b), "running");
    other->Stop();
}

TEST_F(PgRunLockTest, RunsThatDidNotBeginAreRecordedWithoutTouchingTheLock) {
    auto other = MakeSink();
    auto a = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(a));

    // The other process is refused, and records its skipped run: its own finished row, and
    // the running run's lock, row and state untouched.
    auto refused = Run(other->BeginRun(source_, "people"));
    ASSERT_FALSE(refused.has_value());
    sink::RunEnd skipped;
    skipped.source = source_;
    skipped.resource = "people";
    skipped.outcome = RunOutcome::kSkipped;
    skipped.error = refused.error().message();
    ASSERT_TRUE(Ok(Run(other->RecordRun(skipped))));
    EXPECT_EQ(RunCount("people", "skipped"), "1");
    EXPECT_EQ(Outcome(*a), "running");
    EXPECT_EQ(State("people").last_outcome, std::nullopt);
    EXPECT_FALSE(Run(other->BeginRun(source_, "people")).has_value()) << "the lock was released";

    ASSERT_TRUE(Ok(Run(sink_->FinishRun(End("people", *a)))));
    EXPECT_EQ(Outcome(*a), "success");
    EXPECT_EQ(RunCount("people", "interrupted"), "0");

    // A held run: a row of its own, and the state's outcome and error; cursor, checkpoint and
    // the last success stay, and it leaves no lock behind.
    Commit(Page("people", {}, R"({"page": 2})", "r-unfinished"));
    redactor_.Add("sekrit-token-123");
    sink::RunEnd held;
    held.source = source_;
    held.resource = "people";
    held.outcome = RunOutcome::kHeld;
    held.error = "source held: token sekrit-token-123 rejected";
    held.next_run_at = sink::TimePoint(std::chrono::seconds(1'900'000'000));
    const auto before = State("people");
    ASSERT_TRUE(Ok(Run(sink_->RecordRun(held))));
    const auto after = State("people");
    EXPECT_EQ(after.last_outcome, RunOutcome::kHeld);
    EXPECT_EQ(after.last_error, "source held: token *** rejected");
    EXPECT_EQ(after.next_run_at, held.next_run_at);
    EXPECT_EQ(after.cursor, before.cursor);
    EXPECT_EQ(after.checkpoint.value_or(""), R"({"page": 2})");
    EXPECT_EQ(after.last_success_at, before.last_success_at);
    EXPECT_EQ(
        Scalar(
            "SELECT error || ' ' || pages || ' ' || (finished_at IS NOT NULL) FROM " +
            StateTable("runs") + " WHERE outcome = 'held'"
        ),
        "source held: token *** rejected 0 true"
    );
    auto b = Run(other->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(b));
    ASSERT_TRUE(Ok(Run(other->FinishRun(End("people", *b)))));

    held.outcome = RunOutcome::kSuccess;
    auto bad = Run(sink_->RecordRun(held));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error(), make_error_code(Errc::kSinkPermanent));
    other->Stop();
}

TEST_F(PgRunLockTest, StoppedProcessLeavesAnInterruptedRun) {
    auto other = MakeSink();
    auto a = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(a));
    ASSERT_FALSE(Run(other->BeginRun(source_, "people")).has_value());

    // A crash: the process goes away without FinishRun, and its lock session with it. The
    // server notices the closed connection and releases the lock a moment later.
    sink_->Stop();
    auto b = Run(other->BeginRun(source_, "people"));
    for (int i = 0; i < 100 && !b.has_value() && b.error() == Errc::kResourceBusy; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        b = Run(other->BeginRun(source_, "people"));
    }
    ASSERT_TRUE(Ok(b));
    EXPECT_EQ(Outcome(*a), "interrupted");
    EXPECT_EQ(Outcome(*b), "running");
    EXPECT_EQ(
        Scalar(
            "SELECT last_outcome FROM " + StateTable("resource_state") +
            " WHERE resource = 'people'"
        ),
        "interrupted"
    );
    other->Stop();
}

TEST_F(PgRunLockTest, FailedFinishRunStillReleasesTheLock) {
    auto other = MakeSink();
    auto a = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(a));
    auto bad = Run(sink_->FinishRun(End("people", *a, RunOutcome::kNotDue)));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error(), make_error_code(Errc::kSinkPermanent));

    auto b = Run(other->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(b));
    // The first run never recorded its end and its process holds no lock: it is dead.
    EXPECT_EQ(Outcome(*a), "interrupted");
    other->Stop();
}

TEST_F(PgRunLockTest, RepeatedBeginRunInOneSinkNeedsOneFinishRun) {
    auto other = MakeSink();
    ASSERT_TRUE(Ok(Run(sink_->BeginRun(source_, "people"))));
    auto second = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(second));
    ASSERT_TRUE(Ok(Run(sink_->FinishRun(End("people", *second)))));
    auto b = Run(other->BeginRun(source_, "people"));
    EXPECT_TRUE(Ok(b));
    other->Stop();
}

TEST_F(PgRunLockTest, BrokenLockSessionIsReplaced) {
    auto other = MakeSink();  // no session yet
    auto a = Run(sink_->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(a));
    Query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
        admin_->quote(application_name_)
    );
    // pg_terminate_backend only signals the backend: its locks go when it has exited.
    const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Query(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = " +
               admin_->quote(application_name_)
           )[0][0]
               .as<long>() != 0) {
        ASSERT_LT(std::chrono::steady_clock::now(), gone_by) << "the backend did not exit";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // The lock went with the session: the run in progress has lost it (accepted).
    auto b = Run(other->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(b));
    // The first sink does not trust its record of the lock.
    auto refused = Run(sink_->BeginRun(source_, "people"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), make_error_code(Errc::kResourceBusy)) << refused.error();
    EXPECT_EQ(Outcome(*b), "running");
    // And takes new locks on a new session.
    auto groups = Run(sink_->BeginRun(source_, "groups"));
    EXPECT_TRUE(Ok(groups));
    other->Stop();
}

TEST_F(PgSinkTest, LatchesSetGetClear) {
    auto none = Run(sink_->GetLatch(source_));
    ASSERT_TRUE(Ok(none));
    EXPECT_FALSE(none->has_value());

    sink::Latch latch;
    latch.source = source_;
    latch.reason = "TOKENBREACH";
    latch.set_at = sink::TimePoint(std::chrono::seconds(1'700'000'000));
    latch.set_by = "mesibo runner";
    ASSERT_TRUE(Ok(Run(sink_->SetLatch(latch))));
    auto got = Run(sink_->GetLatch(source_));
    ASSERT_TRUE(Ok(got));
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->reason, "TOKENBREACH");
    EXPECT_EQ((*got)->set_at, latch.set_at);
    EXPECT_EQ((*got)->set_by, "mesibo runner");

    auto cleared = Run(sink_->ClearLatch(source_));
    ASSERT_TRUE(cleared.has_value());
    EXPECT_TRUE(*cleared);
    auto again = Run(sink_->ClearLatch(source_));
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(*again);
    EXPECT_FALSE(Run(sink_->GetLatch(source_))->has_value());
}

TEST_F(PgSinkTest, EgressClaimsAreLimitedRecordedAndForgotten) {
    const auto claim = [&](const std::string& address) {
        auto run_id = Run(sink_->BeginRun(source_, "users"));
        EXPECT_TRUE(Ok(run_id));
        auto c = Run(sink_->ClaimEgress(source_, address, 2, *run_id));
        EXPECT_TRUE(Ok(c));
        sink::RunEnd end;
        end.source = source_;
        end.resource = "users";
        end.run_id = *run_id;
        end.outcome = RunOutcome::kSuccess;
        end.schema = source_;
        EXPECT_TRUE(Ok(Run(sink_->FinishRun(end))));
        EXPECT_EQ(
            Scalar(
                "SELECT egress FROM " + StateTable("runs") + " WHERE run_id = '" + *run_id + "'"
            ),
            address
        );
        return c.has_value() ? *c : sink::EgressClaim{};
    };
    auto first = claim("127.0.0.2");
    EXPECT_FALSE(first.refused);
    EXPECT_EQ(first.previous, "");
    auto same = claim("127.0.0.2");
    EXPECT_FALSE(same.refused);
    EXPECT_EQ(same.previous, "127.0.0.2");
    auto second = claim("127.0.0.3");
    EXPECT_FALSE(second.refused);
    EXPECT_EQ(second.previous, "127.0.0.2") << "a change of address is reported";
    // Two addresses are the limit: a third is refused and not added.
    auto third = claim("127.0.0.4");
    EXPECT_TRUE(third.refused);
    EXPECT_EQ(third.others.size(), 2U);
    EXPECT_EQ(
        Scalar(
            "SELECT count(*) FROM " + StateTable("egress") + " WHERE source = '" + source_ + "'"
        ),
        "2"
    );
    EXPECT_FALSE(claim("127.0.0.2").refused) << "a known address is always fine";
    auto forgot = Run(sink_->ForgetEgress(source_));
    ASSERT_TRUE(forgot.has_value());
    EXPECT_EQ(*forgot, 2);
    EXPECT_FALSE(claim("127.0.0.4").refused);
}

TEST_F(PgSinkTest, ResetAndListStates) {
    Commit(Page("a", {Write("a", {"id"}, People({{Int("1"), Txt("a")}}))}, R"({"p": 1})"));
    Commit(Page("b", {Write("b", {"id"}, People({{Int("1"), Txt("a")}}))}, R"({"p": 2})"));
    auto list = Run(sink_->ListStates());
    ASSERT_TRUE(Ok(list));
    ASSERT_EQ(list->size(), 2U);
    EXPECT_EQ((*list)[0].resource, "a");
    EXPECT_EQ((*list)[1].checkpoint.value_or(""), R"({"p": 2})");

    auto one = Run(sink_->ResetState(source_, "a"));
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(*one, 1);
    EXPECT_FALSE(State("a").checkpoint.has_value());
    EXPECT_TRUE(State("b").checkpoint.has_value());
    auto all = Run(sink_->ResetState(source_, ""));
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(*all, 2);
    EXPECT_FALSE(State("b").checkpoint.has_value());

    const auto fresh = State("never-ran");
    EXPECT_EQ(fresh.resource, "never-ran");
    EXPECT_FALSE(fresh.cursor.has_value());
    EXPECT_EQ(fresh.last_outcome, std::nullopt);
}

TEST_F(PgSinkTest, ReconnectsAfterTheConnectionIsKilled) {
    // Touch both pool threads' connections, then kill every session of this sink.
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(Ok(Run(sink_->Ping())));
    }
    Query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
        admin_->quote(application_name_)
    );
    // A connection that died while idle is replaced and the call repeated, so callers see
    // no failure.
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(Ok(Run(sink_->Ping())));
    }
    Commit(Page("people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}))}));
    Query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
        admin_->quote(application_name_)
    );
    Commit(Page("people", {Write("people", {"id"}, People({{Int("2"), Txt("b")}}))}));
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + Table("people")), "2");
}

TEST_F(PgSinkTest, StoppedSinkRefusesCalls) {
    sink_->Stop();
    auto r = Run(sink_->Ping());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kCancelled));
}

// Needs no database: the server is unreachable on purpose.
TEST(PgSinkUnreachable, PingFailsTransientAndHidesThePassword) {
    net::io_context ioc;
    Redactor redactor;
    const std::string password = "s3cr3t-Pa55word";
    for (const std::string& dsn :
         {"postgresql://chatsync:" + password + "@127.0.0.1:1/db",
          "host=127.0.0.1 port=1 user=chatsync password=" + password + " dbname=db",
          // libpq quotes the bad value back in its message.
          "host=127.0.0.1 port=" + password + " password=" + password}) {
        sink::PgSink::Options options;
        options.dsn = dsn;
        options.connect_timeout = std::chrono::seconds(2);
        sink::PgSink sink(options, redactor);
        auto r = RunAsync(ioc, sink.Ping());
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error(), make_error_code(Errc::kSinkTransient)) << r.error();
        EXPECT_NE(r.error().message(), r.error().code().message());
        EXPECT_EQ(r.error().message().find(password), std::string::npos) << r.error().message();
        EXPECT_EQ(r.error().message().find("Pa55"), std::string::npos) << r.error().message();
        sink.Stop();
    }
}

}  // namespace
}  // namespace chatsync::test

// libpqxx 6.4 loses a PGresult when a statement fails on a connection the server has closed
// (ReconnectsAfterTheConnectionIsKilled provokes it). The allocation is made inside libpq, which
// our code never calls directly, so LeakSanitizer builds ignore leaks allocated there; a leaked
// connection object would still be reported from our own frames.
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): sanitizer API
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libpq.so\n";
}
