// The stop timeouts of the deployments stay above the shutdown grace their configs give the
// daemon: systemd's TimeoutStopSec and the pod's terminationGracePeriodSeconds end a daemon
// that is stuck, never one that is finishing its work.

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "core/duration.hpp"

namespace chatsync::config {
namespace {

std::string Read(const std::string& relative) {
    std::ifstream in(std::string(CHATSYNC_SOURCE_DIR) + "/" + relative);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The seconds of `key: value` (or key=value) in `text`, or -1.
long SecondsOf(const std::string& text, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern))) {
        return -1;
    }
    const auto d = ParseDuration(m[1].str());
    return d ? static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(*d).count())
             : std::stol(m[1].str());
}

/// The margin the daemon needs past its grace: the grace timer fires, the loop stops and the
/// process exits (2 s), plus headroom for a loaded host.
constexpr long kMargin = 5;

TEST(StopTimeouts, SystemdWaitsLongerThanTheGrace) {
    const long grace =
        std::chrono::duration_cast<std::chrono::seconds>(LimitsConfig{}.shutdown_grace).count();
    const long stop = SecondsOf(Read("systemd/chatsync.service"), R"(\nTimeoutStopSec=(\w+))");
    ASSERT_GT(stop, 0);
    EXPECT_GE(stop, grace + kMargin) << "TimeoutStopSec must stay above limits.shutdown_grace";
}

TEST(StopTimeouts, KubernetesWaitsLongerThanTheGrace) {
    const long grace =
        SecondsOf(Read("deploy/kubernetes/configmap.yaml"), R"(shutdown_grace:\s*(\w+))");
    const long stop = SecondsOf(
        Read("deploy/kubernetes/deployment.yaml"), R"(terminationGracePeriodSeconds:\s*(\d+))"
    );
    ASSERT_GT(grace, 0);
    ASSERT_GT(stop, 0);
    EXPECT_GE(stop, grace + kMargin);
}

TEST(StopTimeouts, TheContainerImageConfigMatches) {
    const long grace = SecondsOf(Read("deploy/docker/chatsync.yaml"), R"(shutdown_grace:\s*(\w+))");
    const long compose =
        SecondsOf(Read("deploy/compose/compose.yaml"), R"(stop_grace_period:\s*(\w+))");
    ASSERT_GT(grace, 0);
    if (compose >= 0) {
        EXPECT_GE(compose, grace + kMargin);
    }
}

}  // namespace
}  // namespace chatsync::config
