// FakeSink keeps PgSink's rules where the runner's tests rely on them.

#include "support/fake_sink.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "support/run_async.hpp"

namespace chatsync::test {
namespace {

using Cells = std::vector<std::pair<std::string, std::optional<std::string>>>;

/// A batch of rows given as (column, text) pairs; every column is text, "id" the key.
RowBatch Batch(const std::vector<Cells>& rows) {
    RowBatch batch;
    for (const auto& cells : rows) {
        batch.AddRow();
        for (const auto& [name, text] : cells) {
            if (text) {
                batch.Set(batch.Column(name, name), Value{*text, ColumnType::kText});
            } else {
                batch.Column(name, name);
            }
        }
    }
    return batch;
}

sink::PageCommit Page(RowBatch rows, std::string checkpoint, std::optional<std::string> pass = {}) {
    sink::PageCommit page;
    page.schema = "src";
    page.source = "src";
    page.resource = "items";
    page.run_id = "run-x";
    page.checkpoint = std::move(checkpoint);
    sink::TableWrite write;
    write.table = "items";
    write.key_paths = {"id"};
    write.rows = std::move(rows);
    write.seen_pass = std::move(pass);
    write.want_changed_rows = true;
    page.tables.push_back(std::move(write));
    return page;
}

class FakeSinkTest : public ::testing::Test {
protected:
    Result<sink::WriteResult> Commit(sink::PageCommit page) {
        return RunAsync(ioc_, sink_.CommitPage(std::move(page)));
    }

    Result<sink::FinishResult> Finish(sink::RunEnd end) {
        return RunAsync(ioc_, sink_.FinishRun(std::move(end)));
    }

    static sink::RunEnd End(std::string run_id, RunOutcome outcome) {
        sink::RunEnd end;
        end.source = "src";
        end.resource = "items";
        end.schema = "src";
        end.run_id = std::move(run_id);
        end.outcome = outcome;
        return end;
    }

    net::io_context ioc_{1};
    FakeSink sink_;
};

TEST_F(FakeSinkTest, CountsLikeTheUpsert) {
    ASSERT_TRUE(
        Commit(Page(Batch({{{"id", "1"}, {"name", "a"}}, {{"id", "2"}, {"name", "b"}}}), "c1"))
    );
    // 1 unchanged, 2 changed, 3 new and given twice (its last occurrence counts), and a column
    // that is NULL throughout the batch and unknown to the table is left out.
    auto written = Commit(Page(
        Batch({
            {{"id", "1"}, {"name", "a"}, {"extra", std::nullopt}},
            {{"id", "3"}, {"name", "first"}},
            {{"id", "2"}, {"name", "B"}},
            {{"id", "3"}, {"name", "last"}},
        }),
        "c2"
    ));
    ASSERT_TRUE(written);
    ASSERT_EQ(written->tables.size(), 1U);
    const auto& t = written->tables[0];
    EXPECT_EQ(t.inserted, 1);
    EXPECT_EQ(t.updated, 1);
    EXPECT_EQ(t.unchanged, 1);
    EXPECT_EQ(t.changed_rows, (std::vector<std::size_t>{2, 3}));

    const auto* table = sink_.FindTable("src", "items");
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->key_columns, std::vector<std::string>{"id"});
    EXPECT_EQ(table->columns.count("extra"), 0U);
    EXPECT_EQ(table->rows.at({"1"}).writes, 1);
    EXPECT_EQ(table->rows.at({"2"}).values.at("name"), "B");
    EXPECT_EQ(table->rows.at({"3"}).values.at("name"), "last");
    EXPECT_EQ(sink_.State("src", "items")->checkpoint, "c2");
}

TEST_F(FakeSinkTest, FailedCommitKeepsNothing) {
    sink_.FailCommits({.after = 1, .count = 1, .code = Errc::kSinkPermanent});
    ASSERT_TRUE(Commit(Page(Batch({{{"id", "1"}}}), "c1")));
    const auto failed = Commit(Page(Batch({{{"id", "2"}}}), "c2"));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error(), Errc::kSinkPermanent);
    EXPECT_NE(failed.error().message().find("FailCommits"), std::string::npos) << failed.error();
    EXPECT_EQ(sink_.FindTable("src", "items")->rows.size(), 1U);
    EXPECT_EQ(sink_.State("src", "items")->checkpoint, "c1");
    // Only the one commit fails.
    ASSERT_TRUE(Commit(Page(Batch({{{"id", "3"}}}), "c3")));

    ASSERT_EQ(sink_.Commits().size(), 3U);
    EXPECT_TRUE(sink_.Commits()[0].committed);
    EXPECT_FALSE(sink_.Commits()[1].committed);
    EXPECT_EQ(sink_.Commits()[1].checkpoint, "c2");
    EXPECT_EQ(
        sink_.Commits()[1].rows, (std::vector<std::pair<std::string, std::size_t>>{{"items", 1}})
    );
    EXPECT_TRUE(sink_.Commits()[2].committed);
}

TEST_F(FakeSinkTest, SweepSoftDeletesWhatThePassDidNotSee) {
    ASSERT_TRUE(Commit(Page(Batch({{{"id", "1"}}, {{"id", "2"}}, {{"id", "3"}}}), "", "p1")));
    ASSERT_TRUE(Finish(End("run-1", RunOutcome::kSuccess)));
    ASSERT_TRUE(Commit(Page(Batch({{{"id", "1"}}, {{"id", "3"}}}), "", "p2")));
    auto end = End("run-2", RunOutcome::kSuccess);
    end.sweeps.push_back({"items", "p2"});
    const auto finished = Finish(end);
    ASSERT_TRUE(finished);
    EXPECT_EQ(finished->rows_deleted, 1);
    EXPECT_TRUE(sink_.FindTable("src", "items")->rows.at({"2"}).deleted);
    EXPECT_FALSE(sink_.FindTable("src", "items")->rows.at({"1"}).deleted);

    // A deleted row that comes back is written again, even with the same values.
    const auto back = Commit(Page(Batch({{{"id", "2"}}}), "", "p3"));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->tables[0].updated, 1);
    EXPECT_FALSE(sink_.FindTable("src", "items")->rows.at({"2"}).deleted);
}

TEST_F(FakeSinkTest, FinishRunPromotesTheCursorOnlyOnSuccess) {
    const auto first = RunAsync(ioc_, sink_.BeginRun("src", "items"));
    ASSERT_TRUE(first);
    ASSERT_TRUE(Commit(Page(Batch({{{"id", "1"}}}), "half-way")));
    auto failed = End(*first, RunOutcome::kFailed);
    failed.error = "boom";
    failed.cursor = "ignored";
    ASSERT_TRUE(Finish(failed));
    auto state = sink_.State("src", "items");
    EXPECT_EQ(state->checkpoint, "half-way");
    EXPECT_FALSE(state->cursor);
    EXPECT_EQ(state->last_outcome, RunOutcome::kFailed);
    EXPECT_EQ(state->last_error, "boom");

    // A run that never finished is found interrupted by the next one.
    ASSERT_TRUE(RunAsync(ioc_, sink_.BeginRun("src", "items")));
    const auto third = RunAsync(ioc_, sink_.BeginRun("src", "items"));
    ASSERT_TRUE(third);
    EXPECT_EQ(sink_.Runs()[1].outcome, RunOutcome::kInterrupted);
    auto success = End(*third, RunOutcome::kSuccess);
    success.cursor = "42";
    ASSERT_TRUE(Finish(success));
    state = sink_.State("src", "items");
    EXPECT_FALSE(state->checkpoint);
    EXPECT_EQ(state->cursor, "42");
    EXPECT_EQ(state->last_outcome, RunOutcome::kSuccess);
    EXPECT_EQ(sink_.Runs()[2].outcome, RunOutcome::kSuccess);

    EXPECT_EQ(RunAsync(ioc_, sink_.ResetState("src", "")).value(), 1);
    EXPECT_FALSE(sink_.State("src", "items")->cursor);
}

TEST_F(FakeSinkTest, BusyAndUnreachable) {
    sink_.SetBusyElsewhere("src", "items", true);
    const auto busy = RunAsync(ioc_, sink_.BeginRun("src", "items"));
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error(), Errc::kResourceBusy);
    EXPECT_TRUE(sink_.Runs().empty());

    sink_.SetUnreachable(true);
    const auto ping = RunAsync(ioc_, sink_.Ping());
    ASSERT_FALSE(ping);
    EXPECT_EQ(ping.error(), Errc::kSinkTransient);
    sink_.ClearFaults();
    EXPECT_TRUE(RunAsync(ioc_, sink_.Ping()));
}

}  // namespace
}  // namespace chatsync::test
