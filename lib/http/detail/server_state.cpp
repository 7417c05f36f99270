#include "http/detail/server_state.hpp"

#include <algorithm>
#include <utility>

#include "core/timer.hpp"

namespace chatsync::http::detail {

namespace beast = boost::beast;
using boost::system::error_code;
using Tcp = net::ip::tcp;

ServerState::ServerState(
    Executor executor_in,
    Server::Options options_in,
    Server::Handler handler_in
)
    : executor(std::move(executor_in))
    , options(std::move(options_in))
    , handler(std::move(handler_in))
    , acceptor(executor) {}

void ServerState::Add(std::uint64_t id, beast::tcp_stream* stream, const std::string& client) {
    Session& session = sessions[id];
    session.stream = stream;
    session.client = client;
    ++open;
    ++clients[client].open;
    MarkIdle(id, session);
}

void ServerState::Release(std::uint64_t id, bool close) {
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

void ServerState::Remove(std::uint64_t id) {
    Release(id, false);
    sessions.erase(id);
    if (sessions.empty() && drained) {
        CancelTimer(*drained);
    }
}

void ServerState::SetPhase(std::uint64_t id, Phase phase) {
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

bool ServerState::MakeRoom(const std::string& client) {
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

bool ServerState::CloseOldestIdle() {
    if (idle.empty()) {
        return false;
    }
    Release(idle.front(), true);
    Notify(ConnectionEvent::kIdleClosed);
    return true;
}

void ServerState::Notify(ConnectionEvent event) const {
    if (options.on_connection) {
        options.on_connection(event);
    }
}

void ServerState::MarkIdle(std::uint64_t id, Session& session) {
    session.phase = Phase::kIdle;
    session.idle_position = idle.insert(idle.end(), id);
    auto& client_idle = clients[session.client].idle;
    session.client_idle_position = client_idle.insert(client_idle.end(), id);
}

void ServerState::UnmarkIdle(Session& session) {
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

}  // namespace chatsync::http::detail
