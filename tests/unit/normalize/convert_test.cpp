#include "normalize/convert.hpp"

#include <optional>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "normalize/flatten.hpp"

namespace chatsync::normalize {
namespace {

namespace json = boost::json;

/// One JSON value, the declared type, and the text it converts to (nullptr: refused).
struct Conversion {
    const char* json;
    ColumnType type;
    const char* text;
};

class DeclaredConversion : public testing::TestWithParam<Conversion> {};

TEST_P(DeclaredConversion, TakesEveryFormOfTheTypeAndRefusesTheRest) {
    const auto& c = GetParam();
    const auto got = ConvertTo(json::parse(c.json), c.type);
    if (c.text == nullptr) {
        EXPECT_FALSE(got) << c.json << " became " << got->text;
        return;
    }
    ASSERT_TRUE(got) << c.json;
    EXPECT_EQ(got->text, c.text) << c.json;
    EXPECT_EQ(got->type, c.type) << c.json;
}

constexpr auto kBool = ColumnType::kBoolean;
constexpr auto kBig = ColumnType::kBigint;
constexpr auto kDbl = ColumnType::kDouble;
constexpr auto kTs = ColumnType::kTimestamptz;
constexpr auto kText = ColumnType::kText;
constexpr auto kJson = ColumnType::kJsonb;

const Conversion kConversions[] = {
    // boolean: true/false, 0/1 as numbers, "0"/"1"/"true"/"false" as strings.
    {"true", kBool, "true"},
    {"false", kBool, "false"},
    {"1", kBool, "true"},
    {"0", kBool, "false"},
    {"1.0", kBool, "true"},
    {"\"1\"", kBool, "true"},
    {"\"0\"", kBool, "false"},
    {"\"true\"", kBool, "true"},
    {"\"FALSE\"", kBool, "false"},
    {"2", kBool, nullptr},
    {"-1", kBool, nullptr},
    {"0.5", kBool, nullptr},
    {"\"yes\"", kBool, nullptr},
    {"\"\"", kBool, nullptr},
    {"\" 1\"", kBool, nullptr},
    {"[true]", kBool, nullptr},
    {"{\"a\":1}", kBool, nullptr},
    // bigint: integers, whole numbers, and strings of digits with an optional sign.
    {"5302", kBig, "5302"},
    {"-7", kBig, "-7"},
    {"9223372036854775807", kBig, "9223372036854775807"},
    {"9223372036854775808", kBig, nullptr},
    {"5.0", kBig, "5"},
    {"5.5", kBig, nullptr},
    {"1e300", kBig, nullptr},
    {"\"5302\"", kBig, "5302"},
    {"\"+12\"", kBig, "12"},
    {"\"-12\"", kBig, "-12"},
    {"\"007\"", kBig, "7"},
    {"\"9223372036854775808\"", kBig, nullptr},
    {"\"12a\"", kBig, nullptr},
    {"\"0x1\"", kBig, nullptr},
    {"\"1.5\"", kBig, nullptr},
    {"\"\"", kBig, nullptr},
    {"\"-\"", kBig, nullptr},
    {"\"+-1\"", kBig, nullptr},
    {"\" 1\"", kBig, nullptr},
    {"true", kBig, nullptr},
    // double precision: numbers and numeric strings.
    {"2.5", kDbl, "2.5"},
    {"3", kDbl, "3"},
    {"\"2.5\"", kDbl, "2.5"},
    {"\"-1e3\"", kDbl, "-1000"},
    {"\"+4\"", kDbl, "4"},
    {"\"nan\"", kDbl, nullptr},
    {"\"inf\"", kDbl, nullptr},
    {"\"1e999\"", kDbl, nullptr},
    {"\"0x10\"", kDbl, nullptr},
    {"\"1,5\"", kDbl, nullptr},
    {"false", kDbl, nullptr},
    // timestamptz: what type inference reads as an ISO-8601 date-time.
    {"\"2024-01-05T10:00:00Z\"", kTs, "2024-01-05T10:00:00.000Z"},
    {"\"2024-01-05 12:00:00+02:00\"", kTs, "2024-01-05T10:00:00.000Z"},
    {"\"yesterday\"", kTs, nullptr},
    {"1704448800", kTs, nullptr},
    // text and jsonb take anything.
    {"\"abc\"", kText, "abc"},
    {"12", kText, "12"},
    {"true", kText, "true"},
    {"[1,2]", kText, "[1,2]"},
    {"\"abc\"", kJson, "\"abc\""},
    {"12", kJson, "12"},
    {"{\"a\":[1]}", kJson, "{\"a\":[1]}"},
};

INSTANTIATE_TEST_SUITE_P(Table, DeclaredConversion, testing::ValuesIn(kConversions));

TEST(DeclaredConversion, NullIsNeverAValue) {
    EXPECT_FALSE(ConvertTo(json::value(nullptr), ColumnType::kText));
    EXPECT_EQ(JsonTypeName(json::value(nullptr)), "null");
    EXPECT_EQ(JsonTypeName(json::parse("\"x\"")), "a string");
    EXPECT_EQ(JsonTypeName(json::parse("1.5")), "a number");
    EXPECT_EQ(JsonTypeName(json::parse("{}")), "an object");
}

/// Flattens `records` into one batch with `declared` types.
RowBatch FlattenAll(
    std::initializer_list<const char*> records,
    const DeclaredTypes& declared,
    std::optional<BadValue>* bad = nullptr
) {
    RowBatch batch;
    const FlattenOptions options{.max_nesting = 3, .declared = &declared};
    for (const char* r : records) {
        auto b = AppendRecord(batch, json::parse(r).as_object(), options);
        if (b && bad != nullptr) {
            *bad = std::move(b);
            break;
        }
        EXPECT_FALSE(b) << r << ": " << b->Describe();
    }
    return batch;
}

std::string CellText(const RowBatch& batch, std::size_t row, std::string_view path) {
    const auto col = batch.FindColumn(path);
    if (!col) {
        return "no column";
    }
    const auto& r = batch.rows().at(row);
    return *col < r.size() && r[*col] ? r[*col]->text : "NULL";
}

TEST(FlattenDeclared, DeclaredColumnsKeepTheirTypeWhateverTheAnswersForm) {
    const DeclaredTypes declared{
        {"uid", ColumnType::kBigint},
        {"pinned", ColumnType::kBoolean},
        {"perm.send", ColumnType::kBoolean},
        {"profile", ColumnType::kJsonb},
        {"never", ColumnType::kBoolean},
    };
    const auto batch = FlattenAll(
        {R"({"uid":5302,"pinned":0,"perm":{"send":1},"profile":{"name":"A"},"never":null,"x":1})",
         R"({"uid":"5303","pinned":true,"perm":{"send":"false"},"profile":null,"never":null,
             "x":"one"})",
         R"({"uid":"-1","pinned":"1","perm":{"send":true}})"},
        declared
    );
    const auto type = [&](std::string_view path) {
        const auto& c = batch.columns().at(*batch.FindColumn(path));
        EXPECT_TRUE(c.typed) << path;
        return c.type;
    };
    EXPECT_EQ(type("uid"), ColumnType::kBigint);
    EXPECT_EQ(type("pinned"), ColumnType::kBoolean);
    EXPECT_EQ(type("perm.send"), ColumnType::kBoolean);
    EXPECT_EQ(type("profile"), ColumnType::kJsonb);
    // Null throughout, yet typed: the sink creates the column with its declared type.
    EXPECT_EQ(type("never"), ColumnType::kBoolean);
    // Undeclared fields are inferred and widen as before.
    EXPECT_EQ(type("x"), ColumnType::kText);
    EXPECT_FALSE(batch.FindColumn("profile.name"));
    EXPECT_EQ(batch.columns().at(*batch.FindColumn("perm.send")).name, "perm__send");

    EXPECT_EQ(CellText(batch, 0, "uid"), "5302");
    EXPECT_EQ(CellText(batch, 1, "uid"), "5303");
    EXPECT_EQ(CellText(batch, 2, "uid"), "-1");
    EXPECT_EQ(CellText(batch, 0, "pinned"), "false");
    EXPECT_EQ(CellText(batch, 1, "pinned"), "true");
    EXPECT_EQ(CellText(batch, 2, "pinned"), "true");
    EXPECT_EQ(CellText(batch, 0, "perm.send"), "true");
    EXPECT_EQ(CellText(batch, 1, "perm.send"), "false");
    EXPECT_EQ(CellText(batch, 0, "profile"), R"({"name":"A"})");
    EXPECT_EQ(CellText(batch, 1, "profile"), "NULL");
    EXPECT_EQ(CellText(batch, 0, "never"), "NULL");
}

TEST(FlattenDeclared, AValueTheTypeCannotTakeIsReportedWithoutTheValue) {
    const DeclaredTypes declared{{"flags.online", ColumnType::kBoolean}};
    std::optional<BadValue> bad;
    FlattenAll(
        {R"({"flags":{"online":1}})", R"({"flags":{"online":"secret-ish text"}})"}, declared, &bad
    );
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->path, "flags.online");
    EXPECT_EQ(bad->received, "a string");
    EXPECT_EQ(
        bad->Describe(),
        "field 'flags.online' is declared boolean but holds a string that cannot be read as one"
    );
    EXPECT_EQ(bad->Describe().find("secret"), std::string::npos);

    std::optional<BadValue> object;
    FlattenAll({R"({"flags":{"online":{"a":1}}})"}, declared, &object);
    ASSERT_TRUE(object);
    EXPECT_EQ(object->received, "an object");
}

TEST(FlattenDeclared, AppendKeepsTheDeclaredType) {
    const DeclaredTypes declared{{"v", ColumnType::kBoolean}};
    RowBatch a = FlattenAll({R"({"v":null})"}, declared);
    RowBatch b = FlattenAll({R"({"v":"1"})"}, {});
    b.Append(std::move(a));
    const auto& col = b.columns().at(*b.FindColumn("v"));
    EXPECT_TRUE(col.declared);
    EXPECT_EQ(col.type, ColumnType::kBoolean);
}

}  // namespace
}  // namespace chatsync::normalize
