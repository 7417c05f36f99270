#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/redactor.hpp"
#include "core/table.hpp"
#include "core/text.hpp"
#include "core/time.hpp"

namespace chatsync {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsAndSums) {
    EXPECT_EQ(ParseDuration("250ms"), Millis{250});
    EXPECT_EQ(ParseDuration("30s"), Millis{30'000});
    EXPECT_EQ(ParseDuration("5m"), Millis{300'000});
    EXPECT_EQ(ParseDuration("1h30m"), Millis{5'400'000});
    EXPECT_EQ(ParseDuration("2d"), Millis{172'800'000});
    EXPECT_EQ(ParseDuration("0"), Millis{0});
}

TEST(Duration, RejectsMissingUnitsAndJunk) {
    EXPECT_FALSE(ParseDuration("30"));
    EXPECT_FALSE(ParseDuration(""));
    EXPECT_FALSE(ParseDuration("-5s"));
    EXPECT_FALSE(ParseDuration("5 s"));
    EXPECT_FALSE(ParseDuration("abc"));
    EXPECT_FALSE(ParseDuration("5x"));
}

TEST(Duration, RefusesWhatTheClocksCannotHold) {
    // Found by fuzz_config: the product overflowed 64 bits.
    EXPECT_FALSE(ParseDuration("2555555555555w"));
    EXPECT_FALSE(ParseDuration("9223372036854775807ms"));
    EXPECT_FALSE(ParseDuration("36500d1ms"));
    EXPECT_FALSE(ParseDuration("20000d20000d"));
    EXPECT_EQ(ParseDuration("36500d"), kMaxDuration);
    EXPECT_EQ(ParseDuration("5214w2d"), Millis{36'500LL * 86'400'000LL});
    // The longest accepted, added to now, stays on both clocks.
    const auto steady = std::chrono::steady_clock::now() + kMaxDuration;
    EXPECT_GT(steady, std::chrono::steady_clock::now());
    const auto system = std::chrono::system_clock::now() + kMaxDuration;
    EXPECT_GT(system, std::chrono::system_clock::now());
}

TEST(Duration, FormatsInLargestExactUnits) {
    EXPECT_EQ(FormatDuration(Millis{5'400'000}), "1h30m");
    EXPECT_EQ(FormatDuration(Millis{250}), "250ms");
    EXPECT_EQ(FormatDuration(Millis{0}), "0s");
}

TEST(ByteSize, ParsesBinaryAndDecimalUnits) {
    EXPECT_EQ(ParseByteSize("64MiB"), 64ULL << 20U);
    EXPECT_EQ(ParseByteSize("512"), 512U);
    EXPECT_EQ(ParseByteSize("1KB"), 1000U);
    EXPECT_FALSE(ParseByteSize("lots"));
    EXPECT_EQ(ParseByteSize("18446744073709551616"), std::nullopt);
    EXPECT_EQ(ParseByteSize("17179869183GiB"), 17179869183ULL << 30U);
    EXPECT_EQ(ParseByteSize("17179869184GiB"), std::nullopt);
}

TEST(Time, ParsesIso8601Variants) {
    const auto t = ParseIso8601("2024-01-31T12:00:00Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(FormatIso8601(*t), "2024-01-31T12:00:00.000Z");
    EXPECT_EQ(ParseIso8601("2024-01-31T14:00:00+02:00"), t);
    EXPECT_EQ(ParseIso8601("2024-01-31 12:00:00.000Z"), t);
    EXPECT_EQ(ParseIso8601("2024-01-31T12:00:00"), t);
    EXPECT_FALSE(ParseIso8601("2024-01-31T12:00:00", /*require_zone=*/true));
    EXPECT_FALSE(ParseIso8601("2024-02-30T12:00:00Z"));
    EXPECT_FALSE(ParseIso8601("yesterday"));
    EXPECT_EQ(
        FormatIso8601(*ParseIso8601("2024-01-31T12:00:00.123456Z")), "2024-01-31T12:00:00.123456Z"
    );
}

TEST(Time, FormatsAndParsesCustomPatterns) {
    const auto t = *ParseIso8601("2024-03-05T07:08:09.120Z");
    EXPECT_EQ(FormatTime(t, "%Y-%m-%d"), "2024-03-05");
    EXPECT_EQ(FormatTime(t, "%d/%m/%Y %H:%M:%S"), "05/03/2024 07:08:09");
    EXPECT_EQ(FormatTime(t, "%s"), "1709622489");
    EXPECT_EQ(
        ParseTime("05/03/2024 07:08:09", "%d/%m/%Y %H:%M:%S"), *ParseIso8601("2024-03-05T07:08:09Z")
    );
    EXPECT_EQ(ParseTime("1709622489", "%s"), *ParseIso8601("2024-03-05T07:08:09Z"));
    EXPECT_FALSE(ParseTime("2024-03-05x", "%Y-%m-%d"));
}

TEST(Json, FindsDottedPathsIntoObjectsAndArrays) {
    const auto v = boost::json::parse(R"({"a":{"b":[{"c":1},{"c":2}]}})");
    ASSERT_NE(FindPath(v, "a.b.1.c"), nullptr);
    EXPECT_EQ(FindPath(v, "a.b.1.c")->as_int64(), 2);
    EXPECT_EQ(FindPath(v, ""), &v);
    EXPECT_EQ(FindPath(v, "a.x"), nullptr);
    EXPECT_EQ(FindPath(v, "a.b.7"), nullptr);
    EXPECT_EQ(ScalarText(*FindPath(v, "a.b.0.c")), "1");
}

TEST(Table, WidensTypesWithoutLosingValues) {
    EXPECT_EQ(Widen(ColumnType::kBigint, ColumnType::kDouble), ColumnType::kDouble);
    EXPECT_EQ(Widen(ColumnType::kBigint, ColumnType::kBoolean), ColumnType::kText);
    EXPECT_EQ(Widen(ColumnType::kTimestamptz, ColumnType::kText), ColumnType::kText);
    EXPECT_EQ(Widen(ColumnType::kJsonb, ColumnType::kBigint), ColumnType::kJsonb);
    EXPECT_EQ(Widen(ColumnType::kText, ColumnType::kText), ColumnType::kText);
}

TEST(Table, RowBatchTracksColumnsAndWidens) {
    RowBatch batch;
    batch.AddRow();
    batch.Set(batch.Column("id", "id"), Value{"1", ColumnType::kBigint});
    batch.AddRow();
    batch.Set(batch.Column("id", "id"), Value{"1.5", ColumnType::kDouble});
    batch.Set(batch.Column("name", "name"), Value{"x", ColumnType::kText});
    ASSERT_EQ(batch.columns().size(), 2U);
    EXPECT_EQ(batch.columns()[0].type, ColumnType::kDouble);
    EXPECT_EQ(batch.columns()[1].type, ColumnType::kText);
    EXPECT_EQ(batch.rows()[0].size(), 1U);
    EXPECT_EQ(batch.rows()[1][1]->text, "x");
}

TEST(Json, AppendJsonStringEscapesQuotesBackslashesAndControls) {
    std::string out = "x=";
    AppendJsonString(out, "a\"b\\c\nd\re\tf\x01g \xc3\xa9");
    EXPECT_EQ(out, "x=\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g \xc3\xa9\"");
}

TEST(Table, CellTextQuotesStringsForJsonbColumns) {
    std::string scratch;
    EXPECT_EQ(
        CellText(Value{"a\"b\n", ColumnType::kText}, ColumnType::kJsonb, scratch), "\"a\\\"b\\n\""
    );
    EXPECT_EQ(CellText(Value{"5", ColumnType::kBigint}, ColumnType::kJsonb, scratch), "5");
    EXPECT_EQ(CellText(Value{"[1]", ColumnType::kJsonb}, ColumnType::kText, scratch), "[1]");
}

TEST(Redactor, MasksSecretsAndTheirUrlEncodedForm) {
    Redactor r;
    r.Add("s3cr3t/token+");
    r.Add("ab");
    EXPECT_EQ(r.Redact("url?t=s3cr3t%2Ftoken%2B and s3cr3t/token+ ab"), "url?t=*** and *** ab");
}

TEST(Text, EncodesUrlAndBase64) {
    EXPECT_EQ(UrlEncode("a b/c"), "a%20b%2Fc");
    EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
    EXPECT_EQ(Base64Encode("ab"), "YWI=");
}

TEST(Error, ConditionsMatchAcrossCategories) {
    EXPECT_EQ(make_error_code(Errc::kTimeout), Condition::kRetryable);
    EXPECT_EQ(make_error_code(Errc::kUpstreamAuth), Condition::kPermanent);
    EXPECT_EQ(ErrorKind(make_error_code(Errc::kUpstreamBadPayload)), "bad_payload");
}

}  // namespace
}  // namespace chatsync
