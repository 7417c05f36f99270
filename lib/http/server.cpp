#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <unordered_map>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "core/error.hpp"
#include "core/text.hpp"

namespace chatsync::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = net::ip::tcp;
using boost::system::error_code;

/// Generous for browsers and webhook senders, small enough to bound memory per connection.
constexpr std::uint32_t kHeaderLimit = 16U * 1024U;

/// After refusing a body (413) the server reads and discards what the client is still
/// sending, for at most this long and this much. Closing with unread data makes the kernel
/// send RST, and an RST can destroy the 413 in the client's receive buffer before the client
/// reads it (the "lingering close" that nginx and Apache do for the same reason).
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerLimit = std::size_t{4} << 20U;

/// Pause after a failed accept (for example EMFILE) so that a lasting condition cannot turn
/// the accept loop into a busy loop.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

namespace detail {

/// Everything the server's coroutines touch. Each coroutine holds a shared_ptr to it, so
/// frames that outlive the Server object (destroyed before the io_context finished its
/// queue) never point at freed memory.
struct ServerState {
    ServerState(Executor executor_in, Server::Options options_in, Server::Handler handler_in)
        : executor(std::move(executor_in))
        , options(std::move(options_in))
        , handler(std::move(handler_in))
        , acceptor(executor) {}

    struct Session {
        beast::tcp_stream* stream = nullptr;
        /// Between the end of a request's header and the end of its response. Stop() closes
        /// only sessions that are not busy; busy ones finish their response, then close.
        bool busy = false;
    };

    Executor executor;
    Server::Options options;
    Server::Handler handler;
    Tcp::acceptor acceptor;
    bool stopping = false;
    std::uint64_t next_session_id = 0;
    std::unordered_map<std::uint64_t, Session> sessions;
};

}  // namespace detail

namespace {

using detail::ServerState;

/// Lists a session for Stop() for exactly as long as its coroutine frame exists.
class SessionRegistration final {
public:
    SessionRegistration(ServerState& state, beast::tcp_stream& stream)
        : state_(state)
        , id_(state.next_session_id++) {
        state_.sessions[id_] = ServerState::Session{&stream, false};
    }

    SessionRegistration(const SessionRegistration&) = delete;
    SessionRegistration& operator=(const SessionRegistration&) = delete;
    SessionRegistration(SessionRegistration&&) = delete;
    SessionRegistration& operator=(SessionRegistration&&) = delete;

    ~SessionRegistration() { state_.sessions.erase(id_); }

    void SetBusy(bool busy) { state_.sessions[id_].busy = busy; }

private:
    ServerState& state_;
    std::uint64_t id_;
};

/// Splits "host:port" or "[v6]:port". An empty host or "*" means every IPv4 interface.
Result<Tcp::endpoint> ParseListen(const std::string& listen, const Executor& executor) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        return make_error_code(boost::system::errc::invalid_argument);
    }
    std::string host = listen.substr(0, colon);
    const std::string port_text = listen.substr(colon + 1);
    unsigned port = 0;
    const auto [ptr, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || ptr != port_text.data() + port_text.size() ||
        port > 65535U) {
        return make_error_code(boost::system::errc::invalid_argument);
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty() || host == "*") {
        return Tcp::endpoint(Tcp::v4(), static_cast<std::uint16_t>(port));
    }
    error_code address_ec;
    const auto address = net::ip::make_address(host, address_ec);
    if (!address_ec) {
        return Tcp::endpoint(address, static_cast<std::uint16_t>(port));
    }
    // A host name ("localhost") is resolved once, synchronously: this runs at start-up.
    Tcp::resolver resolver(executor);
    error_code resolve_ec;
    const auto results = resolver.resolve(host, port_text, resolve_ec);
    if (resolve_ec) {
        return resolve_ec;
    }
    if (results.empty()) {
        return make_error_code(net::error::host_not_found);
    }
    return results.begin()->endpoint();
}

bool IsTokenChar(char c) {
    static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           kExtra.find(c) != std::string_view::npos;
}

bool IsSafeHeader(const std::string& name, const std::string& value) {
    return !name.empty() && std::all_of(name.begin(), name.end(), IsTokenChar) &&
           value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

ServerResponse PlainResponse(unsigned status, std::string body) {
    ServerResponse response;
    response.status = status;
    response.body = std::move(body);
    return response;
}

bhttp::response<bhttp::string_body>
ToBeast(ServerResponse response, unsigned version, bool keep_alive, bool head) {
    bhttp::response<bhttp::string_body> res;
    res.version(version);
    // A status line Beast cannot write, or a header that would split the response (built
    // from request data, say), is a handler bug, answered as one.
    const bool valid =
        response.status >= 100 && response.status <= 999 &&
        IsSafeHeader("Content-Type", response.content_type) &&
        std::all_of(response.headers.begin(), response.headers.end(), [](const auto& h) {
            return IsSafeHeader(h.first, h.second);
        });
    if (!valid) {
        return ToBeast(PlainResponse(500, "internal error\n"), version, keep_alive, head);
    }
    res.result(response.status);
    if (!response.content_type.empty()) {
        res.set(bhttp::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
        res.insert(name, value);
    }
    res.keep_alive(keep_alive);
    res.body() = std::move(response.body);
    res.prepare_payload();
    if (head) {
        // HEAD answers carry the Content-Length of the GET answer but no body.
        res.body().clear();
    }
    return res;
}

ServerRequest
ToServerRequest(bhttp::request<bhttp::string_body>&& message, const std::string& remote_address) {
    ServerRequest request;
    request.method = std::string(message.method_string());
    const std::string_view target = message.target();
    const auto question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        request.query = std::string(target.substr(question + 1));
    }
    for (const auto& field : message) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote_address;
    return request;
}

Task<ServerResponse> CallHandler(std::shared_ptr<ServerState> state, ServerRequest request) {
    // A failing handler answers 500 and leaves the connection and the server running.
    try {
        ServerResponse response = co_await state->handler(std::move(request));
        co_return response;
    } catch (const std::exception&) {
    } catch (...) {
    }
    co_return PlainResponse(500, "internal error\n");
}

Task<void> LingeringClose(beast::tcp_stream& stream) {
    error_code ignored;
    stream.socket().shutdown(Tcp::socket::shutdown_send, ignored);
    std::array<char, 16384> scratch{};
    std::size_t drained = 0;
    stream.expires_after(kLingerTimeout);
    while (drained < kLingerLimit) {
        auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), kAsTuple);
        if (ec) {
            break;  // EOF (the client closed after reading our answer), timeout or reset.
        }
        drained += n;
    }
}

void NoteRefused(const ServerState& state, const std::string& path, unsigned status) {
    if (state.options.on_refused) {
        state.options.on_refused(path, status);
    }
}

/// Answers 413 and closes; returns whether the answer went out (then the close lingers).
Task<bool> RefuseTooLarge(
    ServerState& state,
    beast::tcp_stream& stream,
    const std::string& path,
    unsigned version,
    bool head
) {
    NoteRefused(state, path, 413);
    auto res = ToBeast(PlainResponse(413, "request body too large\n"), version, false, head);
    stream.expires_after(state.options.read_timeout);
    auto [write_ec, written] = co_await bhttp::async_write(stream, res, kAsTuple);
    (void)written;
    co_return !write_ec;
}

Task<void> RunSession(std::shared_ptr<ServerState> state, Tcp::socket socket) {
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string remote_address = ec ? std::string() : remote.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    SessionRegistration registration(*state, stream);
    beast::flat_buffer buffer;
    const auto read_timeout = state->options.read_timeout;

    bool lingering = false;
    while (!state->stopping) {
        registration.SetBusy(false);
        bhttp::request_parser<bhttp::empty_body> header_parser;
        header_parser.header_limit(kHeaderLimit);
        // The size check below answers 413; the parser's own default limit would answer 400.
        header_parser.body_limit(boost::none);
        stream.expires_after(read_timeout);
        auto [header_ec, header_n] =
            co_await bhttp::async_read_header(stream, buffer, header_parser, kAsTuple);
        (void)header_n;
        if (header_ec) {
            if (header_ec.category() == error_code(bhttp::error::end_of_stream).category() &&
                header_ec != bhttp::error::end_of_stream) {
                NoteRefused(*state, {}, 400);
                auto res = ToBeast(PlainResponse(400, "bad request\n"), 11, false, false);
                stream.expires_after(read_timeout);
                auto [write_ec, written] = co_await bhttp::async_write(stream, res, kAsTuple);
                (void)write_ec;  // The connection closes either way.
                (void)written;
            }
            break;
        }
        registration.SetBusy(true);

        const auto& header = header_parser.get();
        const unsigned version = header.version();
        const bool head = header.method() == bhttp::verb::head;
        const std::string_view target = header.target();
        const std::string path(target.substr(0, target.find('?')));
        const auto content_length = header_parser.content_length();
        if (content_length && *content_length > state->options.max_body_bytes) {
            lingering = co_await RefuseTooLarge(*state, stream, path, version, head);
            break;
        }
        if (IEquals(header[bhttp::field::expect], "100-continue")) {
            stream.expires_after(read_timeout);
            auto [continue_ec, continue_n] =
                co_await net::async_write(stream, net::buffer(kContinue), kAsTuple);
            (void)continue_n;
            if (continue_ec) {
                break;
            }
        }

        bhttp::request_parser<bhttp::string_body> parser(std::move(header_parser));
        parser.body_limit(state->options.max_body_bytes);
        stream.expires_after(read_timeout);
        auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
        (void)body_n;
        if (body_ec == bhttp::error::body_limit) {
            // A chunked body has no Content-Length to refuse up front.
            lingering = co_await RefuseTooLarge(*state, stream, path, version, head);
            break;
        }
        if (body_ec) {
            break;
        }

        auto message = parser.release();
        const bool client_keep_alive = message.keep_alive();
        ServerRequest request = ToServerRequest(std::move(message), remote_address);
        ServerResponse response = co_await CallHandler(state, std::move(request));

        const bool keep_alive = client_keep_alive && !state->stopping;
        auto res = ToBeast(std::move(response), version, keep_alive, head);
        stream.expires_after(read_timeout);
        auto [write_ec, written] = co_await bhttp::async_write(stream, res, kAsTuple);
        (void)written;
        if (write_ec || !keep_alive) {
            break;
        }
    }
    registration.SetBusy(false);
    if (lingering && !state->stopping) {
        co_await LingeringClose(stream);
    }
    error_code ignored;
    stream.socket().shutdown(Tcp::socket::shutdown_both, ignored);
    stream.close();
}

/// Completion of a session. A session can fail only by an exception from outside the handler
/// (the handler's own are answered with 500), such as an allocation failure; its socket is
/// closed by the frame's destruction and the server keeps serving the others.
struct SessionFinished {
    void operator()(const std::exception_ptr& /*error*/) const {}
};

Task<void> AcceptLoop(std::shared_ptr<ServerState> state) {
    while (state->acceptor.is_open() && !state->stopping) {
        auto [ec, socket] = co_await state->acceptor.async_accept(kAsTuple);
        if (ec) {
            if (state->stopping || !state->acceptor.is_open() ||
                ec == net::error::operation_aborted) {
                break;
            }
            net::steady_timer pause(state->executor);
            pause.expires_after(kAcceptRetryDelay);
            auto [pause_ec] = co_await pause.async_wait(kAsTuple);
            (void)pause_ec;  // Either way, the loop condition decides what happens next.
            continue;
        }
        net::co_spawn(state->executor, RunSession(state, std::move(socket)), SessionFinished{});
    }
}

/// Completion of the accept loop. It only throws on allocation failure; then the listener is
/// gone, and that must be loud: the exception leaves io_context::run().
struct AcceptLoopFinished {
    void operator()(const std::exception_ptr& error) const {
        if (error) {
            std::rethrow_exception(error);
        }
    }
};

}  // namespace

struct Server::Impl {
    std::shared_ptr<ServerState> state;
    std::uint16_t port = 0;
    bool started = false;
};

Server::Server(Executor executor, Options options, Handler handler)
    : impl_(std::make_unique<Impl>()) {
    impl_->state =
        std::make_shared<ServerState>(std::move(executor), std::move(options), std::move(handler));
}

Server::~Server() {
    Stop();
}

Result<void> Server::Start() {
    ServerState& state = *impl_->state;
    if (impl_->started) {
        return make_error_code(net::error::already_started);
    }
    auto endpoint = ParseListen(state.options.listen, state.executor);
    if (!endpoint) {
        return endpoint.error();
    }
    error_code ec;
    state.acceptor.open(endpoint->protocol(), ec);
    if (!ec) {
        state.acceptor.set_option(Tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        state.acceptor.bind(*endpoint, ec);
    }
    if (!ec) {
        state.acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        error_code ignored;
        state.acceptor.close(ignored);
        return ec;
    }
    impl_->port = state.acceptor.local_endpoint(ec).port();
    impl_->started = true;
    net::co_spawn(state.executor, AcceptLoop(impl_->state), AcceptLoopFinished{});
    return {};
}

std::uint16_t Server::port() const noexcept {
    return impl_->port;
}

void Server::Stop() {
    ServerState& state = *impl_->state;
    state.stopping = true;
    error_code ignored;
    state.acceptor.close(ignored);
    for (auto& [id, session] : state.sessions) {
        if (!session.busy) {
            // Cancels the pending read; the session coroutine then ends on its own.
            session.stream->close();
        }
    }
}

}  // namespace chatsync::http
