#include "server/listener.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "metrics/metrics.hpp"

namespace chatsync::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kLogEvery = std::chrono::minutes(1);
constexpr std::size_t kMinWebhookConnections = 16;

/// The kernel's ceiling for any open-file limit (RLIM_INFINITY cannot be set for NOFILE).
std::uint64_t KernelNrOpen() {
    std::ifstream in("/proc/sys/fs/nr_open");
    std::uint64_t n = 0;
    if (in >> n && n > 0) {
        return n;
    }
    return std::uint64_t{1} << 20U;
}

std::size_t OrDefault(std::uint32_t configured, std::size_t derived) {
    return configured != 0 ? configured : derived;
}

constexpr std::size_t kEventKinds = 4;

std::size_t IndexOf(http::ConnectionEvent event) {
    return static_cast<std::size_t>(event);
}

struct ReporterState {
    std::string listener;
    metrics::Metrics* metrics = nullptr;
    std::array<std::uint64_t, kEventKinds> since_log{};
    Clock::time_point last_log{};
    bool logged = false;
};

}  // namespace

OpenFileLimit RaiseOpenFileLimit() {
    OpenFileLimit out;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        out.error = std::strerror(errno);
        return out;
    }
    out.soft = limit.rlim_cur;
    out.hard = limit.rlim_max;
    const std::uint64_t target = std::min<std::uint64_t>(limit.rlim_max, KernelNrOpen());
    if (limit.rlim_cur >= target) {
        return out;
    }
    rlimit raised = limit;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        // A sandbox may refuse it; the limit in force still sizes the budgets.
        out.error = std::strerror(errno);
        return out;
    }
    out.soft = target;
    out.raised = true;
    return out;
}

ConnectionBudgets DeriveConnectionBudgets(
    std::uint64_t open_files,
    bool webhooks,
    std::uint32_t webhook_max,
    std::uint32_t webhook_per_client,
    std::uint32_t admin_max,
    std::uint32_t admin_per_client
) {
    const std::uint64_t usable = open_files > kReservedFiles ? open_files - kReservedFiles : 0;
    ConnectionBudgets b;
    b.admin = OrDefault(
        admin_max,
        std::max<std::size_t>(
            std::min<std::uint64_t>(kDefaultAdminConnections, usable / 4), std::size_t{1}
        )
    );
    b.admin_per_client = OrDefault(admin_per_client, std::max<std::size_t>(b.admin / 2, 1));
    if (webhooks) {
        const std::uint64_t left = usable > b.admin ? usable - b.admin : 0;
        b.webhook = OrDefault(
            webhook_max,
            static_cast<std::size_t>(std::max<std::uint64_t>(left, kMinWebhookConnections))
        );
        b.webhook_per_client =
            OrDefault(webhook_per_client, std::max<std::size_t>(b.webhook / 2, 1));
    }
    return b;
}

std::string_view ReasonOf(http::ConnectionEvent event) {
    switch (event) {
        case http::ConnectionEvent::kRefused:
            return "listener_full";
        case http::ConnectionEvent::kClientRefused:
            return "client_full";
        case http::ConnectionEvent::kIdleClosed:
            return "idle_closed";
        case http::ConnectionEvent::kAcceptFailed:
            return "accept_failed";
    }
    return "other";
}

std::function<void(http::ConnectionEvent)>
ConnectionReporter(std::string listener, metrics::Metrics& metrics) {
    auto state = std::make_shared<ReporterState>();
    state->listener = std::move(listener);
    state->metrics = &metrics;
    return [state](http::ConnectionEvent event) {
        state->metrics->ConnectionRejected(state->listener, ReasonOf(event));
        const auto i = IndexOf(event);
        if (i < kEventKinds) {
            ++state->since_log[i];
        }
        const auto now = Clock::now();
        if (state->logged && now - state->last_log < kLogEvery) {
            return;
        }
        const auto& n = state->since_log;
        spdlog::warn(
            "listener refused or closed connections over its budget (one line a minute at most) "
            "listener={} listener_full={} client_full={} idle_closed={} accept_failed={}",
            state->listener,
            n[IndexOf(http::ConnectionEvent::kRefused)],
            n[IndexOf(http::ConnectionEvent::kClientRefused)],
            n[IndexOf(http::ConnectionEvent::kIdleClosed)],
            n[IndexOf(http::ConnectionEvent::kAcceptFailed)]
        );
        state->since_log = {};
        state->last_log = now;
        state->logged = true;
    };
}

}  // namespace chatsync::server
