#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/asio.hpp"
#include "emulator/frame/http_types.hpp"

/// @file
/// The HTTP/1.1 transport: accepts connections, parses requests (Beast stays in server.cpp)
/// and writes whatever bytes the handler returns, so faults can put anything on the wire.

namespace chatsync::emulator {

/// A keep-alive HTTP/1.1 server over plain TCP.
/// @par Thread Safety
/// Every member function and the handler run on the executor given to the constructor, which
/// must be single-threaded (or a strand).
/// @par Stopping
/// Stop() closes the listener and every open connection; the connection coroutines then end,
/// so io_context::run() returns once the handler's own work is done. Destroy the server only
/// after that.
///
/// | option | default | meaning |
/// | --- | --- | --- |
/// | host | 127.0.0.1 | address to bind |
/// | port | 0 | port to bind; 0 picks a free one |
/// | max_body_bytes | 64 MiB | larger bodies are answered 413 and the connection closed |
class Server final {
public:
    /// Produces the bytes for one request. Runs once per request, in arrival order per
    /// connection; requests of different connections interleave.
    using Handler = std::function<Task<Reply>(Request)>;

    struct Options {
        std::string host = "127.0.0.1";
        std::uint16_t port = 0;
        std::size_t max_body_bytes = 64U << 20U;
    };

    Server(Executor executor, Options options, Handler handler);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds and starts accepting. Throws boost::system::system_error when the address cannot
    /// be bound.
    void Start();

    /// The bound port (after Start()).
    std::uint16_t Port() const;

    /// Closes the listener and all connections. Idempotent.
    void Stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::emulator
