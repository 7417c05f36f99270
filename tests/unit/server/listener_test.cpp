// The listeners' connection budgets and the metrics of what they refuse.

#include "server/listener.hpp"

#include <string>

#include <gtest/gtest.h>

#include "metrics/metrics.hpp"

namespace chatsync::server {
namespace {

TEST(ConnectionBudgets, LeaveDescriptorsForEverythingElse) {
    // The systemd default: 1024 descriptors.
    const auto b = DeriveConnectionBudgets(1024, true, 0, 0, 0, 0);
    EXPECT_EQ(b.admin, 64U);
    EXPECT_EQ(b.admin_per_client, 32U);
    EXPECT_EQ(b.webhook, 1024U - kReservedFiles - 64U);
    EXPECT_EQ(b.webhook_per_client, b.webhook / 2);
    EXPECT_LT(b.webhook + b.admin, 1024U);
}

TEST(ConnectionBudgets, GrowWithTheLimit) {
    const auto b = DeriveConnectionBudgets(65536, true, 0, 0, 0, 0);
    EXPECT_EQ(b.admin, 64U);
    EXPECT_EQ(b.webhook, 65536U - kReservedFiles - 64U);
}

TEST(ConnectionBudgets, StayUsableAtATinyLimit) {
    const auto b = DeriveConnectionBudgets(200, true, 0, 0, 0, 0);
    EXPECT_EQ(b.admin, 18U);  // a quarter of the 72 left
    EXPECT_EQ(b.webhook, 54U);
    const auto none = DeriveConnectionBudgets(64, true, 0, 0, 0, 0);
    EXPECT_EQ(none.admin, 1U);
    EXPECT_EQ(none.webhook, 16U);
}

TEST(ConnectionBudgets, TakeConfiguredValues) {
    const auto b = DeriveConnectionBudgets(1024, true, 300, 10, 8, 2);
    EXPECT_EQ(b.webhook, 300U);
    EXPECT_EQ(b.webhook_per_client, 10U);
    EXPECT_EQ(b.admin, 8U);
    EXPECT_EQ(b.admin_per_client, 2U);
    const auto no_webhooks = DeriveConnectionBudgets(1024, false, 0, 0, 0, 0);
    EXPECT_EQ(no_webhooks.webhook, 0U);
}

TEST(ConnectionReporter, CountsEveryEventByListenerAndReason) {
    metrics::Metrics metrics;
    auto report = ConnectionReporter("webhook", metrics);
    report(http::ConnectionEvent::kIdleClosed);
    report(http::ConnectionEvent::kIdleClosed);
    report(http::ConnectionEvent::kRefused);
    report(http::ConnectionEvent::kClientRefused);
    report(http::ConnectionEvent::kAcceptFailed);
    auto admin = ConnectionReporter("admin", metrics);
    admin(http::ConnectionEvent::kRefused);
    const auto text = metrics.Render();
    for (const std::string line : {
             R"(chatsync_listener_connections_rejected_total{listener="webhook",reason="idle_closed"} 2)",
             R"(chatsync_listener_connections_rejected_total{listener="webhook",reason="listener_full"} 1)",
             R"(chatsync_listener_connections_rejected_total{listener="webhook",reason="client_full"} 1)",
             R"(chatsync_listener_connections_rejected_total{listener="webhook",reason="accept_failed"} 1)",
             R"(chatsync_listener_connections_rejected_total{listener="admin",reason="listener_full"} 1)",
         }) {
        EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
    }
}

}  // namespace
}  // namespace chatsync::server
