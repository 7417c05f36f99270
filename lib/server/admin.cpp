#include "server/admin.hpp"

#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "server/listener.hpp"

namespace chatsync::server {

struct AdminServer::Impl {
    Impl(Executor executor, const Options& options, metrics::Metrics& m, ReadyCheck r, PageRender p)
        : metrics(m)
        , ready(std::move(r))
        , page(std::move(p))
        , server(
              std::move(executor),
              http::Server::Options{
                  .listen = options.listen,
                  .max_body_bytes = std::size_t{64} * 1024,
                  .max_connections = options.max_connections,
                  .max_connections_per_client = options.max_connections_per_client,
                  .on_connection = ConnectionReporter("admin", m)},
              [this](http::ServerRequest request) { return Handle(std::move(request)); }
          ) {}

    Task<http::ServerResponse> Handle(http::ServerRequest request) {
        http::ServerResponse response;
        if (request.method != "GET" && request.method != "HEAD") {
            response.status = 405;
            response.body = "method not allowed\n";
            response.headers.emplace_back("Allow", "GET, HEAD");
            co_return response;
        }
        if (request.path == "/" && page) {
            auto rendered = co_await page();
            response.content_type = "text/html; charset=utf-8";
            response.body = std::move(rendered.html);
            response.headers.emplace_back(
                "Content-Security-Policy", std::move(rendered.content_security_policy)
            );
            // Every load shows the present state: no cache may keep a copy, and the figures
            // (source names, errors) go to no other site.
            response.headers.emplace_back("Cache-Control", "no-store");
            response.headers.emplace_back("X-Content-Type-Options", "nosniff");
            response.headers.emplace_back("Referrer-Policy", "no-referrer");
        } else if (request.path == "/metrics") {
            response.content_type = "text/plain; version=0.0.4; charset=utf-8";
            response.body = metrics.Render();
        } else if (request.path == "/healthz") {
            response.status = draining ? 503 : 200;
            response.body = draining ? "draining\n" : "ok\n";
        } else if (request.path == "/readyz") {
            const auto r = co_await ready();
            response.status = r.ready ? 200 : 503;
            response.body = r.detail + "\n";
        } else {
            response.status = 404;
            response.body = page ? "not found; try /, /metrics, /healthz or /readyz\n"
                                 : "not found; try /metrics, /healthz or /readyz\n";
        }
        co_return response;
    }

    metrics::Metrics& metrics;
    ReadyCheck ready;
    PageRender page;
    bool draining = false;
    /// Last: its handler refers to the members above.
    http::Server server;
};

AdminServer::AdminServer(
    Executor executor,
    const Options& options,
    metrics::Metrics& metrics,
    ReadyCheck ready,
    PageRender page
)
    : impl_(std::make_unique<
            Impl>(std::move(executor), options, metrics, std::move(ready), std::move(page))) {}

AdminServer::~AdminServer() = default;

Result<void> AdminServer::Start() {
    return impl_->server.Start();
}

std::uint16_t AdminServer::port() const noexcept {
    return impl_->server.port();
}

void AdminServer::SetDraining(bool draining) {
    impl_->draining = draining;
}

void AdminServer::Stop() {
    impl_->server.Stop();
}

Task<void> AdminServer::Drained() {
    return impl_->server.Drained();
}

}  // namespace chatsync::server
