#include "http/server.hpp"

#include <charconv>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "core/error.hpp"
#include "core/root_task.hpp"
#include "core/timer.hpp"
#include "http/detail/server_session.hpp"
#include "http/detail/server_state.hpp"

namespace chatsync::http {
namespace {

namespace beast = boost::beast;
using Tcp = net::ip::tcp;
using boost::system::error_code;
using detail::RunSession;
using detail::ServerState;
using Phase = ServerState::Phase;
using SteadyClock = std::chrono::steady_clock;

/// Pause after a failed accept (for example EMFILE) so that a lasting condition cannot turn
/// the accept loop into a busy loop.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

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
        CancelTimer(*state.drained);  // A Drained() waiting for the stop looks again.
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
        auto& drained = state->drained;
        if (!drained) {
            drained.emplace(state->executor);
        }
        drained->expires_at(SteadyClock::time_point::max());
        auto [ec] = co_await drained->async_wait(kAsTuple);
        (void)ec;  // Cancelled by the last session to go.
    }
}

}  // namespace chatsync::http
