#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "http/server.hpp"

/// @file
/// How the server reads a request's head: waiting for its first byte, the deadline that
/// may answer 408, the size limit, the framing rules, and the head as a handler sees it.

namespace chatsync::http::detail {

/// Generous for browsers and webhook senders, small enough to bound memory per connection.
inline constexpr std::uint32_t kRequestHeaderLimit = 16U * 1024U;

/// A deadline for reads that may answer 408: on expiry it cancels the socket's operations
/// but leaves the socket open, so the answer can still be written (a tcp_stream's own expiry
/// closes the socket).
class Deadline final {
public:
    Deadline(const Executor& executor, boost::beast::tcp_stream& stream)
        : shared_(std::make_shared<Shared>(Shared{&stream}))
        , timer_(executor) {}

    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    Deadline(Deadline&&) = delete;
    Deadline& operator=(Deadline&&) = delete;

    ~Deadline() { shared_->stream = nullptr; }

    void Arm(std::chrono::steady_clock::time_point when);

    void Disarm();

    /// The last armed deadline passed (and cancelled the read in progress).
    bool expired() const noexcept { return shared_->expired; }

private:
    struct Shared {
        /// Null once the session's frame is gone.
        boost::beast::tcp_stream* stream = nullptr;
        std::uint64_t generation = 0;
        bool expired = false;
    };

    struct Expire {
        std::shared_ptr<Shared> shared;
        std::uint64_t generation = 0;

        void operator()(const boost::system::error_code& ec) const;
    };

    std::shared_ptr<Shared> shared_;
    net::steady_timer timer_;
};

/// Waits until a request's first byte is in `buffer`; false when the connection closed or
/// stayed silent for `timeout` (then it closes without an answer: nothing was asked).
/// `stream` and `buffer` are not null and are the caller's, which awaits the result.
Task<bool>
AwaitRequest(boost::beast::tcp_stream* stream, boost::beast::flat_buffer* buffer, Millis timeout);

/// The request as a handler sees it, without its body.
ServerRequest
HeadOf(const boost::beast::http::request_header<>& header, const std::string& remote_address);

/// The answer's text when a parsed header breaks HTTP/1.1's framing rules (RFC 9112), or
/// nullopt. Each of these lets a proxy in front and this server disagree on where a request
/// ends.
std::optional<std::string_view> FramingProblem(const boost::beast::http::request_header<>& header);

/// An error of Beast's HTTP parser (a request that does not parse), not of the socket.
bool IsHttpError(const boost::system::error_code& ec);

}  // namespace chatsync::http::detail
