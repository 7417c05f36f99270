// The JivoChat mode's Chat API channel answers its status as a bare 0 or 1.

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
