#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "core/result.hpp"

namespace chatsync::connectors {
class WebhookStrategy;
}  // namespace chatsync::connectors

namespace chatsync::metrics {
class Metrics;
}  // namespace chatsync::metrics

namespace chatsync::sink {
class EventSink;
}  // namespace chatsync::sink

namespace chatsync::server {

/// One source that receives webhooks.
struct WebhookRoute {
    std::string source;
    /// The strategy's name, the second segment of the URL ("jivochat").
    std::string strategy_name;
    /// The secret last segment of the URL.
    std::string token;
    std::shared_ptr<const connectors::WebhookStrategy> strategy;
};

/// The webhook listener: the one address meant to face the internet. Per route it serves
///
///     POST /webhooks/<strategy>/<source>/<token>        the platform's webhooks
///     POST /webhooks/<strategy>/<source>/<token>/chat   Chat API agent messages
///
/// and nothing else. Path, token and method are checked from the request header, before a
/// byte of the body is read: a wrong path or token answers 404, writes nothing and closes
/// (the token is compared in constant time); another method on a right URL answers 405; a
/// body over max_body_bytes answers 413, and one beyond max_body_bytes_in_flight 503, unread. Every
/// accepted body is committed to the database, with the rows its strategy derives, before the
/// answer `{"result":"ok"}` goes out; a replayed body is stored once and answered the same. A body
/// that is not JSON is stored raw, flagged and answered ok too: nothing that arrived is dropped.
/// When the database cannot take it, the answer is 503 and the sender delivers again.
///
/// Bodies that arrive while a commit is in progress wait and share the next one (group
/// commit): throughput does not cost one fsync per event.
///
/// @par Thread Safety
/// Use from one executor.
///
/// @par Stopping
/// Stop() closes the listener and the connections still reading a request; requests whose
/// body is in are answered after their commit. Drained() completes when the last
/// connection has closed.
class WebhookServer final {
public:
    struct Options {
        /// "host:port"; port 0 picks a free port.
        std::string listen;
        std::size_t max_body_bytes = std::size_t{1} << 20U;
        /// Events per transaction at most.
        std::size_t max_batch_events = 500;
        /// The listener's budgets and timeouts (see http::Server); refused and closed
        /// connections are counted and logged as listener "webhook".
        std::size_t max_connections = 1024;
        std::size_t max_connections_per_client = 512;
        Millis header_timeout = std::chrono::seconds(10);
        Millis idle_timeout = std::chrono::seconds(30);
        Millis body_timeout = std::chrono::seconds(10);
        std::size_t body_min_rate = std::size_t{16} << 10U;
        std::size_t max_body_bytes_in_flight = std::size_t{64} << 20U;
    };

    WebhookServer(
        Executor executor,
        Options options,
        sink::EventSink& sink,
        metrics::Metrics& metrics
    );
    ~WebhookServer();

    WebhookServer(const WebhookServer&) = delete;
    WebhookServer& operator=(const WebhookServer&) = delete;

    /// Replaces the routes (at start and on config reloads).
    void SetRoutes(std::vector<WebhookRoute> routes);

    Result<void> Start();
    std::uint16_t port() const noexcept;
    void Stop();
    Task<void> Drained();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::server
