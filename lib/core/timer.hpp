#pragma once

#include <boost/asio/steady_timer.hpp>

#include "core/asio.hpp"

/// @file
/// Cancelling a timer where nothing may throw: destructors and other noexcept paths.

namespace chatsync {

/// Cancels the waits on `timer`, which then complete with operation_aborted. A timer's
/// cancel() has a throwing signature, but its service never reports an error: the catch
/// only states that to the compiler, so that a destructor may call this.
inline void CancelTimer(net::steady_timer& timer) noexcept {
    try {
        timer.cancel();
    } catch (...) {  // NOLINT(bugprone-empty-catch): cancel() does not fail, see above.
    }
}

}  // namespace chatsync
