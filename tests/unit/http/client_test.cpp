#include "http/client.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/server.hpp"
#include "support/run_async.hpp"

namespace chatsync::http {
namespace {

using namespace std::chrono_literals;
using Tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

/// What the fake upstream does with each request it reads.
enum class Mode {
    /// Answers "ok" and keeps the connection open.
    kKeepAlive,
    /// Answers "ok" without announcing a close, then closes: a pooled connection gone stale.
    kAnswerThenClose,
    /// Reads the request and closes without answering.
    kHangUp,
    /// Reads the request and never answers.
    kSilent,
    /// Sends the header at once, then one body byte every 50 ms.
    kTrickle,
    /// Answers "hello world" in chunks and keeps the connection open.
    kChunked,
    /// Answers with a 5000-byte body.
    kBigBody,
    /// Answers with 10 chunks of 1000 bytes.
    kBigChunked,
    /// Sends an interim 100 Continue before the real answer.
    kInterim,
};

/// A byte-level upstream for faults that a well-behaved server cannot produce.
struct FakeUpstream {
    FakeUpstream(net::io_context& ioc, Mode mode_in)
        : acceptor(ioc, Tcp::endpoint(net::ip::address_v4::loopback(), 0))
        , mode(mode_in) {}

    std::string Url(const std::string& path = "/") const {
        return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + path;
    }

    Tcp::acceptor acceptor;
    Mode mode;
    int accepted = 0;
    int requests = 0;
};

Task<void> Pause(SteadyClock::duration d) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(d);
    auto [ec] = co_await timer.async_wait(kAsTuple);
    (void)ec;
}

Task<void> WriteAll(Tcp::socket& socket, std::string data) {
    auto [ec, n] = co_await net::async_write(socket, net::buffer(data), kAsTuple);
    (void)ec;
    (void)n;
}

Task<void> ServeFakeConnection(std::shared_ptr<FakeUpstream> fake, Tcp::socket socket) {
    std::string buffer;
    while (true) {
        auto [ec, n] = co_await net::async_read_until(
            socket, net::dynamic_buffer(buffer), "\r\n\r\n", kAsTuple
        );
        if (ec) {
            co_return;
        }
        buffer.erase(0, n);  // The client tests send no request bodies to the fake.
        ++fake->requests;
        switch (fake->mode) {
            case Mode::kKeepAlive:
                co_await WriteAll(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                break;
            case Mode::kAnswerThenClose:
                co_await WriteAll(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                socket.close();
                co_return;
            case Mode::kHangUp:
                socket.close();
                co_return;
            case Mode::kSilent: {
                std::array<char, 256> scratch{};
                while (true) {
                    auto [read_ec, read_n] =
                        co_await socket.async_read_some(net::buffer(scratch), kAsTuple);
                    (void)read_n;
                    if (read_ec) {
                        co_return;
                    }
                }
            }
            case Mode::kTrickle:
                co_await WriteAll(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
                for (int i = 0; i < 100 && socket.is_open(); ++i) {
                    co_await Pause(50ms);
                    auto [write_ec, written] =
                        co_await net::async_write(socket, net::buffer("x", 1), kAsTuple);
                    (void)written;
                    if (write_ec) {
                        co_return;
                    }
                }
                break;
            case Mode::kChunked:
                co_await WriteAll(
                    socket,
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
                );
                break;
            case Mode::kBigBody:
                co_await WriteAll(
                    socket,
                    "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x')
                );
                break;
            case Mode::kInterim:
                co_await WriteAll(
                    socket,
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: "
                    "4\r\n\r\ndone"
                );
                break;
            case Mode::kBigChunked: {
                std::string response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                for (int i = 0; i < 10; ++i) {
                    response += "3e8\r\n" + std::string(1000, 'y') + "\r\n";
                }
                response += "0\r\n\r\n";
                co_await WriteAll(socket, response);
                break;
            }
        }
    }
}

Task<void> AcceptFake(std::shared_ptr<FakeUpstream> fake) {
    while (true) {
        auto [ec, socket] = co_await fake->acceptor.async_accept(kAsTuple);
        if (ec) {
            co_return;
        }
        ++fake->accepted;
        net::co_spawn(
            fake->acceptor.get_executor(),
            ServeFakeConnection(fake, std::move(socket)),
            [](std::exception_ptr) {}
        );
    }
}

std::shared_ptr<FakeUpstream> StartFake(net::io_context& ioc, Mode mode) {
    auto fake = std::make_shared<FakeUpstream>(ioc, mode);
    net::co_spawn(ioc, AcceptFake(fake), [](std::exception_ptr) {});
    return fake;
}

/// Sends the requests one after the other, pausing between them.
Task<std::vector<Result<Response>>>
SendAll(Client* client, std::vector<Request> requests, SteadyClock::duration pause) {
    std::vector<Result<Response>> results;
    for (auto& request : requests) {
        if (!results.empty()) {
            co_await Pause(pause);
        }
        auto result = co_await client->Send(std::move(request));
        results.push_back(std::move(result));
    }
    co_return results;
}

Request Get(std::string url) {
    return Request{.method = "GET", .url = std::move(url), .headers = {}, .body = {}};
}

/// Echoes what the server saw, so that tests can check what the client sent.
Task<ServerResponse> Echo(ServerRequest request) {
    ServerResponse response;
    response.status = request.method == "POST" ? 201 : 200;
    response.headers.emplace_back("X-Method", request.method);
    response.headers.emplace_back("X-Path", request.path);
    response.headers.emplace_back("X-Query", request.query);
    response.headers.emplace_back(
        "X-Host", std::string(FindHeader(request.headers, "Host").value_or(""))
    );
    response.headers.emplace_back(
        "X-Agent", std::string(FindHeader(request.headers, "User-Agent").value_or(""))
    );
    response.headers.emplace_back(
        "X-Length", std::string(FindHeader(request.headers, "Content-Length").value_or("-"))
    );
    response.headers.emplace_back("X-Remote", request.remote_address);
    response.body = request.body;
    co_return response;
}

TEST(Client, RoundTripsGetAndPost) {
    net::io_context ioc;
    Server server(ioc.get_executor(), {}, Echo);
    ASSERT_TRUE(server.Start());
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
    Client client(ioc.get_executor(), {.user_agent = "chatsync-test/1"});

    std::vector<Request> requests;
    requests.push_back(Get(base + "/items?page=2&q=a%20b"));
    requests.push_back(Request{
        .method = "POST",
        .url = base + "/items",
        .headers = {{"Content-Type", "application/json"}, {"User-Agent", "custom/2"}},
        .body = R"({"a":1})"});
    const auto results = test::RunAsync(ioc, SendAll(&client, std::move(requests), 0ms), 10s);
    ASSERT_EQ(results.size(), 2U);

    ASSERT_TRUE(results[0]) << results[0].error().message();
    const Response& get = *results[0];
    EXPECT_EQ(get.status, 200U);
    EXPECT_EQ(get.Header("X-Method"), "GET");
    EXPECT_EQ(get.Header("X-Path"), "/items");
    EXPECT_EQ(get.Header("X-Query"), "page=2&q=a%20b");
    EXPECT_EQ(get.Header("X-Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(get.Header("X-Agent"), "chatsync-test/1");
    EXPECT_EQ(get.Header("X-Length"), "-");
    EXPECT_EQ(get.body, "");

    ASSERT_TRUE(results[1]) << results[1].error().message();
    const Response& post = *results[1];
    EXPECT_EQ(post.status, 201U);
    EXPECT_EQ(post.Header("X-Method"), "POST");
    EXPECT_EQ(post.Header("X-Agent"), "custom/2");
    EXPECT_EQ(post.Header("X-Length"), "7");
    EXPECT_EQ(post.body, R"({"a":1})");
    EXPECT_EQ(post.Header("content-type"), "text/plain; charset=utf-8");
    server.Stop();
}

TEST(Client, SendsAnyMethod) {
    net::io_context ioc;
    Server server(ioc.get_executor(), {}, Echo);
    ASSERT_TRUE(server.Start());
    Client client(ioc.get_executor(), {});
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/x";
    std::vector<Request> requests;
    requests.push_back(Request{.method = "PATCH", .url = url, .headers = {}, .body = "p"});
    requests.push_back(Request{.method = "PROPFIND", .url = url, .headers = {}, .body = {}});
    requests.push_back(Request{.method = "HEAD", .url = url, .headers = {}, .body = {}});
    const auto results = test::RunAsync(ioc, SendAll(&client, std::move(requests), 0ms), 10s);
    ASSERT_EQ(results.size(), 3U);
    ASSERT_TRUE(results[0]);
    EXPECT_EQ(results[0]->Header("X-Method"), "PATCH");
    EXPECT_EQ(results[0]->body, "p");
    ASSERT_TRUE(results[1]);
    EXPECT_EQ(results[1]->Header("X-Method"), "PROPFIND");
    ASSERT_TRUE(results[2]) << results[2].error().message();
    EXPECT_EQ(results[2]->Header("X-Method"), "HEAD");
    EXPECT_EQ(results[2]->body, "");
}

TEST(Client, ReusesKeepAliveConnections) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kKeepAlive);
    Client client(ioc.get_executor(), {});
    const auto results = test::RunAsync(
        ioc, SendAll(&client, {Get(fake->Url()), Get(fake->Url()), Get(fake->Url())}, 0ms), 10s
    );
    for (const auto& result : results) {
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_EQ(result->body, "ok");
    }
    EXPECT_EQ(fake->requests, 3);
    EXPECT_EQ(fake->accepted, 1);
}

TEST(Client, RetriesAStalePooledConnectionOnce) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kAnswerThenClose);
    Client client(ioc.get_executor(), {});
    // The pause lets the fake's close reach the client's pooled socket.
    const auto results =
        test::RunAsync(ioc, SendAll(&client, {Get(fake->Url()), Get(fake->Url())}, 50ms), 10s);
    ASSERT_EQ(results.size(), 2U);
    for (const auto& result : results) {
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_EQ(result->body, "ok");
    }
    EXPECT_EQ(fake->accepted, 2);
    EXPECT_EQ(fake->requests, 2);
}

TEST(Client, DoesNotRetryAFreshConnection) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kHangUp);
    Client client(ioc.get_executor(), {});
    const auto result = test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), net::error::eof);
    EXPECT_EQ(result.error(), Condition::kRetryable);
    EXPECT_EQ(fake->accepted, 1);
}

TEST(Client, IdleTimeoutGivesTimeout) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kSilent);
    Client client(ioc.get_executor(), {.idle_timeout = 200ms});
    const auto start = SteadyClock::now();
    const auto result = test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s);
    const auto elapsed = SteadyClock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::kTimeout));
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 1s);
}

TEST(Client, TotalTimeoutCutsASlowButSteadyResponse) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kTrickle);
    Client client(ioc.get_executor(), {.idle_timeout = 1s, .total_timeout = 300ms});
    const auto start = SteadyClock::now();
    const auto result = test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s);
    const auto elapsed = SteadyClock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::kTimeout));
    EXPECT_GE(elapsed, 290ms);
    EXPECT_LT(elapsed, 900ms);
}

TEST(Client, RefusesBodiesOverTheLimit) {
    net::io_context ioc;
    auto fixed = StartFake(ioc, Mode::kBigBody);
    auto chunked = StartFake(ioc, Mode::kBigChunked);
    Client client(ioc.get_executor(), {.max_response_bytes = 1000});
    const auto results =
        test::RunAsync(ioc, SendAll(&client, {Get(fixed->Url()), Get(chunked->Url())}, 0ms), 10s);
    ASSERT_EQ(results.size(), 2U);
    for (const auto& result : results) {
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error(), make_error_code(Errc::kResponseTooLarge));
    }
    Client roomy(ioc.get_executor(), {.max_response_bytes = 20000});
    const auto fits =
        test::RunAsync(ioc, SendAll(&roomy, {Get(fixed->Url()), Get(chunked->Url())}, 0ms), 10s);
    ASSERT_TRUE(fits[0]);
    EXPECT_EQ(fits[0]->body.size(), 5000U);
    ASSERT_TRUE(fits[1]);
    EXPECT_EQ(fits[1]->body.size(), 10000U);
}

TEST(Client, ReadsChunkedBodiesAndKeepsTheConnection) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kChunked);
    Client client(ioc.get_executor(), {});
    const auto results =
        test::RunAsync(ioc, SendAll(&client, {Get(fake->Url()), Get(fake->Url())}, 0ms), 10s);
    for (const auto& result : results) {
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_EQ(result->body, "hello world");
    }
    EXPECT_EQ(fake->accepted, 1);
}

TEST(Client, SkipsInterimResponses) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kInterim);
    Client client(ioc.get_executor(), {});
    const auto result = test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->status, 202U);
    EXPECT_EQ(result->body, "done");
}

TEST(Client, BindsToTheLocalAddress) {
    net::io_context ioc;
    Server server(ioc.get_executor(), {}, Echo);
    ASSERT_TRUE(server.Start());
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
    Client pinned(ioc.get_executor(), {.local_address = "127.0.0.2"});
    Client plain(ioc.get_executor(), {});
    const auto from_pinned = test::RunAsync(ioc, pinned.Send(Get(url)), 10s);
    const auto from_plain = test::RunAsync(ioc, plain.Send(Get(url)), 10s);
    ASSERT_TRUE(from_pinned) << from_pinned.error().message();
    EXPECT_EQ(from_pinned->Header("X-Remote"), "127.0.0.2");
    ASSERT_TRUE(from_plain);
    EXPECT_EQ(from_plain->Header("X-Remote"), "127.0.0.1");
}

TEST(Client, PinnedAddressOfTheWrongFamilyFails) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kKeepAlive);
    Client client(ioc.get_executor(), {.local_address = "::1"});
    const auto result = test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), net::error::address_family_not_supported);
    EXPECT_EQ(fake->accepted, 0);
}

TEST(Client, CancellationReturnsPromptly) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kSilent);
    Client client(ioc.get_executor(), {.idle_timeout = 10s});
    net::cancellation_signal signal;
    std::optional<Result<Response>> outcome;
    net::co_spawn(
        ioc,
        client.Send(Get(fake->Url())),
        net::bind_cancellation_slot(
            signal.slot(),
            [&](std::exception_ptr e, Result<Response> r) {
                ASSERT_FALSE(e);
                outcome = std::move(r);
            }
        )
    );
    net::steady_timer timer(ioc);
    timer.expires_after(100ms);
    timer.async_wait([&](boost::system::error_code) {
        signal.emit(net::cancellation_type::terminal);
    });
    const auto start = SteadyClock::now();
    while (!outcome && SteadyClock::now() - start < 5s) {
        ioc.run_one_for(50ms);
    }
    ASSERT_TRUE(outcome);
    EXPECT_LT(SteadyClock::now() - start, 1s);
    ASSERT_FALSE(*outcome);
    EXPECT_EQ(outcome->error(), make_error_code(Errc::kCancelled));
    EXPECT_EQ(fake->requests, 1);
}

TEST(Client, ReportsRefusedConnections) {
    net::io_context ioc;
    std::uint16_t port = 0;
    {
        Tcp::acceptor closed(ioc, Tcp::endpoint(net::ip::address_v4::loopback(), 0));
        port = closed.local_endpoint().port();
    }
    Client client(ioc.get_executor(), {});
    const auto result = test::RunAsync(
        ioc, client.Send(Get("http://127.0.0.1:" + std::to_string(port) + "/")), 10s
    );
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), net::error::connection_refused);
}

TEST(Client, RejectsBadUrlsAndHeaderInjection) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kKeepAlive);
    Client client(ioc.get_executor(), {});
    std::vector<Request> requests;
    requests.push_back(Get("ftp://127.0.0.1/"));
    requests.push_back(Request{
        .method = "GET", .url = fake->Url(), .headers = {{"X-A", "v\r\nInjected: 1"}}, .body = {}});
    requests.push_back(Request{
        .method = "GET /x HTTP/1.1\r\n", .url = fake->Url(), .headers = {}, .body = {}});
    const auto results = test::RunAsync(ioc, SendAll(&client, std::move(requests), 0ms), 10s);
    ASSERT_EQ(results.size(), 3U);
    ASSERT_FALSE(results[0]);
    EXPECT_EQ(results[0].error(), make_error_code(Errc::kBadUrl));
    ASSERT_FALSE(results[1]);
    EXPECT_EQ(results[1].error(), boost::system::errc::invalid_argument);
    ASSERT_FALSE(results[2]);
    EXPECT_EQ(results[2].error(), boost::system::errc::invalid_argument);
    EXPECT_EQ(fake->requests, 0);
}

TEST(Client, StopDropsIdleConnections) {
    net::io_context ioc;
    auto fake = StartFake(ioc, Mode::kKeepAlive);
    Client client(ioc.get_executor(), {});
    ASSERT_TRUE(test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s));
    client.Stop();
    ASSERT_TRUE(test::RunAsync(ioc, client.Send(Get(fake->Url())), 10s));
    EXPECT_EQ(fake->accepted, 2);
}

TEST(Client, ConstructorRefusesBadConfiguration) {
    net::io_context ioc;
    EXPECT_THROW(Client(ioc.get_executor(), {.local_address = "nowhere"}), std::runtime_error);
    EXPECT_THROW(
        Client(ioc.get_executor(), {.ca_file = "/nonexistent/ca.pem"}), std::runtime_error
    );
}

}  // namespace
}  // namespace chatsync::http
