#include "http/detail/server_session.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "core/text.hpp"
#include "http/detail/request_head.hpp"
#include "http/detail/server_response.hpp"

namespace chatsync::http::detail {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = net::ip::tcp;
using Phase = ServerState::Phase;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

Task<ServerResponse> CallHandler(std::shared_ptr<ServerState> state, ServerRequest request) {
    ServerResponse response;
    try {
        response = co_await state->handler(std::move(request));
    } catch (...) {
        // A failing handler answers 500 and leaves the connection and the server running.
        response = PlainResponse(500, "internal error\n");
    }
    co_return response;
}

}  // namespace

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
        const bool arrived = co_await AwaitRequest(&stream, &buffer, wait);
        if (!arrived || state->stopping) {
            break;
        }
        first = false;
        bhttp::request_parser<bhttp::empty_body> header_parser;
        header_parser.header_limit(kRequestHeaderLimit);
        // The size check below answers 413; the parser's own default limit would answer 400.
        header_parser.body_limit(boost::none);
        stream.expires_never();
        deadline.Arm(SteadyClock::now() + options.header_timeout);
        auto [header_ec, header_n] =
            co_await bhttp::async_read_header(stream, buffer, header_parser, kAsTuple);
        (void)header_n;
        deadline.Disarm();
        if (header_ec && deadline.expired()) {
            const bool sent = co_await Refuse(state.get(), &stream, no_path, 408, kHeaderTimeout);
            (void)sent;  // The connection closes either way.
            break;
        }
        if (header_ec) {
            if (IsHttpError(header_ec) && header_ec != bhttp::error::end_of_stream) {
                const bool sent = co_await Refuse(state.get(), &stream, no_path, 400, kBadRequest);
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
                co_await Refuse(state.get(), &stream, request.path, 400, *problem, version, head);
            (void)sent;
            break;
        }
        const auto content_length = header_parser.content_length();
        if (content_length && *content_length > options.max_body_bytes) {
            registration.SetPhase(Phase::kAnswering);
            const bool sent =
                co_await Refuse(state.get(), &stream, request.path, 413, kTooLarge, version, head);
            ending = sent ? Ending::kLinger : Ending::kClose;
            break;
        }
        if (options.check_head) {
            if (auto refusal = options.check_head(request)) {
                // Not a byte of the body is read: the connection closes after the answer.
                registration.SetPhase(Phase::kAnswering);
                auto answer = std::move(*refusal);
                const bool sent =
                    co_await AnswerAndClose(state.get(), &stream, std::move(answer), version, head);
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
                co_await Refuse(state.get(), &stream, request.path, 503, kBusy, version, head);
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
            const bool sent =
                co_await Refuse(state.get(), &stream, request.path, 413, kTooLarge, version, head);
            ending = sent ? Ending::kLinger : Ending::kClose;
            break;
        }
        if (body_ec && deadline.expired()) {
            const bool sent =
                co_await Refuse(state.get(), &stream, request.path, 408, kBodyTimeout);
            (void)sent;
            break;
        }
        if (body_ec == bhttp::error::partial_message ||
            (IsHttpError(body_ec) && body_ec != bhttp::error::end_of_stream)) {
            // The client ended its half before the body its Content-Length announced.
            const bool sent = co_await Refuse(state.get(), &stream, request.path, 400, kShortBody);
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
        co_await LingeringClose(&stream);
    }
    error_code ignored;
    stream.socket().shutdown(Tcp::socket::shutdown_both, ignored);
    stream.close();
}

}  // namespace chatsync::http::detail
