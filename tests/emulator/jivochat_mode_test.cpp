// The JivoChat mode's catalogue and generator: every doc example byte for byte with its type
// variants, deterministic generated streams, and the delivery plan's replays and shuffles.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "emulator/frame/server.hpp"
#include "emulator/jivochat/emitter.hpp"
#include "emulator/jivochat/events.hpp"
#include "emulator_fixture.hpp"
#include "jivochat_test_support.hpp"

namespace chatsync::emulator::test {
namespace {

// --- Catalogue and generator ------------------------------------------------------------------

TEST(JivoChatCatalogue, HoldsEveryDocExampleWithItsTypeVariants) {
    std::set<std::string> ids;
    for (const JivoEvent& e : JivoCatalogue()) {
        EXPECT_TRUE(ids.insert(e.id).second) << "duplicate " << e.id;
        boost::system::error_code ec;
        (void)json::parse(e.body, ec);
        EXPECT_EQ(e.valid_json, !ec) << e.id;
        EXPECT_EQ(e.valid_json, !e.id.ends_with(".doc")) << e.id;
    }
    for (const char* id :
         {"call_event",
          "call_event.en",
          "chat_accepted",
          "chat_updated",
          "client_updated",
          "client_attribute_updated",
          "client_attribute_updated.doc",
          "chat_finished",
          "offline_message",
          "chat_assigned",
          "unknown.event_name",
          "crm.created_pipeline",
          "crm.created_pipeline.doc",
          "crm.assigned_agent_to_client",
          "crm.created_client_tag.cyrillic",
          "chat_api.text",
          "bot.CLIENT_MESSAGE"}) {
        EXPECT_TRUE(ids.contains(id)) << id;
    }

    // The doc's examples, byte for byte where they are not JSON, and in the doc's key order
    // with its exact values where they are.
    EXPECT_EQ(
        BodyOf("client_attribute_updated.doc"),
        "{\n  \"event_name\": \"client_attribute_updated\",\n  \"widget_id\": \"12345678\",\n"
        "  \"user_token\": null,\n  \"client_id\": 1217,\n  \"attributes\": [\n"
        "    \"some_number_attribute_name\": 1234,\n"
        "    \"some_string_attribute_name\": \"Some string\",\n    ...\n"
        "    <attribute_name: string>: <attribute_value: mixed>,\n  ]\n}"
    );
    EXPECT_EQ(
        BodyOf("crm.created_client_tag.doc"),
        "{\n\t\t{\n\t\t\t\"event_name\": \"created_client_tag\",\n\t\t\t\"tag_id\": 1,\n"
        "\t\t\t\"title\": \"Test_tag\"\n\t\t}\n}"
    );
    EXPECT_EQ(
        BodyOf("client_updated"),
        R"({"event_name":"client_updated","widget_id":"12345678","user_token":null,)"
        R"("visitor":{"name":"Thomas","email":"thomas@gmail.com","phone":"+458745457845",)"
        R"("description":"Description text","number":1217,"chats_count":1},)"
        R"("organization":{"id":"1","name":"Company name"},)"
        R"("status":{"id":"4","title":"contact_later"},)"
        R"("assigned_agent":{"id":3,"email":"agent3@gmail.com","name":"Agent3"},)"
        R"("tags":[{"id":"17","title":"Sales"}],"client_id":"1217"})"
    );
    const json::value finished = json::parse(BodyOf("chat_finished"));
    EXPECT_EQ(finished.at("chat_id"), 7607);
    EXPECT_TRUE(finished.at("analytics").is_null());
    EXPECT_FALSE(finished.as_object().contains("user_token"));
    EXPECT_EQ(finished.at("chat").at("messages").at(1).at("agent_id"), 1);
    EXPECT_EQ(finished.at("agents").at(0).at("id"), "1");
    EXPECT_EQ(finished.at("session").at("geoip").at("latitude"), "37.7898");

    // The documented inconsistencies, and their flipped twins.
    const json::value accepted = json::parse(BodyOf("chat_accepted"));
    EXPECT_EQ(accepted.at("agent").at("id"), "2016");
    EXPECT_EQ(accepted.at("assigned_agent").at("id"), 1);
    EXPECT_EQ(accepted.at("visitor").at("number"), "2198");
    const json::value flipped = json::parse(BodyOf("chat_accepted.flipped"));
    EXPECT_EQ(flipped.at("agent").at("id"), 2016);
    EXPECT_EQ(flipped.at("assigned_agent").at("id"), "1");
    EXPECT_EQ(flipped.at("visitor").at("number"), 2198);
    EXPECT_EQ(flipped.at("chat_id"), "7636");
    EXPECT_EQ(flipped.at("tags").at(0).at("id"), 17);
    EXPECT_EQ(json::parse(BodyOf("client_updated")).at("visitor").at("number"), 1217);
    EXPECT_EQ(json::parse(BodyOf("client_attribute_updated")).at("client_id"), 1217);
    EXPECT_EQ(json::parse(BodyOf("client_updated.flipped")).at("client_id"), 1217);

    // CRM events carry their category, as the prose says.
    const json::value deal = json::parse(BodyOf("crm.created_deal"));
    EXPECT_EQ(deal.at("event_type"), "crm_deal");
    EXPECT_EQ(deal.at("event_name"), "created_deal");
    EXPECT_EQ(deal.at("deal_id"), 3);
    EXPECT_EQ(
        json::parse(BodyOf("crm.created_client_tag.cyrillic")).at("event_name"),
        "\xD1\x81reated_client_tag"
    );

    EXPECT_EQ(JivoCatalogueGroup("catalogue").size(), JivoCatalogue().size());
    EXPECT_TRUE(JivoCatalogueGroup("nope").empty());
    for (const std::string& id : JivoCatalogueGroup("invalid")) {
        EXPECT_FALSE(FindJivoCatalogueEvent(id)->valid_json) << id;
    }
    EXPECT_EQ(JivoCatalogueGroup("invalid").size(), 11u);
}

TEST(JivoChatGenerator, IsDeterministicUniqueAndCausal) {
    const auto events = GenerateJivoEvents(400, 7);
    ASSERT_EQ(events.size(), 400u);
    const auto again = GenerateJivoEvents(400, 7);
    const auto other = GenerateJivoEvents(400, 8);
    std::set<std::string> ids;
    std::set<std::string> bodies;
    std::set<std::string> names;
    std::map<std::int64_t, std::vector<std::string>> per_chat;
    bool agent_id_string = false;
    bool agent_id_number = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const JivoEvent& e = events[i];
        EXPECT_EQ(e.id, "gen-7-" + std::to_string(i));
        EXPECT_EQ(e.body, again[i].body);
        EXPECT_TRUE(ids.insert(e.id).second);
        EXPECT_TRUE(bodies.insert(e.body).second) << "duplicate body " << e.body;
        names.insert(e.name);
        const json::value v = json::parse(e.body);
        EXPECT_EQ(v.at("event_name"), e.name.c_str());
        if (const auto* chat = v.as_object().if_contains("chat_id");
            chat != nullptr && e.name.starts_with("chat_") && e.name != "chat_transferred") {
            per_chat[chat->as_int64()].push_back(e.name);
        }
        if (const auto* agent = v.as_object().if_contains("agent");
            agent != nullptr && e.kind == JivoKind::kWebhook) {
            agent_id_string = agent_id_string || agent->at("id").is_string();
            agent_id_number = agent_id_number || agent->at("id").is_int64();
        }
    }
    EXPECT_NE(events.front().body, other.front().body);
    for (const char* name :
         {"chat_accepted",
          "chat_updated",
          "chat_assigned",
          "chat_finished",
          "call_event",
          "client_updated",
          "client_attribute_updated",
          "offline_message"}) {
        EXPECT_TRUE(names.contains(name)) << name;
    }
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const JivoEvent& e) {
        return e.kind == JivoKind::kCrm;
    }));
    EXPECT_TRUE(
        names.contains("chat_transferred") || names.contains("visitor_banned") ||
        names.contains("agent_status_changed")
    );
    EXPECT_TRUE(agent_id_string && agent_id_number);
    for (const auto& [chat, sequence] : per_chat) {
        EXPECT_EQ(sequence.front(), "chat_accepted") << chat;
        const auto finished = std::find(sequence.begin(), sequence.end(), "chat_finished");
        if (finished != sequence.end()) {
            EXPECT_EQ(finished + 1, sequence.end()) << chat;
            // An init-capture: Clang before 16 cannot capture a structured binding.
            const auto finished_event =
                std::find_if(events.begin(), events.end(), [&id = chat](const JivoEvent& e) {
                    return e.name == "chat_finished" && json::parse(e.body).at("chat_id") == id;
                });
            const json::value v = json::parse(finished_event->body);
            EXPECT_FALSE(v.at("chat").at("messages").as_array().empty());
        }
    }
}

TEST(JivoChatPlan, ReplaysFollowTheirOriginalAndShuffleKeepsTheMultiset) {
    const auto plain = PlanJivoDeliveries(100, 0.2, false, 3);
    ASSERT_EQ(plain.size(), 120u);
    std::map<std::size_t, std::vector<std::size_t>> positions;
    std::vector<std::size_t> originals;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        positions[plain[i].event].push_back(i);
        if (!plain[i].replay) {
            originals.push_back(plain[i].event);
        }
    }
    EXPECT_TRUE(std::is_sorted(originals.begin(), originals.end()));
    EXPECT_EQ(originals.size(), 100u);
    std::size_t twice = 0;
    for (const auto& [event, at] : positions) {
        ASSERT_LE(at.size(), 2u);
        if (at.size() == 2) {
            ++twice;
            EXPECT_FALSE(plain[at[0]].replay);
            EXPECT_TRUE(plain[at[1]].replay);
        }
    }
    EXPECT_EQ(twice, 20u);

    const auto shuffled = PlanJivoDeliveries(100, 0.2, true, 3);
    ASSERT_EQ(shuffled.size(), 120u);
    std::multiset<std::size_t> a;
    std::multiset<std::size_t> b;
    bool differs = false;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        a.insert(plain[i].event);
        b.insert(shuffled[i].event);
        differs = differs || plain[i].event != shuffled[i].event;
    }
    EXPECT_EQ(a, b);
    EXPECT_TRUE(differs);
    EXPECT_EQ(PlanJivoDeliveries(10, 0, false, 1).size(), 10u);
    EXPECT_EQ(PlanJivoDeliveries(10, 1, false, 1).size(), 20u);
    EXPECT_TRUE(PlanJivoDeliveries(0, 0.5, true, 1).empty());
}

TEST(JivoChatPlan, ResultOkIsTheWebhookAcknowledgement) {
    EXPECT_TRUE(IsJivoResultOk(R"({"result":"ok"})"));
    EXPECT_TRUE(IsJivoResultOk(R"({"result":"ok","custom_data":[{"title":"T","content":"C"}]})"));
    EXPECT_FALSE(IsJivoResultOk(R"({"result":"error"})"));
    EXPECT_FALSE(IsJivoResultOk("ok"));
    EXPECT_FALSE(IsJivoResultOk(""));
    EXPECT_FALSE(IsJivoResultOk(R"(["result","ok"])"));
}

}  // namespace
}  // namespace chatsync::emulator::test
