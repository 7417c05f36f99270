#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/asio.hpp"
#include "core/result.hpp"

namespace chatsync::metrics {
class Metrics;
}  // namespace chatsync::metrics

namespace chatsync::server {

/// What /readyz reports.
struct Readiness {
    bool ready = false;
    /// One line per problem ("database unreachable", "source x latched", ...), or "ok".
    std::string detail;
};

/// The admin listener: `/metrics` (Prometheus text format), `/healthz` (the process is alive
/// and not shutting down) and `/readyz` (the daemon can do its job: see Readiness).
///
/// @par Thread Safety
/// Use from one executor.
///
/// @par Stopping
/// SetDraining() makes /healthz answer 503; Stop() closes the listener; Drained() completes
/// when its last connection has closed.
class AdminServer final {
public:
    using ReadyCheck = std::function<Task<Readiness>()>;

    struct Options {
        /// "host:port"; port 0 picks a free port.
        std::string listen = "127.0.0.1:9187";
        /// Its own connection budget (see http::Server), counted and logged as listener
        /// "admin".
        std::size_t max_connections = 64;
        std::size_t max_connections_per_client = 32;
    };

    AdminServer(Executor executor, Options options, metrics::Metrics& metrics, ReadyCheck ready);
    ~AdminServer();

    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    Result<void> Start();
    std::uint16_t port() const noexcept;
    void SetDraining(bool draining);
    void Stop();
    Task<void> Drained();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::server
