// The per-table figures of a run: kept with the resource's state for `status`, with what the
// sweeps deleted added in, and the row counts `status` and `once` print.

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/pg_fixture.hpp"

namespace chatsync::test {
namespace {

class PgRunTablesTest : public PgFixture {
protected:
    sink::ResourceState State(const std::string& resource) {
        auto r = Run(sink_->LoadState(source_, resource));
        EXPECT_TRUE(Ok(r));
        return r.has_value() ? *r : sink::ResourceState{};
    }

    sink::RunEnd End(const std::string& run_id, RunOutcome outcome) const {
        sink::RunEnd end;
        end.source = source_;
        end.resource = "people";
        end.run_id = run_id;
        end.outcome = outcome;
        end.schema = source_;
        end.tables = {
            {.name = {source_, "people"}, .written = 2, .unchanged = 1, .deleted = 0},
            {.name = {source_, "notes"}, .written = 0, .unchanged = 0, .deleted = 0},
        };
        end.rows_written = 2;
        end.rows_unchanged = 1;
        return end;
    }
};

TEST_F(PgRunTablesTest, TheLastRunsTablesAreKeptWithWhatItsSweepsDeleted) {
    Commit(Page(
        "people",
        {Write("people", {"id"}, People({{Int("1"), Txt("a")}, {Int("2"), Txt("b")}}), "p1")}
    ));
    auto first = End("p1", RunOutcome::kSuccess);
    first.sweeps.push_back(sink::Sweep{"people", "p1"});
    ASSERT_TRUE(Ok(Run(sink_->FinishRun(first))));
    EXPECT_EQ(State("people").last_tables, first.tables);

    // The second pass no longer sees row 2: its sweep deletes it, and the table says so.
    Commit(Page("people", {Write("people", {"id"}, People({{Int("1"), Txt("a")}}), "p2")}));
    auto second = End("p2", RunOutcome::kSuccess);
    second.sweeps.push_back(sink::Sweep{"people", "p2"});
    auto finished = Run(sink_->FinishRun(second));
    ASSERT_TRUE(Ok(finished));
    const std::vector<sink::TableCounts> swept = {
        {.name = {source_, "people"}, .written = 0, .unchanged = 0, .deleted = 1}};
    EXPECT_EQ(finished->swept, swept);
    auto expected = second.tables;
    expected[0].deleted = 1;
    EXPECT_EQ(State("people").last_tables, expected);
    auto listed = Run(sink_->ListStates());
    ASSERT_TRUE(Ok(listed));
    const auto mine = std::find_if(listed->begin(), listed->end(), [this](const auto& s) {
        return s.source == source_;
    });
    ASSERT_NE(mine, listed->end());
    EXPECT_EQ(mine->last_tables, expected);

    // A failed run keeps its own figures too; a held one wrote nothing, and says so.
    ASSERT_TRUE(Ok(Run(sink_->FinishRun(End("p3", RunOutcome::kFailed)))));
    EXPECT_EQ(State("people").last_tables, End("p3", RunOutcome::kFailed).tables);
    sink::RunEnd held;
    held.source = source_;
    held.resource = "people";
    held.outcome = RunOutcome::kHeld;
    ASSERT_TRUE(Ok(Run(sink_->RecordRun(held))));
    EXPECT_TRUE(State("people").last_tables.empty());
}

TEST_F(PgRunTablesTest, RowsAreCountedPerTableAndAMissingTableHasNoCount) {
    Commit(Page(
        "people",
        {Write(
            "people",
            {"id"},
            People({{Int("1"), Txt("a")}, {Int("2"), Txt("b")}, {Int("3"), Txt("c")}})
        )}
    ));
    auto counted =
        Run(sink_->CountRows({sink_->NameOf(source_, "people"), sink_->NameOf(source_, "absent")}));
    ASSERT_TRUE(Ok(counted));
    ASSERT_EQ(counted->size(), 2U);
    EXPECT_EQ((*counted)[0], 3);
    EXPECT_EQ((*counted)[1], std::nullopt);
}

TEST_F(PgRunTablesTest, TableNamesAreThoseTheTablesGet) {
    const std::string long_name(80, 't');
    Commit(Page("people", {Write(long_name, {"id"}, People({{Int("1"), Txt("a")}}))}));
    const auto name = sink_->NameOf(source_, long_name);
    EXPECT_EQ(name.schema, source_);
    EXPECT_EQ(name.table.size(), 63U);
    auto counted = Run(sink_->CountRows({name}));
    ASSERT_TRUE(Ok(counted));
    EXPECT_EQ(counted->front(), 1);
}

}  // namespace
}  // namespace chatsync::test
