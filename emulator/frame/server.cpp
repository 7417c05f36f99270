#include "emulator/frame/server.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <list>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/text.hpp"

namespace chatsync::emulator {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using Tcp = net::ip::tcp;

/// Completion handler of the server's root coroutines: the emulator has no metrics, so a
/// failure is one line on stderr naming the coroutine.
struct ReportFailure {
    const char* what;

    void operator()(const std::exception_ptr& error) const {
        if (!error) {
            return;
        }
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "chatsync-emulator: %s failed: %s\n", what, e.what());
        }
    }
};

std::string ToString(beast::string_view sv) {
    return std::string(sv.data(), sv.size());
}

Reply ErrorReply(unsigned status, std::string_view message) {
    Reply reply = SerializeResponse(ErrorResponse(status, message), false);
    reply.close = true;
    return reply;
}

}  // namespace

struct Server::Impl {
    Impl(Executor ex, Options opts, Handler h)
        : executor(std::move(ex))
        , options(std::move(opts))
        , handler(std::move(h))
        , acceptor(executor) {}

    Task<void> Accept();
    Task<void> Serve(Tcp::socket socket);
    /// Writes `reply` on `socket`; true when the connection may carry another request (the
    /// write succeeded and the reply does not close it).
    Task<bool> Write(Tcp::socket* socket, const Reply* reply);

    Executor executor;
    Options options;
    Handler handler;
    Tcp::acceptor acceptor;
    std::string local;                    ///< "host:port" for requests without a Host header.
    std::list<Tcp::socket*> connections;  ///< Open connections, so Stop() can close them.
    bool stopping = false;
};

Task<void> Server::Impl::Accept() {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(kAsTuple);
        if (stopping || ec == net::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // Out of descriptors and the like: back off briefly instead of spinning.
            net::steady_timer pause(executor, std::chrono::milliseconds(20));
            auto [wait_ec] = co_await pause.async_wait(kAsTuple);
            (void)wait_ec;  // Cancelled only by shutdown, which the loop checks next.
            continue;
        }
        net::co_spawn(executor, Serve(std::move(socket)), ReportFailure{"connection"});
    }
}

Task<bool> Server::Impl::Write(Tcp::socket* socket, const Reply* reply) {
    if (!reply->bytes.empty()) {
        auto [ec, n] = co_await net::async_write(*socket, net::buffer(reply->bytes), kAsTuple);
        if (ec) {
            co_return false;
        }
    }
    co_return !reply->close;
}

Task<void> Server::Impl::Serve(Tcp::socket socket) {
    connections.push_front(&socket);
    const auto registration = connections.begin();

    struct Unregister {
        std::list<Tcp::socket*>& list;
        std::list<Tcp::socket*>::iterator it;

        ~Unregister() { list.erase(it); }
    } unregister{connections, registration};

    boost::system::error_code ignored;
    socket.set_option(Tcp::no_delay(true), ignored);
    const auto peer = socket.remote_endpoint(ignored);
    const std::string remote = ignored ? std::string() : peer.address().to_string();

    beast::flat_buffer buffer;
    bool open = true;
    while (open && !stopping) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(options.max_body_bytes);
        auto [header_ec, header_bytes] =
            co_await http::async_read_header(socket, buffer, parser, kAsTuple);
        if (header_ec) {
            // end_of_stream is the client closing an idle keep-alive connection; any other
            // error before a complete header has nobody to answer to.
            const bool unparsable =
                header_ec != http::error::end_of_stream &&
                header_ec.category() == http::make_error_code(http::error::bad_target).category();
            if (unparsable) {
                const Reply error_reply = ErrorReply(400, "bad request");
                co_await Write(&socket, &error_reply);
            }
            break;
        }
        const auto received_at = std::chrono::system_clock::now();
        if (IEquals(ToString(parser.get()[http::field::expect]), "100-continue")) {
            const Reply proceed{"HTTP/1.1 100 Continue\r\n\r\n", false};
            open = co_await Write(&socket, &proceed);
        }
        if (!parser.is_done()) {
            auto [body_ec, body_bytes] =
                co_await http::async_read(socket, buffer, parser, kAsTuple);
            if (body_ec == http::error::body_limit) {
                const Reply error_reply = ErrorReply(413, "body too large");
                co_await Write(&socket, &error_reply);
                break;
            }
            if (body_ec) {
                break;
            }
        }
        auto message = parser.release();
        Request request;
        request.method = ToString(message.method_string());
        request.remote = remote;
        request.local = local;
        request.keep_alive = message.keep_alive();
        request.received_at = received_at;
        for (const auto& field : message) {
            request.headers.emplace_back(ToString(field.name_string()), ToString(field.value()));
        }
        request.body = std::move(message.body());
        if (!SetTarget(request, ToString(message.target()))) {
            const Reply error_reply = ErrorReply(400, "bad request target");
            co_await Write(&socket, &error_reply);
            break;
        }
        const Reply reply = co_await handler(std::move(request));
        open = co_await Write(&socket, &reply) && open;
    }
    // Half-close first so that the bytes already written reach the client before the FIN.
    socket.shutdown(Tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

Server::Server(Executor executor, Options options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options), std::move(handler))) {}

Server::~Server() = default;

void Server::Start() {
    const Tcp::endpoint endpoint(net::ip::make_address(impl_->options.host), impl_->options.port);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(Tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(net::socket_base::max_listen_connections);
    const std::string host = impl_->options.host;
    impl_->local = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                   std::to_string(Port());
    net::co_spawn(impl_->executor, impl_->Accept(), ReportFailure{"accept loop"});
}

std::uint16_t Server::Port() const {
    boost::system::error_code ec;
    const auto endpoint = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

void Server::Stop() {
    if (impl_->stopping) {
        return;
    }
    impl_->stopping = true;
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    for (Tcp::socket* socket : impl_->connections) {
        socket->shutdown(Tcp::socket::shutdown_both, ignored);
        socket->close(ignored);
    }
}

}  // namespace chatsync::emulator
