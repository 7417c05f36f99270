#pragma once

#include <cstdint>
#include <memory>

#include <boost/beast/core/tcp_stream.hpp>

#include "core/asio.hpp"
#include "http/detail/server_state.hpp"

/// @file
/// One connection from its accept to its close: its requests read one after the other
/// (head, budgets, body), each handed to the handler and answered, under the timeouts and
/// limits the Server's documentation lists.

namespace chatsync::http::detail {

/// Serves the connection `id` (counted already by ServerState::Add) until it closes, the
/// client ends it, or the server stops.
Task<void> RunSession(
    std::shared_ptr<ServerState> state,
    std::uint64_t id,
    std::unique_ptr<boost::beast::tcp_stream> owned
);

}  // namespace chatsync::http::detail
