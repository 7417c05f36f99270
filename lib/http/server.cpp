#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <list>
#include <optional>
#include <string_view>
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
#include "core/root_task.hpp"
#include "core/text.hpp"

namespace chatsync::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = net::ip::tcp;
using boost::system::error_code;

/// Generous for browsers and webhook senders, small enough to bound memory per connection.
constexpr std::uint32_t kHeaderLimit = 16U * 1024U;

/// After refusing a body (413, 503) the server reads and discards what the client is still
/// sending, for at most this long and this much. Closing with unread data makes the kernel
/// send RST, and an RST can destroy the 413 in the client's receive buffer before the client
/// reads it (the "lingering close" that nginx and Apache do for the same reason).
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerLimit = std::size_t{4} << 20U;

/// Pause after a failed accept (for example EMFILE) so that a lasting condition cannot turn
/// the accept loop into a busy loop.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

constexpr std::string_view kBadRequest = "bad request\n";
constexpr std::string_view kShortBody = "bad request: body shorter than its Content-Length\n";
constexpr std::string_view kHeaderTimeout = "request header timeout\n";
constexpr std::string_view kBodyTimeout = "request body too slow\n";
constexpr std::string_view kTooLarge = "request body too large\n";
constexpr std::string_view kBusy = "busy; deliver again later\n";

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

    /// Where a connection is in its request.
    enum class Phase {
        /// Waiting for a request, or reading its header: closed by Stop() and by the budgets.
        kIdle,
        /// Reading a body: closed by Stop(), never by the budgets.
        kReadingBody,
        /// The handler runs or the answer is being written: left to finish.
        kAnswering,
    };

    using IdList = std::list<std::uint64_t>;

    struct Session {
        beast::tcp_stream* stream = nullptr;
        std::string client;
        Phase phase = Phase::kIdle;
        /// Its places in `idle` and in its client's `idle`, while kIdle.
        IdList::iterator idle_position{};
        IdList::iterator client_idle_position{};
        /// Closed by the server for the budgets: no longer counted.
        bool closed = false;
    };

    struct Client {
        std::size_t open = 0;
        IdList idle;
    };

    /// Counts a new connection; the caller has made room for it.
    void Add(std::uint64_t id, beast::tcp_stream* stream, const std::string& client) {
        Session& session = sessions[id];
        session.stream = stream;
        session.client = client;
        ++open;
        ++clients[client].open;
        MarkIdle(id, session);
    }

    /// Stops counting a connection (idempotent); `close` closes its socket too.
    void Release(std::uint64_t id, bool close) {
        const auto it = sessions.find(id);
        if (it == sessions.end() || it->second.closed) {
            return;
        }
        Session& session = it->second;
        UnmarkIdle(session);
        session.closed = true;
        --open;
        const auto client = clients.find(session.client);
        if (client != clients.end() && --client->second.open == 0) {
            clients.erase(client);
        }
        if (close) {
            error_code ignored;
            session.stream->socket().shutdown(Tcp::socket::shutdown_both, ignored);
            session.stream->close();
        }
    }

    /// Forgets a connection whose coroutine ends.
    void Remove(std::uint64_t id) {
        Release(id, false);
        sessions.erase(id);
        if (sessions.empty() && drained) {
            drained->cancel();
        }
    }

    void SetPhase(std::uint64_t id, Phase phase) {
        const auto it = sessions.find(id);
        if (it == sessions.end() || it->second.closed || it->second.phase == phase) {
            return;
        }
        Session& session = it->second;
        if (session.phase == Phase::kIdle) {
            UnmarkIdle(session);
        }
        session.phase = phase;
        if (phase == Phase::kIdle) {
            MarkIdle(id, session);
        }
    }

    /// Makes room for a connection from `client`: closes the oldest idle connection where a
    /// budget is full. False when a full budget has no idle connection to close.
    bool MakeRoom(const std::string& client) {
        const auto limit = options.max_connections_per_client;
        if (const auto it = clients.find(client);
            limit != 0 && it != clients.end() && it->second.open >= limit) {
            if (it->second.idle.empty()) {
                Notify(ConnectionEvent::kClientRefused);
                return false;
            }
            Release(it->second.idle.front(), true);
            Notify(ConnectionEvent::kIdleClosed);
        }
        if (open >= std::max<std::size_t>(options.max_connections, 1)) {
            if (!CloseOldestIdle()) {
                Notify(ConnectionEvent::kRefused);
                return false;
            }
        }
        return true;
    }

    /// Closes the listener's oldest idle connection, if any.
    bool CloseOldestIdle() {
        if (idle.empty()) {
            return false;
        }
        Release(idle.front(), true);
        Notify(ConnectionEvent::kIdleClosed);
        return true;
    }

    void Notify(ConnectionEvent event) const {
        if (options.on_connection) {
            options.on_connection(event);
        }
    }

    Executor executor;
    Server::Options options;
    Server::Handler handler;
    Tcp::acceptor acceptor;
    bool stopping = false;
    std::uint64_t next_session_id = 0;
    std::unordered_map<std::uint64_t, Session> sessions;
    std::unordered_map<std::string, Client> clients;
    /// Idle connections, oldest first.
    IdList idle;
    /// Connections counted against the budgets.
    std::size_t open = 0;
    std::size_t body_bytes_in_flight = 0;
    /// Drained() sleeps on it; the last connection to go wakes it.
    std::optional<net::steady_timer> drained;

private:
    void MarkIdle(std::uint64_t id, Session& session) {
        session.phase = Phase::kIdle;
        session.idle_position = idle.insert(idle.end(), id);
        auto& client_idle = clients[session.client].idle;
        session.client_idle_position = client_idle.insert(client_idle.end(), id);
    }

    void UnmarkIdle(Session& session) {
        if (session.phase != Phase::kIdle || session.closed) {
            return;
        }
        idle.erase(session.idle_position);
        const auto client = clients.find(session.client);
        if (client != clients.end()) {
            client->second.idle.erase(session.client_idle_position);
        }
        // Not idle in the lists any more; the phase changes next (or the session closes).
        session.phase = Phase::kAnswering;
    }
};

}  // namespace detail

namespace {

using detail::ServerState;
using Phase = ServerState::Phase;
using SteadyClock = std::chrono::steady_clock;

/// Lists a session for Stop() and the budgets for exactly as long as its coroutine frame
/// exists (the accept loop counted it already).
class SessionRegistration final {
public:
    SessionRegistration(ServerState& state, std::uint64_t id)
        : state_(state)
        , id_(id) {}

    SessionRegistration(const SessionRegistration&) = delete;
    SessionRegistration& operator=(const SessionRegistration&) = delete;
    SessionRegistration(SessionRegistration&&) = delete;
    SessionRegistration& operator=(SessionRegistration&&) = delete;

    ~SessionRegistration() { state_.Remove(id_); }

    void SetPhase(Phase phase) { state_.SetPhase(id_, phase); }

private:
    ServerState& state_;
    std::uint64_t id_;
};

/// A deadline for reads that may answer 408: on expiry it cancels the socket's operations
/// but leaves the socket open, so the answer can still be written (a tcp_stream's own expiry
/// closes the socket).
class Deadline final {
public:
    Deadline(const Executor& executor, beast::tcp_stream& stream)
        : shared_(std::make_shared<Shared>(Shared{&stream}))
        , timer_(executor) {}

    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    Deadline(Deadline&&) = delete;
    Deadline& operator=(Deadline&&) = delete;

    ~Deadline() { shared_->stream = nullptr; }

    void Arm(SteadyClock::time_point when) {
        shared_->expired = false;
        ++shared_->generation;
        timer_.expires_at(when);
        timer_.async_wait(Expire{shared_, shared_->generation});
    }

    void Disarm() {
        ++shared_->generation;
        timer_.cancel();
    }

    /// The last armed deadline passed (and cancelled the read in progress).
    bool expired() const noexcept { return shared_->expired; }

private:
    struct Shared {
        /// Null once the session's frame is gone.
        beast::tcp_stream* stream = nullptr;
        std::uint64_t generation = 0;
        bool expired = false;
    };

    struct Expire {
        std::shared_ptr<Shared> shared;
        std::uint64_t generation = 0;

        void operator()(const error_code& ec) const {
            if (ec || shared->stream == nullptr || shared->generation != generation) {
                return;  // Disarmed, re-armed or destroyed meanwhile.
            }
            shared->expired = true;
            error_code ignored;
            shared->stream->socket().cancel(ignored);
        }
    };

    std::shared_ptr<Shared> shared_;
    net::steady_timer timer_;
};

/// Holds a body's bytes against max_body_bytes_in_flight until its answer.
class BodyReservation final {
public:
    BodyReservation(ServerState& state, std::size_t bytes)
        : state_(state)
        , bytes_(bytes) {
        state_.body_bytes_in_flight += bytes_;
    }

    BodyReservation(const BodyReservation&) = delete;
    BodyReservation& operator=(const BodyReservation&) = delete;
    BodyReservation(BodyReservation&&) = delete;
    BodyReservation& operator=(BodyReservation&&) = delete;

    ~BodyReservation() { state_.body_bytes_in_flight -= bytes_; }

private:
    ServerState& state_;
    std::size_t bytes_;
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

/// The request as a handler sees it, without its body.
ServerRequest HeadOf(const bhttp::request_header<>& header, const std::string& remote_address) {
    ServerRequest request;
    request.method = std::string(header.method_string());
    const std::string_view target = header.target();
    const auto question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        request.query = std::string(target.substr(question + 1));
    }
    for (const auto& field : header) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.remote_address = remote_address;
    return request;
}

/// The answer's text when a parsed header breaks HTTP/1.1's framing rules (RFC 9112), or
/// nullopt. Each of these
/// lets a proxy in front and this server disagree on where a request ends.
std::optional<std::string_view> FramingProblem(const bhttp::request_header<>& header) {
    const auto hosts = header.count(bhttp::field::host);
    if (header.version() >= 11 && hosts == 0) {
        return "bad request: missing Host\n";
    }
    if (hosts > 1) {
        return "bad request: more than one Host\n";
    }
    const auto encodings = header.count(bhttp::field::transfer_encoding);
    if (encodings == 0) {
        return std::nullopt;
    }
    if (header.version() < 11) {
        return "bad request: Transfer-Encoding in HTTP/1.0\n";
    }
    if (encodings > 1 || !IEquals(Trim(header[bhttp::field::transfer_encoding]), "chunked")) {
        return "bad request: unsupported Transfer-Encoding\n";
    }
    if (header.count(bhttp::field::content_length) != 0) {
        return "bad request: both Transfer-Encoding and Content-Length\n";
    }
    return std::nullopt;
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

/// Writes an answer that ends the connection; returns whether it went out.
Task<bool> AnswerAndClose(
    const ServerState& state,
    beast::tcp_stream& stream,
    ServerResponse response,
    unsigned version,
    bool head
) {
    auto res = ToBeast(std::move(response), version, false, head);
    stream.expires_after(state.options.write_timeout);
    auto [write_ec, written] = co_await bhttp::async_write(stream, res, kAsTuple);
    (void)written;
    co_return !write_ec;
}

/// Answers a refusal (counted) that ends the connection; returns whether it went out.
Task<bool> Refuse(
    const ServerState& state,
    beast::tcp_stream& stream,
    const std::string& path,
    unsigned status,
    std::string_view body,
    unsigned version = 11,
    bool head = false
) {
    NoteRefused(state, path, status);
    auto response = PlainResponse(status, std::string(body));
    if (status == 503) {
        response.headers.emplace_back("Retry-After", "5");
    }
    auto sent = co_await AnswerAndClose(state, stream, std::move(response), version, head);
    co_return sent;
}

/// Waits until a request's first byte is in `buffer`; false when the connection closed or
/// stayed silent for `timeout` (then it closes without an answer: nothing was asked).
Task<bool> AwaitRequest(beast::tcp_stream& stream, beast::flat_buffer& buffer, Millis timeout) {
    if (buffer.size() != 0) {
        co_return true;  // Pipelined: the next request is here already.
    }
    stream.expires_after(timeout);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(512), kAsTuple);
    if (ec) {
        co_return false;
    }
    buffer.commit(n);
    co_return true;
}

bool IsHttpError(const error_code& ec) {
    return ec.category() == error_code(bhttp::error::end_of_stream).category();
}

/// What ended a session early, for the steps after the loop.
enum class Ending { kClose, kLinger };

Task<void> RunSession(
    std::shared_ptr<ServerState> state,
    std::uint64_t id,
    std::unique_ptr<beast::tcp_stream> owned
) {
    beast::tcp_stream& stream = *owned;
    SessionRegistration registration(*state, id);
    const std::string remote_address = state->sessions[id].client;
    const auto& options = state->options;
    beast::flat_buffer buffer;
    Deadline deadline(state->executor, stream);

    // Named, not temporaries inside co_await expressions (house rule R2).
    const std::string no_path;
    Ending ending = Ending::kClose;
    bool first = true;
    while (!state->stopping) {
        registration.SetPhase(Phase::kIdle);
        // A new connection must send its request within header_timeout; a kept-alive one may
        // wait idle_timeout for its next.
        const Millis wait = first ? options.header_timeout : options.idle_timeout;
        const bool arrived = co_await AwaitRequest(stream, buffer, wait);
        if (!arrived || state->stopping) {
            break;
        }
        first = false;
        bhttp::request_parser<bhttp::empty_body> header_parser;
        header_parser.header_limit(kHeaderLimit);
        // The size check below answers 413; the parser's own default limit would answer 400.
        header_parser.body_limit(boost::none);
        stream.expires_never();
        deadline.Arm(SteadyClock::now() + options.header_timeout);
        auto [header_ec, header_n] =
            co_await bhttp::async_read_header(stream, buffer, header_parser, kAsTuple);
        (void)header_n;
        deadline.Disarm();
        if (header_ec && deadline.expired()) {
            const bool sent = co_await Refuse(*state, stream, no_path, 408, kHeaderTimeout);
            (void)sent;  // The connection closes either way.
            break;
        }
        if (header_ec) {
            if (IsHttpError(header_ec) && header_ec != bhttp::error::end_of_stream) {
                const bool sent = co_await Refuse(*state, stream, no_path, 400, kBadRequest);
                (void)sent;
            }
            break;
        }

        const auto& header = header_parser.get();
        const unsigned version = header.version();
        const bool head = header.method() == bhttp::verb::head;
        ServerRequest request = HeadOf(header, remote_address);
        if (const auto problem = FramingProblem(header)) {
            const bool sent =
                co_await Refuse(*state, stream, request.path, 400, *problem, version, head);
            (void)sent;
            break;
        }
        const auto content_length = header_parser.content_length();
        if (content_length && *content_length > options.max_body_bytes) {
            registration.SetPhase(Phase::kAnswering);
            NoteRefused(*state, request.path, 413);
            auto refusal = PlainResponse(413, std::string(kTooLarge));
            const bool sent =
                co_await AnswerAndClose(*state, stream, std::move(refusal), version, head);
            ending = sent ? Ending::kLinger : Ending::kClose;
            break;
        }
        if (options.check_head) {
            if (auto refusal = options.check_head(request)) {
                // Not a byte of the body is read: the connection closes after the answer.
                registration.SetPhase(Phase::kAnswering);
                auto answer = std::move(*refusal);
                const bool sent =
                    co_await AnswerAndClose(*state, stream, std::move(answer), version, head);
                (void)sent;
                break;
            }
        }
        const bool chunked = header_parser.chunked();
        const std::size_t reserve =
            chunked ? options.max_body_bytes : static_cast<std::size_t>(content_length.value_or(0));
        if (reserve != 0 && options.max_body_bytes_in_flight != 0 &&
            state->body_bytes_in_flight + reserve > options.max_body_bytes_in_flight) {
            registration.SetPhase(Phase::kAnswering);
            const bool sent =
                co_await Refuse(*state, stream, request.path, 503, kBusy, version, head);
            // Lingering, so that the sender reads its Retry-After; what it still sends is
            // discarded, never held.
            ending = sent ? Ending::kLinger : Ending::kClose;
            break;
        }
        const BodyReservation reservation(*state, reserve);
        registration.SetPhase(Phase::kReadingBody);
        if (IEquals(header[bhttp::field::expect], "100-continue")) {
            stream.expires_after(options.write_timeout);
            auto [continue_ec, continue_n] =
                co_await net::async_write(stream, net::buffer(kContinue), kAsTuple);
            (void)continue_n;
            if (continue_ec) {
                break;
            }
        }

        const bool client_keep_alive = header.keep_alive();
        bhttp::request_parser<bhttp::string_body> parser(std::move(header_parser));
        parser.body_limit(options.max_body_bytes);
        // The body must keep up a minimum rate: body_timeout, plus a second for every
        // body_min_rate bytes that came.
        const auto body_start = SteadyClock::now();
        const auto rate = std::max<std::size_t>(options.body_min_rate, 1);
        std::size_t received = 0;
        error_code body_ec;
        stream.expires_never();
        while (!parser.is_done()) {
            deadline.Arm(
                body_start + options.body_timeout +
                std::chrono::milliseconds(received * 1000U / rate)
            );
            auto [ec, n] = co_await bhttp::async_read_some(stream, buffer, parser, kAsTuple);
            if (ec) {
                body_ec = ec;
                break;
            }
            received += n;
        }
        deadline.Disarm();
        if (body_ec == bhttp::error::body_limit) {
            // A chunked body has no Content-Length to refuse up front.
            registration.SetPhase(Phase::kAnswering);
            NoteRefused(*state, request.path, 413);
            auto refusal = PlainResponse(413, std::string(kTooLarge));
            const bool sent =
                co_await AnswerAndClose(*state, stream, std::move(refusal), version, head);
            ending = sent ? Ending::kLinger : Ending::kClose;
            break;
        }
        if (body_ec && deadline.expired()) {
            const bool sent = co_await Refuse(*state, stream, request.path, 408, kBodyTimeout);
            (void)sent;
            break;
        }
        if (body_ec == bhttp::error::partial_message ||
            (IsHttpError(body_ec) && body_ec != bhttp::error::end_of_stream)) {
            // The client ended its half before the body its Content-Length announced.
            const bool sent = co_await Refuse(*state, stream, request.path, 400, kShortBody);
            (void)sent;
            break;
        }
        if (body_ec) {
            break;
        }

        registration.SetPhase(Phase::kAnswering);
        request.body = std::move(parser.get().body());
        ServerResponse response = co_await CallHandler(state, std::move(request));

        const bool keep_alive = client_keep_alive && !state->stopping;
        auto res = ToBeast(std::move(response), version, keep_alive, head);
        stream.expires_after(options.write_timeout);
        auto [write_ec, written] = co_await bhttp::async_write(stream, res, kAsTuple);
        (void)written;
        if (write_ec || !keep_alive) {
            break;
        }
    }
    // Closing stops counting it: a lingering close holds its socket but not a budget slot.
    state->Release(id, false);
    if (ending == Ending::kLinger && !state->stopping) {
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

/// Accept errors that mean "out of descriptors or memory": closing an idle connection
/// frees what the next accept needs.
bool IsResourceShortage(const error_code& ec) {
    return ec == boost::system::errc::too_many_files_open ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == boost::system::errc::no_buffer_space ||
           ec == boost::system::errc::not_enough_memory;
}

Task<void> AcceptLoop(std::shared_ptr<ServerState> state) {
    while (state->acceptor.is_open() && !state->stopping) {
        auto [ec, socket] = co_await state->acceptor.async_accept(kAsTuple);
        if (ec) {
            if (state->stopping || !state->acceptor.is_open() ||
                ec == net::error::operation_aborted) {
                break;
            }
            state->Notify(ConnectionEvent::kAcceptFailed);
            if (IsResourceShortage(ec) && state->CloseOldestIdle()) {
                continue;
            }
            net::steady_timer pause(state->executor);
            pause.expires_after(kAcceptRetryDelay);
            auto [pause_ec] = co_await pause.async_wait(kAsTuple);
            (void)pause_ec;  // Either way, the loop condition decides what happens next.
            continue;
        }
        error_code remote_ec;
        const auto remote = socket.remote_endpoint(remote_ec);
        if (remote_ec) {
            continue;  // Gone already; the socket closes here.
        }
        std::string client = remote.address().to_string();
        if (!state->MakeRoom(client)) {
            error_code ignored;
            socket.close(ignored);
            continue;
        }
        const auto id = state->next_session_id++;
        auto stream = std::make_unique<beast::tcp_stream>(std::move(socket));
        state->Add(id, stream.get(), client);
        net::co_spawn(
            state->executor,
            RunSession(state, id, std::move(stream)),
            RootHandler("http_session", SessionFinished{})
        );
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
    net::co_spawn(
        state.executor, AcceptLoop(impl_->state), RootHandler("http_accept", AcceptLoopFinished{})
    );
    return {};
}

std::uint16_t Server::port() const noexcept {
    return impl_->port;
}

std::size_t Server::open_connections() const noexcept {
    return impl_->state->open;
}

void Server::Stop() {
    ServerState& state = *impl_->state;
    state.stopping = true;
    error_code ignored;
    state.acceptor.close(ignored);
    if (state.drained) {
        state.drained->cancel();  // A Drained() waiting for the stop looks again.
    }
    for (auto& [id, session] : state.sessions) {
        if (session.phase != Phase::kAnswering && !session.closed) {
            // Cancels the pending read; the session coroutine then ends on its own. A body
            // still arriving is not taken: its sender has no answer and delivers again.
            session.stream->close();
        }
    }
}

Task<void> Server::Drained() {
    // Holds the state: the Server may be destroyed while this waits.
    const auto state = impl_->state;
    while (!state->stopping || !state->sessions.empty()) {
        if (!state->drained) {
            state->drained.emplace(state->executor);
        }
        state->drained->expires_at(SteadyClock::time_point::max());
        auto [ec] = co_await state->drained->async_wait(kAsTuple);
        (void)ec;  // Cancelled by the last session to go.
    }
}

}  // namespace chatsync::http
