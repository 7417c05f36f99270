#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/asio.hpp"

/// @file
/// The client's connections: one connection, plain or TLS, how it closes, and the pool of
/// kept-alive connections per scheme, host and port.

namespace chatsync::http::detail {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// The room a connection's read buffer starts with, and so the most one read takes from the
/// socket. Beast reads into the room the buffer has (at least 512 bytes), and a buffer left
/// to grow on demand stays near its first size: an 850 KB page then came in some 1,650 reads
/// of 512 bytes, each a system call and a turn of the event loop.
inline constexpr std::size_t kReadBufferBytes = std::size_t{64} << 10U;

/// One connection, plain or TLS. The read buffer belongs to the connection: bytes read past
/// one response would belong to the next.
struct Connection {
    Connection() { buffer.reserve(kReadBufferBytes); }

    std::optional<boost::beast::tcp_stream> plain;
    std::optional<TlsStream> tls;
    boost::beast::flat_buffer buffer;

    /// The TCP stream: the plain one, or the one under TLS. From its connect on, a connection
    /// holds one of the two.
    boost::beast::tcp_stream& Lowest() {
        if (tls) {
            return boost::beast::get_lowest_layer(*tls);
        }
        if (!plain) {
            throw std::logic_error("HTTP connection without a stream");
        }
        return *plain;
    }
};

using ConnectionPtr = std::unique_ptr<Connection>;

/// Closes a connection after a complete response: a TLS close_notify (briefly awaited), or
/// a TCP shutdown.
Task<void> Close(ConnectionPtr connection);

/// Kept-alive connections, per key ("scheme://host:port"), at most `max_idle_per_host` each.
class ConnectionPool final {
public:
    explicit ConnectionPool(std::size_t max_idle_per_host)
        : max_idle_per_host_(max_idle_per_host) {}

    /// The most recently returned connection for `key`, or nullptr.
    ConnectionPtr Take(const std::string& key);

    /// Keeps `connection` for a later request, unless the pool is full or stopped (then it
    /// is dropped, which closes its socket).
    void Return(const std::string& key, ConnectionPtr connection);

    /// Drops every kept connection and keeps none from now on.
    void Stop();

private:
    std::size_t max_idle_per_host_;
    std::unordered_map<std::string, std::vector<ConnectionPtr>> idle_;
    bool stopped_ = false;
};

}  // namespace chatsync::http::detail
