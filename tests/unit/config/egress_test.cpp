#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace chatsync::config {
namespace {

/// The one source of a config with the built-in mesibo connector and `http` as given.
SourceConfig Mesibo(const std::string& http_yaml) {
    const auto c = LoadString(
        "sources:\n"
        "  - name: mesibo\n"
        "    connector: mesibo\n"
        "    config: {token: app-token}\n" +
            http_yaml,
        "c.yaml"
    );
    return c.sources.at(0);
}

TEST(EgressRefusal, AGuardedConnectorNeedsAPinnedOrVouchedForAddress) {
    const auto refused = EgressRefusal(Mesibo(""));
    ASSERT_TRUE(refused);
    EXPECT_EQ(
        *refused,
        "connector mesibo must send from one address: set http.local_address to a pinned "
        "egress address, or http.stable_egress: true if this host has exactly one"
    );
    EXPECT_FALSE(EgressRefusal(Mesibo("    http: {stable_egress: true}\n")));
    EXPECT_FALSE(EgressRefusal(Mesibo("    http: {local_address: 127.0.0.1}\n")));
}

TEST(EgressRefusal, APinnedAddressMustBeOnThisHost) {
    // 192.0.2.1 is TEST-NET-1: never assigned to this host.
    const auto refused = EgressRefusal(Mesibo("    http: {local_address: 192.0.2.1}\n"));
    ASSERT_TRUE(refused);
    EXPECT_TRUE(refused->starts_with("pinned egress address 192.0.2.1 is not on this host ("))
        << *refused;
}

TEST(EgressRefusal, AConnectorWithoutAGuardRunsFromAnyAddress) {
    const auto c = LoadString(
        "sources:\n"
        "  - name: tiledesk\n"
        "    connector: tiledesk\n"
        "    config: {project_id: 5b55e806c93dde00143163dd, token: \"JWT t\"}\n",
        "c.yaml"
    );
    ASSERT_FALSE(c.sources.at(0).connector.egress_guard);
    EXPECT_FALSE(EgressRefusal(c.sources.at(0)));
}

}  // namespace
}  // namespace chatsync::config
