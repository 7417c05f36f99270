#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "integration/pg_fixture.hpp"

/// @file
/// Failures of concurrent sink calls: each call's error carries its own explanation.

namespace chatsync::test {
namespace {

class SinkErrorsTest : public PgFixture {};

TEST_F(SinkErrorsTest, ConcurrentFailingCommitsEachReportTheirOwnCause) {
    // Two pages fail at once on the sink's two pool connections, each for a value its
    // column cannot take. Both finish before either caller reads its error, so an
    // explanation kept anywhere but in the result would be the same for both.
    const auto bad_number =
        MakeBatch(Cols({"id", "n"}), {{Int("1"), Value{"not a number", ColumnType::kBigint}}});
    const auto bad_time =
        MakeBatch(Cols({"id", "t"}), {{Int("1"), Value{"not a time", ColumnType::kTimestamptz}}});
    for (int round = 0; round < 3; ++round) {
        std::optional<Result<sink::WriteResult>> numbers;
        std::optional<Result<sink::WriteResult>> times;
        int done = 0;
        net::co_spawn(
            ioc_,
            sink_->CommitPage(Page("numbers", {Write("numbers", {"id"}, bad_number)})),
            [&](std::exception_ptr e, Result<sink::WriteResult> r) {
                EXPECT_FALSE(e);
                numbers = std::move(r);
                ++done;
            }
        );
        net::co_spawn(
            ioc_,
            sink_->CommitPage(Page("times", {Write("times", {"id"}, bad_time)})),
            [&](std::exception_ptr e, Result<sink::WriteResult> r) {
                EXPECT_FALSE(e);
                times = std::move(r);
                ++done;
            }
        );
        ioc_.restart();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (done < 2 && std::chrono::steady_clock::now() < deadline) {
            ioc_.run_one_for(std::chrono::milliseconds(50));
        }
        ASSERT_EQ(done, 2);
        ASSERT_TRUE(numbers && !numbers->has_value());
        ASSERT_TRUE(times && !times->has_value());
        EXPECT_EQ(numbers->error(), Errc::kSinkPermanent);
        EXPECT_EQ(times->error(), Errc::kSinkPermanent);
        const std::string number_error = numbers->error().message();
        const std::string time_error = times->error().message();
        EXPECT_NE(number_error.find("not a number"), std::string::npos) << number_error;
        EXPECT_EQ(number_error.find("not a time"), std::string::npos) << number_error;
        EXPECT_NE(time_error.find("not a time"), std::string::npos) << time_error;
        EXPECT_EQ(time_error.find("not a number"), std::string::npos) << time_error;
    }
}

TEST_F(SinkErrorsTest, AFailureAfterStopSaysTheSinkHasStopped) {
    sink_->Stop();
    auto r = Run(sink_->Ping());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), Errc::kCancelled);
    EXPECT_NE(r.error().message().find("stopped"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace chatsync::test
