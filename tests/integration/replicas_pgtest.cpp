// Several daemons on one database: the shared schedule's claims, the replicas' heartbeats and
// the replica recorded with each run (README "Running several replicas").

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "integration/pg_fixture.hpp"

namespace chatsync::test {
namespace {

using namespace std::chrono_literals;

class PgReplicasTest : public PgFixture {
protected:
    std::string ClaimedBy(const std::string& resource) {
        return Scalar(
            "SELECT claimed_by FROM " + StateTable("resource_state") + " WHERE source = '" +
            source_ + "' AND resource = '" + resource + "'"
        );
    }
};

TEST_F(PgReplicasTest, ADueResourceIsClaimedByOneReplicaForOneInterval) {
    auto a = MakeSink("a");
    auto b = MakeSink("b");
    auto first = Run(a->ClaimRun(source_, "people", 1h));
    ASSERT_TRUE(Ok(first));
    EXPECT_TRUE(first->claimed) << "never scheduled: due";
    EXPECT_EQ(ClaimedBy("people"), "a");

    auto second = Run(b->ClaimRun(source_, "people", 1h));
    ASSERT_TRUE(Ok(second));
    EXPECT_FALSE(second->claimed);
    EXPECT_GT(second->due_in, 59min);
    EXPECT_LE(second->due_in, 1h);
    auto again = Run(a->ClaimRun(source_, "people", 1h));
    ASSERT_TRUE(Ok(again));
    EXPECT_FALSE(again->claimed) << "the claimer too waits for the interval";
    EXPECT_EQ(ClaimedBy("people"), "a");

    // Another resource is due on its own.
    auto other = Run(b->ClaimRun(source_, "groups", 1h));
    ASSERT_TRUE(Ok(other));
    EXPECT_TRUE(other->claimed);

    // Once the interval has passed (as a run's end or a killed replica's lapsed claim leaves
    // it), whoever asks first claims it.
    Query(
        "UPDATE " + StateTable("resource_state") +
        " SET next_run_at = now() - interval '1 second' WHERE source = '" + source_ +
        "' AND resource = 'people'"
    );
    auto late = Run(b->ClaimRun(source_, "people", 1h));
    ASSERT_TRUE(Ok(late));
    EXPECT_TRUE(late->claimed);
    EXPECT_EQ(ClaimedBy("people"), "b");
    a->Stop();
    b->Stop();
}

Task<void> ClaimInto(sink::PgSink* sink, std::string source, Result<sink::RunClaim>* out) {
    *out = co_await sink->ClaimRun(std::move(source), "people", 1h);
}

/// Claims the resource from every sink at once and waits for every answer.
Task<std::vector<Result<sink::RunClaim>>>
ClaimTogether(std::vector<std::unique_ptr<sink::PgSink>>* sinks, std::string source) {
    const auto ex = co_await net::this_coro::executor;
    std::vector<Result<sink::RunClaim>> answers(sinks->size(), make_error_code(Errc::kCancelled));
    std::size_t finished = 0;
    for (std::size_t i = 0; i < sinks->size(); ++i) {
        net::co_spawn(
            ex,
            ClaimInto((*sinks)[i].get(), source, &answers[i]),
            [&finished](std::exception_ptr) { ++finished; }
        );
    }
    net::steady_timer timer(ex);
    while (finished < sinks->size()) {
        timer.expires_after(5ms);
        co_await timer.async_wait(kUseAwaitable);
    }
    co_return answers;
}

TEST_F(PgReplicasTest, OfClaimsAtOnceExactlyOneWins) {
    std::vector<std::unique_ptr<sink::PgSink>> sinks;
    for (int i = 0; i < 6; ++i) {
        sinks.push_back(MakeSink("r" + std::to_string(i)));
    }
    for (int round = 0; round < 3; ++round) {
        const auto answers = Run(ClaimTogether(&sinks, source_));
        int won = 0;
        for (const auto& answer : answers) {
            ASSERT_TRUE(Ok(answer));
            won += answer->claimed ? 1 : 0;
        }
        EXPECT_EQ(won, 1) << "round " << round;
        Query(
            "UPDATE " + StateTable("resource_state") +
            " SET next_run_at = now() - interval '1 second' WHERE source = '" + source_ + "'"
        );
    }
    for (auto& s : sinks) {
        s->Stop();
    }
}

TEST_F(PgReplicasTest, HeartbeatsCountTheLiveReplicasAndALeavingOneAtOnce) {
    auto a = MakeSink("a");
    auto b = MakeSink("b");
    auto one = Run(a->Heartbeat(30s));
    ASSERT_TRUE(Ok(one));
    EXPECT_EQ(*one, 1U);
    auto two = Run(b->Heartbeat(30s));
    ASSERT_TRUE(Ok(two));
    EXPECT_EQ(*two, 2U);
    EXPECT_EQ(*Run(a->Heartbeat(30s)), 2U) << "a renewal is not a new replica";

    // A replica silent for longer than the time-to-live is no longer counted.
    Query(
        "UPDATE " + StateTable("replicas") +
        " SET heartbeat_at = now() - interval '1 minute' WHERE name = 'b'"
    );
    EXPECT_EQ(*Run(a->Heartbeat(30s)), 1U);
    EXPECT_EQ(*Run(b->Heartbeat(30s)), 2U);

    ASSERT_TRUE(Ok(Run(b->LeaveReplicas())));
    EXPECT_EQ(*Run(a->Heartbeat(30s)), 1U);
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + StateTable("replicas")), "1");
    a->Stop();
    b->Stop();
}

TEST_F(PgReplicasTest, EveryRunRecordsItsReplica) {
    auto a = MakeSink("a");
    auto b = MakeSink("b");
    auto run = Run(a->BeginRun(source_, "people"));
    ASSERT_TRUE(Ok(run));
    sink::RunEnd skipped;
    skipped.source = source_;
    skipped.resource = "people";
    skipped.outcome = RunOutcome::kSkipped;
    ASSERT_TRUE(Ok(Run(b->RecordRun(skipped))));
    EXPECT_EQ(
        Scalar(
            "SELECT string_agg(outcome || ':' || replica, ',' ORDER BY started_at) FROM " +
            StateTable("runs") + " WHERE source = '" + source_ + "'"
        ),
        "running:a,skipped:b"
    );
    a->Stop();
    b->Stop();
}

}  // namespace
}  // namespace chatsync::test
