#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "core/result.hpp"
#include "http/message.hpp"

namespace chatsync::http {

/// An HTTP/1.1 client over plain TCP or TLS, with keep-alive per host.
///
/// One attempt per Send(): retries, rate budgets and error rules belong to the caller.
/// TLS verifies the peer's certificate chain and host name by default and sends SNI.
///
/// @par Thread Safety
/// Use from one executor (the daemon's I/O thread). Concurrent Send() calls are allowed; each
/// takes an idle connection to the host or opens a new one.
///
/// @par Stopping
/// Stop() closes idle connections; in-flight Send() calls finish or fail on their own timeouts.
///
/// @par Send gate
/// SetSendGate() installs a check asked right before each request's first byte is written,
/// after any resolve and connect: a request still waiting for its connection when the gate
/// closes is never sent. Being synchronous on the client's executor, it sees a flag set by
/// the handler of an answer read a moment earlier.
///
/// Options:
/// | option | default | meaning |
/// | --- | --- | --- |
/// | connect_timeout | 10s | resolve + TCP connect + TLS handshake |
/// | idle_timeout | 30s | longest wait for any single read or write |
/// | total_timeout | 120s | whole request, from first byte out to last byte in |
/// | max_response_bytes | 64 MiB | larger bodies fail with Errc::kResponseTooLarge |
/// | user_agent | chatsync/<version> | sent unless the request sets one |
/// | verify_tls | true | certificate chain and host name verification |
/// | ca_file | empty | extra trusted CA bundle (PEM); system store is always used too |
/// | local_address | empty | bind outgoing sockets to this local IP before connecting |
/// | max_idle_per_host | 4 | keep-alive connections kept per scheme+host+port |
class Client final {
public:
    struct Options {
        Millis connect_timeout = std::chrono::seconds(10);
        Millis idle_timeout = std::chrono::seconds(30);
        Millis total_timeout = std::chrono::seconds(120);
        std::size_t max_response_bytes = std::size_t{64} << 20U;
        std::string user_agent = std::string("chatsync/") + CHATSYNC_VERSION;
        bool verify_tls = true;
        std::string ca_file{};
        std::string local_address{};
        std::size_t max_idle_per_host = 4;
    };

    /// Throws std::runtime_error when the TLS context cannot be set up (bad ca_file) or the
    /// local address does not parse: configuration errors, raised at start-up.
    Client(Executor executor, Options options);
    ~Client();

    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    Client(Client&&) = delete;
    Client& operator=(Client&&) = delete;

    /// Sends one request and reads the whole response. Any HTTP status is a success here;
    /// failures are transport errors (asio codes), Errc::kTimeout, kResponseTooLarge, kTls,
    /// kBadUrl, and Errc::kCancelled on cancellation.
    Task<Result<Response>> Send(Request request);

    /// Returns a code to refuse the request (Send() fails with it), or a default one to send.
    using SendGate = std::function<boost::system::error_code()>;

    /// Replaces the gate; an empty one lets every request through.
    void SetSendGate(SendGate gate);

    void Stop();

    const Options& options() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::http
