#pragma once

/// @file
/// The two completion tokens every asynchronous call names explicitly (Boost 1.81 has no
/// default token), and the executor and awaitable aliases used across the project.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chatsync {

namespace net = boost::asio;

using Executor = net::any_io_executor;

template <class T = void>
using Task = net::awaitable<T>;

/// For calls where any error aborts the coroutine with an exception.
inline constexpr auto kUseAwaitable = net::use_awaitable;

/// For calls whose error_code the caller branches on: yields std::tuple<error_code, ...>.
inline constexpr auto kAsTuple = net::as_tuple(net::use_awaitable);

}  // namespace chatsync
