#include "http/server.hpp"

#include <functional>
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

/// Writes raw bytes, ends its sending half, then reads until the server closes.
Task<std::string> HalfClosedExchange(std::uint16_t port, std::string bytes) {
    Tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(
        Tcp::endpoint(net::ip::address_v4::loopback(), port), kUseAwaitable
    );
    co_await net::async_write(socket, net::buffer(bytes), kUseAwaitable);
    socket.shutdown(Tcp::socket::shutdown_send);
    std::string received;
    auto [ec, n] = co_await net::async_read(socket, net::dynamic_buffer(received), kAsTuple);
    (void)ec;
    (void)n;
    co_return received;
}

/// A connected socket that has sent `bytes` (maybe nothing) and waits.
Task<std::unique_ptr<Tcp::socket>> Open(std::uint16_t port, std::string bytes) {
    auto socket = std::make_unique<Tcp::socket>(co_await net::this_coro::executor);
    co_await socket->async_connect(
        Tcp::endpoint(net::ip::address_v4::loopback(), port), kUseAwaitable
    );
    if (!bytes.empty()) {
        co_await net::async_write(*socket, net::buffer(bytes), kUseAwaitable);
    }
    co_return socket;
}

/// Reads until the peer closes (or `limit` passes); what came.
Task<std::string> ReadToEnd(Tcp::socket* socket, std::chrono::milliseconds limit) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(limit);
    timer.async_wait([socket](boost::system::error_code ec) {
        if (!ec) {
            socket->cancel();
        }
    });
    std::string received;
    auto [ec, n] = co_await net::async_read(*socket, net::dynamic_buffer(received), kAsTuple);
    (void)n;
    timer.cancel();
    if (ec == net::error::operation_aborted) {
        received += "<still open>";
    }
    co_return received;
}

/// Runs the io_context for a while, so that the server accepts and reads.
void RunFor(net::io_context& ioc, std::chrono::milliseconds d) {
    ioc.restart();
    ioc.run_for(d);
}

/// Runs the server's side until `reached()` holds, however slow the machine: the tests wait
/// for a state (a connection accepted, a head read), never for a time. Fails after 10 s.
void RunUntil(net::io_context& ioc, const std::function<bool()>& reached) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!reached()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the server never got there";
        RunFor(ioc, 5ms);
    }
}

/// A head check that lets every request through and counts the heads read. Once it has
/// seen a head, that connection is reading its body: the server marks it so in the same step.
Server::HeadCheck CountHeads(int& heads) {
    return [&heads](const ServerRequest&) -> std::optional<ServerResponse> {
        ++heads;
        return std::nullopt;
    };
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

TEST(Server, ClosesSilentConnectionsAfterTheHeaderTimeout) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {.header_timeout = 200ms}, MakeHandler(calls));
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

/// A request that breaks HTTP/1.1's framing answers 400, reaches no handler, and closes the
/// connection: what followed it is never taken as another request.
void ExpectRefusedAndClosed(const std::string& bytes, bool half_close = false) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    const std::string reply =
        half_close ? test::RunAsync(ioc, HalfClosedExchange(server.port(), bytes), 5s)
                   : test::RunAsync(ioc, RawExchange(server.port(), bytes), 5s);
    // An HTTP/1.0 answer closes without saying so.
    const bool http10 = reply.starts_with("HTTP/1.0 400");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400") || http10) << reply;
    if (!http10) {
        EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    }
    EXPECT_EQ(reply.find("\nHTTP/1."), std::string::npos) << "a second answer: " << reply;
    EXPECT_EQ(calls->count, 0);
}

TEST(Server, Answers400AndClosesForHttp11WithoutHost) {
    ExpectRefusedAndClosed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(Server, Answers400ForTwoHosts) {
    ExpectRefusedAndClosed("GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
}

TEST(Server, TakesHttp10WithoutHost) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(ioc.get_executor(), {}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    const std::string reply =
        test::RunAsync(ioc, RawExchange(server.port(), "GET /a HTTP/1.0\r\n\r\n"), 5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.0 200")) << reply;
}

TEST(Server, Answers400AndClosesForATransferEncodingOtherThanChunked) {
    // The smuggling shape: a server that ignores gzip takes the body as empty and the rest
    // as a second request.
    ExpectRefusedAndClosed(
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
        "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    ExpectRefusedAndClosed(
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
    );
    ExpectRefusedAndClosed("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

TEST(Server, Answers400AndClosesForTransferEncodingWithContentLength) {
    ExpectRefusedAndClosed(
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
        "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    );
}

TEST(Server, Answers400AndClosesForABodyShorterThanItsContentLength) {
    ExpectRefusedAndClosed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", true);
}

TEST(Server, Answers400AndClosesForConflictingContentLengths) {
    ExpectRefusedAndClosed(
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"
    );
}

TEST(Server, Answers408WhenAHeaderStopsHalfWay) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    std::vector<unsigned> refused;
    Server server(
        ioc.get_executor(),
        {.header_timeout = 300ms,
         .on_refused =
             [&](const std::string&, unsigned status) {
                 refused.push_back(status);
             }},
        MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    const auto start = SteadyClock::now();
    const std::string reply =
        test::RunAsync(ioc, RawExchange(server.port(), "GET /a HTTP/1.1\r\nHost: x\r\nX-"), 5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 408")) << reply;
    EXPECT_GE(SteadyClock::now() - start, 290ms);
    EXPECT_EQ(refused, std::vector<unsigned>{408});
}

TEST(Server, Answers408WhenABodyIsSlowerThanTheMinimumRate) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(
        ioc.get_executor(), {.body_timeout = 300ms, .body_min_rate = 1000}, MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    // 10 bytes of 100 arrive: the body may take 300 ms + 10 ms, then it is too slow.
    const std::string reply = test::RunAsync(
        ioc,
        RawExchange(
            server.port(), "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
        ),
        5s
    );
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 408")) << reply;
    EXPECT_EQ(calls->count, 0);
}

TEST(Server, ClosesAKeptAliveConnectionAfterTheIdleTimeout) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    Server server(
        ioc.get_executor(), {.header_timeout = 5s, .idle_timeout = 300ms}, MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    const auto start = SteadyClock::now();
    const std::string reply =
        test::RunAsync(ioc, RawExchange(server.port(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), 5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    EXPECT_EQ(reply.find("HTTP/1.1 408"), std::string::npos) << reply;
    EXPECT_LT(SteadyClock::now() - start, 3s);
}

TEST(Server, RefusesFromTheHeaderWithoutReadingTheBody) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    int checked = 0;
    Server server(
        ioc.get_executor(),
        {.check_head = [&](const ServerRequest& head) -> std::optional<ServerResponse> {
            ++checked;
            EXPECT_TRUE(head.body.empty());
            if (head.path == "/wrong") {
                ServerResponse r;
                r.status = 404;
                return r;
            }
            return std::nullopt;
        }},
        MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    // A 1 MiB body is announced and none of it sent: the answer comes anyway, and closes.
    const std::string reply = test::RunAsync(
        ioc,
        RawExchange(
            server.port(), "POST /wrong HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"
        ),
        5s
    );
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 404")) << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_EQ(calls->count, 0);
    EXPECT_EQ(checked, 1);
}

TEST(Server, Answers503WhenBodiesInFlightAreAtTheirBudget) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    int heads = 0;
    std::vector<unsigned> refused;
    Server server(
        ioc.get_executor(),
        {.max_body_bytes_in_flight = 1000,
         .check_head = CountHeads(heads),
         .on_refused =
             [&](const std::string&, unsigned status) {
                 refused.push_back(status);
             }},
        MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    // The first body holds 800 bytes of the 1000 while it arrives.
    auto first = test::RunAsync(
        ioc, Open(server.port(), "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\nab"), 5s
    );
    RunUntil(ioc, [&] { return heads == 1; });
    const std::string reply = test::RunAsync(
        ioc,
        RawExchange(server.port(), "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n"),
        5s
    );
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 503")) << reply;
    EXPECT_NE(reply.find("Retry-After: "), std::string::npos) << reply;
    EXPECT_EQ(refused, std::vector<unsigned>{503});
    // Once the first is answered its bytes are free again.
    first->close();
    RunUntil(ioc, [&] { return server.open_connections() == 0; });
    const std::string again = test::RunAsync(
        ioc,
        RawExchange(
            server.port(),
            "POST /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"
        ),
        5s
    );
    EXPECT_TRUE(again.starts_with("HTTP/1.1 200")) << again;
}

TEST(Server, ClosesTheOldestIdleConnectionForANewOneOverBudget) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    std::vector<ConnectionEvent> events;
    Server server(
        ioc.get_executor(),
        {.max_connections = 2,
         .on_connection =
             [&](ConnectionEvent e) {
                 events.push_back(e);
             }},
        MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    auto oldest = test::RunAsync(ioc, Open(server.port(), ""), 5s);
    RunUntil(ioc, [&] { return server.open_connections() == 1; });
    auto second = test::RunAsync(ioc, Open(server.port(), ""), 5s);
    RunUntil(ioc, [&] { return server.open_connections() == 2; });
    const std::string reply = test::RunAsync(
        ioc,
        RawExchange(server.port(), "GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        5s
    );
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    EXPECT_EQ(test::RunAsync(ioc, ReadToEnd(oldest.get(), 500ms), 5s), "");
    EXPECT_EQ(test::RunAsync(ioc, ReadToEnd(second.get(), 200ms), 5s), "<still open>");
    EXPECT_EQ(events, std::vector<ConnectionEvent>{ConnectionEvent::kIdleClosed});
}

TEST(Server, RefusesANewConnectionWhenEveryOneIsBusy) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    int heads = 0;
    std::vector<ConnectionEvent> events;
    Server server(
        ioc.get_executor(),
        {.max_connections = 1,
         .check_head = CountHeads(heads),
         .on_connection =
             [&](ConnectionEvent e) {
                 events.push_back(e);
             }},
        MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    // Busy: its body is arriving.
    auto busy = test::RunAsync(
        ioc, Open(server.port(), "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"), 5s
    );
    RunUntil(ioc, [&] { return heads == 1; });
    auto refused = test::RunAsync(ioc, Open(server.port(), ""), 5s);
    EXPECT_EQ(test::RunAsync(ioc, ReadToEnd(refused.get(), 1s), 5s), "");
    EXPECT_EQ(events, std::vector<ConnectionEvent>{ConnectionEvent::kRefused});
    // The busy one was left alone.
    net::write(*busy, net::buffer(std::string("cdefghij")));
    const std::string reply = test::RunAsync(ioc, ReadToEnd(busy.get(), 300ms), 5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
}

TEST(Server, KeepsEachClientToItsShare) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    int heads = 0;
    std::vector<ConnectionEvent> events;
    Server server(
        ioc.get_executor(),
        {.max_connections = 100,
         .max_connections_per_client = 1,
         .check_head = CountHeads(heads),
         .on_connection =
             [&](ConnectionEvent e) {
                 events.push_back(e);
             }},
        MakeHandler(calls)
    );
    ASSERT_TRUE(server.Start());
    auto busy = test::RunAsync(
        ioc, Open(server.port(), "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"), 5s
    );
    RunUntil(ioc, [&] { return heads == 1; });
    auto refused = test::RunAsync(ioc, Open(server.port(), ""), 5s);
    EXPECT_EQ(test::RunAsync(ioc, ReadToEnd(refused.get(), 1s), 5s), "");
    EXPECT_EQ(events, std::vector<ConnectionEvent>{ConnectionEvent::kClientRefused});
    EXPECT_EQ(server.open_connections(), 1U);
}

TEST(Server, StopClosesConnectionsStillReadingABodyAndDrains) {
    net::io_context ioc;
    auto calls = std::make_shared<Calls>();
    int heads = 0;
    Server server(ioc.get_executor(), {.check_head = CountHeads(heads)}, MakeHandler(calls));
    ASSERT_TRUE(server.Start());
    auto reading = test::RunAsync(
        ioc, Open(server.port(), "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"), 5s
    );
    auto idle = test::RunAsync(ioc, Open(server.port(), ""), 5s);
    RunUntil(ioc, [&] { return heads == 1 && server.open_connections() == 2; });
    server.Stop();
    test::RunAsync(ioc, server.Drained(), 2s);
    EXPECT_EQ(server.open_connections(), 0U);
    EXPECT_EQ(test::RunAsync(ioc, ReadToEnd(reading.get(), 500ms), 5s), "");
    EXPECT_EQ(test::RunAsync(ioc, ReadToEnd(idle.get(), 500ms), 5s), "");
    EXPECT_EQ(calls->count, 0);
}

}  // namespace
}  // namespace chatsync::http
