#pragma once

#include <filesystem>
#include <regex>
#include <stdexcept>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/e2e.hpp"

namespace chatsync::test {

inline constexpr const char* kToken = "t0k3n-e2e-secret";

/// A chatsyncd config for one source that uses the generic spec (or `connector_yaml`, an
/// inline spec indented under `connector:`), the test database, and no admin listener
/// unless `admin_listen` is given.
inline std::string E2eConfig(
    const std::string& dsn,
    const std::string& source,
    const std::string& base_url,
    const std::string& data_dir,
    const std::string& extra_source_yaml = "",
    const std::string& admin_listen = "",
    const std::string& connector_yaml = ""
) {
    std::string connector = connector_yaml.empty() ? "    connector_file: " + SourceDir() +
                                                         "/tests/e2e/specs/generic.yaml\n"
                                                   : "    connector:\n" + connector_yaml;
    return "data_dir: " + data_dir + "\n" + "database:\n  dsn: \"" + dsn + "\"\n" +
           "admin:\n  listen: \"" + admin_listen + "\"\n" + "log:\n  level: debug\n" +
           "limits:\n  shutdown_grace: 10s\n" + "sources:\n" + "  - name: " + source + "\n" +
           connector + "    config:\n      base_url: " + base_url + "\n      token: " + kToken +
           "\n" + "    retry: {max_attempts: 4, initial_backoff: 50ms, max_backoff: 500ms}\n" +
           extra_source_yaml;
}

/// How many resources of `source` have a cursor or a checkpoint in the state table ("0"
/// after runs that failed before committing anything).
inline std::string SavedPositions(const std::string& dsn, const std::string& source) {
    return Scalar(
        dsn,
        "SELECT count(*) FROM chatsync.resource_state WHERE source = '" + source +
            "' AND (cursor IS NOT NULL OR checkpoint IS NOT NULL)"
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0).
inline int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

/// The port a listener of the daemon bound, read from its start-up log line
/// "<what> ready listen=... port=N" (0 if it never came).
inline std::uint16_t ListenerPort(Process& daemon, const std::string& what) {
    std::uint16_t port = 0;
    const std::regex ready(what + " ready listen=\\S+ port=(\\d+)");
    WaitFor(
        [&] {
            std::smatch m;
            const auto out = daemon.Output();
            if (std::regex_search(out, m, ready)) {
                port = static_cast<std::uint16_t>(std::stoi(m[1]));
                return true;
            }
            return false;
        },
        std::chrono::seconds(30)
    );
    return port;
}

/// The admin listener's port (0 if it never came).
inline std::uint16_t AdminPort(Process& daemon) {
    return ListenerPort(daemon, "admin listener");
}

/// A PostgreSQL cluster of the test's own (scripts/pg-cluster.sh), so that stopping it does
/// not disturb other tests.
class PrivateCluster final {
public:
    /// Starts on a free port, trying another when one is taken between the choice and the
    /// server's bind.
    PrivateCluster() {
        // When the tests run as root the server runs as `postgres`, which must reach the
        // cluster directory inside this otherwise private temporary directory.
        std::filesystem::permissions(dir_.path(), std::filesystem::perms(0755));
        std::string failures;
        for (int attempt = 0; attempt < 3 && dsn_.empty(); ++attempt) {
            port_ = std::to_string(FreePort());
            auto started = Script("start", port_);
            if (started.exit_code != 0) {
                failures += started.output;
                continue;
            }
            const auto nl = started.output.find_last_not_of('\n');
            const auto begin = started.output.rfind('\n', nl);
            const auto from = begin == std::string::npos ? 0 : begin + 1;
            dsn_ = started.output.substr(from, nl - from + 1);
        }
        if (dsn_.empty()) {
            throw std::runtime_error("pg-cluster.sh start failed: " + failures);
        }
    }

    ~PrivateCluster() { Stop(); }

    void Stop() { Script("stop"); }

    void Start() {
        auto r = Script("start", port_);
        if (r.exit_code != 0) {
            throw std::runtime_error("pg-cluster.sh restart failed: " + r.output);
        }
    }

    const std::string& dsn() const noexcept { return dsn_; }

private:
    /// scripts/pg-cluster.sh COMMAND on this cluster's directory (and port, for start).
    Completed Script(const std::string& command, const std::string& port = "") const {
        std::vector<std::string> args{
            "/bin/bash", SourceDir() + "/scripts/pg-cluster.sh", command, dir_.path() + "/pg"};
        if (!port.empty()) {
            args.push_back(port);
        }
        return RunProcess(args);
    }

    TempDir dir_;
    std::string port_;
    std::string dsn_;
};

}  // namespace chatsync::test
