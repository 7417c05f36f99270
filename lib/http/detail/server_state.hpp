#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "core/asio.hpp"
#include "http/server.hpp"

/// @file
/// What the server knows of its connections, and the connection budgets: how many are open,
/// from which client, which are idle, and which to close to make room for a new one.

namespace chatsync::http::detail {

/// Everything the server's coroutines touch. Each coroutine holds a shared_ptr to it, so
/// frames that outlive the Server object (destroyed before the io_context finished its
/// queue) never point at freed memory.
struct ServerState {
    ServerState(Executor executor_in, Server::Options options_in, Server::Handler handler_in);

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
        boost::beast::tcp_stream* stream = nullptr;
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
    void Add(std::uint64_t id, boost::beast::tcp_stream* stream, const std::string& client);

    /// Stops counting a connection (idempotent); `close` closes its socket too.
    void Release(std::uint64_t id, bool close);

    /// Forgets a connection whose coroutine ends.
    void Remove(std::uint64_t id);

    void SetPhase(std::uint64_t id, Phase phase);

    /// Makes room for a connection from `client`: closes the oldest idle connection where a
    /// budget is full. False when a full budget has no idle connection to close.
    bool MakeRoom(const std::string& client);

    /// Closes the listener's oldest idle connection, if any.
    bool CloseOldestIdle();

    void Notify(ConnectionEvent event) const;

    Executor executor;
    Server::Options options;
    Server::Handler handler;
    net::ip::tcp::acceptor acceptor;
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
    void MarkIdle(std::uint64_t id, Session& session);

    void UnmarkIdle(Session& session);
};

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

    void SetPhase(ServerState::Phase phase) { state_.SetPhase(id_, phase); }

private:
    ServerState& state_;
    std::uint64_t id_;
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

}  // namespace chatsync::http::detail
