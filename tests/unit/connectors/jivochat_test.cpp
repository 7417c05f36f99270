// The JivoChat webhook strategy: Jivo's documented events to rows, type quirks included.

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "connectors/webhook_strategy.hpp"

namespace chatsync::connectors {
namespace {

using Values = std::map<std::string, std::optional<std::string>>;

const WebhookStrategy& Jivo() {
    static const auto strategy = MakeWebhookStrategy("jivochat");
    return *strategy;
}

MappedEvent Map(const std::string& body, WebhookChannel channel = WebhookChannel::kWebhook) {
    return Jivo().Map(channel, body, "key-1", "2026-01-02T03:04:05Z");
}

/// The rows of one table, each as column -> value.
std::vector<Values> RowsOf(const MappedEvent& e, const std::string& table) {
    std::vector<Values> out;
    for (const auto& r : e.rows) {
        if (r.table == table) {
            out.emplace_back(r.values.begin(), r.values.end());
        }
    }
    return out;
}

TEST(JivoChatStrategy, DeclaresEveryTableWithKeysAndPolicies) {
    std::map<std::string, sink::EventTable> tables;
    for (auto& t : Jivo().Tables()) {
        tables.emplace(t.name, t);
    }
    for (const auto* name :
         {"chats", "messages", "clients", "agents", "calls", "offline_messages", "crm_events"}) {
        ASSERT_EQ(tables.count(name), 1U) << name;
        EXPECT_FALSE(tables.at(name).key.empty()) << name;
    }
    EXPECT_EQ(tables.at("chats").merge, sink::MergePolicy::kRanked);
    EXPECT_EQ(tables.at("chats").rank_column, "stage");
    EXPECT_EQ(tables.at("calls").key, (std::vector<std::string>{"chat_id", "status"}));
    EXPECT_EQ(MakeWebhookStrategy("nope"), nullptr);
}

TEST(JivoChatStrategy, IdsOfEitherJsonTypeBecomeTheSameText) {
    const auto as_numbers =
        Map(R"({"event_name":"chat_accepted","chat_id":7636,"widget_id":3948,)"
            R"("visitor":{"number":2198},"agent":{"id":2016,"name":"A"},"assigned_agent":{"id":1}})"
        );
    const auto as_strings = Map(
        R"({"event_name":"chat_accepted","chat_id":"7636","widget_id":"3948",)"
        R"("visitor":{"number":"2198"},"agent":{"id":"2016","name":"A"},"assigned_agent":{"id":"1"}})"
    );
    EXPECT_EQ(RowsOf(as_numbers, "chats"), RowsOf(as_strings, "chats"));
    const auto chat = RowsOf(as_numbers, "chats").at(0);
    EXPECT_EQ(chat.at("chat_id"), "7636");
    EXPECT_EQ(chat.at("agent_id"), "2016");
    EXPECT_EQ(chat.at("assigned_agent_id"), "1");
    EXPECT_EQ(chat.at("client_id"), "2198");
    EXPECT_EQ(chat.at("state"), "accepted");
    EXPECT_EQ(chat.at("stage"), "1");
    EXPECT_EQ(chat.at("accepted_received_at"), "2026-01-02T03:04:05Z");
    EXPECT_EQ(RowsOf(as_numbers, "agents").size(), 2U);
    EXPECT_EQ(RowsOf(as_numbers, "clients").at(0).at("client_id"), "2198");
}

TEST(JivoChatStrategy, FinishedChatGivesItsTranscriptByPosition) {
    const auto e =
        Map(R"({"event_name":"chat_finished","widget_id":"3948","visitor":{"number":"2198"},)"
            R"("chat_id":7607,"tags":[],"agents":[{"id":"1","name":"Thomas Anderson"}],)"
            R"("chat":{"messages":[{"message":"hi","timestamp":1665396476,"type":"visitor"},)"
            R"({"message":"hello","timestamp":1665396483,"type":"agent","agent_id":1}],)"
            R"("blacklisted":false,"rate":"good"}})");
    const auto messages = RowsOf(e, "messages");
    ASSERT_EQ(messages.size(), 2U);
    EXPECT_EQ(messages[0].at("message_key"), "7607/0");
    EXPECT_EQ(messages[0].at("direction"), "inbound");
    EXPECT_EQ(messages[0].at("agent_id"), std::nullopt);
    EXPECT_EQ(messages[0].at("sent_at"), "2022-10-10T10:07:56.000Z");
    EXPECT_EQ(messages[1].at("direction"), "outbound");
    EXPECT_EQ(messages[1].at("agent_id"), "1");
    const auto chat = RowsOf(e, "chats").at(0);
    EXPECT_EQ(chat.at("state"), "finished");
    EXPECT_EQ(chat.at("message_count"), "2");
    EXPECT_EQ(chat.at("blacklisted"), "false");
    EXPECT_EQ(chat.at("rate"), "good");
    EXPECT_EQ(chat.count("tags"), 0U) << "an empty list keeps the tags seen before";
    // The agent from agents[] with its name, once, although a message names it too.
    const auto agents = RowsOf(e, "agents");
    ASSERT_EQ(agents.size(), 1U);
    EXPECT_EQ(agents[0].at("name"), "Thomas Anderson");
}

TEST(JivoChatStrategy, ClientCardOutranksVisitorData) {
    const auto card =
        Map(R"({"event_name":"client_updated","client_id":"1217","visitor":{"number":1217,)"
            R"("name":"Thomas"},"organization":{"id":"1","name":"Co"},"tags":[{"id":"17"}]})");
    const auto client = RowsOf(card, "clients").at(0);
    EXPECT_EQ(client.at("client_id"), "1217");
    EXPECT_EQ(client.at("rank"), "10");
    EXPECT_EQ(client.at("organization_name"), "Co");
    const auto attributes = Map(
        R"({"event_name":"client_attribute_updated","client_id":1217,"attributes":{"plan":"pro"}})"
    );
    const auto a = RowsOf(attributes, "clients").at(0);
    EXPECT_EQ(a.at("client_id"), "1217");
    EXPECT_EQ(a.at("attributes"), R"({"plan":"pro"})");
}

TEST(JivoChatStrategy, CallsOfflineMessagesAndCrmEvents) {
    const auto call =
        Map(R"({"event_name":"call_event","chat_id":4398,"agent":{"id":"3599"},)"
            R"("call":{"type":"callback","phone":"+1","status":"end","record_url":"http://r"}})");
    const auto c = RowsOf(call, "calls").at(0);
    EXPECT_EQ(c.at("chat_id"), "4398");
    EXPECT_EQ(c.at("status"), "end");
    EXPECT_EQ(c.at("record_url"), "http://r");

    const auto offline =
        Map(R"({"event_name":"offline_message","chat_id":2026,"message":"Message text",)"
            R"("offline_message_id":1665399500726})");
    EXPECT_EQ(RowsOf(offline, "offline_messages").at(0).at("offline_message_id"), "1665399500726");

    const auto deal = Map(R"({"event_type":"crm_deal","event_name":"created_deal","deal_id":5,)"
                          R"("client":{"client_id":7},"title":"Big","created_ts":1677837220})");
    EXPECT_EQ(deal.metric_event, "crm_deal");
    const auto d = RowsOf(deal, "crm_events").at(0);
    EXPECT_EQ(d.at("event_key"), "key-1");
    EXPECT_EQ(d.at("entity_id"), "5");
    EXPECT_EQ(d.at("client_id"), "7");
    EXPECT_EQ(d.at("event_ts"), "2023-03-03T09:53:40.000Z");
}

TEST(JivoChatStrategy, ChatApiAgentMessagesAreOutbound) {
    const auto e =
        Map(R"({"sender":{"id":"2016","name":"T"},"recipient":{"id":"c1"},)"
            R"("message":{"type":"text","id":"m-1","text":"Hi"}})",
            WebhookChannel::kChatApi);
    EXPECT_EQ(e.metric_event, "chat_api_message");
    const auto m = RowsOf(e, "messages").at(0);
    EXPECT_EQ(m.at("message_key"), "chat_api/m-1");
    EXPECT_EQ(m.at("direction"), "outbound");
    EXPECT_EQ(m.at("client_id"), "c1");
    EXPECT_EQ(m.at("channel"), "chat_api");
    EXPECT_EQ(RowsOf(e, "agents").size(), 1U);
}

TEST(JivoChatStrategy, NotJsonIsFlaggedAndUnknownNamesAreBounded) {
    const auto bad =
        Map(R"({"event_name":"client_attribute_updated","client_id":1217,"attributes":[ "a": 1 ]})"
        );
    EXPECT_FALSE(bad.valid_json);
    EXPECT_TRUE(bad.rows.empty());
    EXPECT_EQ(bad.event_name, "client_attribute_updated");
    EXPECT_EQ(bad.metric_event, "client_attribute_updated");

    const auto unknown = Map(R"({"event_name":"future_event","chat_id":1})");
    EXPECT_TRUE(unknown.valid_json);
    EXPECT_TRUE(unknown.rows.empty());
    EXPECT_EQ(unknown.event_name, "future_event");
    EXPECT_EQ(unknown.metric_event, "other");
    EXPECT_EQ(Map("[1,2]").metric_event, "other");
    EXPECT_EQ(Map("").metric_event, "other");
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

/// No value of any row holds a NUL byte, which PostgreSQL's text cannot store.
void ExpectNoNul(const MappedEvent& e) {
    for (const auto& r : e.rows) {
        for (const auto& [column, value] : r.values) {
            EXPECT_TRUE(!value || value->find('\0') == std::string::npos)
                << r.table << "." << column;
        }
    }
}

TEST(JivoChatStrategy, ANulInATranscriptKeepsTheChatAndEveryMessage) {
    const auto e = Map(
        R"({"event_name":"chat_finished","widget_id":"3948","visitor":{"number":"2198"},)"
        R"("chat_id":7607,"chat":{"messages":[{"message":"paste\u0000d","timestamp":1665396476,)"
        R"("type":"visitor"},{"message":"ok","timestamp":1665396483,"type":"agent","agent_id":1},)"
        R"({"message":"bye","timestamp":1665396490,"type":"visitor"}]}})"
    );
    ASSERT_TRUE(e.valid_json);
    EXPECT_EQ(e.repairs.nul, 1U);
    ExpectNoNul(e);
    ASSERT_EQ(RowsOf(e, "chats").size(), 1U);
    EXPECT_EQ(RowsOf(e, "chats").at(0).at("message_count"), "3");
    const auto messages = RowsOf(e, "messages");
    ASSERT_EQ(messages.size(), 3U);
    EXPECT_EQ(messages[0].at("text"), "paste" + std::string(kReplacement) + "d");
    EXPECT_EQ(messages[2].at("text"), "bye");
}

TEST(JivoChatStrategy, ALoneSurrogateKeepsTheChatRow) {
    const auto e =
        Map(R"({"event_name":"chat_accepted","chat_id":7636,"widget_id":3948,)"
            R"("visitor":{"number":2198,"name":"a\ud800b"},"agent":{"id":2016,"name":"A"}})");
    ASSERT_TRUE(e.valid_json);
    EXPECT_EQ(e.repairs.surrogate, 1U);
    ASSERT_EQ(RowsOf(e, "chats").size(), 1U);
    EXPECT_EQ(RowsOf(e, "chats").at(0).at("chat_id"), "7636");
    EXPECT_EQ(RowsOf(e, "clients").at(0).at("name"), "a" + std::string(kReplacement) + "b");
}

TEST(JivoChatStrategy, BigIntegersAndDeepFieldsAreKeptExactly) {
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += R"({"a":)";
    }
    deep += "1" + std::string(40, '}');
    const auto e =
        Map(R"({"event_name":"chat_accepted","chat_id":123456789012345678901234567890,)"
            R"("widget_id":3948,"visitor":{"number":2198},"custom_data":)" +
            deep + "}");
    ASSERT_TRUE(e.valid_json);
    EXPECT_EQ(e.repairs.big_integer, 1U);
    EXPECT_EQ(e.repairs.deep, 1U);
    ExpectNoNul(e);
    ASSERT_EQ(RowsOf(e, "chats").size(), 1U);
    EXPECT_EQ(RowsOf(e, "chats").at(0).at("chat_id"), "123456789012345678901234567890");
}

}  // namespace
}  // namespace chatsync::connectors
