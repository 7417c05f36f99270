#pragma once

#include <chrono>

#include <boost/system/error_code.hpp>

#include "core/asio.hpp"
#include "http/client.hpp"
#include "http/detail/connection.hpp"
#include "http/detail/request_builder.hpp"
#include "http/message.hpp"

/// @file
/// One request written and its response read on one connection, under the client's idle
/// and total timeouts and its response size limit.

namespace chatsync::http::detail {

/// What one request/response exchange on one connection produced.
struct Exchanged {
    boost::system::error_code ec;
    /// Whether any byte of a response arrived; a reused connection is only retried when none
    /// did, because only then can the server not have started answering.
    bool got_response_bytes = false;
    bool keep_alive = false;
    Response response;
};

/// Writes `request` on `connection` and reads its response (passing over interim 1xx
/// answers), each read or write bounded by options.idle_timeout and all of it by `deadline`.
/// `head`: the answer has no body. The pointers are not null and are the caller's, which
/// awaits the result.
Task<Exchanged> ExchangeOn(
    const Client::Options* options,
    Connection* connection,
    BeastRequest* request,
    std::chrono::steady_clock::time_point deadline,
    bool head
);

}  // namespace chatsync::http::detail
