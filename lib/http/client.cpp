#include "http/client.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "core/error.hpp"
#include "core/root_task.hpp"
#include "core/text.hpp"
#include "http/detail/client_errors.hpp"
#include "http/detail/connection.hpp"
#include "http/detail/exchange.hpp"
#include "http/detail/request_builder.hpp"
#include "http/url.hpp"

namespace chatsync::http {
namespace {

namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using Tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;
using detail::BeastRequest;
using detail::BuildRequest;
using detail::Close;
using detail::Connection;
using detail::ConnectionPtr;
using detail::Exchanged;
using detail::ExchangeOn;
using detail::IsCancelled;
using detail::IsStaleConnectionError;
using detail::IsTlsError;
using detail::MapError;
using detail::TlsStream;

/// Results of a name resolution that may outlive the request that asked for it (see Resolve).
struct ResolveState {
    explicit ResolveState(const Executor& executor)
        : resolver(executor)
        , done(executor) {}

    Tcp::resolver resolver;
    /// Cancelled when the resolution finishes; the requester sleeps on it until its deadline.
    net::steady_timer done;
    bool finished = false;
    error_code ec;
    Tcp::resolver::results_type results;
};

Task<void> RunResolve(std::shared_ptr<ResolveState> state, std::string host, std::string service) {
    auto [ec, results] = co_await state->resolver.async_resolve(host, service, kAsTuple);
    state->ec = ec;
    state->results = std::move(results);
    state->finished = true;
    state->done.cancel();
}

/// Completion of RunResolve: an exception there can only be an allocation failure, which is
/// reported to the waiting request as an error instead of escaping from io_context::run().
struct ResolveFinished {
    std::shared_ptr<ResolveState> state;

    void operator()(const std::exception_ptr& error) const {
        if (error) {
            state->ec = make_error_code(boost::system::errc::not_enough_memory);
            state->finished = true;
            state->done.cancel();
        }
    }
};

bool IsIpLiteral(const std::string& host) {
    error_code ec;
    (void)net::ip::make_address(host, ec);
    return !ec;
}

/// The system's CA certificates, loaded once and shared by every client without a ca_file of
/// its own. Loading them parses the whole bundle (40 ms or more), once per client before: 200
/// sources took seconds to start, blocking the event loop. An X509_STORE is reference counted
/// and locks itself, so contexts may share it; nothing adds to this one after it is filled.
/// Null if OpenSSL could not allocate it (then each client loads its own, as before).
X509_STORE* SharedSystemCaStore() {
    static X509_STORE* const kStore = [] {
        X509_STORE* s = X509_STORE_new();
        if (s != nullptr) {
            // A host without a system CA store can still verify against ca_file, so a
            // failure to find the default paths is not fatal here; verification reports it
            // per request. Its errors are cleared, not left queued for a later TLS call.
            X509_STORE_set_default_paths(s);
            ERR_clear_error();
        }
        return s;
    }();
    return kStore;
}

}  // namespace

struct Client::Impl {
    Impl(Executor executor_in, Options options_in)
        : executor(std::move(executor_in))
        , options(std::move(options_in))
        , tls_context(ssl::context::tls_client) {
        if (!options.local_address.empty()) {
            error_code ec;
            local_address = net::ip::make_address(options.local_address, ec);
            if (ec) {
                throw std::runtime_error(
                    "http client: local_address '" + options.local_address +
                    "' is not an IP address"
                );
            }
        }
        SSL_CTX_set_min_proto_version(tls_context.native_handle(), TLS1_2_VERSION);
        X509_STORE* shared = options.ca_file.empty() ? SharedSystemCaStore() : nullptr;
        if (shared != nullptr) {
            // set1: the context takes a reference of its own.
            SSL_CTX_set1_cert_store(tls_context.native_handle(), shared);
        } else {
            // A store of its own: ca_file adds to it. As above, missing default paths are
            // reported per request.
            error_code ignored;
            tls_context.set_default_verify_paths(ignored);
        }
        if (!options.ca_file.empty()) {
            error_code ec;
            tls_context.load_verify_file(options.ca_file, ec);
            if (ec) {
                throw std::runtime_error(
                    "http client: cannot load ca_file '" + options.ca_file + "': " + ec.message()
                );
            }
        }
        tls_context.set_verify_mode(options.verify_tls ? ssl::verify_peer : ssl::verify_none);
    }

    Task<Result<Response>> Send(Request request);
    Task<Result<ConnectionPtr>> Connect(UrlParts parts);
    Task<Result<Tcp::resolver::results_type>>
    Resolve(std::string host, std::uint16_t port, SteadyClock::time_point deadline);
    /// The TLS handshake on `tls` (not null, the connection's, whose owner awaits it).
    Task<error_code> Handshake(TlsStream* tls, std::string host, SteadyClock::time_point deadline)
        const;

    /// Asks the send gate: a code to refuse the request with, or a default one to send it.
    error_code Gate() const { return gate ? gate() : error_code{}; }

    Executor executor;
    /// Before `pool`, which is sized from it.
    Options options;
    ssl::context tls_context;
    std::optional<net::ip::address> local_address;
    detail::ConnectionPool pool{options.max_idle_per_host};
    Client::SendGate gate;
};

Task<Result<Response>> Client::Impl::Send(Request request) {
    auto parts = ParseUrl(request.url);
    if (!parts) {
        co_return parts.error();
    }
    const bool head = IEquals(request.method, "HEAD");
    auto built = BuildRequest(request, *parts, options.user_agent);
    if (!built) {
        co_return built.error();
    }
    BeastRequest& req = *built;
    const std::string key =
        parts->scheme + "://" + ToLower(parts->host) + ":" + std::to_string(parts->port);

    ConnectionPtr connection = pool.Take(key);
    const bool reused = connection != nullptr;
    if (!reused) {
        auto connected = co_await Connect(*parts);
        if (!connected) {
            co_return connected.error();
        }
        connection = std::move(*connected);
    }

    if (const auto refused = Gate()) {
        pool.Return(key, std::move(connection));
        co_return refused;
    }
    const auto deadline = SteadyClock::now() + options.total_timeout;
    Exchanged exchanged = co_await ExchangeOn(&options, connection.get(), &req, deadline, head);
    if (exchanged.ec && reused && !exchanged.got_response_bytes &&
        IsStaleConnectionError(exchanged.ec)) {
        const bool cancelled = co_await IsCancelled();
        if (!cancelled) {
            // The pooled connection had been closed by the peer while idle; the request never
            // reached a live server, so it is safe to send it once more on a fresh connection.
            connection.reset();
            auto connected = co_await Connect(*parts);
            if (!connected) {
                co_return connected.error();
            }
            connection = std::move(*connected);
            if (const auto refused = Gate()) {
                pool.Return(key, std::move(connection));
                co_return refused;
            }
            exchanged = co_await ExchangeOn(&options, connection.get(), &req, deadline, head);
        }
    }
    if (exchanged.ec) {
        const bool cancelled = co_await IsCancelled();
        co_return MapError(exchanged.ec, cancelled);
    }
    if (exchanged.keep_alive && connection->buffer.size() == 0) {
        pool.Return(key, std::move(connection));
    } else {
        co_await Close(std::move(connection));
    }
    co_return std::move(exchanged.response);
}

Task<Result<Tcp::resolver::results_type>>
Client::Impl::Resolve(std::string host, std::uint16_t port, SteadyClock::time_point deadline) {
    // getaddrinfo cannot be interrupted, so a resolution that outlives the connect timeout is
    // abandoned rather than awaited: it runs in its own coroutine that shares its state with
    // this one, and finishes harmlessly later.
    auto state = std::make_shared<ResolveState>(executor);
    state->done.expires_at(deadline);
    net::co_spawn(
        executor,
        RunResolve(state, std::move(host), std::to_string(port)),
        RootHandler("http_resolve", ResolveFinished{state})
    );
    if (!state->finished) {
        // operation_aborted here is either the resolution finishing or our own cancellation.
        const auto [ec] = co_await state->done.async_wait(kAsTuple);
        (void)ec;
    }
    if (!state->finished) {
        const bool cancelled = co_await IsCancelled();
        state->resolver.cancel();
        co_return make_error_code(cancelled ? Errc::kCancelled : Errc::kTimeout);
    }
    if (state->ec) {
        co_return state->ec;
    }
    co_return std::move(state->results);
}

Task<Result<ConnectionPtr>> Client::Impl::Connect(UrlParts parts) {
    const auto deadline = SteadyClock::now() + options.connect_timeout;

    std::vector<Tcp::endpoint> endpoints;
    error_code ec;
    const auto literal = net::ip::make_address(parts.host, ec);
    if (!ec) {
        endpoints.emplace_back(literal, parts.port);
    } else {
        auto resolved = co_await Resolve(parts.host, parts.port, deadline);
        if (!resolved) {
            co_return resolved.error();
        }
        for (const auto& entry : *resolved) {
            endpoints.push_back(entry.endpoint());
        }
    }

    auto connection = std::make_unique<Connection>();
    beast::tcp_stream& stream = connection->plain.emplace(executor);
    // Tried by hand rather than through the range overload of async_connect, which reopens
    // the socket for every endpoint and would drop the bind to local_address.
    error_code last = net::error::host_not_found;
    bool connected = false;
    for (const auto& endpoint : endpoints) {
        if (local_address && local_address->is_v4() != endpoint.address().is_v4()) {
            last = net::error::address_family_not_supported;
            continue;
        }
        const bool cancelled = co_await IsCancelled();
        if (cancelled) {
            co_return make_error_code(Errc::kCancelled);
        }
        const auto remaining = deadline - SteadyClock::now();
        if (remaining <= SteadyClock::duration::zero()) {
            co_return make_error_code(Errc::kTimeout);
        }
        error_code ignored;
        stream.socket().close(ignored);  // A failed attempt leaves the socket in no useful state.
        stream.socket().open(endpoint.protocol(), ec);
        if (!ec && local_address) {
            stream.socket().bind(Tcp::endpoint(*local_address, 0), ec);
        }
        if (ec) {
            last = ec;
            continue;
        }
        stream.expires_after(remaining);
        auto [connect_ec] = co_await stream.async_connect(endpoint, kAsTuple);
        if (!connect_ec) {
            connected = true;
            break;
        }
        const bool cancelled_now = co_await IsCancelled();
        if (cancelled_now) {
            co_return make_error_code(Errc::kCancelled);
        }
        if (connect_ec == beast::error::timeout) {
            co_return make_error_code(Errc::kTimeout);
        }
        last = connect_ec;
    }
    if (!connected) {
        co_return last;
    }
    error_code ignored;
    // Requests are written whole and small; Nagle would only add latency.
    stream.socket().set_option(Tcp::no_delay(true), ignored);

    if (parts.scheme == "https") {
        TlsStream& tls = connection->tls.emplace(std::move(stream), tls_context);
        connection->plain.reset();
        const error_code handshake_ec = co_await Handshake(&tls, parts.host, deadline);
        if (handshake_ec) {
            co_return handshake_ec;
        }
    }
    connection->Lowest().expires_never();
    co_return connection;
}

Task<error_code> Client::Impl::Handshake(
    TlsStream* stream,
    std::string host,
    SteadyClock::time_point deadline
) const {
    TlsStream& tls = *stream;
    // SNI carries host names only (RFC 6066 section 3), never address literals.
    if (!IsIpLiteral(host) && SSL_set_tlsext_host_name(tls.native_handle(), host.c_str()) != 1) {
        co_return make_error_code(Errc::kTls);
    }
    if (options.verify_tls) {
        tls.set_verify_callback(ssl::host_name_verification(host));
    }
    const auto remaining = deadline - SteadyClock::now();
    if (remaining <= SteadyClock::duration::zero()) {
        co_return make_error_code(Errc::kTimeout);
    }
    beast::get_lowest_layer(tls).expires_after(remaining);
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::client, kAsTuple);
    if (!ec) {
        co_return error_code{};
    }
    const bool cancelled = co_await IsCancelled();
    if (cancelled) {
        co_return make_error_code(Errc::kCancelled);
    }
    if (ec == beast::error::timeout) {
        co_return make_error_code(Errc::kTimeout);
    }
    // Any failure inside the handshake (verification, protocol, a peer that is not TLS) is a
    // TLS failure for the caller; plain socket errors keep their own codes.
    if (IsTlsError(ec) || ec == ssl::error::stream_truncated) {
        co_return make_error_code(Errc::kTls);
    }
    co_return ec;
}

Client::Client(Executor executor, Options options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

Client::~Client() = default;

Task<Result<Response>> Client::Send(Request request) {
    // Cancellation must come back as Errc::kCancelled, not as the exception Asio throws by
    // default at the next co_await of a cancelled coroutine; the caller's setting is restored.
    const bool throw_if_cancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    Result<Response> result = co_await impl_->Send(std::move(request));
    co_await net::this_coro::throw_if_cancelled(throw_if_cancelled);
    co_return result;
}

void Client::SetSendGate(SendGate gate) {
    impl_->gate = std::move(gate);
}

void Client::Stop() {
    impl_->pool.Stop();
}

const Client::Options& Client::options() const noexcept {
    return impl_->options;
}

}  // namespace chatsync::http
