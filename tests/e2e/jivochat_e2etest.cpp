// End-to-end: the built-in jivochat connector. The emulator's JivoChat mode POSTs webhooks to
// chatsyncd's webhook listener as Jivo would, and serves the Chat API channel status.

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kJivoWebhookToken = "wh-0123456789abcdef-secret";

/// The derived tables, and the columns that hold when an event was received (they differ
/// between two deliveries of the same events, so comparisons leave them out).
constexpr std::array<std::string_view, 7>
    kTables{"chats", "messages", "clients", "agents", "calls", "offline_messages", "crm_events"};

/// A config with one jivochat source per name, the webhook listener and the admin listener.
std::string JivoConfig(
    const std::string& dsn,
    const std::string& data_dir,
    const std::vector<std::string>& sources,
    const std::string& channel_url = "",
    const std::string& extra_webhooks = ""
) {
    std::string yaml = "data_dir: " + data_dir + "\ndatabase:\n  dsn: \"" + dsn +
                       "\"\nadmin:\n  listen: \"127.0.0.1:0\"\nlog:\n  level: debug\n" +
                       "limits:\n  shutdown_grace: 10s\nwebhooks:\n  listen: \"127.0.0.1:0\"\n" +
                       extra_webhooks + "sources:\n";
    for (const auto& name : sources) {
        yaml += "  - name: " + name + "\n    connector: jivochat\n    config:\n" +
                "      webhook_token: " + kJivoWebhookToken + "\n";
        if (!channel_url.empty()) {
            yaml += "      channel_url: " + channel_url + "\n" +
                    "    rate_limit: {requests_per_minute: 0}\n" +
                    "    resources:\n      status: {interval: 200ms}\n";
        }
    }
    return yaml;
}

struct JivoDaemon {
    JivoDaemon(
        const std::string& dsn,
        std::vector<std::string> source_names,
        const std::string& channel_url = "",
        const std::string& extra_webhooks = ""
    )
        : sources(std::move(source_names)) {
        const auto config =
            dir.Write("c.yaml", JivoConfig(dsn, dir.path(), sources, channel_url, extra_webhooks));
        process = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
        port = ListenerPort(*process, "webhook listener");
        admin_port = AdminPort(*process);
    }

    std::string Url(const std::string& source) const {
        return "http://127.0.0.1:" + std::to_string(port) + "/webhooks/jivochat/" + source + "/" +
               kJivoWebhookToken;
    }

    std::string Metrics() const {
        return HttpCall("GET", "http://127.0.0.1:" + std::to_string(admin_port) + "/metrics").body;
    }

    TempDir dir;
    std::vector<std::string> sources;
    std::unique_ptr<Process> process;
    std::uint16_t port = 0;
    std::uint16_t admin_port = 0;
};

/// Starts an emulator job and waits for it to end; returns its status.
json::object RunJob(Emulator& emu, json::object spec, seconds timeout = seconds(120)) {
    const auto started = emu.Admin("POST", "/_admin/jivochat/jobs", json::serialize(spec));
    const std::string id(started.at("id").as_string());
    json::object status;
    WaitFor(
        [&] {
            status = emu.Admin("GET", "/_admin/jivochat/jobs/" + id + "?deliveries=0").as_object();
            return status.at("state") != "running";
        },
        timeout
    );
    return status;
}

std::int64_t Total(const json::object& status, std::string_view name) {
    return status.at("totals").at(name).as_int64();
}

/// Every derived table of a source as sorted text, without the columns that record when
/// events were received.
std::string Snapshot(const std::string& dsn, const std::string& source) {
    std::string out;
    for (const auto table : kTables) {
        const auto rows = Query(
            dsn,
            "SELECT string_agg(r, E'\\n' ORDER BY r) FROM (SELECT (to_jsonb(t) - "
            "'{_chatsync_synced_at,accepted_received_at,finished_received_at,received_at}'::"
            "text[])::text AS r FROM " +
                source + "." + std::string(table) + " t) s"
        );
        out += "== " + std::string(table) + "\n" + rows.at(0).at(0) + "\n";
    }
    return out;
}

std::string Count(const std::string& dsn, const std::string& sql) {
    return Scalar(dsn, sql);
}

std::string EventCount(const std::string& dsn, const std::string& source) {
    return Count(
        dsn, "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + source + "'"
    );
}

/// The catalogue entries of these groups: id -> (kind, body, valid_json).
json::array Catalogue(Emulator& emu) {
    return emu.Admin("GET", "/_admin/jivochat/catalogue?bodies=1").at("events").as_array();
}

TEST(JivoChat, EveryDocumentedEventIsStoredMappedAndReplaysAddNothing) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "jivochat"});
    const auto source = UniqueName("jivo");
    JivoDaemon daemon(dsn, {source});
    ASSERT_NE(daemon.port, 0) << daemon.process->Output();

    json::object spec{
        {"url", daemon.Url(source)},
        {"chat_url", daemon.Url(source) + "/chat"},
        {"events", json::array{"webhooks", "crm", "chat_api"}}};
    const auto first = RunJob(emu, spec);
    ASSERT_EQ(first.at("state"), "finished") << json::serialize(first);
    EXPECT_EQ(Total(first, "acknowledged"), Total(first, "deliveries")) << json::serialize(first);

    // One events row per distinct body; the ones that are not JSON flagged and kept raw.
    std::set<std::string> bodies;
    std::set<std::string> invalid;
    for (const auto& e : Catalogue(emu)) {
        const auto& o = e.as_object();
        const std::string kind(o.at("kind").as_string());
        if (kind != "webhook" && kind != "crm" && kind != "chat_api") {
            continue;
        }
        const std::string body(o.at("body").as_string());
        bodies.insert(kind == "chat_api" ? "c" + body : "w" + body);
        if (!o.at("valid_json").as_bool()) {
            invalid.insert(body);
        }
    }
    ASSERT_GT(invalid.size(), 0U);
    EXPECT_EQ(EventCount(dsn, source), std::to_string(bodies.size()));
    EXPECT_EQ(
        Count(
            dsn,
            "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + source +
                "' AND malformed AND raw IS NOT NULL AND body IS NULL"
        ),
        std::to_string(invalid.size())
    );
    // Bodies are kept byte for byte.
    EXPECT_EQ(
        Count(
            dsn,
            "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + source +
                "' AND octet_length(coalesce(body::text, convert_from(raw, 'UTF8'))) <> bytes"
        ),
        "0"
    );

    // chats: chat_accepted's agent and assigned agent, ids as text whatever their JSON type;
    // the legacy chat_assigned of the same chat came later in the chat's stages.
    EXPECT_EQ(
        Query(
            dsn,
            "SELECT state, agent_id, assigned_agent_id, client_id, visitor_name FROM " + source +
                ".chats WHERE chat_id = '7636'"
        ),
        (std::vector<std::vector<std::string>>{{"assigned", "2016", "1", "2198", "John Smith"}})
    );
    EXPECT_EQ(
        Count(dsn, "SELECT count(*) FROM " + source + ".chats WHERE chat_id !~ '^[0-9]+$'"), "0"
    );
    // chat_finished: state, transcript counters, messages by position and direction.
    EXPECT_EQ(
        Query(
            dsn,
            "SELECT state, message_count::text, blacklisted::text FROM " + source +
                ".chats WHERE chat_id = '7607'"
        ),
        (std::vector<std::vector<std::string>>{{"finished", "2", "false"}})
    );
    EXPECT_EQ(
        Query(
            dsn,
            "SELECT position::text, direction, coalesce(agent_id, '-'), "
            "extract(epoch FROM sent_at)::bigint::text FROM " +
                source + ".messages WHERE chat_id = '7607' ORDER BY position"
        ),
        (std::vector<std::vector<std::string>>{
            {"0", "inbound", "-", "1665396476"}, {"1", "outbound", "1", "1665396483"}})
    );
    // Chat API agent messages: outbound, keyed by their message id.
    EXPECT_EQ(
        Query(
            dsn,
            "SELECT message_key, direction, type, agent_id, client_id FROM " + source +
                ".messages WHERE channel = 'chat_api' ORDER BY message_key"
        ),
        (std::vector<std::vector<std::string>>{
            {"chat_api/agent-0001", "outbound", "text", "2016", "1987654321324234"},
            {"chat_api/agent-0002", "outbound", "photo", "2016", "1987654321324234"},
            {"chat_api/agent-0003", "outbound", "document", "2016", "1987654321324234"}})
    );
    // clients: the client card (client_updated) and its attributes (the object form).
    EXPECT_EQ(
        Query(
            dsn,
            "SELECT name, email, organization_name, status_title, assigned_agent_id, "
            "(attributes IS NOT NULL)::text FROM " +
                source + ".clients WHERE client_id = '1217'"
        ),
        (std::vector<std::vector<std::string>>{
            {"Thomas", "thomas@gmail.com", "Company name", "contact_later", "3", "true"}})
    );
    // agents from agent, agents[] and assigned_agent.
    EXPECT_EQ(
        Count(
            dsn,
            "SELECT count(*) FROM " + source +
                ".agents WHERE agent_id IN ('2016', '3599', '1', '3')"
        ),
        "4"
    );
    EXPECT_EQ(
        Scalar(dsn, "SELECT name FROM " + source + ".agents WHERE agent_id = '3599'"),
        "Thomas Anderson"
    );
    // calls by chat and status; offline messages by their id.
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT record_url FROM " + source + ".calls WHERE chat_id = '4398' AND status = 'end'"
        ),
        "http://example.com/record.mp3"
    );
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT message FROM " + source +
                ".offline_messages WHERE offline_message_id = '1665399500726'"
        ),
        "Message text"
    );
    // CRM events by category, with the id of what they are about.
    EXPECT_EQ(
        Count(
            dsn,
            "SELECT count(*) FROM " + source +
                ".crm_events WHERE event_type = 'crm_deal' AND entity_id IS NULL"
        ),
        "0"
    );
    EXPECT_GT(
        std::stoi(Count(dsn, "SELECT count(DISTINCT event_type) FROM " + source + ".crm_events")), 5
    );

    // Delivering everything again, twice over and shuffled, adds and changes nothing.
    const auto before = Snapshot(dsn, source);
    spec["replay"] = 1.0;
    spec["shuffle"] = true;
    const auto again = RunJob(emu, spec);
    EXPECT_EQ(Total(again, "acknowledged"), Total(again, "deliveries"));
    EXPECT_EQ(EventCount(dsn, source), std::to_string(bodies.size()));
    EXPECT_EQ(Snapshot(dsn, source), before);
    const auto metrics = daemon.Metrics();
    EXPECT_NE(
        metrics.find(
            "chatsync_webhook_events_total{event=\"chat_finished\",outcome=\"duplicate\",source="
            "\"" +
            source + "\"}"
        ),
        std::string::npos
    ) << metrics;
}

TEST(JivoChat, OutOfOrderDeliveryEndsInTheSameState) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "jivochat"});
    const auto in_order = UniqueName("jivo_a");
    const auto shuffled = UniqueName("jivo_b");
    JivoDaemon daemon(dsn, {in_order, shuffled});
    ASSERT_NE(daemon.port, 0) << daemon.process->Output();

    const auto a = RunJob(
        emu, {{"url", daemon.Url(in_order)}, {"events", "generated"}, {"count", 600}, {"seed", 7}}
    );
    const auto b = RunJob(
        emu,
        {{"url", daemon.Url(shuffled)},
         {"events", "generated"},
         {"count", 600},
         {"seed", 7},
         {"shuffle", true},
         {"replay", 0.3},
         {"concurrency", 8}}
    );
    ASSERT_EQ(Total(a, "acknowledged"), 600);
    ASSERT_EQ(Total(b, "acknowledged"), Total(b, "deliveries"));
    EXPECT_EQ(EventCount(dsn, in_order), "600");
    EXPECT_EQ(EventCount(dsn, shuffled), "600");
    // Finished chats stay finished whatever came after.
    EXPECT_NE(
        Count(dsn, "SELECT count(*) FROM " + shuffled + ".chats WHERE state = 'finished'"), "0"
    );
    EXPECT_EQ(Snapshot(dsn, shuffled), Snapshot(dsn, in_order));
}

TEST(JivoChat, RefusesWrongTokenMethodAndSizeAndKeepsWhatIsNotJson) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto source = UniqueName("jivo");
    JivoDaemon daemon(dsn, {source}, "", "  max_body_bytes: 2KiB\n");
    ASSERT_NE(daemon.port, 0) << daemon.process->Output();
    const auto url = daemon.Url(source);
    const std::string base = "http://127.0.0.1:" + std::to_string(daemon.port);
    const std::string event = R"({"event_name":"chat_accepted","chat_id":1})";

    const auto wrong_token = HttpCall(
        "POST", base + "/webhooks/jivochat/" + source + "/wh-0123456789abcdef-secreT", event
    );
    EXPECT_EQ(wrong_token.status, 404U);
    EXPECT_EQ(
        HttpCall("POST", base + "/webhooks/jivochat/nosuch/" + kJivoWebhookToken, event).status,
        404U
    );
    EXPECT_EQ(HttpCall("POST", base + "/metrics", event).status, 404U);
    EXPECT_EQ(HttpCall("POST", url + "/extra", event).status, 404U);
    // A wrong token never reveals whether the URL exists, whatever the method.
    EXPECT_EQ(
        HttpCall("GET", base + "/webhooks/jivochat/" + source + "/wrong-token-0000000").status, 404U
    );
    const auto get = HttpCall("GET", url);
    EXPECT_EQ(get.status, 405U);
    EXPECT_EQ(get.Header("Allow").value_or(""), "POST");
    EXPECT_EQ(HttpCall("POST", url, std::string(4096, ' ') + event).status, 413U);
    EXPECT_EQ(EventCount(dsn, source), "0");

    const std::string not_json =
        R"({"event_name":"client_attribute_updated","client_id":1217,"attributes":[ "a": 1 ]})";
    const auto stored = HttpCall("POST", url, not_json);
    EXPECT_EQ(stored.status, 200U);
    EXPECT_EQ(stored.body, R"({"result":"ok"})");
    EXPECT_EQ(
        Query(
            dsn,
            "SELECT event_name, malformed::text, convert_from(raw, 'UTF8'), (body IS NULL)::text "
            "FROM chatsync.webhook_events WHERE source = '" +
                source + "'"
        ),
        (std::vector<std::vector<std::string>>{
            {"client_attribute_updated", "true", not_json, "true"}})
    );
    EXPECT_EQ(Count(dsn, "SELECT count(*) FROM " + source + ".clients"), "0");

    const auto metrics = daemon.Metrics();
    for (const std::string& series : std::vector<std::string>{
             "chatsync_webhook_requests_rejected_total{reason=\"not_found\",source=\"\"} 5",
             "chatsync_webhook_requests_rejected_total{reason=\"method\",source=\"" + source +
                 "\"} 1",
             "chatsync_webhook_requests_rejected_total{reason=\"too_large\",source=\"" + source +
                 "\"} 1",
             "chatsync_webhook_events_total{event=\"client_attribute_updated\",outcome="
             "\"malformed\","
             "source=\"" +
                 source + "\"} 1"}) {
        EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
    }
    // The token never reaches the log.
    EXPECT_EQ(daemon.process->Output().find(kJivoWebhookToken), std::string::npos);
}

TEST(JivoChat, ValuesTheDatabaseCannotTakeAsSentKeepTheirChatsAndMessages) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto source = UniqueName("jivo");
    JivoDaemon daemon(dsn, {source});
    ASSERT_NE(daemon.port, 0) << daemon.process->Output();
    const auto url = daemon.Url(source);
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += R"({"a":)";
    }
    deep += "1" + std::string(40, '}');
    const std::vector<std::string> bodies{
        R"({"event_name":"chat_finished","widget_id":"3948","visitor":{"number":"2198"},)"
        R"("chat_id":7607,"chat":{"messages":[{"message":"paste\u0000d","timestamp":1665396476,)"
        R"("type":"visitor"},{"message":"ok","timestamp":1665396483,"type":"agent","agent_id":1},)"
        R"({"message":"bye","timestamp":1665396490,"type":"visitor"}]}})",
        R"({"event_name":"chat_accepted","chat_id":7636,"widget_id":3948,)"
        R"("visitor":{"number":2199,"name":"a\ud800b"},"agent":{"id":2016,"name":"A"}})",
        R"({"event_name":"chat_accepted","chat_id":123456789012345678901234567890,)"
        R"("widget_id":3948,"visitor":{"number":2200},"custom_data":)" +
            deep + "}",
    };
    for (const auto& body : bodies) {
        const auto r = HttpCall("POST", url, body);
        EXPECT_EQ(r.status, 200U) << r.body;
    }
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FILTER (WHERE NOT malformed AND body IS NOT NULL AND derive_error IS "
            "NULL) FROM chatsync.webhook_events WHERE source = '" +
                source + "'"
        ),
        "3"
    );
    EXPECT_EQ(
        Query(dsn, "SELECT chat_id, state FROM " + source + ".chats ORDER BY chat_id"),
        (std::vector<std::vector<std::string>>{
            {"123456789012345678901234567890", "accepted"},
            {"7607", "finished"},
            {"7636", "accepted"}})
    );
    EXPECT_EQ(
        Query(dsn, "SELECT message_key, text FROM " + source + ".messages ORDER BY message_key"),
        (std::vector<std::vector<std::string>>{
            {"7607/0",
             "paste\xEF\xBF\xBD"
             "d"},
            {"7607/1", "ok"},
            {"7607/2", "bye"}})
    );
    EXPECT_EQ(
        Scalar(dsn, "SELECT name FROM " + source + ".clients WHERE client_id = '2199'"),
        "a\xEF\xBF\xBD"
        "b"
    );
    // The events keep the bodies exactly as received, NUL escape included.
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + source +
                "' AND body::text LIKE '%paste\\\\u0000d%'"
        ),
        "1"
    );
    const auto metrics = daemon.Metrics();
    for (const auto* kind : {"nul", "surrogate", "big_integer", "deep"}) {
        const std::string series = "chatsync_values_repaired_total{kind=\"" + std::string(kind) +
                                   "\",resource=\"webhook\",source=\"" + source + "\"} 1";
        EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
    }
}

TEST(JivoChat, StatusPollRecordsTransitionsAndReportsAnUnknownChannel) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "jivochat"});
    emu.Admin("POST", "/_admin/jivochat/channels", R"({"public_id":"CHANst4tus","status":1})");
    const auto source = UniqueName("jivo");
    JivoDaemon daemon(dsn, {source}, emu.url() + "/EmuJivoProvider1/CHANst4tus");
    ASSERT_NE(daemon.port, 0) << daemon.process->Output();

    const auto changes = [&] {
        try {
            return Scalar(
                dsn,
                "SELECT coalesce(string_agg(available::text, ',' ORDER BY changed_at), '') FROM " +
                    source + ".status"
            );
        } catch (const std::exception&) {
            return std::string();
        }
    };
    ASSERT_TRUE(WaitFor([&] { return changes() == "1"; }, seconds(20)))
        << changes() << daemon.process->Output();
    emu.Admin("POST", "/_admin/jivochat/channels/CHANst4tus/status", R"({"status":0})");
    ASSERT_TRUE(WaitFor([&] { return changes() == "1,0"; }, seconds(20))) << changes();
    EXPECT_NE(
        daemon.Metrics().find(
            "chatsync_status_value{resource=\"status\",source=\"" + source + "\"} 0"
        ),
        std::string::npos
    );
    // Polls that see no change write nothing.
    std::this_thread::sleep_for(milliseconds(800));
    EXPECT_EQ(changes(), "1,0");
    emu.Admin("POST", "/_admin/jivochat/channels/CHANst4tus/status", R"({"status":1})");
    ASSERT_TRUE(WaitFor([&] { return changes() == "1,0,1"; }, seconds(20))) << changes();

    // An unknown channel is a failed run that says so, in the log and the run log.
    TempDir dir;
    const auto other = UniqueName("jivo");
    const auto config = dir.Write(
        "c.yaml", JivoConfig(dsn, dir.path(), {other}, emu.url() + "/EmuJivoProvider1/NoSuchChan")
    );
    const auto once = RunChatsyncd({"-c", config, "once"});
    EXPECT_NE(once.exit_code, 0);
    EXPECT_NE(once.output.find("channel not found"), std::string::npos) << once.output;
    EXPECT_NE(
        Scalar(
            dsn,
            "SELECT error FROM chatsync.runs WHERE source = '" + other +
                "' ORDER BY started_at DESC LIMIT 1"
        )
            .find("channel not found"),
        std::string::npos
    );
}

TEST(JivoChat, PostgresRestartMidStreamLosesNothingAcknowledged) {
    // The suite needs PostgreSQL; this test stops and starts a cluster of its own.
    CHATSYNC_REQUIRE_DSN(shared_dsn);
    (void)shared_dsn;
    PrivateCluster pg;
    Emulator emu({"--mode", "jivochat"});
    const auto source = UniqueName("jivo");
    JivoDaemon daemon(pg.dsn(), {source});
    ASSERT_NE(daemon.port, 0) << daemon.process->Output();

    constexpr int kEvents = 10000;
    // At the emulator's top rate: as fast as 8 connections go. A refused delivery is resent
    // 3 times, 2 s apart, as Jivo's Chat API contract says.
    const auto started = emu.Admin(
        "POST",
        "/_admin/jivochat/jobs",
        json::serialize(json::object{
            {"url", daemon.Url(source)},
            {"events", "generated"},
            {"count", kEvents},
            {"seed", 11},
            {"concurrency", 8},
            {"retries", 3},
            {"backoff_ms", 2000}})
    );
    const std::string id(started.at("id").as_string());
    const auto stored = [&] {
        try {
            return std::stoi(EventCount(pg.dsn(), source));
        } catch (const std::exception&) {
            return -1;
        }
    };
    ASSERT_TRUE(WaitFor([&] { return stored() >= 1500; }, seconds(60))) << stored();
    pg.Stop();
    std::this_thread::sleep_for(milliseconds(1000));
    pg.Start();

    json::object status;
    ASSERT_TRUE(WaitFor(
        [&] {
            status = emu.Admin("GET", "/_admin/jivochat/jobs/" + id + "?deliveries=0").as_object();
            return status.at("state") != "running";
        },
        seconds(300)
    ));
    EXPECT_EQ(status.at("state"), "finished");
    // The outage refused deliveries, which were delivered again...
    EXPECT_GT(Total(status, "retried"), 0) << json::serialize(status);
    // ...and in the end every event was acknowledged, and each is stored exactly once.
    EXPECT_EQ(Total(status, "acknowledged"), kEvents) << json::serialize(status);
    EXPECT_EQ(EventCount(pg.dsn(), source), std::to_string(kEvents));
    EXPECT_EQ(
        Count(
            pg.dsn(),
            "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + source +
                "' AND (malformed OR derive_error IS NOT NULL)"
        ),
        "0"
    );
    EXPECT_TRUE(daemon.process->Running()) << daemon.process->Output();
    const auto metrics = daemon.Metrics();
    EXPECT_NE(
        metrics.find(
            "chatsync_webhook_requests_rejected_total{reason=\"unavailable\",source=\"" + source +
            "\"}"
        ),
        std::string::npos
    ) << metrics;
    daemon.process->Signal(SIGTERM);
    EXPECT_EQ(daemon.process->Wait(seconds(30)), 0) << daemon.process->Output();
}

}  // namespace
}  // namespace chatsync::test
