#pragma once

#include <boost/system/error_code.hpp>

#include "core/asio.hpp"

/// @file
/// How the client tells what went wrong: a cancelled request, a TLS failure, a kept-alive
/// connection the peer had closed, and the codes Client::Send documents.

namespace chatsync::http::detail {

/// Whether the calling coroutine has been cancelled.
Task<bool> IsCancelled();

/// A failure of TLS itself (not a TLS peer closing without close_notify).
bool IsTlsError(const boost::system::error_code& ec);

/// Errors that mean the peer had closed a kept-alive connection before our request reached it.
bool IsStaleConnectionError(const boost::system::error_code& ec);

/// Turns library-specific codes into the ones the client documents.
boost::system::error_code MapError(const boost::system::error_code& ec, bool cancelled);

}  // namespace chatsync::http::detail
