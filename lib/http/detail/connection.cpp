#include "http/detail/connection.hpp"

#include <chrono>
#include <utility>

#include <boost/asio/ip/tcp.hpp>

namespace chatsync::http::detail {

namespace {

using Tcp = net::ip::tcp;
using boost::system::error_code;

/// How long closing a TLS connection may wait for the peer's close_notify. The response is
/// already complete by then, so this only bounds the extra latency of a polite close.
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(1);

}  // namespace

Task<void> Close(ConnectionPtr connection) {
    if (auto& tls = connection->tls) {
        boost::beast::get_lowest_layer(*tls).expires_after(kTlsShutdownTimeout);
        auto [ec] = co_await tls->async_shutdown(kAsTuple);
        // Errors are ignored: the response is complete and this connection is done either
        // way. stream_truncated in particular is common, because many servers close without
        // sending close_notify; HTTP messages are self-delimiting, so a missing close_notify
        // after a complete response is harmless (Beast's async-ssl client example explains
        // the same).
        (void)ec;
    } else {
        error_code ignored;
        connection->Lowest().socket().shutdown(Tcp::socket::shutdown_both, ignored);
    }
}

ConnectionPtr ConnectionPool::Take(const std::string& key) {
    const auto it = idle_.find(key);
    if (it == idle_.end() || it->second.empty()) {
        return nullptr;
    }
    // The most recently used connection is the one least likely to have been closed.
    ConnectionPtr connection = std::move(it->second.back());
    it->second.pop_back();
    return connection;
}

void ConnectionPool::Return(const std::string& key, ConnectionPtr connection) {
    if (stopped_) {
        return;
    }
    auto& list = idle_[key];
    if (list.size() >= max_idle_per_host_) {
        return;
    }
    list.push_back(std::move(connection));
}

void ConnectionPool::Stop() {
    stopped_ = true;
    // Dropping the connections closes their sockets; idle ones have no operation pending.
    idle_.clear();
}

}  // namespace chatsync::http::detail
