#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include "http/message.hpp"

/// @file
/// How the client reads a response: Beast's parser with the client's limits, the interim
/// responses it passes over, and the conversion to http::Response. Client reads from a
/// connection with these; ParseResponse reads a response held whole in memory with the same
/// steps, for the fuzz target and tests.

namespace chatsync::http::detail {

using ResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

/// Large enough for any API's headers (cookies, long link headers), small enough that a
/// hostile or broken peer cannot make us buffer without bound before the body limit applies.
inline constexpr std::uint32_t kHeaderLimit = 64U * 1024U;

/// Sets the limits every response is read with. The answer to a HEAD request has headers
/// only, whatever its Content-Length says (`head`).
void LimitResponse(ResponseParser& parser, std::size_t max_body_bytes, bool head);

/// Whether a response only precedes the real one: 100 Continue, 103 Early Hints. 101 would
/// switch protocols, which a plain request never asks for, so it ends the exchange instead.
bool IsInterim(unsigned status) noexcept;

/// The parsed message as a plain Response.
Response ToResponse(boost::beast::http::response<boost::beast::http::string_body>&& message);

/// What reading a response from memory gave: `response` and `keep_alive` when `ec` is clear.
struct ParsedResponse {
    boost::system::error_code ec;
    Response response;
    bool keep_alive = false;
};

/// Reads the answer to one request from `bytes`, everything the peer sent before closing the
/// connection, as the client reads it from a connection: interim responses passed over, the
/// header and body limits applied. Errors are Beast's (body_limit, partial_message, ...).
ParsedResponse ParseResponse(std::string_view bytes, std::size_t max_body_bytes, bool head);

}  // namespace chatsync::http::detail
