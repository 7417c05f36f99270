#include "normalize/flatten.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "normalize/convert.hpp"

namespace chatsync::normalize {
namespace {

namespace json = boost::json;

struct Cell {
    std::string path;
    std::string name;
    ColumnType type;
    std::string text;
};

std::vector<Cell> Flat(const char* record, std::uint32_t max_nesting = 3) {
    RowBatch batch;
    AppendRecord(batch, json::parse(record).as_object(), {.max_nesting = max_nesting});
    std::vector<Cell> out;
    const auto& row = batch.rows().front();
    for (std::size_t i = 0; i < batch.columns().size(); ++i) {
        const auto& c = batch.columns()[i];
        out.push_back({c.path, c.name, c.type, i < row.size() && row[i] ? row[i]->text : "NULL"});
    }
    return out;
}

TEST(Flatten, TypesScalarsAndFlattensObjects) {
    const auto cells = Flat(R"({"id":7,"ok":true,"score":1.5,"updatedAt":"2024-01-05T10:00:00.000Z",
                                "name":"Zoë","lead":{"fullName":"A B","address":{"zip":"123"}},
                                "tags":["a","b"],"big":18446744073709551615,"none":null})");
    ASSERT_EQ(cells.size(), 10U);
    EXPECT_EQ(cells[0].name, "id");
    EXPECT_EQ(cells[0].type, ColumnType::kBigint);
    EXPECT_EQ(cells[1].type, ColumnType::kBoolean);
    EXPECT_EQ(cells[1].text, "true");
    EXPECT_EQ(cells[2].type, ColumnType::kDouble);
    EXPECT_EQ(cells[2].text, "1.5");
    EXPECT_EQ(cells[3].name, "updated_at");
    EXPECT_EQ(cells[3].type, ColumnType::kTimestamptz);
    EXPECT_EQ(cells[4].text, "Zoë");
    EXPECT_EQ(cells[5].path, "lead.fullName");
    EXPECT_EQ(cells[5].name, "lead__full_name");
    EXPECT_EQ(cells[6].name, "lead__address__zip");
    EXPECT_EQ(cells[7].type, ColumnType::kJsonb);
    EXPECT_EQ(cells[7].text, R"(["a","b"])");
    EXPECT_EQ(cells[8].type, ColumnType::kText);
    EXPECT_EQ(cells[8].text, "18446744073709551615");
    EXPECT_EQ(cells[9].path, "none");
    EXPECT_EQ(cells[9].text, "NULL");
}

TEST(Flatten, ObjectsBeyondMaxNestingStayJsonb) {
    const auto cells = Flat(R"({"a":{"b":{"c":{"d":1}}}})", 2);
    ASSERT_EQ(cells.size(), 1U);
    EXPECT_EQ(cells[0].name, "a__b");
    EXPECT_EQ(cells[0].type, ColumnType::kJsonb);
    EXPECT_EQ(cells[0].text, R"({"c":{"d":1}})");
}

TEST(Flatten, NullOnlyColumnsStayUntypedUntilAValueArrives) {
    RowBatch batch;
    AppendRecord(batch, json::parse(R"({"x":null})").as_object(), {});
    EXPECT_FALSE(batch.columns()[0].typed);
    AppendRecord(batch, json::parse(R"({"x":3})").as_object(), {});
    EXPECT_TRUE(batch.columns()[0].typed);
    EXPECT_EQ(batch.columns()[0].type, ColumnType::kBigint);
}

TEST(Flatten, MixedValuesWidenTheColumn) {
    RowBatch batch;
    AppendRecord(batch, json::parse(R"({"v":1})").as_object(), {});
    AppendRecord(batch, json::parse(R"({"v":"one"})").as_object(), {});
    EXPECT_EQ(batch.columns()[0].type, ColumnType::kText);
}

/// `record` parsed as pages are (ParseJson), flattened.
std::vector<Cell> FlatParsed(std::string_view record, std::uint32_t max_nesting = 3) {
    boost::system::error_code ec;
    ParseRepairs repairs;
    const auto v = ParseJson(record, ec, repairs);
    EXPECT_FALSE(ec) << ec.message();
    RowBatch batch;
    AppendRecord(batch, v.as_object(), {.max_nesting = max_nesting});
    std::vector<Cell> out;
    const auto& row = batch.rows().front();
    for (std::size_t i = 0; i < batch.columns().size(); ++i) {
        const auto& c = batch.columns()[i];
        out.push_back({c.path, c.name, c.type, i < row.size() && row[i] ? row[i]->text : "NULL"});
    }
    return out;
}

TEST(Flatten, IntegersBeyond64BitsAreExactNumerics) {
    const auto cells = FlatParsed(
        R"({"neg":-9223372036854775809,"big":123456789012345678901234567890,)"
        R"("in":{"list":[123456789012345678901234567890]}})",
        1
    );
    ASSERT_EQ(cells.size(), 3U);
    EXPECT_EQ(cells[0].type, ColumnType::kNumeric);
    EXPECT_EQ(cells[0].text, "-9223372036854775809");
    EXPECT_EQ(cells[1].type, ColumnType::kNumeric);
    EXPECT_EQ(cells[1].text, "123456789012345678901234567890");
    EXPECT_EQ(cells[2].type, ColumnType::kJsonb);
    EXPECT_EQ(cells[2].text, R"({"list":[123456789012345678901234567890]})");
}

TEST(Flatten, AFortyLevelFieldFlattensToMaxNestingAndKeepsTheRestAsJsonb) {
    std::string record;
    for (int i = 0; i < 40; ++i) {
        record += R"({"a":)";
    }
    record += "\"deep\"" + std::string(40, '}');
    const auto shallow = FlatParsed(record, 3);
    ASSERT_EQ(shallow.size(), 1U);
    EXPECT_EQ(shallow[0].name, "a__a__a");
    EXPECT_EQ(shallow[0].type, ColumnType::kJsonb);
    EXPECT_NE(shallow[0].text.find("\"deep\""), std::string::npos);
    const auto deep = FlatParsed(record, 64);
    ASSERT_EQ(deep.size(), 1U);
    EXPECT_EQ(deep[0].path.size(), 40U * 2 - 1);
    EXPECT_EQ(deep[0].type, ColumnType::kText);
    EXPECT_EQ(deep[0].text, "deep");
}

TEST(ConvertTo, DeclaredTypesTakeIntegersBeyond64BitsOnlyWhereExact) {
    boost::system::error_code ec;
    ParseRepairs repairs;
    const auto v = ParseJson("123456789012345678901234567890", ec, repairs);
    ASSERT_FALSE(ec);
    EXPECT_FALSE(ConvertTo(v, ColumnType::kBigint));
    EXPECT_FALSE(ConvertTo(v, ColumnType::kBoolean));
    EXPECT_FALSE(ConvertTo(v, ColumnType::kTimestamptz));
    EXPECT_EQ(ConvertTo(v, ColumnType::kText)->text, "123456789012345678901234567890");
    EXPECT_EQ(ConvertTo(v, ColumnType::kJsonb)->text, "123456789012345678901234567890");
    EXPECT_EQ(ConvertTo(v, ColumnType::kNumeric)->text, "123456789012345678901234567890");
    EXPECT_EQ(ConvertTo(v, ColumnType::kDouble)->text, "1.2345678901234568e+29");
    EXPECT_EQ(JsonTypeName(v), "a number");
    EXPECT_EQ(ConvertTo(json::value(12), ColumnType::kNumeric)->text, "12");
    EXPECT_EQ(ConvertTo(json::value("-1.50"), ColumnType::kNumeric)->text, "-1.50");
    EXPECT_FALSE(ConvertTo(json::value("12a"), ColumnType::kNumeric));
}

TEST(SnakeCase, ConvertsCommonShapes) {
    EXPECT_EQ(SnakeCase("updatedAt"), "updated_at");
    EXPECT_EQ(SnakeCase("HTTPCode"), "http_code");
    EXPECT_EQ(SnakeCase("first name"), "first_name");
    EXPECT_EQ(SnakeCase("_id"), "_id");
    EXPECT_EQ(SnakeCase("__v"), "__v");
    EXPECT_EQ(SnakeCase("id2Name"), "id2_name");
    EXPECT_EQ(SnakeCase(""), "_");
    EXPECT_EQ(SnakeCase("año"), "a__o");
}

}  // namespace
}  // namespace chatsync::normalize
