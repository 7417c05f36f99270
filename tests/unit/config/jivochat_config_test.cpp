// The built-in jivochat connector's config: the webhook token, the listener, and the status
// resource that needs channel_url.

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "unit/config/load_errors.hpp"

namespace chatsync::config {
namespace {

std::string Jivo(const std::string& values, const std::string& listen = "127.0.0.1:8080") {
    return "webhooks:\n  listen: \"" + listen +
           "\"\nsources:\n"
           "  - name: jivo\n"
           "    connector: jivochat\n"
           "    config:\n" +
           values;
}

constexpr const char* kToken = "      webhook_token: 0123456789abcdef0123\n";

TEST(JivoChatConfig, WebhookSourceWithoutChannelUrlHasNoStatusPoll) {
    const auto c = LoadString(Jivo(kToken), "t.yaml");
    const auto& s = c.sources.at(0);
    ASSERT_TRUE(s.connector.webhook.has_value());
    EXPECT_EQ(s.connector.webhook->strategy, "jivochat");
    EXPECT_EQ(c.webhooks.listen, "127.0.0.1:8080");
    EXPECT_EQ(c.webhooks.max_body_bytes, 1U << 20U);
    const auto* status = s.connector.FindResource("status");
    ASSERT_NE(status, nullptr);
    EXPECT_FALSE(status->enabled);
    EXPECT_NE(
        std::find(s.secret_keys.begin(), s.secret_keys.end(), "webhook_token"), s.secret_keys.end()
    );
}

TEST(JivoChatConfig, ChannelUrlEnablesTheStatusPoll) {
    const auto c = LoadString(
        Jivo(std::string(kToken) + "      channel_url: https://wh.jivosite.com/k/CTBmVXooAZ\n"),
        "t.yaml"
    );
    const auto* status = c.sources.at(0).connector.FindResource("status");
    ASSERT_NE(status, nullptr);
    EXPECT_TRUE(status->enabled);
    EXPECT_EQ(status->scalar_field, "available");
    EXPECT_TRUE(status->changes_only);
}

TEST(JivoChatConfig, EnablingStatusWithoutChannelUrlIsAnError) {
    const auto e = Errors(Jivo(kToken) + "    resources:\n      status: {enabled: true}\n");
    EXPECT_NE(e.find("needs config.channel_url"), std::string::npos) << e;
}

TEST(JivoChatConfig, TheTokenMustBeLongAndUrlSafe) {
    for (const std::string token : {"short", "0123456789abcdef/0123", "0123456789abcdef 0123"}) {
        const auto e = Errors(Jivo("      webhook_token: \"" + token + "\"\n"));
        EXPECT_NE(e.find("sources[0].config.webhook_token: must be at least 16"), std::string::npos)
            << token << ": " << e;
        EXPECT_EQ(e.find(token), std::string::npos) << "the token is a secret: " << e;
    }
    EXPECT_NE(Errors(Jivo("")).find("webhook_token"), std::string::npos);
}

TEST(JivoChatConfig, AWebhookSourceNeedsTheListener) {
    const auto e = Errors(Jivo(kToken, ""));
    EXPECT_NE(e.find("set webhooks.listen"), std::string::npos) << e;
    EXPECT_NE(Errors("webhooks:\n  listen: nonsense\n").find("webhooks.listen"), std::string::npos);
    EXPECT_NE(
        Errors("webhooks:\n  max_body_bytes: 0\n").find("webhooks.max_body_bytes"),
        std::string::npos
    );
}

TEST(JivoChatConfig, ChangesOnlyNeedsOneRecordARunKeyedByTheChange) {
    const std::string spec =
        "sources:\n  - name: s\n    connector:\n      name: s\n      base_url: http://x\n"
        "      resources:\n        - name: r\n          request: {path: /r}\n"
        "          changes_only: true\n";
    EXPECT_NE(
        Errors(spec + "          primary_key: id\n").find("set primary_key: changed_at"),
        std::string::npos
    );
    EXPECT_NE(
        Errors(
            spec + "          primary_key: changed_at\n          pagination: {type: page_number}\n"
        )
            .find("needs one record a run"),
        std::string::npos
    );
    EXPECT_EQ(Errors(spec + "          primary_key: changed_at\n"), "");
}

TEST(JivoChatExample, LoadsWithAndWithoutTheChannelUrl) {
    setenv("CHATSYNC_DSN", "postgresql://chatsync@127.0.0.1/chatsync", 1);
    setenv("JIVO_WEBHOOK_TOKEN", "00112233445566778899aabbccddeeff", 1);
    const auto path = std::string(CHATSYNC_SOURCE_DIR) + "/configs/jivochat.example.yaml";
    for (const bool with_channel : {false, true}) {
        if (with_channel) {
            setenv("JIVO_CHANNEL_URL", "https://wh.jivosite.com/IF6YK0nYgC56npYB/CTBmVXooAZ", 1);
        }
        Config c;
        try {
            c = LoadFile(path);
        } catch (const ConfigErrors& e) {
            ADD_FAILURE() << e.what();
        }
        ASSERT_EQ(c.sources.size(), 1U);
        EXPECT_EQ(c.webhooks.listen, "127.0.0.1:8080");
        EXPECT_EQ(c.sources[0].connector.FindResource("status")->enabled, with_channel);
    }
    for (const char* name : {"CHATSYNC_DSN", "JIVO_WEBHOOK_TOKEN", "JIVO_CHANNEL_URL"}) {
        unsetenv(name);
    }
}

}  // namespace
}  // namespace chatsync::config
