#include "http/detail/client_errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "core/error.hpp"

namespace chatsync::http::detail {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;

}  // namespace

using boost::system::error_code;

Task<bool> IsCancelled() {
    const net::cancellation_state state = co_await net::this_coro::cancellation_state;
    co_return state.cancelled() != net::cancellation_type::none;
}

bool IsTlsError(const error_code& ec) {
    return ec.category() == net::error::get_ssl_category() ||
           (ec.category() == ssl::error::get_stream_category() && ec != ssl::error::stream_truncated
           );
}

bool IsStaleConnectionError(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

error_code MapError(const error_code& ec, bool cancelled) {
    if (cancelled) {
        return make_error_code(Errc::kCancelled);
    }
    if (ec == beast::error::timeout) {
        return make_error_code(Errc::kTimeout);
    }
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
        ec == bhttp::error::buffer_overflow) {
        return make_error_code(Errc::kResponseTooLarge);
    }
    // For the caller these all mean "the peer hung up early", which error.cpp classifies as
    // retryable. stream_truncated is a TLS peer closing without close_notify: a dropped
    // connection, not a certificate problem.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec == ssl::error::stream_truncated) {
        return net::error::eof;
    }
    if (IsTlsError(ec)) {
        return make_error_code(Errc::kTls);
    }
    return ec;
}

}  // namespace chatsync::http::detail
