// The JivoChat mode: the catalogue goes out byte for byte, deliveries are retried the way the
// Chat API contract says (5xx and transport failures up to 3 times, never a 4xx), replays and
// shuffles happen as asked, and the Chat API channel answers its status as a bare 0 or 1.

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

namespace chatsync::emulator::test {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr std::string_view kOk = R"({"result":"ok"})";

/// What the receiver answers: a response, or nullopt to drop the connection unanswered.
/// `seen` counts earlier requests with the same body.
using Policy = std::function<std::optional<Response>(const Request& request, int seen)>;

Response OkResponse() {
    return JsonResponse(200, std::string(kOk));
}

/// A provider's receiver: a second in-process server that records every request and answers
/// as its policy says, optionally after a delay.
class Receiver final {
public:
    explicit Receiver(Policy policy = {}, milliseconds delay = milliseconds(0))
        : policy_(std::move(policy))
        , delay_(delay) {
        server_ = std::make_unique<Server>(
            ioc_.get_executor(),
            Server::Options{},
            [this](Request request) { return Handle(std::move(request)); }
        );
        server_->Start();
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~Receiver() {
        boost::asio::post(ioc_, [this] {
            stopping_ = true;
            server_->Stop();
            for (auto* timer : timers_) {
                timer->cancel();
            }
        });
        thread_.join();
    }

    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    std::string Url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(server_->Port()) + std::string(path);
    }

    std::vector<Request> Requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }

    int MaxInFlight() const {
        const std::lock_guard lock(mutex_);
        return max_in_flight_;
    }

private:
    Task<Reply> Handle(Request request) {
        int seen = 0;
        {
            const std::lock_guard lock(mutex_);
            requests_.push_back(request);
            seen = seen_[request.body]++;
            max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
        }
        if (delay_.count() > 0 && !stopping_) {
            net::steady_timer timer(ioc_.get_executor(), delay_);
            timers_.insert(&timer);
            auto [ec] = co_await timer.async_wait(kAsTuple);
            // Cancelled only when the receiver stops; the answer then goes nowhere.
            (void)ec;
            timers_.erase(&timer);
        }
        {
            const std::lock_guard lock(mutex_);
            --in_flight_;
        }
        const std::optional<Response> response = policy_ ? policy_(request, seen) : OkResponse();
        if (!response) {
            co_return Reply{.bytes = {}, .close = true};
        }
        co_return SerializeResponse(*response, request.keep_alive);
    }

    Policy policy_;
    milliseconds delay_;
    boost::asio::io_context ioc_{1};
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
    std::map<std::string, int> seen_;
    int in_flight_ = 0;
    int max_in_flight_ = 0;
    bool stopping_ = false;
    std::set<net::steady_timer*> timers_;  ///< Serving thread only.
    std::unique_ptr<Server> server_;
    std::thread thread_;
};

Options JivoOptions() {
    Options options;
    options.modes = {"jivochat"};
    return options;
}

/// POSTs a job and returns its id.
std::string StartJob(TestClient& client, const json::object& spec) {
    const HttpResult r = client.Post("/_admin/jivochat/jobs", json::serialize(spec));
    EXPECT_EQ(r.status, 201u) << r.body;
    return std::string(r.Json().at("id").as_string());
}

/// Polls the job until it is no longer running and returns its status.
json::object WaitForJob(TestClient& client, const std::string& id, std::string_view query = "") {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        const HttpResult r = client.Get("/_admin/jivochat/jobs/" + id + std::string(query));
        EXPECT_EQ(r.status, 200u) << r.body;
        json::object status = r.Json().as_object();
        if (status.at("state") != "running") {
            return status;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "job " << id << " still running: " << r.body;
            return status;
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
}

std::int64_t Total(const json::object& status, std::string_view name) {
    return status.at("totals").at(name).as_int64();
}

/// A port nothing listens on: bound once, then closed.
std::uint16_t ClosedPort() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(
        ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)
    );
    return acceptor.local_endpoint().port();
}

std::string BodyOf(std::string_view id) {
    const JivoEvent* e = FindJivoCatalogueEvent(id);
    EXPECT_NE(e, nullptr) << id;
    return e == nullptr ? "" : e->body;
}

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

// --- The emitter ------------------------------------------------------------------------------

TEST(JivoChatEmitter, SendsTheWholeCatalogueVerbatimToEachApisUrl) {
    Receiver receiver;
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    const std::string id = StartJob(
        client,
        json::object{
            {"url", receiver.Url("/jivo/webhook")},
            {"crm_url", receiver.Url("/jivo/crm")},
            {"chat_url", receiver.Url("/jivo/chat")},
            {"bot_url", receiver.Url("/jivo/bot")},
            {"events", "catalogue"},
        }
    );
    const json::object status = WaitForJob(client, id, "?bodies=1");
    const std::size_t n = JivoCatalogue().size();
    EXPECT_EQ(status.at("state"), "finished");
    EXPECT_EQ(Total(status, "events"), static_cast<std::int64_t>(n));
    EXPECT_EQ(Total(status, "acknowledged"), static_cast<std::int64_t>(n));
    EXPECT_EQ(Total(status, "attempts"), static_cast<std::int64_t>(n));
    EXPECT_EQ(status.at("unacknowledged_ids").as_array().size(), 0u);
    EXPECT_EQ(status.at("acknowledged_ids").as_array().size(), n);

    const auto requests = receiver.Requests();
    ASSERT_EQ(requests.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
        const JivoEvent& e = JivoCatalogue()[i];
        const Request& r = requests[i];
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.body, e.body) << e.id;
        const std::string path = e.kind == JivoKind::kWebhook ? "/jivo/webhook"
                                 : e.kind == JivoKind::kCrm   ? "/jivo/crm"
                                 : e.kind == JivoKind::kBot   ? "/jivo/bot"
                                                              : "/jivo/chat";
        EXPECT_EQ(r.path, path) << e.id;
        EXPECT_EQ(
            r.Header("Content-Type").value_or(""),
            e.kind == JivoKind::kChatApi ? "application/json; charset=utf-8" : "application/json"
        );
        const auto& d = status.at("deliveries").at(i);
        EXPECT_EQ(d.at("id"), e.id.c_str());
        EXPECT_EQ(d.at("body"), e.body.c_str());
        EXPECT_EQ(d.at("status"), 200);
        EXPECT_EQ(d.at("outcome"), "acknowledged");
        EXPECT_EQ(d.at("response").as_string(), kOk);
    }
    EXPECT_GE(status.at("latency_ms").at("max").as_double(), 0.0);
}

TEST(JivoChatEmitter, ResendsA5xxUpToThreeTimesAndNeverA4xx) {
    const std::string always_503 = BodyOf("chat_accepted");
    const std::string twice_500 = BodyOf("chat_updated");
    const std::string rejected = BodyOf("client_updated");
    Receiver receiver([&](const Request& request, int seen) -> std::optional<Response> {
        if (request.body == always_503) {
            return ErrorResponse(503, "overloaded");
        }
        if (request.body == twice_500 && seen < 2) {
            return ErrorResponse(500, "boom");
        }
        if (request.body == rejected) {
            Response r;
            r.status = 400;
            r.content_type = "text/plain; charset=utf-8";
            r.body = "bad event";
            return r;
        }
        return OkResponse();
    });
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    const std::string id = StartJob(
        client,
        json::object{
            {"url", receiver.Url("/hook")},
            {"events",
             json::array{"chat_accepted", "chat_updated", "client_updated", "chat_finished"}},
            {"backoff_ms", 5},
        }
    );
    const json::object status = WaitForJob(client, id);
    const auto& deliveries = status.at("deliveries").as_array();
    ASSERT_EQ(deliveries.size(), 4u);
    // 1 + 3 resends, then it gives up.
    EXPECT_EQ(deliveries[0].at("attempts").as_array().size(), 4u);
    EXPECT_EQ(deliveries[0].at("outcome"), "failed");
    EXPECT_EQ(deliveries[0].at("status"), 503);
    EXPECT_EQ(deliveries[1].at("attempts").as_array().size(), 3u);
    EXPECT_EQ(deliveries[1].at("outcome"), "acknowledged");
    EXPECT_EQ(deliveries[1].at("attempts").at(0).at("status"), 500);
    EXPECT_EQ(deliveries[2].at("attempts").as_array().size(), 1u);
    EXPECT_EQ(deliveries[2].at("outcome"), "rejected");
    EXPECT_EQ(deliveries[2].at("response"), "bad event");
    EXPECT_EQ(deliveries[3].at("outcome"), "acknowledged");
    EXPECT_EQ(Total(status, "failed"), 1);
    EXPECT_EQ(Total(status, "rejected"), 1);
    EXPECT_EQ(Total(status, "acknowledged"), 2);
    EXPECT_EQ(Total(status, "attempts"), 9);
    EXPECT_EQ(Total(status, "retried"), 2);
    EXPECT_EQ(
        json::serialize(status.at("acknowledged_ids")), R"(["chat_updated","chat_finished"])"
    );
    EXPECT_EQ(
        json::serialize(status.at("unacknowledged_ids")), R"(["chat_accepted","client_updated"])"
    );
    EXPECT_EQ(receiver.Requests().size(), 9u);

    // retries and retry_4xx are the job's to choose.
    const std::string again = StartJob(
        client,
        json::object{
            {"url", receiver.Url("/hook")},
            {"events", json::array{"chat_accepted", "client_updated"}},
            {"retries", 1},
            {"retry_4xx", true},
            {"backoff_ms", 0},
        }
    );
    const json::object second = WaitForJob(client, again);
    EXPECT_EQ(second.at("deliveries").at(0).at("attempts").as_array().size(), 2u);
    EXPECT_EQ(second.at("deliveries").at(1).at("attempts").as_array().size(), 2u);
    EXPECT_EQ(second.at("deliveries").at(1).at("outcome"), "rejected");
}

TEST(JivoChatEmitter, ResendsOnConnectionRefusedAndDroppedConnections) {
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/hook";
    const std::string id = StartJob(
        client,
        json::object{
            {"url", url},
            {"events", json::array{"call_event", "offline_message"}},
            {"backoff_ms", 5},
        }
    );
    const json::object status = WaitForJob(client, id);
    EXPECT_EQ(status.at("state"), "finished");
    for (const auto& d : status.at("deliveries").as_array()) {
        EXPECT_EQ(d.at("outcome"), "failed");
        EXPECT_TRUE(d.at("status").is_null());
        EXPECT_EQ(d.at("error"), "connection_refused");
        ASSERT_EQ(d.at("attempts").as_array().size(), 4u);
        for (const auto& a : d.at("attempts").as_array()) {
            EXPECT_EQ(a.at("error"), "connection_refused");
        }
    }
    EXPECT_EQ(Total(status, "failed"), 2);
    EXPECT_EQ(Total(status, "sent"), 2);
    EXPECT_EQ(Total(status, "attempts"), 8);

    // A connection closed without an answer is a transport failure too.
    Receiver receiver([](const Request&, int seen) -> std::optional<Response> {
        if (seen == 0) {
            return std::nullopt;
        }
        return OkResponse();
    });
    const std::string dropped = StartJob(
        client,
        json::object{
            {"url", receiver.Url("/hook")},
            {"events", json::array{"call_event"}},
            {"backoff_ms", 5},
        }
    );
    const json::object second = WaitForJob(client, dropped);
    EXPECT_EQ(second.at("deliveries").at(0).at("outcome"), "acknowledged");
    EXPECT_EQ(second.at("deliveries").at(0).at("attempts").as_array().size(), 2u);
    EXPECT_TRUE(second.at("deliveries").at(0).at("attempts").at(0).at("status").is_null());
}

TEST(JivoChatEmitter, WebhooksNeedResultOkWhileTheChatApiTakesAny2xx) {
    Receiver receiver([](const Request& request, int) -> std::optional<Response> {
        if (request.path == "/chat") {
            Response r;
            r.content_type.clear();
            return r;
        }
        if (request.body.find("chat_accepted") != std::string::npos) {
            return JsonResponse(
                200,
                R"({"result":"ok","custom_data":[{"title":"Title","content":"Content text"}],)"
                R"("crm_link":"https://example.com"})"
            );
        }
        return JsonResponse(200, "{}");
    });
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    json::object spec{
        {"url", receiver.Url("/hook")},
        {"chat_url", receiver.Url("/chat")},
        {"events", json::array{"chat_accepted", "chat_finished", "chat_api.text"}},
    };
    const json::object status = WaitForJob(client, StartJob(client, spec));
    const auto& d = status.at("deliveries").as_array();
    EXPECT_EQ(d[0].at("outcome"), "acknowledged");
    EXPECT_EQ(d[1].at("outcome"), "not_acknowledged");
    // A 2xx is never resent, whatever its body.
    EXPECT_EQ(d[1].at("attempts").as_array().size(), 1u);
    EXPECT_EQ(d[2].at("outcome"), "acknowledged");
    EXPECT_EQ(Total(status, "not_acknowledged"), 1);

    spec["ack"] = "2xx";
    EXPECT_EQ(Total(WaitForJob(client, StartJob(client, spec)), "acknowledged"), 3);
    spec["ack"] = "result_ok";
    EXPECT_EQ(Total(WaitForJob(client, StartJob(client, spec)), "acknowledged"), 1);
}

TEST(JivoChatEmitter, ReplaysAndShufflesGeneratedEventsAsAsked) {
    Receiver receiver;
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    const HttpResult preview = client.Get("/_admin/jivochat/generated?count=60&seed=5");
    ASSERT_EQ(preview.status, 200u);
    const json::value preview_json = preview.Json();
    const auto& generated = preview_json.at("events").as_array();
    ASSERT_EQ(generated.size(), 60u);

    const std::string id = StartJob(
        client,
        json::object{
            {"url", receiver.Url("/hook")},
            {"events", json::array{"generated"}},
            {"count", 60},
            {"seed", 5},
            {"replay", 0.25},
            {"shuffle", true},
        }
    );
    const json::object status = WaitForJob(client, id);
    EXPECT_EQ(Total(status, "events"), 60);
    EXPECT_EQ(Total(status, "deliveries"), 75);
    EXPECT_EQ(Total(status, "replays"), 15);
    EXPECT_EQ(Total(status, "acknowledged"), 75);
    EXPECT_EQ(status.at("acknowledged_ids").as_array().size(), 60u);

    const auto requests = receiver.Requests();
    ASSERT_EQ(requests.size(), 75u);
    std::map<std::string, int> times;
    for (const auto& r : requests) {
        ++times[r.body];
    }
    EXPECT_EQ(times.size(), 60u);
    EXPECT_EQ(
        std::count_if(times.begin(), times.end(), [](const auto& t) { return t.second == 2; }), 15
    );
    // One connection: the receiver sees the job's order, which is not the generated order.
    const auto& deliveries = status.at("deliveries").as_array();
    bool out_of_order = false;
    std::set<std::string> first_seen;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const std::string event_id(deliveries[i].at("id").as_string());
        const std::size_t n = std::stoul(event_id.substr(event_id.rfind('-') + 1));
        EXPECT_EQ(requests[i].body, generated[n].at("body").as_string().c_str());
        EXPECT_EQ(deliveries[i].at("replay").as_bool(), !first_seen.insert(event_id).second);
        out_of_order = out_of_order || n != i;
    }
    EXPECT_TRUE(out_of_order);
}

TEST(JivoChatEmitter, BurstsUseParallelConnectionsAndRateSpacesThem) {
    Receiver receiver({}, milliseconds(50));
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    const json::object burst = WaitForJob(
        client,
        StartJob(
            client,
            json::object{
                {"url", receiver.Url("/hook")},
                {"events", "generated"},
                {"count", 32},
                {"concurrency", 8},
            }
        )
    );
    EXPECT_EQ(Total(burst, "acknowledged"), 32);
    EXPECT_GE(receiver.MaxInFlight(), 4);

    const json::object paced = WaitForJob(
        client,
        StartJob(
            client,
            json::object{
                {"url", receiver.Url("/hook")},
                {"events", "generated"},
                {"count", 6},
                {"seed", 2},
                {"rate", 20},
                {"concurrency", 4},
            }
        )
    );
    EXPECT_EQ(Total(paced, "acknowledged"), 6);
    // Starts at 0, 50, ..., 250 ms, then a 50 ms answer.
    EXPECT_GE(paced.at("duration_ms").as_double(), 250.0);
}

TEST(JivoChatEmitter, CancelAndStopEndRunningJobs) {
    // Every answer takes 2 s, so only cancellation can end this block sooner.
    Receiver receiver({}, milliseconds(2000));
    const auto start = std::chrono::steady_clock::now();
    {
        RunningEmulator emulator(JivoOptions());
        TestClient client = emulator.Client();
        const std::string id = StartJob(
            client,
            json::object{
                {"url", receiver.Url("/hook")},
                {"events", "generated"},
                {"count", 20},
                {"rate", 2},
            }
        );
        std::this_thread::sleep_for(milliseconds(100));
        const HttpResult cancel = client.Post("/_admin/jivochat/jobs/" + id + "/cancel", "");
        EXPECT_EQ(cancel.status, 200u) << cancel.body;
        const json::object status = WaitForJob(client, id);
        EXPECT_EQ(status.at("state"), "cancelled");
        EXPECT_EQ(Total(status, "cancelled"), 20);
        EXPECT_EQ(client.Post("/_admin/jivochat/jobs/9/cancel", "").status, 404u);

        // Shutting the emulator down with a delivery in flight does not wait for its answer.
        StartJob(client, json::object{{"url", receiver.Url("/hook")}, {"events", "chat_accepted"}});
        std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1800));
}

TEST(JivoChatEmitter, CustomEventsAndSpecErrors) {
    Receiver receiver;
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    const std::string id = StartJob(
        client,
        json::object{
            {"url", receiver.Url("/hook")},
            {"events",
             json::array{
                 json::object{{"id", "raw-1"}, {"body", "{not json"}},
                 json::object{{"id", "json-1"}, {"json", json::object{{"event_name", "x"}}}},
             }},
        }
    );
    const json::object status = WaitForJob(client, id);
    EXPECT_EQ(Total(status, "acknowledged"), 2);
    const auto requests = receiver.Requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].body, "{not json");
    EXPECT_EQ(requests[1].body, R"({"event_name":"x"})");

    const auto expect_400 = [&client](const json::object& spec, std::string_view message) {
        const HttpResult r = client.Post("/_admin/jivochat/jobs", json::serialize(spec));
        EXPECT_EQ(r.status, 400u) << r.body;
        EXPECT_NE(r.body.find(message), std::string::npos) << r.body;
    };
    const std::string url = receiver.Url("/hook");
    expect_400({{"url", url}, {"events", "no_such_event"}}, "unknown event");
    expect_400({{"url", url}, {"events", "chat_api"}}, "chat_url");
    expect_400({{"events", "webhooks"}}, "url");
    expect_400({{"url", url}, {"replay", 2}}, "replay");
    expect_400({{"url", url}, {"concurrency", 0}}, "concurrency");
    expect_400({{"url", url}, {"ack", "maybe"}}, "ack");
    expect_400(
        {{"url", url},
         {"events", json::array{json::object{{"id", "a"}}, json::object{{"id", "a"}}}}},
        "duplicate"
    );
    EXPECT_EQ(client.Get("/_admin/jivochat/jobs/99").status, 404u);

    const HttpResult jobs = client.Get("/_admin/jivochat/jobs");
    ASSERT_EQ(jobs.status, 200u);
    EXPECT_EQ(jobs.Json().at("jobs").as_array().size(), 1u);
    EXPECT_EQ(client.Post("/_admin/jivochat/jobs/clear", "").Json().at("cleared"), 1);
    const HttpResult catalogue = client.Get("/_admin/jivochat/catalogue?bodies=1");
    ASSERT_EQ(catalogue.status, 200u);
    EXPECT_EQ(catalogue.Json().at("events").as_array().size(), JivoCatalogue().size());
    EXPECT_EQ(catalogue.Json().at("events").at(0).at("body"), JivoCatalogue().front().body.c_str());
    EXPECT_FALSE(catalogue.Json().at("groups").at("crm").as_array().empty());
}

TEST(JivoChatEmitter, SendFlagStartsAJobAtStartUp) {
    Receiver receiver;
    Options options = JivoOptions();
    options.jivochat_url = receiver.Url("/hook");
    options.jivochat_send = "chat_accepted, chat_finished";
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const json::object status = WaitForJob(client, "1");
    EXPECT_EQ(Total(status, "acknowledged"), 2);
    EXPECT_EQ(receiver.Requests().size(), 2u);

    Options bad = JivoOptions();
    bad.jivochat_send = "webhooks";  // No URL.
    EXPECT_THROW(RunningEmulator{bad}, std::invalid_argument);
}

// --- The Chat API channel ---------------------------------------------------------------------

TEST(JivoChatChannel, StatusIsABareDigitAnd404ForAnUnknownChannel) {
    RunningEmulator emulator(JivoOptions());
    TestClient client = emulator.Client();
    HttpResult r = client.Get("/EmuJivoProvider1/EmuChan001/status");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "1");
    EXPECT_EQ(r.Header("Content-Type").value_or(""), "text/plain; charset=utf-8");

    r = client.Post("/_admin/jivochat/channels/EmuChan001/status", R"({"status":0})");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.Json().at("status"), 0);
    EXPECT_EQ(client.Get("/EmuJivoProvider1/EmuChan001/status").body, "0");

    r = client.Get("/EmuJivoProvider1/Unknown123/status");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.Header("Content-Type").value_or(""), "text/plain; charset=utf-8");
    // Another provider key is no channel URL at all.
    EXPECT_EQ(client.Get("/OtherKey/EmuChan001/status").status, 404u);

    r = client.Post("/_admin/jivochat/channels", R"({"public_id":"DCall6BR1M"})");
    EXPECT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(r.Json().at("status"), 1);
    EXPECT_EQ(
        r.Json().at("status_url"),
        ("http://127.0.0.1:" + std::to_string(emulator.Port()) +
         "/EmuJivoProvider1/DCall6BR1M/status")
            .c_str()
    );
    EXPECT_EQ(client.Get("/EmuJivoProvider1/DCall6BR1M/status").body, "1");
    EXPECT_EQ(
        client.Post("/_admin/jivochat/channels", R"({"public_id":"DCall6BR1M","status":false})")
            .status,
        200u
    );
    EXPECT_EQ(client.Get("/EmuJivoProvider1/DCall6BR1M/status").body, "0");
    EXPECT_EQ(
        client.Post("/_admin/jivochat/channels", R"({"public_id":"x","status":2})").status, 400u
    );
    EXPECT_EQ(client.Post("/_admin/jivochat/channels/nope/status", R"({"status":1})").status, 404u);

    // The client -> Jivo direction: JSON is taken with an empty 200, anything else is a 400.
    const std::string message = R"({"sender":{"id":"1987654321324234","name":"Me"},)"
                                R"("message":{"type":"text","id":"0001","text":"Добрый день!"}})";
    r = client.Post("/EmuJivoProvider1/DCall6BR1M", message);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "");
    r = client.Post("/EmuJivoProvider1/DCall6BR1M", "{oops");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.Header("Content-Type").value_or(""), "text/plain; charset=utf-8");
    EXPECT_EQ(client.Post("/EmuJivoProvider1/Unknown123", message).status, 404u);
    r = client.Get("/_admin/jivochat/channels/DCall6BR1M/messages");
    ASSERT_EQ(r.Json().at("messages").as_array().size(), 1u);
    EXPECT_EQ(r.Json().at("messages").at(0), message.c_str());

    r = client.Get("/_admin/jivochat/channels");
    EXPECT_EQ(r.Json().at("key"), "EmuJivoProvider1");
    EXPECT_EQ(r.Json().at("channels").as_array().size(), 2u);
    EXPECT_EQ(client.Get("/_admin/stats").Json().at("jivochat").at("client_events"), 1);

    EXPECT_EQ(client.Send("DELETE", "/_admin/jivochat/channels/DCall6BR1M").status, 200u);
    EXPECT_EQ(client.Get("/EmuJivoProvider1/DCall6BR1M/status").status, 404u);
    EXPECT_EQ(client.Send("DELETE", "/_admin/jivochat/channels/DCall6BR1M").status, 404u);
}

TEST(JivoChatChannel, FlagsSetTheKeyAndChannels) {
    const CommandLine line = ParseCommandLine({
        "--jivochat-key",
        "IF6YK0nYgC56npYB",
        "--jivochat-channel",
        "DCall6BR1M=0",
        "--jivochat-channel=mCyvGKSuRW",
        "--jivochat-url",
        "http://127.0.0.1:1/hook",
        "--jivochat-retries",
        "5",
        "--jivochat-backoff",
        "2s",
        "--jivochat-rate",
        "12.5",
        "--jivochat-replay",
        "0.1",
        "--jivochat-shuffle",
        "--jivochat-count",
        "7",
    });
    const Options& o = line.options;
    EXPECT_EQ(o.jivochat_key, "IF6YK0nYgC56npYB");
    EXPECT_EQ(o.jivochat_channels.size(), 2u);
    EXPECT_EQ(o.jivochat_retries, 5);
    EXPECT_EQ(o.jivochat_backoff, std::chrono::seconds(2));
    EXPECT_DOUBLE_EQ(o.jivochat_rate, 12.5);
    EXPECT_DOUBLE_EQ(o.jivochat_replay, 0.1);
    EXPECT_TRUE(o.jivochat_shuffle);
    EXPECT_EQ(o.jivochat_count, 7);
    EXPECT_THROW(ParseCommandLine({"--jivochat-replay", "2"}), std::invalid_argument);
    EXPECT_THROW(ParseCommandLine({"--jivochat-nope", "1"}), std::invalid_argument);
    for (const char* flag :
         {"--jivochat-key",
          "--jivochat-url",
          "--jivochat-chat-url",
          "--jivochat-send",
          "jivochat"}) {
        EXPECT_NE(Usage().find(flag), std::string::npos) << flag;
    }

    Options options = o;
    options.modes = {"jivochat"};
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Get("/IF6YK0nYgC56npYB/DCall6BR1M/status").body, "0");
    EXPECT_EQ(client.Get("/IF6YK0nYgC56npYB/mCyvGKSuRW/status").body, "1");
    EXPECT_EQ(client.Get("/IF6YK0nYgC56npYB/EmuChan001/status").status, 404u);
    options.jivochat_channels = {"bad=2"};
    EXPECT_THROW(RunningEmulator{options}, std::invalid_argument);
}

}  // namespace
}  // namespace chatsync::emulator::test
