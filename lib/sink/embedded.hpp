#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace chatsync::sink {

/// A private PostgreSQL cluster under the daemon's data directory, used when the config names
/// no database: `initdb` on first use, `pg_ctl start` listening on a Unix socket in the data
/// directory (and on 127.0.0.1 when a port is set), `pg_ctl stop` when the owner is done.
///
/// PostgreSQL refuses to run as root; when chatsyncd runs as root the cluster runs as
/// `run_as_user` (default `postgres`), which then owns the cluster directory.
///
/// @par Thread Safety
/// Not thread-safe; used from daemon start-up and shutdown only. Blocking.
class EmbeddedPostgres final {
public:
    struct Options {
        /// The cluster lives in `<dir>/pgdata`; the socket in `<dir>/run`.
        std::filesystem::path dir;
        std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
        /// 0: Unix socket only.
        std::uint16_t port = 0;
        std::string run_as_user = "postgres";
        std::string database = "chatsync";
    };

    explicit EmbeddedPostgres(Options options);
    /// Stops the cluster if Start() started it.
    ~EmbeddedPostgres();

    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

    /// Initialises the cluster if needed, starts it unless it already runs, creates the
    /// database, and returns a DSN for it. Errors carry a message naming the failing step
    /// and the path of the server log.
    Result<std::string> Start();

    /// Stops the cluster if Start() started it (fast shutdown); a no-op otherwise. The error
    /// names the failing step and the server log.
    Result<void> Stop();

private:
    Options options_;
    bool started_by_us_ = false;
};

}  // namespace chatsync::sink
