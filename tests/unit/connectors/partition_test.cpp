#include "connectors/partition.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

PartitionSpec Spec() {
    PartitionSpec s;
    s.field = "address";
    s.alphabet = "ab";
    s.split_at = 3;
    s.escape_chars = "%_\\";
    return s;
}

json::array Users(std::initializer_list<const char*> addresses) {
    json::array out;
    for (const char* a : addresses) {
        out.push_back(json::object{{"address", a}});
    }
    return out;
}

TEST(Partition, PatternEscapesLikeMetacharactersAndAddsTheWildcard) {
    const auto s = Spec();
    EXPECT_EQ(PartitionPattern(s, {"", false}), "*");
    EXPECT_EQ(PartitionPattern(s, {"support_team", false}), "support\\_team*");
    EXPECT_EQ(PartitionPattern(s, {"100%", false}), "100\\%*");
    EXPECT_EQ(PartitionPattern(s, {"a\\b", false}), "a\\\\b*");
    // An exact call compares for equality: nothing to escape, no wildcard.
    EXPECT_EQ(PartitionPattern(s, {"support_team", true}), "support_team");
}

TEST(Partition, AnAnswerBelowTheCapIsFinal) {
    bool too_deep = true;
    EXPECT_TRUE(SplitPartition(Spec(), {"a", false}, Users({"a1", "a2"}), too_deep).empty());
    EXPECT_FALSE(too_deep);
    EXPECT_TRUE(SplitPartition(Spec(), {"a", true}, Users({"a", "a", "a"}), too_deep).empty())
        << "an exact call is never split";
}

TEST(Partition, AFullAnswerSplitsIntoTheExactPrefixAndEveryNextCharacter) {
    bool too_deep = false;
    const auto parts = SplitPartition(Spec(), {"x", false}, Users({"xa1", "xb2", "x+3"}), too_deep);
    const std::vector<Partition> want{{"x", true}, {"xa", false}, {"xb", false}, {"x+", false}};
    EXPECT_EQ(parts, want) << "'+' is not in the alphabet but the answer shows it";
}

TEST(Partition, TheRootHasNoExactCallAndMultibyteCharactersStayWhole) {
    bool too_deep = false;
    const auto parts = SplitPartition(Spec(), {"", false}, Users({"é1", "a2", "b3"}), too_deep);
    const std::vector<Partition> want{{"a", false}, {"b", false}, {"é", false}};
    EXPECT_EQ(parts, want);
}

TEST(Partition, StopsAtTheLongestPrefix) {
    auto s = Spec();
    s.max_prefix = 2;
    bool too_deep = false;
    EXPECT_TRUE(SplitPartition(s, {"ab", false}, Users({"ab1", "ab2", "ab3"}), too_deep).empty());
    EXPECT_TRUE(too_deep);
}

TEST(Partition, RoundTripsThroughTheCheckpoint) {
    const Partition p{"support_", true};
    EXPECT_EQ(Partition::FromJson(p.ToJson()), p);
    EXPECT_EQ(Partition::FromJson(json::parse("[1]")), Partition{});
}

}  // namespace
}  // namespace chatsync::connectors
