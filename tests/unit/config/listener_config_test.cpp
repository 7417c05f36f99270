// The listeners' connection budgets, timeouts and body budget in the config.

#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "unit/config/load_errors.hpp"

namespace chatsync::config {
namespace {

using namespace std::chrono_literals;

TEST(ListenerConfig, DefaultsDeriveTheBudgetsAndKeepTimeoutsShort) {
    const auto c = LoadString("webhooks: {listen: \"127.0.0.1:8080\"}\n", "t.yaml");
    EXPECT_EQ(c.webhooks.max_connections, 0U);
    EXPECT_EQ(c.webhooks.max_connections_per_client, 0U);
    EXPECT_EQ(c.webhooks.header_timeout, 10s);
    EXPECT_EQ(c.webhooks.idle_timeout, 30s);
    EXPECT_EQ(c.webhooks.body_timeout, 10s);
    EXPECT_EQ(c.webhooks.body_min_rate, 16U * 1024U);
    EXPECT_EQ(c.webhooks.max_body_bytes_in_flight, 64U << 20U);
    EXPECT_EQ(c.admin.max_connections, 0U);
    EXPECT_EQ(c.admin.max_connections_per_client, 0U);
}

TEST(ListenerConfig, ReadsEveryKey) {
    const auto c = LoadString(
        "webhooks:\n  listen: \"127.0.0.1:8080\"\n  max_connections: 5000\n"
        "  max_connections_per_client: 100\n  header_timeout: 5s\n  idle_timeout: 1m\n"
        "  body_timeout: 3s\n  body_min_rate: 4KiB\n  max_body_bytes_in_flight: 32MiB\n"
        "admin:\n  max_connections: 16\n  max_connections_per_client: 4\n",
        "t.yaml"
    );
    EXPECT_EQ(c.webhooks.max_connections, 5000U);
    EXPECT_EQ(c.webhooks.max_connections_per_client, 100U);
    EXPECT_EQ(c.webhooks.header_timeout, 5s);
    EXPECT_EQ(c.webhooks.idle_timeout, 60s);
    EXPECT_EQ(c.webhooks.body_timeout, 3s);
    EXPECT_EQ(c.webhooks.body_min_rate, 4096U);
    EXPECT_EQ(c.webhooks.max_body_bytes_in_flight, 32U << 20U);
    EXPECT_EQ(c.admin.max_connections, 16U);
    EXPECT_EQ(c.admin.max_connections_per_client, 4U);
}

TEST(ListenerConfig, RejectsBadValuesNamingTheKey) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"webhooks: {max_connections: -1}\n", "webhooks.max_connections"},
        {"webhooks: {max_connections: many}\n", "webhooks.max_connections"},
        {"webhooks: {max_connections_per_client: 1.5}\n", "webhooks.max_connections_per_client"},
        {"webhooks: {header_timeout: 0s}\n", "webhooks.header_timeout"},
        {"webhooks: {idle_timeout: soon}\n", "webhooks.idle_timeout"},
        {"webhooks: {body_timeout: -1s}\n", "webhooks.body_timeout"},
        {"webhooks: {body_min_rate: 0}\n", "webhooks.body_min_rate: must be greater than 0"},
        {"webhooks: {max_body_bytes_in_flight: 512KiB}\n",
         "webhooks.max_body_bytes_in_flight: must be at least max_body_bytes"},
        {"webhooks: {max_connectionz: 5}\n", "webhooks.max_connectionz"},
        {"admin: {max_connections: x}\n", "admin.max_connections"},
        {"admin: {max_connections_per_client: -3}\n", "admin.max_connections_per_client"},
    };
    for (const auto& [yaml, expected] : cases) {
        const auto e = Errors(yaml);
        EXPECT_NE(e.find(expected), std::string::npos) << yaml << " gave: " << e;
    }
}

}  // namespace
}  // namespace chatsync::config
