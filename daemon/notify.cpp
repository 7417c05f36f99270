#include "daemon/notify.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace chatsync::daemon {
namespace {

std::optional<long long> EnvNumber(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr) {
        return std::nullopt;
    }
    long long n = 0;
    const std::string_view s(v);
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return n;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
    if (const char* path = std::getenv("NOTIFY_SOCKET"); path != nullptr && *path != '\0') {
        socket_path_ = path;
    }
    const auto usec = EnvNumber("WATCHDOG_USEC");
    const auto pid = EnvNumber("WATCHDOG_PID");
    // WATCHDOG_PID names the process the watchdog is meant for; a child started by the
    // service must not answer for it.
    if (usec && *usec > 0 && (!pid || *pid == getpid())) {
        watchdog_ping_ = std::chrono::duration_cast<Millis>(std::chrono::microseconds(*usec / 2));
        if (watchdog_ping_->count() == 0) {
            watchdog_ping_ = Millis{1};
        }
    }
}

void SystemdNotifier::Send(std::string_view state) const {
    if (socket_path_.empty()) {
        return;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof(addr.sun_path)) {
        return;
    }
    std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
    if (addr.sun_path[0] == '@') {
        addr.sun_path[0] = '\0';
    }
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    // A lost notification is not worth failing over (see the class comment).
    (void)sendto(
        fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len
    );
    close(fd);
}

}  // namespace chatsync::daemon
