#include "http/detail/exchange.hpp"

#include <algorithm>
#include <optional>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "http/detail/client_errors.hpp"
#include "http/detail/response_reader.hpp"

namespace chatsync::http::detail {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

/// The time one read or write may take: the idle limit, cut short by the total deadline.
std::optional<SteadyClock::duration> NextLimit(Millis idle, SteadyClock::time_point deadline) {
    const auto remaining = deadline - SteadyClock::now();
    if (remaining <= SteadyClock::duration::zero()) {
        return std::nullopt;
    }
    return std::min<SteadyClock::duration>(idle, remaining);
}

template <class Stream>
Task<Exchanged> Exchange(
    const Client::Options* options,
    Stream* stream,
    Connection* connection,
    BeastRequest* request,
    SteadyClock::time_point deadline,
    bool head
) {
    Exchanged out;
    beast::tcp_stream& lowest = beast::get_lowest_layer(*stream);

    // A cancellation that arrived while this coroutine was between operations would not reach
    // the next operation's slot, hence the explicit checks before each one.
    bool cancelled = co_await IsCancelled();
    auto limit = NextLimit(options->idle_timeout, deadline);
    if (cancelled || !limit) {
        out.ec = cancelled ? error_code(net::error::operation_aborted)
                           : error_code(beast::error::timeout);
        co_return out;
    }
    lowest.expires_after(*limit);
    auto [write_ec, written] = co_await bhttp::async_write(*stream, *request, kAsTuple);
    (void)written;
    if (write_ec) {
        out.ec = write_ec;
        co_return out;
    }

    bool interim_received = false;
    while (true) {
        ResponseParser parser;
        LimitResponse(parser, options->max_response_bytes, head);
        // Read piece by piece so that idle_timeout bounds each wait for data, not the whole
        // body: a slow but steady download is fine until total_timeout.
        while (!parser.is_done()) {
            cancelled = co_await IsCancelled();
            limit = NextLimit(options->idle_timeout, deadline);
            if (cancelled || !limit) {
                out.ec = cancelled ? error_code(net::error::operation_aborted)
                                   : error_code(beast::error::timeout);
                out.got_response_bytes = true;
                co_return out;
            }
            lowest.expires_after(*limit);
            auto [read_ec, n] =
                co_await bhttp::async_read_some(*stream, connection->buffer, parser, kAsTuple);
            (void)n;
            if (read_ec) {
                out.ec = read_ec;
                out.got_response_bytes =
                    interim_received || parser.got_some() || connection->buffer.size() > 0;
                co_return out;
            }
        }
        if (IsInterim(parser.get().result_int())) {
            interim_received = true;
            continue;
        }
        out.keep_alive = parser.keep_alive();
        out.response = ToResponse(parser.release());
        break;
    }
    lowest.expires_never();
    co_return out;
}

}  // namespace

Task<Exchanged> ExchangeOn(
    const Client::Options* options,
    Connection* connection,
    BeastRequest* request,
    SteadyClock::time_point deadline,
    bool head
) {
    Exchanged exchanged;
    if (connection->tls) {
        exchanged =
            co_await Exchange(options, &*connection->tls, connection, request, deadline, head);
    } else {
        // Without TLS, the lowest layer is the plain stream itself.
        exchanged =
            co_await Exchange(options, &connection->Lowest(), connection, request, deadline, head);
    }
    co_return exchanged;
}

}  // namespace chatsync::http::detail
