#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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

/// A small HTTP/1.1 server: one coroutine per connection, keep-alive, a body size limit
/// (413 before the body is read), and one handler for every request.
///
/// @par Thread Safety
/// Use from one executor. The handler runs on that executor.
///
/// @par Stopping
/// Stop() closes the acceptor and every idle connection; requests in progress are answered.
class Server final {
public:
    using Handler = std::function<Task<ServerResponse>(ServerRequest)>;

    struct Options {
        /// "host:port"; port 0 picks a free port (see port()).
        std::string listen = "127.0.0.1:0";
        std::size_t max_body_bytes = std::size_t{1} << 20U;
        Millis read_timeout = std::chrono::seconds(30);
        /// Told of every request the server refuses before a handler sees it: 413 for a body
        /// over max_body_bytes, 400 for a request that does not parse (`path` is then "").
        std::function<void(const std::string& path, unsigned status)> on_refused{};
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

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::http
