#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/duration.hpp"
#include "http/server.hpp"

namespace chatsync::metrics {
class Metrics;
}  // namespace chatsync::metrics

/// @file
/// What the two listeners share: their connection budgets, derived from the open-file limit,
/// and the reporting of connections they refuse.

namespace chatsync::server {

/// Descriptors kept back from the listeners' budgets for everything else: database
/// connections, upstream HTTP, log files, an embedded PostgreSQL's pipes.
inline constexpr std::uint64_t kReservedFiles = 128;

/// The admin listener's budget when the config leaves it at 0.
inline constexpr std::size_t kDefaultAdminConnections = 64;

/// The open-file limit after start-up.
struct OpenFileLimit {
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
    /// The soft limit was raised to the hard one.
    bool raised = false;
    /// Why raising failed ("" when it did not, or was not needed).
    std::string error;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (as far as the kernel's nr_open allows).
OpenFileLimit RaiseOpenFileLimit();

/// Connections each listener may hold.
struct ConnectionBudgets {
    std::size_t webhook = 0;
    std::size_t webhook_per_client = 0;
    std::size_t admin = 0;
    std::size_t admin_per_client = 0;
};

/// The budgets for an open-file limit: a configured value (non-zero) is taken as it is; 0
/// derives it. The admin listener gets kDefaultAdminConnections (a quarter of what the limit
/// leaves after kReservedFiles, when that is less), the webhook listener the rest (at least
/// 16), and a client address half of its listener's budget (at least 1). `webhooks` false:
/// no webhook listener, whose budget is then 0.
ConnectionBudgets DeriveConnectionBudgets(
    std::uint64_t open_files,
    bool webhooks,
    std::uint32_t webhook_max,
    std::uint32_t webhook_per_client,
    std::uint32_t admin_max,
    std::uint32_t admin_per_client
);

/// Counts a listener's refused and closed connections in
/// chatsync_listener_connections_rejected_total{listener,reason} and logs them, one warning
/// a minute at most (with the counts since the previous one). For http::Server's
/// on_connection.
std::function<void(http::ConnectionEvent)>
ConnectionReporter(std::string listener, metrics::Metrics& metrics);

/// The metric reason of an event: listener_full, client_full, idle_closed, accept_failed.
std::string_view ReasonOf(http::ConnectionEvent event);

}  // namespace chatsync::server
