#include "http/detail/server_response.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/write.hpp>

#include "http/detail/header_rules.hpp"

namespace chatsync::http::detail {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = net::ip::tcp;
using boost::system::error_code;

/// After refusing a body (413, 503) the server reads and discards what the client is still
/// sending, for at most this long and this much. Closing with unread data makes the kernel
/// send RST, and an RST can destroy the 413 in the client's receive buffer before the client
/// reads it (the "lingering close" that nginx and Apache do for the same reason).
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerLimit = std::size_t{4} << 20U;

}  // namespace

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
        IsSafeHeaderValue(response.content_type) &&
        std::all_of(response.headers.begin(), response.headers.end(), [](const auto& h) {
            return IsToken(h.first) && IsSafeHeaderValue(h.second);
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

void NoteRefused(const ServerState& state, const std::string& path, unsigned status) {
    if (state.options.on_refused) {
        state.options.on_refused(path, status);
    }
}

/// Writes an answer that ends the connection; returns whether it went out.
Task<bool> AnswerAndClose(
    const ServerState* state,
    beast::tcp_stream* stream,
    ServerResponse response,
    unsigned version,
    bool head
) {
    auto res = ToBeast(std::move(response), version, false, head);
    stream->expires_after(state->options.write_timeout);
    auto [write_ec, written] = co_await bhttp::async_write(*stream, res, kAsTuple);
    (void)written;
    co_return !write_ec;
}

/// Answers a refusal (counted) that ends the connection; returns whether it went out.
Task<bool> Refuse(
    const ServerState* state,
    beast::tcp_stream* stream,
    std::string path,
    unsigned status,
    std::string_view body,
    unsigned version,
    bool head
) {
    NoteRefused(*state, path, status);
    auto response = PlainResponse(status, std::string(body));
    if (status == 503) {
        response.headers.emplace_back("Retry-After", "5");
    }
    auto sent = co_await AnswerAndClose(state, stream, std::move(response), version, head);
    co_return sent;
}

Task<void> LingeringClose(beast::tcp_stream* stream) {
    error_code ignored;
    stream->socket().shutdown(Tcp::socket::shutdown_send, ignored);
    std::array<char, 16384> scratch{};
    std::size_t drained = 0;
    stream->expires_after(kLingerTimeout);
    while (drained < kLingerLimit) {
        auto [ec, n] = co_await stream->async_read_some(net::buffer(scratch), kAsTuple);
        if (ec) {
            break;  // EOF (the client closed after reading our answer), timeout or reset.
        }
        drained += n;
    }
}

}  // namespace chatsync::http::detail
