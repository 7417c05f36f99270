// The admin listener's routes: the status page at / with its headers, next to /metrics,
// /healthz and /readyz.

#include "server/admin.hpp"

#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "http/client.hpp"
#include "metrics/metrics.hpp"
#include "support/run_async.hpp"

namespace chatsync::server {
namespace {

using namespace std::chrono_literals;

Task<Readiness> Ready() {
    co_return Readiness{.ready = true, .detail = "ok"};
}

Task<StatusPage> Page(int* calls) {
    ++*calls;
    co_return StatusPage{
        .html = "<!DOCTYPE html><title>t</title>", .content_security_policy = "default-src 'none'"};
}

/// An admin listener on a free port, and a client to call it, on one io_context.
struct Admin {
    explicit Admin(AdminServer::PageRender page)
        : server(
              ioc.get_executor(),
              {.listen = "127.0.0.1:0"},
              metrics,
              []() { return Ready(); },
              std::move(page)
          ) {
        const auto started = server.Start();
        EXPECT_TRUE(started) << started.error().message();
    }

    ~Admin() {
        client.Stop();
        server.Stop();
    }

    Admin(const Admin&) = delete;
    Admin& operator=(const Admin&) = delete;

    http::Response Call(const std::string& method, const std::string& path) {
        auto response = test::RunAsync(
            ioc,
            client.Send(http::Request{
                .method = method,
                .url = "http://127.0.0.1:" + std::to_string(server.port()) + path,
                .headers = {},
                .body = {}}),
            10s
        );
        EXPECT_TRUE(response) << response.error().message();
        return response ? *response : http::Response{};
    }

    net::io_context ioc;
    metrics::Metrics metrics;
    http::Client client{ioc.get_executor(), {}};
    AdminServer server;
};

TEST(AdminServer, ServesTheStatusPageWithItsPolicyAndNoCaching) {
    int calls = 0;
    Admin admin([&calls]() { return Page(&calls); });
    const auto page = admin.Call("GET", "/");
    EXPECT_EQ(page.status, 200U);
    EXPECT_EQ(page.body, "<!DOCTYPE html><title>t</title>");
    EXPECT_EQ(page.Header("Content-Type").value_or(""), "text/html; charset=utf-8");
    EXPECT_EQ(page.Header("Content-Security-Policy").value_or(""), "default-src 'none'");
    EXPECT_EQ(page.Header("Cache-Control").value_or(""), "no-store");
    EXPECT_EQ(page.Header("X-Content-Type-Options").value_or(""), "nosniff");
    EXPECT_EQ(calls, 1);

    const auto head = admin.Call("HEAD", "/");
    EXPECT_EQ(head.status, 200U);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.Header("Cache-Control").value_or(""), "no-store");

    EXPECT_EQ(admin.Call("POST", "/").status, 405U);
    EXPECT_EQ(calls, 2);
}

TEST(AdminServer, KeepsItsOtherRoutesBesideThePage) {
    int calls = 0;
    Admin admin([&calls]() { return Page(&calls); });
    const auto metrics = admin.Call("GET", "/metrics");
    EXPECT_EQ(metrics.status, 200U);
    EXPECT_NE(metrics.body.find("chatsync_build_info"), std::string::npos);
    EXPECT_EQ(admin.Call("GET", "/healthz").body, "ok\n");
    EXPECT_EQ(admin.Call("GET", "/readyz").body, "ok\n");
    const auto other = admin.Call("GET", "/index.html");
    EXPECT_EQ(other.status, 404U);
    EXPECT_EQ(other.body, "not found; try /, /metrics, /healthz or /readyz\n");
    EXPECT_EQ(calls, 0);
}

TEST(AdminServer, AnswersNotFoundAtTheRootWithoutAPage) {
    Admin admin({});
    const auto root = admin.Call("GET", "/");
    EXPECT_EQ(root.status, 404U);
    EXPECT_EQ(root.body, "not found; try /metrics, /healthz or /readyz\n");
    EXPECT_FALSE(root.Header("Content-Security-Policy"));
}

}  // namespace
}  // namespace chatsync::server
