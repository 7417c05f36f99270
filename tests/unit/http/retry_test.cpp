#include "http/retry.hpp"

#include <gtest/gtest.h>

namespace chatsync::http {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

/// 1994-11-06T08:49:37Z, the example instant of RFC 9110 section 5.6.7.
system_clock::time_point ExampleInstant() {
    using namespace std::chrono;
    return sys_days{year{1994} / November / 6} + 8h + 49min + 37s;
}

TEST(ParseRetryAfter, ReadsDelaySeconds) {
    const auto now = system_clock::now();
    EXPECT_EQ(ParseRetryAfter("120", now), Millis{120'000});
    EXPECT_EQ(ParseRetryAfter(" 0 ", now), Millis{0});
    // RFC 9111 section 1.2.2: too large to represent means 2^31 seconds.
    EXPECT_EQ(
        ParseRetryAfter("99999999999999999999999", now),
        std::chrono::duration_cast<Millis>(std::chrono::seconds{1LL << 31})
    );
}

TEST(ParseRetryAfter, ReadsAllThreeHttpDateForms) {
    const auto now = ExampleInstant() - 90s;
    EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), Millis{90'000});
    EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), Millis{90'000});
    EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), Millis{90'000});
}

TEST(ParseRetryAfter, DatesCenturiesAwayAreThePastOrTheLongestDelay) {
    // Years that system_clock's nanoseconds cannot hold: computed in seconds, no overflow.
    const auto now = ExampleInstant();
    EXPECT_EQ(ParseRetryAfter("Wed, 01 Jul 1272 02:30:00 GMT", now), Millis{0});
    EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0000 00:00:00 GMT", now), Millis{0});
    const auto longest = std::chrono::duration_cast<Millis>(std::chrono::seconds{1LL << 31});
    EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now), longest);
    EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 2094", now), longest);
    EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 2024", now), Millis{946'771'200'000});
}

TEST(ParseRetryAfter, RoundsSubSecondRemaindersUp) {
    const auto now = ExampleInstant() - 1500ms - 250us;
    EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), Millis{1501});
}

TEST(ParseRetryAfter, GivesZeroForPastDates) {
    const auto now = ExampleInstant() + 24h;
    EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), Millis{0});
    EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", ExampleInstant()), Millis{0});
}

TEST(ParseRetryAfter, ReadsTwoDigitYearsRelativeToNow) {
    using namespace std::chrono;
    const system_clock::time_point now = sys_days{year{2024} / January / 1};
    // "30" is 2030, not 1930; "94" would be 2094, more than 50 years ahead, so it is 1994.
    const auto future = ParseRetryAfter("Tuesday, 01-Jan-30 00:00:00 GMT", now);
    ASSERT_TRUE(future);
    EXPECT_EQ(*future, duration_cast<Millis>(sys_days{year{2030} / January / 1} - now));
    EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), Millis{0});
}

TEST(ParseRetryAfter, RejectsJunk) {
    const auto now = system_clock::now();
    for (const char* bad :
         {"",
          "soon",
          "-5",
          "1.5",
          "12s",
          "Sun, 06 Nov 1994 08:49:37",
          "Sun, 31 Feb 1994 08:49:37 GMT",
          "Sun, 06 Foo 1994 08:49:37 GMT",
          "Sun, 06 Nov 1994 25:49:37 GMT",
          "Sun Nov  6 08:49:37 1994 extra"}) {
        EXPECT_FALSE(ParseRetryAfter(bad, now)) << bad;
    }
}

TEST(BackoffDelay, StaysWithinTheFullJitterBounds) {
    const BackoffPolicy policy{.initial = 100ms, .max = 1000ms, .max_attempts = 5};
    std::mt19937_64 rng(42);
    for (std::uint32_t attempt = 0; attempt < 8; ++attempt) {
        const Millis cap = std::min<Millis>(1000ms, 100ms * (1LL << attempt));
        Millis largest{0};
        for (int i = 0; i < 500; ++i) {
            const Millis d = BackoffDelay(policy, attempt, rng);
            ASSERT_GE(d, 0ms);
            ASSERT_LE(d, cap);
            largest = std::max(largest, d);
        }
        // 500 uniform draws land in the top fifth of the range with near certainty.
        EXPECT_GT(largest, cap * 4 / 5) << "attempt " << attempt;
    }
}

TEST(BackoffDelay, SurvivesHugeAttemptsAndZeroPolicies) {
    std::mt19937_64 rng(7);
    const BackoffPolicy policy{.initial = 1s, .max = 60s, .max_attempts = 5};
    EXPECT_LE(BackoffDelay(policy, 4'000'000'000U, rng), 60s);
    const BackoffPolicy zero{.initial = 0ms, .max = 0ms, .max_attempts = 1};
    EXPECT_EQ(BackoffDelay(zero, 4'000'000'000U, rng), 0ms);
}

}  // namespace
}  // namespace chatsync::http
