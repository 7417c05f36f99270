#include "core/run_outcome.hpp"

#include <sstream>
#include <string_view>

#include <gtest/gtest.h>

namespace chatsync {
namespace {

struct NamedOutcome {
    RunOutcome outcome;
    std::string_view name;
};

// The names stored in chatsync.runs and resource_state, and printed by `once` and `status`:
// they must not change.
constexpr NamedOutcome kCases[] = {
    {RunOutcome::kRunning, "running"},
    {RunOutcome::kSuccess, "success"},
    {RunOutcome::kFailed, "failed"},
    {RunOutcome::kCancelled, "cancelled"},
    {RunOutcome::kInterrupted, "interrupted"},
    {RunOutcome::kHeld, "held"},
    {RunOutcome::kLatched, "latched"},
    {RunOutcome::kSkipped, "skipped"},
    {RunOutcome::kNotDue, "not_due"},
};

TEST(RunOutcome, NamesAreTheStoredStrings) {
    for (const auto& c : kCases) {
        EXPECT_EQ(OutcomeName(c.outcome), c.name);
    }
}

TEST(RunOutcome, ParseReadsBackEveryName) {
    for (const auto& c : kCases) {
        const auto parsed = ParseOutcome(OutcomeName(c.outcome));
        ASSERT_TRUE(parsed.has_value()) << c.name;
        EXPECT_EQ(*parsed, c.outcome);
    }
}

TEST(RunOutcome, ParseRefusesOtherText) {
    EXPECT_FALSE(ParseOutcome("").has_value());
    EXPECT_FALSE(ParseOutcome("Success").has_value());
    EXPECT_FALSE(ParseOutcome("ok").has_value());
    EXPECT_FALSE(ParseOutcome("unknown").has_value());
}

TEST(RunOutcome, StreamsItsName) {
    std::ostringstream os;
    os << RunOutcome::kNotDue;
    EXPECT_EQ(os.str(), "not_due");
}

}  // namespace
}  // namespace chatsync
