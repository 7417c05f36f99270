#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "core/result.hpp"
#include "http/message.hpp"

namespace chatsync::http {

/// A request as a handler sees it.
struct ServerRequest {
    std::string method{};
    /// The target's path, without the query string.
    std::string path{};
    std::string query{};
    Headers headers{};
    std::string body{};
    std::string remote_address{};
};

struct ServerResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body{};
    Headers headers{};
};

/// What a listener did to a connection other than serving it, for metrics and logs.
enum class ConnectionEvent {
    /// The listener was at max_connections with no idle connection to close: the new
    /// connection was closed at once.
    kRefused,
    /// Its client address was at max_connections_per_client with none of its connections
    /// idle: the new connection was closed at once.
    kClientRefused,
    /// An idle connection (waiting for a request) was closed to make room for a new one.
    kIdleClosed,
    /// accept() failed, for example for want of file descriptors.
    kAcceptFailed,
};

/// A small HTTP/1.1 server: one coroutine per connection, keep-alive, and one handler for
/// every request.
///
/// What it holds against abuse:
/// - Connections: at most max_connections at once, and max_connections_per_client from one
///   address. A connection over either budget closes the oldest idle connection (of the
///   client, then of the listener) or, when every one is busy, is closed at once.
/// - Memory: the request line and header (at most 16 KiB) are read first; `check_head` may
///   answer from them and the connection closes without reading a byte of the body; a body
///   over max_body_bytes answers 413 unread; bodies in flight take at most
///   max_body_bytes_in_flight together, beyond which a request answers 503 unread.
/// - Time: a new connection has header_timeout to send its request header, a kept-alive one
///   idle_timeout to start the next; a header started and not finished in header_timeout, or
///   a body slower than body_timeout plus body_min_rate, answers 408 and closes.
/// - Protocol: HTTP/1.1 without exactly one Host, a Transfer-Encoding other than `chunked`,
///   Transfer-Encoding with Content-Length, a body shorter than its Content-Length and
///   anything that does not parse answer 400 and close.
///
/// @par Thread Safety
/// Use from one executor. The handler runs on that executor.
///
/// @par Stopping
/// Stop() closes the acceptor, every idle connection and every connection still reading
/// its request; requests whose handler runs are answered, then closed. Drained() waits for
/// the last connection to close.
class Server final {
public:
    using Handler = std::function<Task<ServerResponse>(ServerRequest)>;
    /// Sees a request before its body is read (`body` is empty): an answer refuses it, and
    /// the connection closes after the answer without reading the body.
    using HeadCheck = std::function<std::optional<ServerResponse>(const ServerRequest&)>;

    struct Options {
        /// "host:port"; port 0 picks a free port (see port()).
        std::string listen = "127.0.0.1:0";
        std::size_t max_body_bytes = std::size_t{1} << 20U;
        /// Connections open at once, and from one client address (0: no separate limit).
        std::size_t max_connections = 1024;
        std::size_t max_connections_per_client = 0;
        /// From a connection's accept (or the first byte of a later request) to the end of
        /// the request header.
        Millis header_timeout = std::chrono::seconds(10);
        /// A kept-alive connection's wait for its next request.
        Millis idle_timeout = std::chrono::seconds(30);
        /// A body may take body_timeout plus one second per body_min_rate bytes received.
        Millis body_timeout = std::chrono::seconds(10);
        std::size_t body_min_rate = std::size_t{16} << 10U;
        /// Writing an answer.
        Millis write_timeout = std::chrono::seconds(30);
        /// Bytes of request bodies held at once (Content-Length, or max_body_bytes for a
        /// chunked body, from before the body is read until its answer); 0: no limit.
        std::size_t max_body_bytes_in_flight = 0;
        HeadCheck check_head{};
        /// Told of every request the server refuses before a handler sees it: 413 for a body
        /// over max_body_bytes, 408 for a timeout inside a request, 503 for a body over
        /// max_body_bytes_in_flight, 400 for a request that does not parse or breaks the
        /// rules above (`path` is then "" when the request line did not parse).
        std::function<void(const std::string& path, unsigned status)> on_refused{};
        /// Told of connections refused or closed for the budgets, and of failed accepts.
        std::function<void(ConnectionEvent)> on_connection{};
    };

    Server(Executor executor, Options options, Handler handler);
    ~Server();

    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;

    /// Binds and starts accepting. Errors (address in use, bad address) come back as values.
    Result<void> Start();

    /// The bound port, valid after Start().
    std::uint16_t port() const noexcept;

    void Stop();

    /// Completes when Stop() was called and every connection has closed.
    Task<void> Drained();

    /// Connections open now (tests and metrics).
    std::size_t open_connections() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::http
