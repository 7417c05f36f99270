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

/// What `GET /` serves: a self-contained HTML document and the Content-Security-Policy that
/// lets the browser apply the document's own inline style and nothing else.
struct StatusPage {
    std::string html;
    std::string content_security_policy;
};

/// The admin listener: `/` (the status page, when the owner gives one), `/metrics`
/// (Prometheus text format), `/healthz` (the process is alive and not shutting down) and
/// `/readyz` (the daemon can do its job: see Readiness). Every route is served to whoever
/// reaches the listener: its address is the only access rule.
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
    /// Renders the status page; called for every `GET /` (and `HEAD /`).
    using PageRender = std::function<Task<StatusPage>()>;

    struct Options {
        /// "host:port"; port 0 picks a free port.
        std::string listen = "127.0.0.1:9187";
        /// Its own connection budget (see http::Server), counted and logged as listener
        /// "admin".
        std::size_t max_connections = 64;
        std::size_t max_connections_per_client = 32;
    };

    /// Without `page`, `/` answers 404 like any unknown path.
    AdminServer(
        Executor executor,
        const Options& options,
        metrics::Metrics& metrics,
        ReadyCheck ready,
        PageRender page = {}
    );
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
