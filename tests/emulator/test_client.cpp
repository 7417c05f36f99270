#include "test_client.hpp"

#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include "core/text.hpp"

namespace chatsync::emulator::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

/// Only for a server that stopped answering: long enough that a slow or busy machine, or the
/// sanitizer build seeding a large dataset, is never taken for one.
constexpr auto kTimeout = std::chrono::seconds(60);

std::string ToString(beast::string_view sv) {
    return std::string(sv.data(), sv.size());
}

}  // namespace

std::optional<std::string> HttpResult::Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (IEquals(key, name)) {
            return value;
        }
    }
    return std::nullopt;
}

boost::json::value HttpResult::Json() const {
    return boost::json::parse(body);
}

struct TestClient::Impl {
    Impl(std::uint16_t p, std::string local)
        : port(p)
        , local_address(std::move(local)) {}

    void Connect() {
        stream.close();
        buffer.clear();
        stream.expires_after(kTimeout);
        if (!local_address.empty()) {
            const auto local = net::ip::make_address(local_address);
            stream.socket().open(local.is_v4() ? tcp::v4() : tcp::v6());
            stream.socket().bind(tcp::endpoint(local, 0));
        }
        stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        connected = true;
    }

    /// Runs the io_context until the operation started before it completes.
    void Run() {
        ioc.restart();
        ioc.run();
    }

    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;
    std::uint16_t port;
    std::string local_address;  ///< Empty: the kernel picks.
    bool connected = false;
};

TestClient::TestClient(std::uint16_t port, std::string local_address)
    : impl_(std::make_unique<Impl>(port, std::move(local_address))) {}

TestClient::~TestClient() = default;
TestClient::TestClient(TestClient&&) noexcept = default;
TestClient& TestClient::operator=(TestClient&&) noexcept = default;

HttpResult TestClient::Send(
    std::string_view method,
    std::string_view target,
    std::string body,
    const Headers& headers
) {
    http::request<http::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
    for (const auto& [name, value] : headers) {
        request.set(name, value);
    }
    request.body() = std::move(body);
    request.prepare_payload();

    for (int attempt = 0;; ++attempt) {
        const bool reused = impl_->connected;
        if (!impl_->connected) {
            impl_->Connect();
        }
        boost::system::error_code ec;
        impl_->stream.expires_after(kTimeout);
        http::async_write(impl_->stream, request, [&ec](boost::system::error_code e, std::size_t) {
            ec = e;
        });
        impl_->Run();
        http::response<http::string_body> response;
        if (!ec) {
            http::async_read(
                impl_->stream,
                impl_->buffer,
                response,
                [&ec](boost::system::error_code e, std::size_t) { ec = e; }
            );
            impl_->Run();
        }
        if (ec) {
            impl_->connected = false;
            impl_->stream.close();
            // The server may have closed an idle keep-alive connection just before we reused it.
            if (reused && attempt == 0 &&
                (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
                 ec == net::error::broken_pipe)) {
                continue;
            }
            throw boost::system::system_error(ec, "request " + std::string(target));
        }
        HttpResult result;
        result.status = response.result_int();
        for (const auto& field : response) {
            result.headers.emplace_back(ToString(field.name_string()), ToString(field.value()));
        }
        result.body = std::move(response.body());
        if (!response.keep_alive()) {
            impl_->connected = false;
            impl_->stream.close();
        }
        return result;
    }
}

HttpResult TestClient::Get(std::string_view target, const Headers& headers) {
    return Send("GET", target, {}, headers);
}

HttpResult TestClient::Post(std::string_view target, std::string body, const Headers& headers) {
    Headers with_type = headers;
    with_type.emplace_back("Content-Type", "application/json");
    return Send("POST", target, std::move(body), with_type);
}

std::string
RawExchange(std::uint16_t port, std::string_view request, std::chrono::milliseconds timeout) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    net::write(stream.socket(), net::buffer(request));
    std::string received;
    std::array<char, 4096> chunk{};
    boost::system::error_code ec;
    std::function<void()> read_more = [&] {
        stream.async_read_some(net::buffer(chunk), [&](boost::system::error_code e, std::size_t n) {
            received.append(chunk.data(), n);
            ec = e;
            if (!e) {
                read_more();
            }
        });
    };
    read_more();
    ioc.run();
    if (ec == beast::error::timeout) {
        throw std::runtime_error("RawExchange: the server did not close the connection");
    }
    return received;
}

std::string TargetOf(std::string_view url) {
    const auto scheme = url.find("://");
    if (scheme == std::string_view::npos) {
        return std::string(url);
    }
    const auto slash = url.find('/', scheme + 3);
    return slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
}

}  // namespace chatsync::emulator::test
