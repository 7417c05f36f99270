#pragma once

#include <string>
#include <string_view>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/asio.hpp"
#include "http/detail/server_state.hpp"
#include "http/server.hpp"

/// @file
/// How the server answers: a handler's response made safe to write, the answers it gives
/// itself when it refuses a request (counted through Options::on_refused), and the
/// lingering close after a refused body.

namespace chatsync::http::detail {

inline constexpr std::string_view kBadRequest = "bad request\n";
inline constexpr std::string_view kShortBody =
    "bad request: body shorter than its Content-Length\n";
inline constexpr std::string_view kHeaderTimeout = "request header timeout\n";
inline constexpr std::string_view kBodyTimeout = "request body too slow\n";
inline constexpr std::string_view kTooLarge = "request body too large\n";
inline constexpr std::string_view kBusy = "busy; deliver again later\n";

/// A text/plain answer.
ServerResponse PlainResponse(unsigned status, std::string body);

/// The response as Beast writes it. A status line Beast cannot write, or a header that would
/// split the response, is a handler bug: it answers 500. `head`: headers only, with the
/// Content-Length of the body.
boost::beast::http::response<boost::beast::http::string_body>
ToBeast(ServerResponse response, unsigned version, bool keep_alive, bool head);

/// Tells Options::on_refused of a request refused before a handler saw it.
void NoteRefused(const ServerState& state, const std::string& path, unsigned status);

/// Writes an answer that ends the connection; returns whether it went out. Here and below,
/// `state` and `stream` are not null and are the caller's, which awaits the result.
Task<bool> AnswerAndClose(
    const ServerState* state,
    boost::beast::tcp_stream* stream,
    ServerResponse response,
    unsigned version,
    bool head
);

/// Answers a refusal (counted) that ends the connection; returns whether it went out. A 503
/// says Retry-After.
Task<bool> Refuse(
    const ServerState* state,
    boost::beast::tcp_stream* stream,
    std::string path,
    unsigned status,
    std::string_view body,
    unsigned version = 11,
    bool head = false
);

/// Reads and discards what the client still sends after a refusal, within bounds, before
/// the connection closes.
Task<void> LingeringClose(boost::beast::tcp_stream* stream);

}  // namespace chatsync::http::detail
