#include "http/server.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/client.hpp"
#include "support/run_async.hpp"

namespace chatsync::http {
namespace {

using namespace std::chrono_literals;
using Tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

struct Calls {
    int count = 0;
    std::string last_body;
};

Task<ServerResponse> Handle(std::shared_ptr<Calls> calls, ServerRequest request) {
    ++calls->count;
    calls->last_body = request.body;
    if (request.path == "/boom") {
        throw std::runtime_error("handler failed");
    }
    if (request.path == "/slow") {
        net::steady_timer timer(co_await net::this_coro::executor);
        timer.expires_after(200ms);
        co_await timer.async_wait(kUseAwaitable);
    }
    ServerResponse response;
    response.body = "seen " + request.path;
    if (request.path == "/bad-status") {
        response.status = 42;
    }
    if (request.path == "/bad-header") {
        response.headers.emplace_back("X-Echo", "a\r\nSet-Cookie: evil=1");
    }
    co_return response;
}

Server::Handler MakeHandler(const std::shared_ptr<Calls>& calls) {
    return [calls](ServerRequest request) {
        return Handle(calls, std::move(request));
    };
}

std::string UrlOf(const Server& server, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

/// Writes raw bytes, then reads until the server closes; returns everything read.
Task<std::string> RawExchange(std::uint16_t port, std::string bytes) {
    Tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(
        Tcp::endpoint(net::ip::address_v4::loopback(), port), kUseAwaitable
    );
    if (!bytes.empty()) {
        co_await net::async_write(socket, net::buffer(bytes), kUseAwaitable);
    }
    std::string received;
    auto [ec, n] = co_await net::async_read(socket, net::dynamic_buffer(received), kAsTuple);
    (void)ec;  // EOF (or a reset after the answer) ends the exchange.
    (void)n;
    co_return received;
}

Task<std::vector<Result<Response>>> SendAll(Client* client, std::vector<Request> requests) {
    std::vector<Result<Response>> results;
    for (auto& request : requests) {
        auto result = co_await client->Send(std::move(request));
        results.push_back(std::move(result));
    }
    co_return results;
}

TEST(Server, ReportsItsPortAndStartErrors) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    EXPECT_NE(server.port(), 0);
    EXPECT_FALSE(server.Start());

    Server clash(
        ioc.get_executor(),
        {.listen = "127.0.0.1:" + std::to_string(server.port())},
        MakeHandler(calls)
    );
    const auto in_use = clash.Start();
    ASSERT_FALSE(in_use);
    EXPECT_EQ(in_use.error(), boost::system::errc::address_in_use);

    Server bad(ioc.get_executor(), {.listen = "127.0.0.1"}, MakeHandler(calls));
    EXPECT_FALSE(bad.Start());
    Server ipv6(ioc.get_executor(), {.listen = "[::1]:0"}, MakeHandler(calls));
    if (ipv6.Start()) {
        EXPECT_NE(ipv6.port(), 0);
    }
}

TEST(Server, Answers413BeforeReadingAnOversizedBody) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {.max_body_bytes = 1024}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    // Only the header is sent: the answer must come without waiting for 10 MB of body.
    const std::string reply = test::RunAsync(
        ioc,
        RawExchange(
            server.port(), "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
        ),
        5s
    );
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply;
    EXPECT_EQ(calls->count, 0);

    Client client(ioc.get_executor(), {});
    std::vector<Request> requests;
    requests.push_back(Request{
        .method = "POST",
        .url = UrlOf(server, "/hook"),
        .headers = {},
        .body = std::string(4096, 'b')});
    requests.push_back(Request{
        .method = "POST",
        .url = UrlOf(server, "/hook"),
        .headers = {},
        .body = std::string(1024, 'c')});
    const auto results = test::RunAsync(ioc, SendAll(&client, std::move(requests)), 5s);
    ASSERT_TRUE(results[0]) << results[0].error().message();
    EXPECT_EQ(results[0]->status, 413U);
    ASSERT_TRUE(results[1]) << results[1].error().message();
    EXPECT_EQ(results[1]->status, 200U);
    EXPECT_EQ(calls->count, 1);
    EXPECT_EQ(calls->last_body.size(), 1024U);
}

TEST(Server, Answers413ForAnOversizedChunkedBody) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {.max_body_bytes = 16}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    const std::string reply = test::RunAsync(
        ioc,
        RawExchange(
            server.port(),
            "POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
        ),
        5s
    );
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply;
    EXPECT_EQ(calls->count, 0);
}

TEST(Server, HandlerExceptionBecomes500AndServingGoesOn) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    Client client(ioc.get_executor(), {});
    std::vector<Request> requests;
    requests.push_back(Request{
        .method = "GET", .url = UrlOf(server, "/boom"), .headers = {}, .body = {}});
    requests.push_back(Request{
        .method = "GET", .url = UrlOf(server, "/fine?x=1"), .headers = {}, .body = {}});
    const auto results = test::RunAsync(ioc, SendAll(&client, std::move(requests)), 5s);
    ASSERT_TRUE(results[0]);
    EXPECT_EQ(results[0]->status, 500U);
    ASSERT_TRUE(results[1]);
    EXPECT_EQ(results[1]->status, 200U);
    EXPECT_EQ(results[1]->body, "seen /fine");
}

TEST(Server, InvalidHandlerResponsesBecome500) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    Client client(ioc.get_executor(), {});
    std::vector<Request> requests;
    requests.push_back(Request{
        .method = "GET", .url = UrlOf(server, "/bad-status"), .headers = {}, .body = {}});
    requests.push_back(Request{
        .method = "GET", .url = UrlOf(server, "/bad-header"), .headers = {}, .body = {}});
    const auto results = test::RunAsync(ioc, SendAll(&client, std::move(requests)), 5s);
    for (const auto& result : results) {
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_EQ(result->status, 500U);
        EXPECT_FALSE(result->Header("Set-Cookie"));
    }
}

Task<std::string> ExpectContinueExchange(std::uint16_t port) {
    Tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(
        Tcp::endpoint(net::ip::address_v4::loopback(), port), kUseAwaitable
    );
    const std::string header =
        "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
        "Connection: close\r\n\r\n";
    co_await net::async_write(socket, net::buffer(header), kUseAwaitable);
    std::string interim(25, '\0');
    co_await net::async_read(socket, net::buffer(interim), kUseAwaitable);
    co_await net::async_write(socket, net::buffer(std::string_view("hello")), kUseAwaitable);
    std::string rest;
    auto [ec, n] = co_await net::async_read(socket, net::dynamic_buffer(rest), kAsTuple);
    (void)ec;  // EOF ends the answer.
    (void)n;
    co_return interim + rest;
}

TEST(Server, HonoursExpectContinue) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    const std::string reply = test::RunAsync(ioc, ExpectContinueExchange(server.port()), 5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200")) << reply;
    EXPECT_EQ(calls->last_body, "hello");
}

TEST(Server, AnswersMalformedRequestsWith400) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    const std::string reply =
        test::RunAsync(ioc, RawExchange(server.port(), "NOT HTTP AT ALL\r\n\r\n"), 5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
    EXPECT_EQ(calls->count, 0);
}

TEST(Server, ClosesSilentConnectionsAfterTheReadTimeout) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {.read_timeout = 200ms}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    const auto start = SteadyClock::now();
    const std::string reply = test::RunAsync(ioc, RawExchange(server.port(), ""), 5s);
    const auto elapsed = SteadyClock::now() - start;
    EXPECT_EQ(reply, "");
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 1s);
}

TEST(Server, StopClosesTheListenerAndIdleConnections) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    Client client(ioc.get_executor(), {});
    const auto first = test::RunAsync(
        ioc,
        client.Send(Request{.method = "GET", .url = UrlOf(server, "/a"), .headers = {}, .body = {}}
        ),
        5s
    );
    ASSERT_TRUE(first);
    server.Stop();
    // The pooled connection was closed by Stop(); the client's one fresh retry finds no
    // listener.
    const auto second = test::RunAsync(
        ioc,
        client.Send(Request{.method = "GET", .url = UrlOf(server, "/b"), .headers = {}, .body = {}}
        ),
        5s
    );
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), net::error::connection_refused);
}

Task<Result<Response>> StopWhileRequestRuns(Server* server, Client* client, std::string url) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(50ms);
    timer.async_wait([server](boost::system::error_code) { server->Stop(); });
    // A named local, not a temporary inside the co_await expression (house rule R2: GCC 12
    // copies such temporaries bitwise into the coroutine frame).
    Request request{.method = "GET", .url = std::move(url), .headers = {}, .body = {}};
    auto result = co_await client->Send(std::move(request));
    co_return result;
}

TEST(Server, StopLetsARequestInProgressFinish) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    Client client(ioc.get_executor(), {});
    const auto result =
        test::RunAsync(ioc, StopWhileRequestRuns(&server, &client, UrlOf(server, "/slow")), 5s);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->status, 200U);
    EXPECT_EQ(result->Header("Connection"), "close");
}

}  // namespace
}  // namespace chatsync::http
