#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "connectors/spec.hpp"
#include "core/duration.hpp"

/// @file
/// The daemon's configuration as plain structs, and the loader that fills them from YAML.
/// yaml-cpp stays inside yaml_tree.cpp: the readers work on a plain copy of the YAML tree.

namespace chatsync::config {

/// A configuration error located in a file: "file:line:col: key.path: message". Line and column
/// are 1-based; when unknown (0) they are left out of what(), as is an empty key path.
class ConfigError final : public std::runtime_error {
public:
    ConfigError(std::string file, int line, int column, std::string key_path, std::string message);

    const std::string& file() const noexcept { return file_; }

    int line() const noexcept { return line_; }

    int column() const noexcept { return column_; }

    const std::string& key_path() const noexcept { return key_path_; }

    const std::string& message() const noexcept { return message_; }

private:
    std::string file_;
    int line_;
    int column_;
    std::string key_path_;
    std::string message_;
};

/// Several errors found in one pass; what() lists them one per line.
class ConfigErrors final : public std::runtime_error {
public:
    explicit ConfigErrors(std::vector<ConfigError> errors);

    const std::vector<ConfigError>& errors() const noexcept { return errors_; }

private:
    std::vector<ConfigError> errors_;
};

struct EmbeddedDatabaseConfig {
    std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
    std::uint16_t port = 0;
    std::string run_as_user = "postgres";
};

struct DatabaseConfig {
    /// Empty: start the embedded cluster under `<data_dir>/postgres`. A secret.
    std::string dsn;
    std::size_t pool_size = 2;
    Millis statement_timeout = std::chrono::seconds(60);
    Millis connect_timeout = std::chrono::seconds(10);
    EmbeddedDatabaseConfig embedded;
};

struct AdminConfig {
    /// "host:port"; empty disables the admin listener.
    std::string listen = "127.0.0.1:9187";
    /// /readyz reports a resource stale after this many of its intervals without success.
    double stale_after_intervals = 3.0;
    /// Connections open at once (0: 64, less when the open-file limit is very low), and from
    /// one client address (0: half of max_connections). Separate from the webhook listener's,
    /// so that a flood there never starves health checks and scraping.
    std::uint32_t max_connections = 0;
    std::uint32_t max_connections_per_client = 0;
};

/// The webhook listener: the one address meant to face the internet (behind a reverse proxy
/// with TLS). It serves each webhook source's URLs and nothing else.
struct WebhooksConfig {
    /// "host:port"; empty disables it (then no source may receive webhooks).
    std::string listen;
    /// Larger bodies are refused with 413 before they are read.
    std::uint64_t max_body_bytes = std::uint64_t{1} << 20U;
    /// Events committed in one transaction at most; events that arrive while one commits
    /// wait and share the next.
    std::uint32_t max_batch_events = 500;
    /// Connections open at once (0: what the open-file limit leaves after the admin listener
    /// and 128 descriptors for everything else), and from one client address (0: half of
    /// max_connections). Over budget, the oldest idle connection is closed, or the new one
    /// when every one is busy.
    std::uint32_t max_connections = 0;
    std::uint32_t max_connections_per_client = 0;
    /// From a connection's accept (or a request's first byte) to the end of its header.
    Millis header_timeout = std::chrono::seconds(10);
    /// How long a kept-alive connection may wait for its next request.
    Millis idle_timeout = std::chrono::seconds(30);
    /// A body may take body_timeout, plus one second per body_min_rate bytes received.
    Millis body_timeout = std::chrono::seconds(10);
    std::uint64_t body_min_rate = std::uint64_t{16} << 10U;
    /// Request body bytes held at once across all connections, from before a body is read
    /// until its answer; a request beyond it answers 503 with Retry-After, unread.
    std::uint64_t max_body_bytes_in_flight = std::uint64_t{64} << 20U;
};

struct LogConfig {
    /// trace, debug, info, warn, error.
    std::string level = "info";
    /// "text" (key=value lines) or "json" (one JSON object per line).
    std::string format = "text";
};

struct LimitsConfig {
    /// Resource runs in progress at once, across all sources.
    std::uint32_t max_concurrent_runs = 4;
    /// On SIGTERM, how long to wait for in-flight pages to commit before exiting anyway.
    Millis shutdown_grace = std::chrono::seconds(20);
    /// Largest response body accepted.
    std::uint64_t max_response_bytes = std::uint64_t{64} << 20U;
    /// Rows per database transaction at most (large pages are split; the checkpoint goes with
    /// the last part).
    std::uint32_t max_batch_rows = 5000;
    /// Response bytes one resource run holds at once: what is being written and the pages
    /// read ahead meanwhile (at most half of it, and 1 MiB). A page larger than half of it is
    /// written before the next is read; 0 turns reading ahead off.
    std::uint64_t max_in_flight_bytes = std::uint64_t{16} << 20U;
};

/// Several daemons on one database (`replica:`). Off: the daemon schedules every resource
/// itself, as a lone daemon does. On: the resources' schedule lives in the database, each run
/// is claimed by one replica, and each source's rate budget and concurrency are divided by the
/// live replica count.
struct ReplicaConfig {
    bool enabled = false;
    /// Names this daemon in the run log, the logs and the metrics; empty: "<host>:<pid>".
    /// Each replica needs its own.
    std::string name;
    /// How often the replica renews its row in `replicas`; one silent for three heartbeats is
    /// no longer counted.
    Millis heartbeat = std::chrono::seconds(5);
};

struct HttpConfig {
    Millis connect_timeout = std::chrono::seconds(10);
    Millis idle_timeout = std::chrono::seconds(30);
    Millis total_timeout = std::chrono::seconds(120);
    bool verify_tls = true;
    std::string ca_file;
    /// Bind outgoing sockets to this local address (egress pinning).
    std::string local_address;
    /// Says that the host has one stable egress address, for a connector with an egress
    /// guard and no local_address.
    bool stable_egress = false;

    bool operator==(const HttpConfig&) const = default;
};

struct RetryConfig {
    std::uint32_t max_attempts = 5;
    Millis initial_backoff = std::chrono::seconds(1);
    Millis max_backoff = std::chrono::seconds(60);
    /// A Retry-After longer than this fails the run instead of waiting (it is retried at the
    /// next scheduled run, which waits out the rest).
    Millis max_retry_after = std::chrono::minutes(15);
    /// After the platform rejects the credentials (or answers what an error rule calls
    /// `hold`), the source sends nothing for this long, unless the config is reloaded.
    Millis hold = std::chrono::minutes(15);

    bool operator==(const RetryConfig&) const = default;
};

struct ResourceOverride {
    std::optional<bool> enabled;
    std::optional<Millis> interval;
    std::optional<Millis> jitter;

    bool operator==(const ResourceOverride&) const = default;
};

/// Where a source was written, for messages: the config file or a file of its `sources_dir`,
/// and the source's key path in it ("sources[3]", "[1]" in a file's list, "" for a file's only
/// source). How a source syncs does not depend on it, so any two places compare equal: a
/// source moved to another file is not restarted by a reload.
struct SourcePlace {
    std::string file;
    std::string key_path;

    bool operator==(const SourcePlace&) const noexcept { return true; }
};

struct SourceConfig {
    /// Also the PostgreSQL schema name (lower-case letters, digits, underscore).
    std::string name;
    SourcePlace place;
    bool enabled = true;
    /// The resolved spec: built-in by name, inline, or from `connector_file`, with the
    /// source's overrides (schedule, rate limit, resources) applied.
    connectors::ConnectorSpec connector;
    /// Where the spec came from, for messages: "builtin:tiledesk", "inline", or a path.
    std::string connector_origin;
    /// Values for `{{ config.<key> }}`. `<key>_file` entries are read into `<key>`.
    std::map<std::string, std::string> values;
    /// Keys of `values` that are secrets (declared secret by the spec, read from a file, or
    /// named like password/token/secret/key).
    std::vector<std::string> secret_keys;
    HttpConfig http;
    RetryConfig retry;
    std::map<std::string, ResourceOverride> resources;

    /// Whether two configs of a source would sync the same way (for config reloads).
    bool operator==(const SourceConfig&) const = default;
};

struct Config {
    /// The file it came from.
    std::filesystem::path path;
    /// State directory: embedded database, runtime files.
    std::filesystem::path data_dir = "/var/lib/chatsync";
    DatabaseConfig database;
    AdminConfig admin;
    WebhooksConfig webhooks;
    LogConfig log;
    LimitsConfig limits;
    ReplicaConfig replica;
    /// The config file's `sources:` first, then those of `sources_dir` in file name order.
    std::vector<SourceConfig> sources;

    const SourceConfig* FindSource(const std::string& source_name) const {
        for (const auto& s : sources) {
            if (s.name == source_name) {
                return &s;
            }
        }
        return nullptr;
    }
};

/// Reads, interpolates (`${NAME}`, `${NAME:-default}`), validates and resolves a config file,
/// and the source files of its `sources_dir`. Throws ConfigErrors listing every problem found
/// in any of those files (unknown keys, bad types, bad durations, missing required values and
/// secrets, unreadable `*_file` files, unknown connectors, duplicate source names), each at
/// its own file, line and column. Relative paths in a file (data_dir, dsn_file,
/// embedded.bin_dir, sources_dir, connector_file, `*_file`, ca_file) are relative to that
/// file's directory. `${...}` applies to the config file, its source files and connector_file
/// specs, never to built-in specs.
Config LoadFile(const std::filesystem::path& path);

/// The same, from text (tests); `name` stands in for the file name in messages, and its
/// directory anchors relative paths.
Config LoadString(const std::string& yaml, const std::string& name);

/// Parses a connector spec from YAML text (a spec file or a built-in). Scalars are taken as
/// written (no `${...}`); `name` names the text in messages, and its stem names the spec when
/// it has no `name` key. Throws ConfigErrors.
connectors::ConnectorSpec ParseConnectorSpec(const std::string& yaml, const std::string& name);

/// Names of the built-in connector specs ("generic_demo", "tiledesk", ...), sorted.
std::vector<std::string> BuiltinConnectorNames();

/// Why this host cannot run `source` as configured, or nullopt when it can: a connector with
/// an egress guard sends from one address, so it needs `http.local_address` (or
/// `http.stable_egress: true` for a host with exactly one), and a pinned address must be one
/// of this host's. Start-up and a reload refuse such a source (the others run), `once
/// --source` and `check-config` exit on it: all with this message.
std::optional<std::string> EgressRefusal(const SourceConfig& source);

/// A human-readable summary for `chatsyncd check-config`: database, admin, log and limits, and
/// per source its connector and where it came from, config values (secrets and the DSN shown
/// as `***`), rate limit, and each resource with its schedule, pagination and incremental
/// cursor field. Several lines, each ending in '\n'.
std::string Summarize(const Config& config);

}  // namespace chatsync::config
