#include "http/client.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

#include "core/error.hpp"
#include "core/root_task.hpp"
#include "core/text.hpp"
#include "http/detail/response_reader.hpp"
#include "http/url.hpp"

namespace chatsync::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using Tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using BeastRequest = bhttp::request<bhttp::string_body>;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

/// How long closing a TLS connection may wait for the peer's close_notify. The response is
/// already complete by then, so this only bounds the extra latency of a polite close.
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(1);

/// One connection, plain or TLS. The read buffer belongs to the connection: bytes read past
/// one response would belong to the next.
struct Connection {
    std::optional<beast::tcp_stream> plain;
    std::optional<TlsStream> tls;
    beast::flat_buffer buffer;

    beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

using ConnectionPtr = std::unique_ptr<Connection>;

/// What one request/response exchange on one connection produced.
struct Exchanged {
    error_code ec;
    /// Whether any byte of a response arrived; a reused connection is only retried when none
    /// did, because only then can the server not have started answering.
    bool got_response_bytes = false;
    bool keep_alive = false;
    Response response;
};

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

Task<bool> IsCancelled() {
    const net::cancellation_state state = co_await net::this_coro::cancellation_state;
    co_return state.cancelled() != net::cancellation_type::none;
}

bool IsTokenChar(char c) {
    static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           kExtra.find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

/// Header values are often built from templates and upstream data; a CR or LF in one would
/// let that data inject headers or a whole second request.
bool IsSafeHeaderValue(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsIpLiteral(const std::string& host) {
    error_code ec;
    (void)net::ip::make_address(host, ec);
    return !ec;
}

std::string HostHeader(const UrlParts& parts) {
    const bool ipv6 = parts.host.find(':') != std::string::npos;
    std::string host = ipv6 ? "[" + parts.host + "]" : parts.host;
    const std::uint16_t default_port = parts.scheme == "https" ? 443 : 80;
    if (parts.port != default_port) {
        host += ":" + std::to_string(parts.port);
    }
    return host;
}

Result<BeastRequest>
BuildRequest(Request& request, const UrlParts& parts, const std::string& user_agent) {
    BeastRequest req;
    const std::string_view method =
        request.method.empty() ? std::string_view("GET") : request.method;
    if (!IsToken(method)) {
        return make_error_code(boost::system::errc::invalid_argument);
    }
    const auto verb = bhttp::string_to_verb(method);
    if (verb == bhttp::verb::unknown) {
        req.method_string(method);
    } else {
        req.method(verb);
    }
    req.target(parts.target);
    req.version(11);
    for (const auto& [name, value] : request.headers) {
        if (!IsToken(name) || !IsSafeHeaderValue(value)) {
            return make_error_code(boost::system::errc::invalid_argument);
        }
        req.insert(name, value);
    }
    if (req.find(bhttp::field::host) == req.end()) {
        req.set(bhttp::field::host, HostHeader(parts));
    }
    if (req.find(bhttp::field::user_agent) == req.end() && !user_agent.empty()) {
        req.set(bhttp::field::user_agent, user_agent);
    }
    req.body() = std::move(request.body);
    // Sets Content-Length for a body (and for POST/PUT/PATCH without one, as servers expect).
    req.prepare_payload();
    return req;
}

/// The time one read or write may take: the idle limit, cut short by the total deadline.
std::optional<SteadyClock::duration> NextLimit(Millis idle, SteadyClock::time_point deadline) {
    const auto remaining = deadline - SteadyClock::now();
    if (remaining <= SteadyClock::duration::zero()) {
        return std::nullopt;
    }
    return std::min<SteadyClock::duration>(idle, remaining);
}

bool IsTlsError(const error_code& ec) {
    return ec.category() == net::error::get_ssl_category() ||
           (ec.category() == ssl::error::get_stream_category() && ec != ssl::error::stream_truncated
           );
}

/// Errors that mean the peer had closed a kept-alive connection before our request reached it.
bool IsStaleConnectionError(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

/// Turns library-specific codes into the ones the client documents.
error_code MapError(const error_code& ec, bool cancelled) {
    if (cancelled) {
        return make_error_code(Errc::kCancelled);
    }
    if (ec == beast::error::timeout) {
        return make_error_code(Errc::kTimeout);
    }
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
        ec == bhttp::error::buffer_overflow) {
        return make_error_code(Errc::kResponseTooLarge);
    }
    // For the caller these all mean "the peer hung up early", which error.cpp classifies as
    // retryable. stream_truncated is a TLS peer closing without close_notify: a dropped
    // connection, not a certificate problem.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec == ssl::error::stream_truncated) {
        return net::error::eof;
    }
    if (IsTlsError(ec)) {
        return make_error_code(Errc::kTls);
    }
    return ec;
}

Task<void> Close(ConnectionPtr connection) {
    if (!connection->tls) {
        error_code ignored;
        connection->plain->socket().shutdown(Tcp::socket::shutdown_both, ignored);
        co_return;
    }
    connection->Lowest().expires_after(kTlsShutdownTimeout);
    auto [ec] = co_await connection->tls->async_shutdown(kAsTuple);
    // Errors are ignored: the response is complete and this connection is done either way.
    // stream_truncated in particular is common, because many servers close without sending
    // close_notify; HTTP messages are self-delimiting, so a missing close_notify after a
    // complete response is harmless (Beast's async-ssl client example explains the same).
    (void)ec;
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
        // A host without a system CA store can still verify against ca_file, so a failure to
        // find the default paths is not fatal here; verification reports it per request.
        error_code ignored;
        tls_context.set_default_verify_paths(ignored);
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
    Task<error_code> Handshake(
        Connection& connection,
        const std::string& host,
        SteadyClock::time_point deadline
    ) const;
    template <class Stream>
    Task<Exchanged> Exchange(
        Stream& stream,
        Connection& connection,
        BeastRequest& request,
        SteadyClock::time_point deadline,
        bool head
    );
    Task<Exchanged> ExchangeOn(
        Connection& connection,
        BeastRequest& request,
        SteadyClock::time_point deadline,
        bool head
    );

    ConnectionPtr TakeIdle(const std::string& key);
    void ReturnIdle(const std::string& key, ConnectionPtr connection);

    Executor executor;
    Options options;
    ssl::context tls_context;
    std::optional<net::ip::address> local_address;
    std::unordered_map<std::string, std::vector<ConnectionPtr>> idle;
    Client::SendGate gate;
    bool stopped = false;
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

    ConnectionPtr connection = TakeIdle(key);
    const bool reused = connection != nullptr;
    if (!reused) {
        auto connected = co_await Connect(*parts);
        if (!connected) {
            co_return connected.error();
        }
        connection = std::move(*connected);
    }

    if (gate) {
        if (const auto refused = gate()) {
            ReturnIdle(key, std::move(connection));
            co_return refused;
        }
    }
    const auto deadline = SteadyClock::now() + options.total_timeout;
    Exchanged exchanged = co_await ExchangeOn(*connection, req, deadline, head);
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
            if (gate) {
                if (const auto refused = gate()) {
                    ReturnIdle(key, std::move(connection));
                    co_return refused;
                }
            }
            exchanged = co_await ExchangeOn(*connection, req, deadline, head);
        }
    }
    if (exchanged.ec) {
        const bool cancelled = co_await IsCancelled();
        co_return MapError(exchanged.ec, cancelled);
    }
    if (exchanged.keep_alive && connection->buffer.size() == 0) {
        ReturnIdle(key, std::move(connection));
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
        connection->tls.emplace(std::move(stream), tls_context);
        connection->plain.reset();
        const error_code handshake_ec = co_await Handshake(*connection, parts.host, deadline);
        if (handshake_ec) {
            co_return handshake_ec;
        }
    }
    connection->Lowest().expires_never();
    co_return connection;
}

Task<error_code> Client::Impl::Handshake(
    Connection& connection,
    const std::string& host,
    SteadyClock::time_point deadline
) const {
    TlsStream& tls = *connection.tls;
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

Task<Exchanged> Client::Impl::ExchangeOn(
    Connection& connection,
    BeastRequest& request,
    SteadyClock::time_point deadline,
    bool head
) {
    Exchanged exchanged;
    if (connection.tls) {
        exchanged = co_await Exchange(*connection.tls, connection, request, deadline, head);
    } else {
        exchanged = co_await Exchange(*connection.plain, connection, request, deadline, head);
    }
    co_return exchanged;
}

template <class Stream>
Task<Exchanged> Client::Impl::Exchange(
    Stream& stream,
    Connection& connection,
    BeastRequest& request,
    SteadyClock::time_point deadline,
    bool head
) {
    Exchanged out;
    beast::tcp_stream& lowest = beast::get_lowest_layer(stream);

    // A cancellation that arrived while this coroutine was between operations would not reach
    // the next operation's slot, hence the explicit checks before each one.
    bool cancelled = co_await IsCancelled();
    auto limit = NextLimit(options.idle_timeout, deadline);
    if (cancelled || !limit) {
        out.ec = cancelled ? error_code(net::error::operation_aborted)
                           : error_code(beast::error::timeout);
        co_return out;
    }
    lowest.expires_after(*limit);
    auto [write_ec, written] = co_await bhttp::async_write(stream, request, kAsTuple);
    (void)written;
    if (write_ec) {
        out.ec = write_ec;
        co_return out;
    }

    bool interim_received = false;
    while (true) {
        detail::ResponseParser parser;
        detail::LimitResponse(parser, options.max_response_bytes, head);
        // Read piece by piece so that idle_timeout bounds each wait for data, not the whole
        // body: a slow but steady download is fine until total_timeout.
        while (!parser.is_done()) {
            cancelled = co_await IsCancelled();
            limit = NextLimit(options.idle_timeout, deadline);
            if (cancelled || !limit) {
                out.ec = cancelled ? error_code(net::error::operation_aborted)
                                   : error_code(beast::error::timeout);
                out.got_response_bytes = true;
                co_return out;
            }
            lowest.expires_after(*limit);
            auto [read_ec, n] =
                co_await bhttp::async_read_some(stream, connection.buffer, parser, kAsTuple);
            (void)n;
            if (read_ec) {
                out.ec = read_ec;
                out.got_response_bytes =
                    interim_received || parser.got_some() || connection.buffer.size() > 0;
                co_return out;
            }
        }
        if (detail::IsInterim(parser.get().result_int())) {
            interim_received = true;
            continue;
        }
        out.keep_alive = parser.keep_alive();
        out.response = detail::ToResponse(parser.release());
        break;
    }
    lowest.expires_never();
    co_return out;
}

ConnectionPtr Client::Impl::TakeIdle(const std::string& key) {
    const auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) {
        return nullptr;
    }
    // The most recently used connection is the one least likely to have been closed.
    ConnectionPtr connection = std::move(it->second.back());
    it->second.pop_back();
    return connection;
}

void Client::Impl::ReturnIdle(const std::string& key, ConnectionPtr connection) {
    if (stopped) {
        return;
    }
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_host) {
        return;
    }
    list.push_back(std::move(connection));
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
    impl_->stopped = true;
    // Dropping the connections closes their sockets; idle ones have no operation pending.
    impl_->idle.clear();
}

const Client::Options& Client::options() const noexcept {
    return impl_->options;
}

}  // namespace chatsync::http
