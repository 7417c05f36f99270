// The JivoChat emitter: the catalogue goes out byte for byte, deliveries are retried the way
// the Chat API contract says (5xx and transport failures up to 3 times, never a 4xx), replays
// and shuffles happen as asked.

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
    // Every answer takes 10 s, so only cancellation can end this block sooner (the bound
    // below leaves room for a slow machine and the sanitizers).
    Receiver receiver({}, milliseconds(10000));
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
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(8000));
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

}  // namespace
}  // namespace chatsync::emulator::test
