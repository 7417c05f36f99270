#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "core/error.hpp"
#include "integration/pg_fixture.hpp"
#include "sink/detail/event_sql.hpp"

namespace chatsync::test {
namespace {

using sink::EventResult;
using sink::EventRow;
using sink::EventTable;
using sink::InboundEvent;
using sink::MergePolicy;
using Outcome = sink::EventResult::Outcome;
using Values = std::vector<std::pair<std::string, std::optional<std::string>>>;

/// 2024-05-01 10:00:00.123456 UTC plus `seconds`.
sink::TimePoint At(int seconds) {
    using std::chrono::microseconds;
    return sink::TimePoint(std::chrono::sys_days(std::chrono::year(2024) / 5 / 1)) +
           std::chrono::hours(10) + microseconds(123456) + std::chrono::seconds(seconds);
}

/// How At(seconds) reads back as text (TimeZone UTC).
std::string AtText(int seconds) {
    const int s = seconds % 60;
    const int m = seconds / 60;
    std::string out = "2024-05-01 10:";
    out += (m < 10 ? "0" : "") + std::to_string(m) + ":" + (s < 10 ? "0" : "") + std::to_string(s) +
           ".123456+00";
    return out;
}

EventRow Row(std::string table, Values values) {
    return EventRow{std::move(table), std::move(values)};
}

std::string Name(Outcome o) {
    switch (o) {
        case Outcome::kStored:
            return "stored";
        case Outcome::kDuplicate:
            return "duplicate";
        case Outcome::kStoredWithoutRows:
            return "without_rows";
    }
    return "?";
}

std::vector<std::string> Outcomes(const std::vector<EventResult>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) {
        out.push_back(Name(r.outcome));
    }
    return out;
}

/// The event tables of a chat platform, one per merge policy.
std::vector<EventTable> Tables() {
    return {
        EventTable{
            .name = "chats",
            .columns =
                {{"chat_id", "text"},
                 {"stage", "smallint"},
                 {"state", "text"},
                 {"agent", "text"},
                 {"visitor", "text"},
                 {"message_count", "integer"},
                 {"tags", "jsonb"},
                 {"started_at", "timestamptz"},
                 {"rate", "double precision"},
                 {"blacklisted", "boolean"}},
            .key = {"chat_id"},
            .merge = MergePolicy::kRanked,
            .rank_column = "stage"},
        EventTable{
            .name = "contacts",
            .columns = {{"id", "bigint"}, {"name", "text"}, {"phone", "text"}},
            .key = {"id"},
            .merge = MergePolicy::kCoalesce,
            .rank_column = {}},
        EventTable{
            .name = "messages",
            .columns =
                {{"chat_id", "text"},
                 {"msg_id", "bigint"},
                 {"text", "text"},
                 {"sent_at", "timestamptz"}},
            .key = {"chat_id", "msg_id"},
            .merge = MergePolicy::kCoalesce,
            .rank_column = {}},
        EventTable{
            .name = "calls",
            .columns = {{"call_id", "text"}, {"status", "text"}},
            .key = {"call_id"},
            .merge = MergePolicy::kKeepFirst,
            .rank_column = {}},
    };
}

class EventStore : public PgFixture {
protected:
    void SetUp() override {
        PgFixture::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        Prepare(Tables());
    }

    void Prepare(std::vector<EventTable> tables) {
        auto r = Run(sink_->PrepareEventTables(source_, std::move(tables)));
        ASSERT_TRUE(Ok(r));
    }

    using Stored = std::optional<Result<std::vector<EventResult>>>;

    /// Starts a StoreEvents call on the fixture's io_context; its result lands in `slot`.
    void Spawn(Task<Result<std::vector<EventResult>>> store, Stored& slot) {
        net::co_spawn(
            ioc_,
            std::move(store),
            [&slot](const std::exception_ptr& e, Result<std::vector<EventResult>> r) {
                EXPECT_FALSE(e);
                slot = std::move(r);
            }
        );
    }

    /// Runs the io_context until `done()` holds or `limit` has passed.
    template <class Done>
    void RunUntil(const Done& done, std::chrono::seconds limit) {
        ioc_.restart();
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            ioc_.run_one_for(std::chrono::milliseconds(50));
        }
    }

    InboundEvent Event(
        std::string key,
        std::vector<EventRow> rows,
        int seconds = 0,
        std::string body = R"({"event_name": "chat_updated"})"
    ) const {
        InboundEvent e;
        e.source = source_;
        e.event_key = std::move(key);
        e.received_at = At(seconds);
        e.channel = "webhook";
        e.event_name = "chat_updated";
        e.body = std::move(body);
        e.rows = std::move(rows);
        return e;
    }

    /// Stores a batch and expects a value.
    std::vector<EventResult> Store(std::vector<InboundEvent> events) {
        const std::size_t n = events.size();
        auto r =
            RunAsync(ioc_, sink_->StoreEvents(std::move(events), {}), std::chrono::seconds(120));
        EXPECT_TRUE(Ok(r));
        if (!r.has_value()) {
            return std::vector<EventResult>(n);
        }
        EXPECT_EQ(r->size(), n);
        return *r;
    }

    std::string Count(const std::string& table, const std::string& where = "true") {
        return Scalar("SELECT count(*) FROM " + Table(table) + " WHERE " + where);
    }

    std::string Events(const std::string& where = "true") {
        return Scalar("SELECT count(*) FROM " + StateTable("webhook_events") + " WHERE " + where);
    }

    /// A column of the webhook_events row of `key`, as text ("" for NULL).
    std::string EventColumn(const std::string& key, const std::string& expr) {
        return Scalar(
            "SELECT " + expr + " FROM " + StateTable("webhook_events") +
            " WHERE source = " + admin_->quote(source_) + " AND event_key = " + admin_->quote(key)
        );
    }

    /// The whole row of `table` where `where`, as the text of a record.
    std::string RowText(const std::string& table, const std::string& where) {
        return Scalar("SELECT t::text FROM " + Table(table) + " AS t WHERE " + where);
    }

    std::string
    Column(const std::string& table, const std::string& column, const std::string& where) {
        return Scalar("SELECT \"" + column + "\"::text FROM " + Table(table) + " WHERE " + where);
    }
};

TEST_F(EventStore, PrepareCreatesTablesAndAddsMissingColumns) {
    const auto chats = ColumnTypes("chats");
    EXPECT_EQ(chats.at("chat_id"), "text");
    EXPECT_EQ(chats.at("stage"), "smallint");
    EXPECT_EQ(chats.at("message_count"), "integer");
    EXPECT_EQ(chats.at("tags"), "jsonb");
    EXPECT_EQ(chats.at("started_at"), "timestamp with time zone");
    EXPECT_EQ(chats.at("rate"), "double precision");
    EXPECT_EQ(chats.at("blacklisted"), "boolean");
    EXPECT_EQ(chats.at("_chatsync_synced_at"), "timestamp with time zone");
    EXPECT_EQ(chats.size(), 11U);
    EXPECT_EQ(ColumnTypes("contacts").at("id"), "bigint");
    EXPECT_EQ(PrimaryKey("chats"), std::vector<std::string>{"chat_id"});
    EXPECT_EQ(PrimaryKey("messages"), (std::vector<std::string>{"chat_id", "msg_id"}));
    EXPECT_EQ(PrimaryKey("calls"), std::vector<std::string>{"call_id"});

    Store({Event("e1", {Row("contacts", {{"id", "1"}, {"name", "Ann"}})})});

    // A later version declares one more column: added, the data kept.
    auto tables = Tables();
    tables[1].columns.push_back({"email", "text"});
    Prepare(tables);
    const auto contacts = ColumnTypes("contacts");
    EXPECT_EQ(contacts.at("email"), "text");
    EXPECT_EQ(contacts.size(), 5U);
    EXPECT_EQ(RowText("contacts", "id = 1"), "(1,Ann,,\"" + AtText(0) + "\",)");

    // The new column is written at once.
    const auto r =
        Store({Event("e2", {Row("contacts", {{"id", "1"}, {"email", "ann@example.com"}})}, 1)});
    EXPECT_EQ(Outcomes(r), std::vector<std::string>{"stored"}) << r[0].error;
    EXPECT_EQ(Column("contacts", "email", "id = 1"), "ann@example.com");

    // Idempotent.
    Prepare(tables);
    EXPECT_EQ(ColumnTypes("contacts").size(), 5U);
}

TEST_F(EventStore, PrepareRefusesBadDeclarations) {
    auto bad_type = Tables();
    bad_type[1].columns.push_back({"extra", "json"});
    auto r = Run(sink_->PrepareEventTables(source_, bad_type));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kSinkPermanent));
    EXPECT_NE(r.error().message().find("extra"), std::string::npos) << r.error().message();

    // An existing table whose primary key is not the declared key: ON CONFLICT could not work.
    auto other_key = Tables();
    other_key[1].key = {"name"};
    r = Run(sink_->PrepareEventTables(source_, other_key));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("primary key"), std::string::npos) << r.error().message();

    auto no_rank = Tables();
    no_rank[0].rank_column = "nope";
    r = Run(sink_->PrepareEventTables(source_, no_rank));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("rank"), std::string::npos) << r.error().message();
}

TEST_F(EventStore, StoresNewEventsWithTheirRows) {
    // Bodies are kept byte for byte: spacing, key order, duplicate keys.
    const std::string body1 = "{ \"b\": 1,\n  \"a\": [1, 2.50], \"a\": \"dup\" }";
    auto e1 = Event(
        "k1",
        {Row("chats",
             {{"chat_id", "c1"},
              {"stage", "1"},
              {"state", "invited"},
              {"tags", R"(["x", {"y": 1}])"},
              {"started_at", "2024-05-01T09:00:00.5Z"},
              {"rate", "4.5"},
              {"blacklisted", "false"},
              {"message_count", "2"}}),
         Row("messages", {{"chat_id", "c1"}, {"msg_id", "10"}, {"text", "it's \"quoted\"\n"}})},
        0,
        body1
    );
    auto e2 =
        Event("k2", {Row("messages", {{"chat_id", "c1"}, {"msg_id", "11"}, {"text", "hi"}})}, 5);
    e2.channel = "chat_api";
    e2.event_name = "";
    e2.event_type = "crm_call";
    auto e3 = Event("k3", {}, 7, "[]");
    const auto results = Store({e1, e2, e3});
    EXPECT_EQ(Outcomes(results), (std::vector<std::string>{"stored", "stored", "stored"}));
    for (const auto& r : results) {
        EXPECT_EQ(r.error, "");
    }

    EXPECT_EQ(Events(), "3");
    EXPECT_EQ(EventColumn("k1", "body::text"), body1);
    EXPECT_EQ(EventColumn("k1", "bytes"), std::to_string(body1.size()));
    EXPECT_EQ(EventColumn("k1", "received_at::text"), AtText(0));
    EXPECT_EQ(EventColumn("k1", "channel"), "webhook");
    EXPECT_EQ(EventColumn("k1", "event_name"), "chat_updated");
    EXPECT_EQ(EventColumn("k1", "event_type IS NULL"), "t");
    EXPECT_EQ(EventColumn("k1", "malformed"), "f");
    EXPECT_EQ(EventColumn("k1", "raw IS NULL AND derive_error IS NULL"), "t");
    EXPECT_EQ(EventColumn("k2", "channel"), "chat_api");
    EXPECT_EQ(EventColumn("k2", "event_name IS NULL"), "t");
    EXPECT_EQ(EventColumn("k2", "event_type"), "crm_call");
    EXPECT_EQ(EventColumn("k3", "body::text"), "[]");

    EXPECT_EQ(
        RowText("chats", "chat_id = 'c1'"),
        "(c1,1,invited,,,2,\"[\"\"x\"\", {\"\"y\"\": 1}]\",\"2024-05-01 09:00:00.5+00\",4.5,f,\"" +
            AtText(0) + "\")"
    );
    EXPECT_EQ(Column("messages", "text", "msg_id = 10"), "it's \"quoted\"\n");
    EXPECT_EQ(Column("messages", "_chatsync_synced_at", "msg_id = 10"), AtText(0));
    EXPECT_EQ(Column("messages", "_chatsync_synced_at", "msg_id = 11"), AtText(5));
}

TEST_F(EventStore, ReplayInALaterBatchIsADuplicateAndChangesNothing) {
    Store({Event("k1", {Row("contacts", {{"id", "1"}, {"name", "Ann"}})})});
    const std::string xmin = Scalar("SELECT xmin::text FROM " + Table("contacts"));

    // The same key again (with different rows, which must not be applied) and a new event.
    const auto results = Store(
        {Event("k1", {Row("contacts", {{"id", "1"}, {"name", "Changed"}})}, 9),
         Event("k2", {Row("contacts", {{"id", "2"}, {"name", "Bob"}})}, 9)}
    );
    EXPECT_EQ(Outcomes(results), (std::vector<std::string>{"duplicate", "stored"}));
    EXPECT_EQ(Events(), "2");
    EXPECT_EQ(Column("contacts", "name", "id = 1"), "Ann");
    EXPECT_EQ(Column("contacts", "_chatsync_synced_at", "id = 1"), AtText(0));
    EXPECT_EQ(Scalar("SELECT xmin::text FROM " + Table("contacts") + " WHERE id = 1"), xmin);
    EXPECT_EQ(EventColumn("k1", "received_at::text"), AtText(0));

    // A batch of nothing but replays.
    const auto again = Store(
        {Event("k2", {Row("contacts", {{"id", "2"}, {"name", "X"}})}, 20), Event("k1", {}, 20)}
    );
    EXPECT_EQ(Outcomes(again), (std::vector<std::string>{"duplicate", "duplicate"}));
    EXPECT_EQ(Events(), "2");
    EXPECT_EQ(Column("contacts", "name", "id = 2"), "Bob");
}

TEST_F(EventStore, ReplayWithinOneBatchIsStoredOnce) {
    const auto results = Store(
        {Event("k1", {Row("contacts", {{"id", "1"}, {"name", "first"}})}, 1),
         Event("k1", {Row("contacts", {{"id", "1"}, {"name", "second"}})}, 2),
         Event("k2", {Row("contacts", {{"id", "2"}, {"name", "Bob"}})}, 3),
         Event("k1", {Row("contacts", {{"id", "1"}, {"name", "third"}})}, 4)}
    );
    EXPECT_EQ(
        Outcomes(results), (std::vector<std::string>{"stored", "duplicate", "stored", "duplicate"})
    );
    EXPECT_EQ(Events(), "2");
    EXPECT_EQ(EventColumn("k1", "received_at::text"), AtText(1));
    EXPECT_EQ(Column("contacts", "name", "id = 1"), "first");
    EXPECT_EQ(Column("contacts", "_chatsync_synced_at", "id = 1"), AtText(1));
}

TEST_F(EventStore, RowsOfOneKeyInOneBatchApplyInTheOrderReceived) {
    // Interleaved with other keys and tables: every contact 7 row is the same table row, so
    // they must apply one after the other, while the rest share statements.
    const auto results = Store(
        {Event("a", {Row("contacts", {{"id", "7"}, {"name", "first"}, {"phone", "111"}})}, 1),
         Event("b", {Row("contacts", {{"id", "8"}, {"name", "Eve"}})}, 2),
         Event(
             "c",
             {Row("contacts", {{"id", "7"}, {"name", "second"}}),
              Row("messages", {{"chat_id", "c1"}, {"msg_id", "1"}, {"text", "hi"}})},
             3
         ),
         Event("d", {Row("contacts", {{"id", "7"}, {"phone", "333"}})}, 4),
         Event("e", {Row("messages", {{"chat_id", "c1"}, {"msg_id", "1"}, {"text", "edited"}})}, 5),
         Event("f", {Row("calls", {{"call_id", "x"}, {"status", "ringing"}})}, 6),
         Event("g", {Row("calls", {{"call_id", "x"}, {"status", "ended"}})}, 7)}
    );
    EXPECT_EQ(Outcomes(results), std::vector<std::string>(7, "stored"));
    EXPECT_EQ(RowText("contacts", "id = 7"), "(7,second,333,\"" + AtText(4) + "\")");
    EXPECT_EQ(Column("contacts", "name", "id = 8"), "Eve");
    EXPECT_EQ(Column("messages", "text", "msg_id = 1"), "edited");
    EXPECT_EQ(Column("calls", "status", "call_id = 'x'"), "ringing");
}

TEST_F(EventStore, ABatchWritesEachTableOnceAndRankedRowsOncePerRepeatOfAKey) {
    const auto plan = [](const EventTable& table) {
        auto p = sink::detail::PlanEventTable("s", table);
        sink::detail::PlanEventUpserts(p);
        return std::make_shared<const sink::detail::EventTablePlan>(std::move(p));
    };
    const auto tables = Tables();
    const auto chats = plan(tables[0]);
    const auto contacts = plan(tables[1]);
    const auto messages = plan(tables[2]);
    const auto calls = plan(tables[3]);
    std::vector<sink::detail::RenderedEventRow> rows;
    for (int i = 0; i < 100; ++i) {
        const std::string n = std::to_string(i);
        const std::string key = std::to_string(i % 40);
        // Contacts 0-39 come three times (0-19) or twice (20-39), each time with a new name
        // and the first time with a phone.
        EventRow contact = Row("contacts", {{"id", key}, {"name", "n" + n}});
        if (i < 40) {
            contact.values.emplace_back("phone", "p" + n);
        }
        rows.push_back(sink::detail::RenderEventRow(contacts, contact, i));
        rows.push_back(sink::detail::RenderEventRow(
            messages, Row("messages", {{"chat_id", "c"}, {"msg_id", n}, {"text", "t"}}), i
        ));
        rows.push_back(sink::detail::RenderEventRow(
            chats, Row("chats", {{"chat_id", key}, {"stage", "1"}, {"state", n}}), i
        ));
        rows.push_back(sink::detail::RenderEventRow(
            calls, Row("calls", {{"call_id", key}, {"status", "s" + n}}), i
        ));
    }
    std::vector<const sink::detail::RenderedEventRow*> order;
    for (const auto& r : rows) {
        order.push_back(&r);
    }
    const auto groups = sink::detail::GroupEventUpserts(order);
    // Every table's first rows, by name, then the ranked chats' second and third rows.
    std::vector<std::pair<const sink::detail::EventTablePlan*, std::size_t>> shape;
    for (const auto& g : groups) {
        shape.emplace_back(g.table, g.rows.size());
    }
    EXPECT_EQ(
        shape,
        (std::vector<std::pair<const sink::detail::EventTablePlan*, std::size_t>>{
            {calls.get(), 40},
            {chats.get(), 40},
            {contacts.get(), 40},
            {messages.get(), 100},
            {chats.get(), 40},
            {chats.get(), 20}})
    );
    // Contact 5 came as rows 5, 45 and 85: the last name, the last phone given (row 5's,
    // as 45 and 85 gave none), and the time of the last row that changed something.
    const auto& merged = groups[2].rows;
    const auto five = std::find_if(merged.begin(), merged.end(), [](const auto& r) {
        return r.values[0] == std::optional<std::string>("5");
    });
    ASSERT_NE(five, merged.end());
    EXPECT_EQ(five->values[1], std::optional<std::string>("n85"));
    EXPECT_EQ(five->values[2], std::optional<std::string>("p5"));
    EXPECT_EQ(five->synced_at, 85);
    // A call keeps its first row; rows are sorted by key.
    EXPECT_EQ(groups[0].rows.front().values[1], std::optional<std::string>("s0"));
    EXPECT_EQ(groups[0].rows.back().values[0], std::optional<std::string>("9"));
}

TEST_F(EventStore, MergedRowsOfOneKeyWriteWhatTheirSequenceWould) {
    // Contact 7 changed by three events, the last of which repeats a value: its time is
    // that of the second, as if each had been upserted in turn.
    const auto results = Store(
        {Event("a", {Row("contacts", {{"id", "7"}, {"name", "Ann"}, {"phone", "111"}})}, 1),
         Event("b", {Row("contacts", {{"id", "7"}, {"phone", "222"}})}, 2),
         Event("c", {Row("contacts", {{"id", "7"}, {"name", "Ann"}, {"phone", std::nullopt}})}, 3),
         Event("d", {Row("calls", {{"call_id", "x"}, {"status", "ringing"}})}, 4),
         Event("e", {Row("calls", {{"call_id", "x"}, {"status", "ended"}})}, 5),
         // Two rows of chat c9 at one rank that do not disagree fold into one; the third,
         // of a lower rank, only fills; the fourth, at the first rank but disagreeing,
         // replaces the agent.
         Event(
             "f",
             {Row(
                 "chats",
                 {{"chat_id", "c9"}, {"stage", "2"}, {"state", "accepted"}, {"agent", "Bob"}}
             )},
             6
         ),
         Event("g", {Row("chats", {{"chat_id", "c9"}, {"stage", "2"}, {"visitor", "Ann"}})}, 7),
         Event(
             "h",
             {Row(
                 "chats",
                 {{"chat_id", "c9"}, {"stage", "1"}, {"state", "invited"}, {"message_count", "4"}}
             )},
             8
         ),
         Event("i", {Row("chats", {{"chat_id", "c9"}, {"stage", "2"}, {"agent", "Cy"}})}, 9)}
    );
    EXPECT_EQ(Outcomes(results), std::vector<std::string>(9, "stored"));
    EXPECT_EQ(RowText("contacts", "id = 7"), "(7,Ann,222,\"" + AtText(2) + "\")");
    EXPECT_EQ(Column("calls", "status", "call_id = 'x'"), "ringing");
    EXPECT_EQ(Column("chats", "state", "chat_id = 'c9'"), "accepted");
    EXPECT_EQ(Column("chats", "agent", "chat_id = 'c9'"), "Cy");
    EXPECT_EQ(Column("chats", "visitor", "chat_id = 'c9'"), "Ann");
    EXPECT_EQ(Column("chats", "message_count", "chat_id = 'c9'"), "4");
    EXPECT_EQ(Column("chats", "stage", "chat_id = 'c9'"), "2");
}

TEST_F(EventStore, RankedRowsOfOneRankThatAgreeShareAnExecution) {
    auto plan = sink::detail::PlanEventTable("s", Tables()[0]);  // chats, ranked by stage
    sink::detail::PlanEventUpserts(plan);
    const auto chats = std::make_shared<const sink::detail::EventTablePlan>(std::move(plan));
    std::vector<sink::detail::RenderedEventRow> rows;
    rows.push_back(sink::detail::RenderEventRow(
        chats, Row("chats", {{"chat_id", "c"}, {"stage", "2"}, {"state", "accepted"}}), 1
    ));
    rows.push_back(sink::detail::RenderEventRow(
        chats, Row("chats", {{"chat_id", "c"}, {"stage", "2"}, {"agent", "Bob"}}), 2
    ));
    // Another rank: an execution of its own.
    rows.push_back(sink::detail::RenderEventRow(
        chats, Row("chats", {{"chat_id", "c"}, {"stage", "3"}, {"agent", "Bob"}}), 3
    ));
    // The same rank as the one before, but another agent: one more.
    rows.push_back(sink::detail::RenderEventRow(
        chats, Row("chats", {{"chat_id", "c"}, {"stage", "3"}, {"agent", "Cy"}}), 4
    ));
    std::vector<const sink::detail::RenderedEventRow*> order;
    for (const auto& r : rows) {
        order.push_back(&r);
    }
    const auto groups = sink::detail::GroupEventUpserts(order);
    ASSERT_EQ(groups.size(), 3U);
    ASSERT_EQ(groups[0].rows.size(), 1U);
    EXPECT_EQ(groups[0].rows[0].values[2], std::optional<std::string>("accepted"));
    EXPECT_EQ(groups[0].rows[0].values[3], std::optional<std::string>("Bob"));
    EXPECT_EQ(groups[0].rows[0].synced_at, 2);
    EXPECT_EQ(groups[2].rows[0].values[3], std::optional<std::string>("Cy"));
}

/// Three events of one chat, of ranks 1 to 3. Where two of them give a column, the higher
/// rank also gives it, so the final row is fully determined by the ranks.
std::array<EventRow, 3> RankedChatRows(const std::string& chat) {
    return {
        Row("chats",
            {{"chat_id", chat},
             {"stage", "1"},
             {"state", "invited"},
             {"visitor", "Ann"},
             {"message_count", "1"},
             {"tags", R"(["a"])"}}),
        Row("chats",
            {{"chat_id", chat},
             {"stage", "2"},
             {"state", "accepted"},
             {"agent", "Bob"},
             {"visitor", std::nullopt},
             {"message_count", "3"}}),
        Row("chats",
            {{"chat_id", chat},
             {"stage", "3"},
             {"state", "finished"},
             {"started_at", "2024-05-01T09:00:00Z"},
             {"message_count", "5"}}),
    };
}

TEST_F(EventStore, RankedConvergesWhateverTheOrder) {
    std::array<int, 3> order{0, 1, 2};
    std::set<std::string> finals;
    int perm = 0;
    do {
        const std::string chat = "p" + std::to_string(perm);
        const auto rows = RankedChatRows(chat);
        // Each event in its own batch, arriving in this order.
        for (const int i : order) {
            const auto r = Store({Event(chat + "-" + std::to_string(i), {rows[i]})});
            EXPECT_EQ(Outcomes(r), std::vector<std::string>{"stored"}) << r[0].error;
        }
        // The same order within one batch.
        const std::string batch_chat = "b" + std::to_string(perm);
        const auto batch_rows = RankedChatRows(batch_chat);
        std::vector<InboundEvent> batch;
        for (const int i : order) {
            batch.push_back(Event(batch_chat + "-" + std::to_string(i), {batch_rows[i]}));
        }
        const auto r = Store(batch);
        EXPECT_EQ(Outcomes(r), (std::vector<std::string>{"stored", "stored", "stored"}));

        for (const auto& c : {chat, batch_chat}) {
            const std::string full = RowText("chats", "chat_id = '" + c + "'");
            finals.insert(full.substr(full.find(',')));
        }
        ++perm;
    } while (std::next_permutation(order.begin(), order.end()));
    EXPECT_EQ(perm, 6);
    ASSERT_EQ(finals.size(), 1U) << ::testing::PrintToString(finals);
    EXPECT_EQ(
        *finals.begin(),
        ",3,finished,Bob,Ann,5,\"[\"\"a\"\"]\",\"2024-05-01 09:00:00+00\",,,\"" + AtText(0) + "\")"
    );
}

TEST_F(EventStore, RankedLowerRankOnlyFillsNullsAndEqualRankLaterWins) {
    Store(
        {Event("k1", {Row("chats", {{"chat_id", "c"}, {"stage", "2"}, {"state", "accepted"}})}, 1)}
    );
    auto r = Store({Event(
        "k2",
        {Row(
            "chats",
            {{"chat_id", "c"},
             {"stage", "1"},
             {"state", "invited"},
             {"agent", "Zed"},
             {"visitor", "Ann"}}
        )},
        2
    )});
    EXPECT_EQ(Outcomes(r), std::vector<std::string>{"stored"}) << r[0].error;
    EXPECT_EQ(
        RowText("chats", "chat_id = 'c'"), "(c,2,accepted,Zed,Ann,,,,,,\"" + AtText(2) + "\")"
    );

    // A lower rank with nothing new to fill leaves the row alone, synced time included.
    const std::string xmin = Scalar("SELECT xmin::text FROM " + Table("chats"));
    Store({Event(
        "k3", {Row("chats", {{"chat_id", "c"}, {"stage", "1"}, {"state", "x"}, {"agent", "Y"}})}, 3
    )});
    EXPECT_EQ(Scalar("SELECT xmin::text FROM " + Table("chats")), xmin);
    EXPECT_EQ(Column("chats", "_chatsync_synced_at", "chat_id = 'c'"), AtText(2));

    // Equal rank: the later event wins; a null keeps the stored value.
    Store({Event(
        "k4",
        {Row(
            "chats",
            {{"chat_id", "c"}, {"stage", "2"}, {"state", "transferred"}, {"agent", std::nullopt}}
        )},
        4
    )});
    EXPECT_EQ(
        RowText("chats", "chat_id = 'c'"), "(c,2,transferred,Zed,Ann,,,,,,\"" + AtText(4) + "\")"
    );

    // A row without a rank counts as the lowest.
    Store(
        {Event("k5", {Row("chats", {{"chat_id", "d"}, {"state", "unranked"}, {"agent", "A"}})}, 5)}
    );
    Store({Event("k6", {Row("chats", {{"chat_id", "d"}, {"stage", "1"}, {"state", "ranked"}})}, 6)}
    );
    EXPECT_EQ(RowText("chats", "chat_id = 'd'"), "(d,1,ranked,A,,,,,,,\"" + AtText(6) + "\")");
}

TEST_F(EventStore, CoalesceKeepsStoredValuesForNulls) {
    Store({Event("k1", {Row("contacts", {{"id", "1"}, {"name", "Ann"}, {"phone", "111"}})}, 1)});
    const std::string xmin = Scalar("SELECT xmin::text FROM " + Table("contacts"));

    // Nulls and left-out columns change nothing: the row is not even rewritten.
    Store({Event("k2", {Row("contacts", {{"id", "1"}, {"name", std::nullopt}})}, 2)});
    EXPECT_EQ(Scalar("SELECT xmin::text FROM " + Table("contacts")), xmin);
    EXPECT_EQ(RowText("contacts", "id = 1"), "(1,Ann,111,\"" + AtText(1) + "\")");

    // The same values again: nothing either.
    Store({Event("k3", {Row("contacts", {{"id", "1"}, {"name", "Ann"}, {"phone", "111"}})}, 3)});
    EXPECT_EQ(Scalar("SELECT xmin::text FROM " + Table("contacts")), xmin);

    Store({Event("k4", {Row("contacts", {{"id", "1"}, {"phone", "222"}})}, 4)});
    EXPECT_EQ(RowText("contacts", "id = 1"), "(1,Ann,222,\"" + AtText(4) + "\")");

    // A key alone inserts a row and never changes one.
    Store({Event("k5", {Row("contacts", {{"id", "1"}}), Row("contacts", {{"id", "2"}})}, 5)});
    EXPECT_EQ(RowText("contacts", "id = 1"), "(1,Ann,222,\"" + AtText(4) + "\")");
    EXPECT_EQ(RowText("contacts", "id = 2"), "(2,,,\"" + AtText(5) + "\")");
}

TEST_F(EventStore, KeepFirstKeepsTheFirstRow) {
    Store(
        {Event("k1", {Row("calls", {{"call_id", "x"}, {"status", "ringing"}})}, 1),
         Event("k2", {Row("calls", {{"call_id", "x"}, {"status", "ended"}})}, 2)}
    );
    Store({Event("k3", {Row("calls", {{"call_id", "x"}, {"status", "missed"}})}, 3)});
    EXPECT_EQ(RowText("calls", "call_id = 'x'"), "(x,ringing,\"" + AtText(1) + "\")");
    EXPECT_EQ(Events(), "3");
}

TEST_F(EventStore, ReadEventsPagesInReceiptOrder) {
    // Keys sort against the receipt order, and one batch stores them in key order.
    Store({Event("z1", {}, 1), Event("a2", {}, 2), Event("m3", {}, 3), Event("b4", {}, 4)});
    Store({Event("a0", {}, 0)});
    std::vector<std::string> keys;
    std::optional<std::string> after;
    for (;;) {
        auto page = Run(sink_->ReadEvents(source_, At(1), after, 2));
        ASSERT_TRUE(Ok(page));
        if (page->empty()) {
            break;
        }
        EXPECT_LE(page->size(), 2U);
        for (const auto& e : *page) {
            keys.push_back(e.event_key);
            if (e.event_key == "a2") {
                EXPECT_EQ(e.received_at, At(2));
                EXPECT_EQ(e.channel, "webhook");
                EXPECT_EQ(e.body, std::optional<std::string>(R"({"event_name": "chat_updated"})"));
            }
        }
        after = page->back().event_key;
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"z1", "a2", "m3", "b4"}));
}

TEST_F(EventStore, RederiveWritesOnceAndOlderEventsOnlyFill) {
    Store(
        {Event("new", {Row("contacts", {{"id", "1"}, {"name", "Newer"}})}, 5),
         Event("rank", {Row("chats", {{"chat_id", "c"}, {"stage", "2"}, {"state", "new"}})}, 5)}
    );
    const auto rederive = [&](std::vector<InboundEvent> events) {
        auto r = Run(sink_->RederiveEvents(std::move(events)));
        EXPECT_TRUE(Ok(r));
        return r.has_value() ? *r : std::vector<sink::RederiveResult>{};
    };
    // Events received before the rows: they fill, they do not replace (equal rank included).
    auto r = rederive(
        {Event("new", {Row("contacts", {{"id", "1"}, {"name", "Old"}, {"phone", "9"}})}, 1),
         Event(
             "rank",
             {Row("chats", {{"chat_id", "c"}, {"stage", "2"}, {"state", "old"}, {"agent", "A"}})},
             1
         ),
         Event("new", {Row("contacts", {{"id", "2"}, {"name", "abc"}})}, 2)}
    );
    ASSERT_EQ(r.size(), 3U);
    EXPECT_EQ(r[0].rows_written, 1);
    EXPECT_EQ(r[1].rows_written, 1);
    EXPECT_EQ(RowText("contacts", "id = 1"), "(1,Newer,9,\"" + AtText(5) + "\")");
    EXPECT_EQ(Column("chats", "state", "chat_id = 'c'"), "new");
    EXPECT_EQ(Column("chats", "agent", "chat_id = 'c'"), "A");
    // A higher rank replaces, even from an older event.
    r = rederive(
        {Event("rank", {Row("chats", {{"chat_id", "c"}, {"stage", "3"}, {"state", "up"}})}, 1)}
    );
    EXPECT_EQ(Column("chats", "state", "chat_id = 'c'"), "up");

    // A value the database refuses costs that event its rows, and its derive_error says so.
    r = rederive(
        {Event("new", {Row("contacts", {{"id", "x"}})}, 1),
         Event("rank", {Row("contacts", {{"id", "3"}})}, 1)}
    );
    ASSERT_EQ(r.size(), 2U);
    EXPECT_NE(r[0].error.find("derived rows refused: "), std::string::npos) << r[0].error;
    EXPECT_TRUE(r[0].error_changed);
    EXPECT_EQ(r[1].error, "");
    EXPECT_FALSE(r[1].error_changed);
    EXPECT_EQ(r[1].rows_written, 1);
    EXPECT_EQ(EventColumn("new", "derive_error"), r[0].error);
    EXPECT_EQ(Count("contacts", "id = 3"), "1");

    // Again, and then fixed: nothing is written twice; the error is cleared once.
    r = rederive({Event("rank", {Row("contacts", {{"id", "3"}})}, 1)});
    EXPECT_EQ(r.at(0).rows_written, 0);
    r = rederive({Event("new", {Row("contacts", {{"id", "4"}})}, 1)});
    EXPECT_TRUE(r.at(0).error_changed);
    EXPECT_EQ(EventColumn("new", "derive_error IS NULL"), "t");
    r = rederive({Event("new", {Row("contacts", {{"id", "4"}})}, 1)});
    EXPECT_FALSE(r.at(0).error_changed);
    EXPECT_EQ(r.at(0).rows_written, 0);
}

TEST_F(EventStore, NonJsonBodyIsStoredRawAndFlagged) {
    const std::string body("not json \xff\xfe\0 tail'\\", 19);
    auto e = Event("k1", {Row("contacts", {{"id", "1"}, {"name", "Ann"}})}, 0, body);
    e.valid_json = false;
    e.event_name = std::string("bad\xff\0name", 9);
    const auto results = Store({e, Event("k2", {Row("contacts", {{"id", "2"}})})});
    EXPECT_EQ(Outcomes(results), (std::vector<std::string>{"stored", "stored"}));
    EXPECT_EQ(EventColumn("k1", "body IS NULL"), "t");
    EXPECT_EQ(EventColumn("k1", "malformed"), "t");
    EXPECT_EQ(EventColumn("k1", "bytes"), "19");
    EXPECT_EQ(EventColumn("k1", "derive_error IS NULL"), "t");
    EXPECT_EQ(EventColumn("k1", "encode(raw, 'hex')"), "6e6f74206a736f6e20fffe00207461696c275c");
    EXPECT_EQ(EventColumn("k1", "event_name"), "bad\xEF\xBF\xBDname");
    EXPECT_EQ(Count("contacts", "id = 1"), "0") << "no rows from a body that is not JSON";
    EXPECT_EQ(Count("contacts", "id = 2"), "1");
}

TEST_F(EventStore, BadValueCostsOnlyItsOwnRows) {
    std::vector<InboundEvent> batch;
    for (int i = 0; i < 5; ++i) {
        const std::string id = i == 2 ? "abc" : std::to_string(i);
        batch.push_back(Event(
            "k" + std::to_string(i),
            {Row("messages", {{"chat_id", "c"}, {"msg_id", std::to_string(i)}, {"text", "m"}}),
             Row("contacts", {{"id", id}, {"name", "n" + std::to_string(i)}})},
            i
        ));
    }
    const auto results = Store(batch);
    EXPECT_EQ(
        Outcomes(results),
        (std::vector<std::string>{"stored", "stored", "without_rows", "stored", "stored"})
    );
    EXPECT_NE(results[2].error.find("bigint"), std::string::npos) << results[2].error;
    EXPECT_NE(results[2].error.find("abc"), std::string::npos) << results[2].error;
    EXPECT_EQ(Events(), "5");
    EXPECT_EQ(Events("derive_error IS NOT NULL"), "1");
    EXPECT_EQ(EventColumn("k2", "derive_error"), results[2].error);
    EXPECT_EQ(EventColumn("k2", "body IS NOT NULL AND NOT malformed"), "t");
    // The event's rows go together: its message is not written either.
    EXPECT_EQ(Count("contacts"), "4");
    EXPECT_EQ(Count("messages"), "4");
    EXPECT_EQ(Count("messages", "msg_id = 2"), "0");

    // Delivered again, it is a duplicate like any other.
    const auto again = Store({batch[2]});
    EXPECT_EQ(Outcomes(again), std::vector<std::string>{"duplicate"});
}

TEST_F(EventStore, RowsThatDoNotFitTheDeclarationCostOnlyTheirEvent) {
    const auto results = Store(
        {Event("k0", {Row("contacts", {{"id", "0"}})}),
         Event("k1", {Row("contacts", {{"id", "1"}}), Row("nosuchtable", {{"id", "1"}})}),
         Event("k2", {Row("contacts", {{"id", "2"}, {"nosuchcolumn", "x"}})}),
         Event("k3", {Row("contacts", {{"name", "no key"}})}),
         Event("k4", {Row("contacts", {{"id", "4"}, {"name", std::string("nul\0", 4)}})}),
         Event("k5", {Row("contacts", {{"id", "5"}, {"name", "bad \xff utf-8"}})}),
         Event("k6", {Row("contacts", {{"id", "6"}})})}
    );
    EXPECT_EQ(
        Outcomes(results),
        (std::vector<std::string>{
            "stored",
            "without_rows",
            "without_rows",
            "without_rows",
            "without_rows",
            "without_rows",
            "stored"})
    );
    EXPECT_NE(results[1].error.find("nosuchtable"), std::string::npos) << results[1].error;
    EXPECT_NE(results[2].error.find("nosuchcolumn"), std::string::npos) << results[2].error;
    EXPECT_EQ(Count("contacts"), "2");
    EXPECT_EQ(Events(), "7");
    EXPECT_EQ(Events("derive_error IS NOT NULL"), "5");
}

TEST_F(EventStore, JsonBodyTheDatabaseRefusesIsKeptAsBytes) {
    // The JSON parser said yes, PostgreSQL says no (simulated with bodies that are not JSON).
    auto refused = Event("k1", {Row("contacts", {{"id", "1"}})}, 0, "{not json");
    auto not_utf8 = Event("k2", {Row("contacts", {{"id", "2"}})}, 0, "{\"a\": \"\xff\"}");
    auto with_nul = Event("k3", {Row("contacts", {{"id", "3"}})}, 0, std::string("{}\0", 3));
    const auto results = Store(
        {Event("k0", {Row("contacts", {{"id", "0"}})}),
         refused,
         not_utf8,
         with_nul,
         Event("k4", {Row("contacts", {{"id", "4"}})})}
    );
    EXPECT_EQ(
        Outcomes(results),
        (std::vector<std::string>{
            "stored", "without_rows", "without_rows", "without_rows", "stored"})
    );
    for (const char* key : {"k1", "k2", "k3"}) {
        EXPECT_EQ(EventColumn(key, "body IS NULL AND raw IS NOT NULL AND NOT malformed"), "t")
            << key;
        EXPECT_NE(EventColumn(key, "derive_error"), "") << key;
    }
    EXPECT_NE(results[1].error.find("json"), std::string::npos) << results[1].error;
    EXPECT_EQ(EventColumn("k1", "convert_from(raw, 'UTF8')"), "{not json");
    EXPECT_EQ(EventColumn("k2", "encode(raw, 'hex')"), "7b2261223a2022ff227d");
    EXPECT_EQ(EventColumn("k3", "bytes"), "3");
    EXPECT_EQ(Count("contacts"), "2");

    const auto again = Store({refused, not_utf8, with_nul});
    EXPECT_EQ(Outcomes(again), (std::vector<std::string>{"duplicate", "duplicate", "duplicate"}));
    EXPECT_EQ(Events(), "5");
}

TEST_F(EventStore, EverythingIsCommittedWhenItReturns) {
    pqxx::connection other(dsn_);
    const auto results = Store(
        {Event("k1", {Row("contacts", {{"id", "1"}, {"name", "Ann"}})}),
         Event("k2", {Row("messages", {{"chat_id", "c"}, {"msg_id", "1"}, {"text", "t"}})})}
    );
    EXPECT_EQ(Outcomes(results), (std::vector<std::string>{"stored", "stored"}));
    pqxx::read_transaction tx(other);
    EXPECT_EQ(
        tx.exec1(
              "SELECT count(*) FROM " + tx.quote_name(state_schema_) +
              ".webhook_events WHERE source = " + tx.quote(source_)
        )[0]
            .as<std::string>(),
        "2"
    );
    EXPECT_EQ(tx.exec1("SELECT name FROM " + Table("contacts"))[0].as<std::string>(), "Ann");
    EXPECT_EQ(tx.exec1("SELECT text FROM " + Table("messages"))[0].as<std::string>(), "t");
}

TEST_F(EventStore, LargeBatchIsStoredWholeInBatchOrder) {
    std::vector<InboundEvent> batch;
    for (int i = 0; i < 2000; ++i) {
        const std::string n = std::to_string(i);
        batch.push_back(Event(
            "k" + n,
            {Row("contacts", {{"id", std::to_string(i % 300)}, {"name", "n" + n}}),
             Row("messages",
                 {{"chat_id", "c" + std::to_string(i % 50)}, {"msg_id", n}, {"text", "m" + n}})},
            i % 600,
            R"({"event_name": "chat_updated", "n": )" + n + "}"
        ));
    }
    const auto results = Store(batch);
    EXPECT_EQ(
        std::count_if(
            results.begin(),
            results.end(),
            [](const EventResult& r) { return r.outcome == Outcome::kStored; }
        ),
        2000
    );
    EXPECT_EQ(Events(), "2000");
    EXPECT_EQ(Count("contacts"), "300");
    EXPECT_EQ(Count("messages"), "2000");
    // The last event of each contact wins (kCoalesce, in batch order).
    EXPECT_EQ(Column("contacts", "name", "id = 7"), "n1807");

    const auto replayed = Store(batch);
    EXPECT_EQ(
        std::count_if(
            replayed.begin(),
            replayed.end(),
            [](const EventResult& r) { return r.outcome == Outcome::kDuplicate; }
        ),
        2000
    );

    // One bad event in a new batch of 2000: the fallback stores the others with their rows.
    for (auto& e : batch) {
        e.event_key += "-again";
    }
    batch[1234].rows[0].values[0].second = "not a number";
    const auto with_bad = Store(batch);
    EXPECT_EQ(with_bad[1234].outcome, Outcome::kStoredWithoutRows);
    EXPECT_EQ(
        std::count_if(
            with_bad.begin(),
            with_bad.end(),
            [](const EventResult& r) { return r.outcome == Outcome::kStored; }
        ),
        1999
    );
    EXPECT_EQ(Events(), "4000");
}

TEST_F(EventStore, ConcurrentBatchesStoreEachEventOnce) {
    // Two daemons receive the same deliveries in different orders and commit them at once.
    auto other = MakeSink();
    ASSERT_TRUE(Ok(Run(other->PrepareEventTables(source_, Tables()))));
    std::vector<InboundEvent> batch;
    for (int i = 0; i < 300; ++i) {
        const std::string n = std::to_string(i);
        batch.push_back(Event(
            "k" + n,
            {Row("contacts", {{"id", std::to_string(i % 20)}, {"phone", n}}),
             Row("chats",
                 {{"chat_id", "c" + std::to_string(i % 7)},
                  {"stage", std::to_string(i % 3)},
                  {"state", n}})},
            i
        ));
    }
    std::vector<InboundEvent> reversed(batch.rbegin(), batch.rend());
    Stored forward;
    Stored backward;
    Spawn(sink_->StoreEvents(batch, {}), forward);
    Spawn(other->StoreEvents(reversed, {}), backward);
    RunUntil([&] { return forward && backward; }, std::chrono::seconds(60));
    ASSERT_TRUE(forward && backward);
    ASSERT_TRUE(Ok(*forward));
    ASSERT_TRUE(Ok(*backward));
    ASSERT_EQ((*forward)->size(), 300U);
    ASSERT_EQ((*backward)->size(), 300U);
    for (std::size_t i = 0; i < 300; ++i) {
        // Event i is at position 299 - i of the reversed batch: exactly one of the two stored it.
        const Outcome f = (**forward)[i].outcome;
        const Outcome b = (**backward)[299 - i].outcome;
        EXPECT_TRUE(
            (f == Outcome::kStored && b == Outcome::kDuplicate) ||
            (f == Outcome::kDuplicate && b == Outcome::kStored)
        ) << "event "
          << i << ": " << Name(f) << " / " << Name(b);
    }
    EXPECT_EQ(Events(), "300");
    EXPECT_EQ(Count("contacts"), "20");
    EXPECT_EQ(Count("chats"), "7");
    other->Stop();
}

TEST_F(EventStore, OverlappingBatchesWriteInTheOrderOfTheirCalls) {
    // Two batches both change contact 1 and chat c1 (ranked, at one rank); the second is
    // called while the first is being stored, and must apply after it. The first is held
    // before it writes anything: another transaction is inserting its first event. The hold
    // ends when the second batch has returned, or after two seconds: a second batch that
    // did not wait for the first returns before that and is then overwritten by it.
    std::vector<InboundEvent> first;
    for (int i = 0; i < 200; ++i) {
        first.push_back(Event(
            "a" + std::to_string(i),
            {Row("contacts", {{"id", std::to_string(i % 50 + 1)}, {"name", "first"}}),
             Row("chats", {{"chat_id", "c1"}, {"stage", "1"}, {"state", "first"}})},
            1
        ));
    }
    const std::vector<InboundEvent> second{Event(
        "b",
        {Row("contacts", {{"id", "1"}, {"name", "second"}}),
         Row("chats", {{"chat_id", "c1"}, {"stage", "1"}, {"state", "second"}})},
        2
    )};
    pqxx::connection holder(dsn_);
    auto hold = std::make_unique<pqxx::work>(holder);
    hold->exec(
        "INSERT INTO " + StateTable("webhook_events") +
        " (source, event_key, received_at, channel, bytes) VALUES (" + hold->quote(source_) +
        ", 'a0', now(), 'webhook', 0)"
    );

    std::mutex mutex;
    std::vector<std::string> written;
    const auto note = [&](const std::string& which) {
        return [&mutex, &written, which] {
            const std::lock_guard lock(mutex);
            written.push_back(which);
        };
    };
    Stored r1;
    Stored r2;
    Spawn(sink_->StoreEvents(first, note("first")), r1);
    Spawn(sink_->StoreEvents(second, note("second")), r2);
    RunUntil([&] { return r2.has_value(); }, std::chrono::seconds(2));
    EXPECT_FALSE(r2) << "the second batch did not wait for the first";
    hold->abort();
    hold.reset();
    RunUntil([&] { return r1 && r2; }, std::chrono::seconds(60));
    ASSERT_TRUE(r1 && r2);
    ASSERT_TRUE(Ok(*r1));
    ASSERT_TRUE(Ok(*r2));
    EXPECT_EQ(Outcomes(**r1), std::vector<std::string>(200, "stored"));
    EXPECT_EQ(Outcomes(**r2), std::vector<std::string>{"stored"});
    EXPECT_EQ(written, (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(Column("contacts", "name", "id = 1"), "second");
    EXPECT_EQ(Column("contacts", "name", "id = 2"), "first");
    EXPECT_EQ(Column("chats", "state", "chat_id = 'c1'"), "second");
    EXPECT_EQ(Events(), "201");
}

TEST_F(EventStore, ConnectionLostWhileIdleIsReplacedAndNothingIsLost) {
    Store({Event("k1", {Row("contacts", {{"id", "1"}})})});
    // The server ends the sink's sessions (a restart, an idle timeout, an operator).
    Query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
        admin_->quote(application_name_)
    );
    const auto results = Store(
        {Event("k1", {Row("contacts", {{"id", "1"}})}),
         Event("k2", {Row("contacts", {{"id", "2"}})})}
    );
    EXPECT_EQ(Outcomes(results), (std::vector<std::string>{"duplicate", "stored"}));
    EXPECT_EQ(Events(), "2");
    EXPECT_EQ(Count("contacts"), "2");
}

TEST_F(EventStore, UnreachableDatabaseFailsTransientlyWithoutTheDsn) {
    sink::PgSink::Options options;
    options.dsn = "postgresql://chatsync:Sup3rSecretPw@127.0.0.1:1/chatsync";
    options.state_schema = state_schema_;
    options.connect_timeout = std::chrono::seconds(2);
    sink::PgSink unreachable(options, redactor_);
    auto r = Run(unreachable.StoreEvents({Event("k1", {})}, {}));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(Errc::kSinkTransient));
    EXPECT_NE(r.error().message(), r.error().code().message());
    EXPECT_EQ(r.error().message().find("Sup3rSecretPw"), std::string::npos) << r.error().message();
    unreachable.Stop();
}

}  // namespace
}  // namespace chatsync::test
