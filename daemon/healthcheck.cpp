#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "core/root_task.hpp"
#include "daemon/commands.hpp"
#include "http/client.hpp"

namespace chatsync::daemon {
namespace {

/// Sends the request and keeps the answer; `answer` stays empty when the coroutine fails.
/// The caller runs the I/O context until this ends, so the pointers outlive it.
Task<void>
Ask(http::Client* client, http::Request request, std::optional<Result<http::Response>>* answer) {
    *answer = co_await client->Send(std::move(request));
}

}  // namespace

/// Asks the running daemon's admin listener for /healthz: for container HEALTHCHECKs, which
/// have no curl in the image.
int Healthcheck(const config::Config& config) {
    const auto& listen = config.admin.listen;
    const auto colon = listen.rfind(':');
    if (listen.empty() || colon == std::string::npos || listen.substr(colon + 1) == "0") {
        std::fprintf(stderr, "chatsyncd: healthcheck needs admin.listen with a fixed port\n");
        return kExitConfig;
    }
    auto host = listen.substr(0, colon);
    if (host.empty() || host == "0.0.0.0") {
        host = "127.0.0.1";
    } else if (host == "[::]") {
        host = "[::1]";
    }
    net::io_context ioc;
    http::Client client(
        ioc.get_executor(),
        {.connect_timeout = std::chrono::seconds(3),
         .idle_timeout = std::chrono::seconds(3),
         .total_timeout = std::chrono::seconds(5)}
    );
    http::Request request;
    request.url = "http://" + host + ":" + listen.substr(colon + 1) + "/healthz";
    std::optional<Result<http::Response>> answer;
    net::co_spawn(ioc, Ask(&client, std::move(request), &answer), RootHandler("healthcheck"));
    ioc.run();
    if (!answer || !*answer) {
        std::fprintf(
            stderr,
            "chatsyncd: healthcheck: %s\n",
            answer ? (*answer).error().message().c_str() : "failed"
        );
        return kExitFailure;
    }
    if ((*answer)->status != 200) {
        std::fprintf(stderr, "chatsyncd: healthcheck: /healthz answered %u\n", (*answer)->status);
        return kExitFailure;
    }
    return kExitOk;
}

}  // namespace chatsync::daemon
