// The `replica:` section: several daemons on one database (README "Running several replicas").

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "unit/config/load_errors.hpp"

namespace chatsync::config {
namespace {

using namespace std::chrono_literals;

TEST(ReplicaConfig, OffUnlessEnabledWithItsNameAndHeartbeat) {
    const auto lone = LoadString("sources: []\n", "test.yaml");
    EXPECT_FALSE(lone.replica.enabled);
    EXPECT_EQ(lone.replica.name, "");
    EXPECT_EQ(lone.replica.heartbeat, 5s);

    const auto shared = LoadString(
        "replica:\n  enabled: true\n  name: chatsync-1\n  heartbeat: 2s\nsources: []\n", "test.yaml"
    );
    EXPECT_TRUE(shared.replica.enabled);
    EXPECT_EQ(shared.replica.name, "chatsync-1");
    EXPECT_EQ(shared.replica.heartbeat, 2s);
}

TEST(ReplicaConfig, UnknownKeysAndAZeroHeartbeatAreRefused) {
    EXPECT_NE(
        Errors("replica:\n  enabeld: true\nsources: []\n").find("enabeld"), std::string::npos
    );
    EXPECT_NE(
        Errors("replica:\n  heartbeat: 0s\nsources: []\n").find("heartbeat"), std::string::npos
    );
}

}  // namespace
}  // namespace chatsync::config
