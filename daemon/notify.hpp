#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/duration.hpp"

namespace chatsync::daemon {

/// The systemd notification protocol (sd_notify(3)), without libsystemd: datagrams such as
/// "READY=1" to the Unix socket named by $NOTIFY_SOCKET (a leading '@' names an abstract
/// socket). Without $NOTIFY_SOCKET every call does nothing.
///
/// @par Thread Safety
/// Send() may be called from any thread.
class SystemdNotifier final {
public:
    /// Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
    SystemdNotifier();

    bool enabled() const noexcept { return !socket_path_.empty(); }

    /// How often to send WATCHDOG=1: half of $WATCHDOG_USEC, when the watchdog is on and meant
    /// for this process.
    std::optional<Millis> WatchdogPingInterval() const noexcept { return watchdog_ping_; }

    /// Sends one state string ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=..."). Errors
    /// are ignored: notification is advisory, and a missing manager must not stop the daemon.
    void Send(std::string_view state) const;

private:
    std::string socket_path_;
    std::optional<Millis> watchdog_ping_;
};

}  // namespace chatsync::daemon
