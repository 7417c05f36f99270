#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "http/message.hpp"
#include "support/process.hpp"

/// @file
/// Helpers for end-to-end tests: the emulator, chatsyncd, PostgreSQL queries and plain HTTP.

namespace chatsync::test {

/// The DSN of the test database; fails the test (or skips it when CHATSYNC_REQUIRE_PG is not
/// set) when CHATSYNC_TEST_PG_DSN is missing. Use through CHATSYNC_REQUIRE_DSN().
std::optional<std::string> TestDsn();

#define CHATSYNC_REQUIRE_DSN(var)                                                  \
    const auto var##_opt = ::chatsync::test::TestDsn();                            \
    if (!var##_opt) {                                                              \
        if (::chatsync::test::PgRequired()) {                                      \
            FAIL() << "CHATSYNC_TEST_PG_DSN is not set but CHATSYNC_REQUIRE_PG=1"; \
        }                                                                          \
        GTEST_SKIP() << "CHATSYNC_TEST_PG_DSN is not set";                         \
    }                                                                              \
    const std::string var = *var##_opt

bool PgRequired();

/// chatsyncd's exit statuses that tests check (sysexits.h): a bad command line, a service it
/// needs that cannot be reached, a bad configuration.
inline constexpr int kExitUsage = 64;
inline constexpr int kExitUnavailable = 69;
inline constexpr int kExitConfig = 78;

/// How many times `what` appears in `text`, overlapping ones included.
std::size_t Occurrences(const std::string& text, const std::string& what);

/// A unique lower-case name with the given prefix, for sources (schemas) and files.
std::string UniqueName(const std::string& prefix);

/// One blocking HTTP request over loopback (our own client, run on a private io_context).
http::Response HttpCall(
    const std::string& method,
    const std::string& url,
    const std::string& body = "",
    http::Headers headers = {}
);

/// A running chatsync-emulator.
class Emulator final {
public:
    explicit Emulator(std::vector<std::string> args);
    ~Emulator();

    const std::string& url() const noexcept { return url_; }

    std::uint16_t port() const noexcept { return port_; }

    /// Calls the admin API; throws when the answer is not 2xx.
    boost::json::value
    Admin(const std::string& method, const std::string& path, const std::string& body = "");

    /// The request log (GET /_admin/requests).
    boost::json::array Requests();

    std::string Output() const { return process_->Output(); }

private:
    TempDir dir_;
    std::unique_ptr<Process> process_;
    std::string url_;
    std::uint16_t port_ = 0;
};

/// Runs SQL on the test database and returns the rows as text (NULL as "\N").
std::vector<std::vector<std::string>> Query(const std::string& dsn, const std::string& sql);

/// The first column of the first row.
std::string Scalar(const std::string& dsn, const std::string& sql);

/// Runs chatsyncd to completion with the given arguments.
Completed RunChatsyncd(
    std::vector<std::string> args,
    std::map<std::string, std::string> env = {},
    std::chrono::milliseconds timeout = std::chrono::minutes(3)
);

/// Runs chatsyncd to completion, with its stdout and stderr apart.
CompletedApart RunChatsyncdApart(
    std::vector<std::string> args,
    std::map<std::string, std::string> env = {},
    std::chrono::milliseconds timeout = std::chrono::minutes(3)
);

/// Starts chatsyncd in the background.
std::unique_ptr<Process> StartChatsyncd(
    std::vector<std::string> args,
    const std::string& log_path,
    std::map<std::string, std::string> env = {}
);

/// The repository's root (for specs and scripts).
std::string SourceDir();

/// Polls `predicate` every 50 ms until it holds or `timeout` passes.
template <class F>
bool WaitFor(F predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return predicate();
}

}  // namespace chatsync::test
