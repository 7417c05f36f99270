#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

/// @file
/// A blocking HTTP/1.1 client for the emulator self-tests. Beast stays in test_client.cpp.

namespace chatsync::emulator::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// One response as received.
struct HttpResult {
    unsigned status = 0;
    Headers headers;
    std::string body;

    /// The first header with this name (case-insensitive).
    std::optional<std::string> Header(std::string_view name) const;
    /// The body parsed as JSON; throws when it is not JSON.
    boost::json::value Json() const;
};

/// A keep-alive connection to 127.0.0.1:<port>. Every operation has a 60 s deadline and
/// throws boost::system::system_error on failure. A request on a reused connection that the
/// server has closed meanwhile is sent once more on a fresh connection.
class TestClient final {
public:
    /// With `local_address` (e.g. "127.0.0.2", which also reaches loopback), every connection
    /// is bound to that address before connecting, so the server sees it as the peer.
    explicit TestClient(std::uint16_t port, std::string local_address = {});
    ~TestClient();
    TestClient(TestClient&&) noexcept;
    TestClient& operator=(TestClient&&) noexcept;

    HttpResult Send(
        std::string_view method,
        std::string_view target,
        std::string body = {},
        const Headers& headers = {}
    );
    HttpResult Get(std::string_view target, const Headers& headers = {});
    HttpResult Post(std::string_view target, std::string body, const Headers& headers = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Writes `request` on a fresh connection and returns every byte read until the server closes
/// it. Throws when the server keeps it open past `timeout`.
std::string RawExchange(
    std::uint16_t port,
    std::string_view request,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)
);

/// "/a?b" from "http://host:port/a?b".
std::string TargetOf(std::string_view url);

}  // namespace chatsync::emulator::test
