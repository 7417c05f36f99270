// ParseJson: the values Boost.JSON or PostgreSQL would refuse or change (NUL, lone surrogates,
// integers beyond 64 bits, deep nesting) parse to storable values, and each is counted.

#include "core/json.hpp"

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "core/table.hpp"

namespace chatsync {
namespace {

namespace json = boost::json;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

struct Parsed {
    json::value value;
    boost::system::error_code ec;
    ParseRepairs repairs;
};

Parsed Parse(std::string_view text) {
    Parsed out;
    out.value = ParseJson(text, out.ec, out.repairs);
    return out;
}

/// `levels` nested objects {"a":{"a":...{"a":1}}}.
std::string Nested(std::size_t levels) {
    std::string text;
    for (std::size_t i = 0; i < levels; ++i) {
        text += R"({"a":)";
    }
    text += "1";
    text.append(levels, '}');
    return text;
}

TEST(ParseJson, NulBecomesTheReplacementCharacterInValuesAndKeys) {
    const auto p = Parse(R"({"text":"paste\u0000d","k\u0000":["x\u0000y"]})");
    ASSERT_FALSE(p.ec) << p.ec.message();
    EXPECT_EQ(p.repairs.nul, 3U);
    EXPECT_EQ(
        std::string(p.value.at("text").as_string()), "paste" + std::string(kReplacement) + "d"
    );
    const auto key = "k" + std::string(kReplacement);
    EXPECT_EQ(
        std::string(p.value.at(key).as_array().at(0).as_string()),
        "x" + std::string(kReplacement) + "y"
    );
    EXPECT_EQ(SerializeJson(p.value).find('\0'), std::string::npos);
}

TEST(ParseJson, LoneSurrogatesBecomeTheReplacementCharacterAndPairsStay) {
    const struct {
        const char* text;
        std::string expected;
        std::size_t repaired;
    } cases[] = {
        {R"("a\ud800b")", "a" + std::string(kReplacement) + "b", 1},
        {R"("a\udc00b")", "a" + std::string(kReplacement) + "b", 1},
        {R"("\ud800\u0041")", std::string(kReplacement) + "A", 1},
        {R"("\ud800\ud800\ude00")", std::string(kReplacement) + "\xF0\x90\x88\x80", 1},
        {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80", 0},
        {R"("a\\ud800b")", "a\\ud800b", 0},
    };

    for (const auto& c : cases) {
        const auto p = Parse(c.text);
        ASSERT_FALSE(p.ec) << c.text << ": " << p.ec.message();
        EXPECT_EQ(std::string(p.value.as_string()), c.expected) << c.text;
        EXPECT_EQ(p.repairs.surrogate, c.repaired) << c.text;
        EXPECT_EQ(p.repairs.nul, 0U) << c.text;
    }
}

TEST(ParseJson, IntegersBeyond64BitsStayExact) {
    const auto p = Parse(R"({"neg":-9223372036854775809,"big":123456789012345678901234567890,)"
                         R"("min":-9223372036854775808,"umax":18446744073709551615,"d":1.5e300,)"
                         R"("s":"123456789012345678901234567890","a":[99999999999999999999]})");
    ASSERT_FALSE(p.ec) << p.ec.message();
    EXPECT_EQ(p.repairs.big_integer, 3U);
    EXPECT_EQ(BigIntegerText(p.value.at("neg")), "-9223372036854775809");
    EXPECT_EQ(BigIntegerText(p.value.at("big")), "123456789012345678901234567890");
    EXPECT_EQ(p.value.at("min").as_int64(), INT64_MIN);
    EXPECT_EQ(p.value.at("umax").as_uint64(), UINT64_MAX);
    EXPECT_FALSE(BigIntegerText(p.value.at("s")));
    EXPECT_FALSE(BigIntegerText(p.value.at("d")));
    EXPECT_EQ(ScalarText(p.value.at("big")), "123456789012345678901234567890");
    EXPECT_EQ(
        SerializeJson(p.value),
        R"({"neg":-9223372036854775809,"big":123456789012345678901234567890,)"
        R"("min":-9223372036854775808,"umax":18446744073709551615,"d":1.5E300,)"
        R"("s":"123456789012345678901234567890","a":[99999999999999999999]})"
    );
}

TEST(ParseJson, WhatIsNotJsonStaysRefused) {
    for (const char* text : {
             R"({123456789012345678901234567890:1})",
             R"({"a":0123456789012345678901234567890})",
             R"({"a":"\u00"})",
             "[1,",
         }) {
        const auto p = Parse(text);
        EXPECT_TRUE(p.ec) << text;
    }
}

TEST(ParseJson, NestingIsAcceptedUpToTheCeiling) {
    const auto forty = Parse(Nested(40));
    ASSERT_FALSE(forty.ec) << forty.ec.message();
    EXPECT_EQ(forty.repairs.deep, 1U);
    EXPECT_EQ(Parse(Nested(kDeepJsonDepth)).repairs.deep, 0U);
    EXPECT_FALSE(Parse(Nested(kMaxJsonDepth)).ec);
    const auto too_deep = Parse(Nested(kMaxJsonDepth + 1));
    EXPECT_TRUE(too_deep.ec);
}

TEST(ParseJsonKeepingNul, KeepsNulsSoThatSerializingGivesTheValuesBack) {
    const std::string_view text =
        R"({"a":"paste\u0000d","k\u0000":1,"lead":"\u00001","big":123456789012345678901234567890,)"
        R"("who":"a\ud800b"})";
    boost::system::error_code ec;
    const json::value v = ParseJsonKeepingNul(text, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(v.at("a").as_string(), std::string_view("paste\0d", 7));
    EXPECT_TRUE(v.as_object().contains(std::string_view("k\0", 2)));
    // A string led by a NUL is not read as a kept integer, and serializes as it came.
    EXPECT_FALSE(BigIntegerText(v.at("lead")));
    EXPECT_EQ(BigIntegerText(v.at("big")), "123456789012345678901234567890");
    const std::string out = SerializeJson(v);
    const std::string who = "\"who\":\"a" + std::string(kReplacement) + "b\"";
    EXPECT_EQ(
        out,
        R"({"a":"paste\u0000d","k\u0000":1,"lead":"\u00001","big":123456789012345678901234567890,)" +
            who + "}"
    );
    // Parsed again by any JSON parser, the NULs are back.
    EXPECT_EQ(
        json::parse(out).at("lead").as_string(),
        std::string_view(
            "\0"
            "1",
            2
        )
    );
}

TEST(ColumnTypeNumeric, WidensNumbersAndRoundTripsItsName) {
    EXPECT_EQ(Widen(ColumnType::kBigint, ColumnType::kNumeric), ColumnType::kNumeric);
    EXPECT_EQ(Widen(ColumnType::kNumeric, ColumnType::kDouble), ColumnType::kNumeric);
    EXPECT_EQ(Widen(ColumnType::kNumeric, ColumnType::kText), ColumnType::kText);
    EXPECT_EQ(Widen(ColumnType::kNumeric, ColumnType::kJsonb), ColumnType::kJsonb);
    EXPECT_EQ(ColumnTypeName(ColumnType::kNumeric), "numeric");
    std::string scratch;
    const Value big{"123456789012345678901234567890", ColumnType::kNumeric};
    EXPECT_EQ(CellText(big, ColumnType::kJsonb, scratch), "123456789012345678901234567890");
    EXPECT_EQ(CellText(big, ColumnType::kText, scratch), "123456789012345678901234567890");
}

}  // namespace
}  // namespace chatsync
