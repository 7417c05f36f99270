#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "core/asio.hpp"

namespace chatsync::test {

/// Runs `ioc` until `done` turns true; throws after `timeout`, so a test fails instead of
/// hanging.
inline void
Spin(net::io_context& ioc, const bool& done, std::chrono::steady_clock::duration timeout) {
    ioc.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        if (ioc.run_one_for(std::chrono::milliseconds(50)) == 0 && ioc.stopped()) {
            ioc.restart();
        }
    }
    if (!done) {
        throw std::runtime_error("RunAsync: task did not finish within the timeout");
    }
}

/// Runs `task` on `ioc` until it finishes, and returns its result. Throws when it does not
/// finish within `timeout` (the test fails instead of hanging) or rethrows its exception.
template <class T>
T RunAsync(
    net::io_context& ioc,
    Task<T> task,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(30)
) {
    std::optional<T> result;
    std::exception_ptr error;
    bool done = false;
    net::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) {
            result.emplace(std::move(value));
        }
        done = true;
    });
    Spin(ioc, done, timeout);
    if (error) {
        std::rethrow_exception(error);
    }
    return std::move(*result);
}

/// The same for Task<void>.
inline void RunAsync(
    net::io_context& ioc,
    Task<void> task,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(30)
) {
    std::exception_ptr error;
    bool done = false;
    net::co_spawn(ioc, std::move(task), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    Spin(ioc, done, timeout);
    if (error) {
        std::rethrow_exception(error);
    }
}

}  // namespace chatsync::test
