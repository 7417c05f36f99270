#include <algorithm>
#include <sstream>

#include "config/config.hpp"
#include "config/detail/spec_parser.hpp"

namespace chatsync::config {

namespace {

namespace cn = chatsync::connectors;

constexpr std::string_view kMask = "***";

/// A count where 0 means "derived at start".
std::string Auto(std::uint32_t n) {
    return n == 0 ? std::string("auto") : std::to_string(n);
}

std::string FormatBytes(std::uint64_t n) {
    static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
        {"GiB", 1ULL << 30},
        {"MiB", 1ULL << 20},
        {"KiB", 1ULL << 10},
    };
    for (const auto& [unit, scale] : kUnits) {
        if (n >= scale && n % scale == 0) {
            return std::to_string(n / scale) + std::string(unit);
        }
    }
    return std::to_string(n) + "B";
}

std::string Schedule(const cn::ScheduleSpec& s) {
    std::string out = "every " + FormatDuration(s.interval);
    if (s.jitter.count() != 0) {
        out += " +/-" + FormatDuration(s.jitter);
    }
    return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) {
            out += sep;
        }
        out += p;
    }
    return out;
}

std::string Pagination(const cn::PaginationSpec& p) {
    std::string out(detail::PaginationKindName(p.kind));
    switch (p.kind) {
        case cn::PaginationKind::kPageNumber:
            out += " (" + p.page_param + " from " + std::to_string(p.start_page) + ")";
            break;
        case cn::PaginationKind::kOffset:
            out += " (" + p.offset_param + "/" + p.limit_param + " " + std::to_string(p.page_size) +
                   ")";
            break;
        case cn::PaginationKind::kNextUrl:
            out += " (" + p.next_url_path + ")";
            break;
        case cn::PaginationKind::kCursor:
            out += " (" + (p.token_path.empty() ? "header " + p.token_header : p.token_path) +
                   " -> " + p.token_param + ")";
            break;
        case cn::PaginationKind::kNone:
        case cn::PaginationKind::kLinkHeader:
            break;
    }
    return out;
}

void Resource(std::ostringstream& out, const cn::ResourceSpec& r) {
    std::vector<std::string> parts;
    if (!r.enabled) {
        parts.emplace_back(
            r.requires_params.empty()
                ? "disabled"
                : "disabled unless " + Join(r.requires_params, ", ") + " is set"
        );
    }
    // A child runs inside its parent's run, never on a schedule of its own.
    parts.push_back(r.parent ? "with each run of " + r.parent->resource : Schedule(r.schedule));
    parts.push_back(r.request.method + " " + r.request.path);
    parts.push_back("pagination " + Pagination(r.pagination));
    if (r.incremental) {
        parts.push_back(
            "incremental on " + r.incremental->cursor_field + " (" +
            detail::CursorFormatName(r.incremental->format, r.incremental->format_pattern) + ")"
        );
    } else {
        parts.emplace_back(r.soft_delete ? "full listing with soft delete" : "full listing");
    }
    if (r.parent) {
        parts.push_back("child of " + r.parent->resource);
    }
    parts.push_back("key " + Join(r.primary_key, ","));
    out << "      " << r.name << ": " << Join(parts, ", ") << "\n";
}

void Source(std::ostringstream& out, const SourceConfig& s, const std::string& config_file) {
    const cn::ConnectorSpec& c = s.connector;
    out << "  " << s.name << ": " << (s.enabled ? "enabled" : "disabled") << ", connector "
        << c.name << " (" << s.connector_origin << ")\n";
    // A source of sources_dir: among hundreds of files, which one to edit.
    if (!s.place.file.empty() && s.place.file != config_file) {
        out << "    file: " << s.place.file << "\n";
    }
    if (!c.base_url.empty()) {
        out << "    base_url: " << c.base_url << "\n";
    }
    out << "    auth: " << detail::AuthKindName(c.auth.kind) << "\n";
    if (c.webhook) {
        out << "    webhooks: POST /webhooks/" << c.webhook->strategy << "/" << s.name << "/<"
            << c.webhook->token_param << ">, and .../chat for Chat API agent messages\n";
    }
    if (!s.values.empty()) {
        std::vector<std::string> values;
        for (const auto& [k, v] : s.values) {
            const bool secret =
                std::find(s.secret_keys.begin(), s.secret_keys.end(), k) != s.secret_keys.end();
            values.push_back(k + "=" + (secret ? std::string(kMask) : v));
        }
        out << "    config: " << Join(values, ", ") << "\n";
    }
    out << "    rate_limit: "
        << (c.rate_limit.requests_per_minute == 0
                ? std::string("unlimited")
                : std::to_string(c.rate_limit.requests_per_minute) + "/min, burst " +
                      std::to_string(c.rate_limit.EffectiveBurst()))
        << ", concurrency " << c.rate_limit.concurrency << "\n";
    out << "    retry: " << s.retry.max_attempts << " attempts, backoff "
        << FormatDuration(s.retry.initial_backoff) << ".." << FormatDuration(s.retry.max_backoff)
        << ", max_retry_after " << FormatDuration(s.retry.max_retry_after) << "\n";
    out << "    http: connect " << FormatDuration(s.http.connect_timeout) << ", idle "
        << FormatDuration(s.http.idle_timeout) << ", total " << FormatDuration(s.http.total_timeout)
        << ", verify_tls " << (s.http.verify_tls ? "yes" : "NO");
    if (!s.http.ca_file.empty()) {
        out << ", ca_file " << s.http.ca_file;
    }
    if (!s.http.local_address.empty()) {
        out << ", local_address " << s.http.local_address;
    }
    out << "\n    resources (" << c.resources.size() << "):\n";
    for (const auto& r : c.resources) {
        Resource(out, r);
    }
}

}  // namespace

std::string Summarize(const Config& config) {
    std::ostringstream out;
    out << "config: " << config.path.string() << "\n";
    out << "data_dir: " << config.data_dir.string() << "\n";
    const DatabaseConfig& db = config.database;
    out << "database: ";
    if (db.dsn.empty()) {
        out << "embedded cluster under " << (config.data_dir / "postgres").string() << " (bin_dir "
            << db.embedded.bin_dir.string() << ", port "
            << (db.embedded.port == 0 ? std::string("any free") : std::to_string(db.embedded.port))
            << ", user " << db.embedded.run_as_user << ")";
    } else {
        out << "dsn " << kMask;
    }
    out << ", pool_size " << db.pool_size << ", statement_timeout "
        << FormatDuration(db.statement_timeout) << ", connect_timeout "
        << FormatDuration(db.connect_timeout) << "\n";
    if (config.admin.listen.empty()) {
        out << "admin: disabled\n";
    } else {
        out << "admin: listen " << config.admin.listen << ", stale after "
            << config.admin.stale_after_intervals << " intervals, max_connections "
            << Auto(config.admin.max_connections) << ", per client "
            << Auto(config.admin.max_connections_per_client) << "\n";
    }
    if (config.webhooks.listen.empty()) {
        out << "webhooks: disabled\n";
    } else {
        out << "webhooks: listen " << config.webhooks.listen << ", max_body_bytes "
            << FormatBytes(config.webhooks.max_body_bytes) << ", max_batch_events "
            << config.webhooks.max_batch_events << ", max_connections "
            << Auto(config.webhooks.max_connections) << ", per client "
            << Auto(config.webhooks.max_connections_per_client) << ", header_timeout "
            << FormatDuration(config.webhooks.header_timeout) << ", idle_timeout "
            << FormatDuration(config.webhooks.idle_timeout) << ", body_timeout "
            << FormatDuration(config.webhooks.body_timeout) << " + 1s per "
            << FormatBytes(config.webhooks.body_min_rate) << ", max_body_bytes_in_flight "
            << FormatBytes(config.webhooks.max_body_bytes_in_flight) << "\n";
    }
    out << "log: level " << config.log.level << ", format " << config.log.format << "\n";
    out << "limits: max_concurrent_runs " << config.limits.max_concurrent_runs
        << ", shutdown_grace " << FormatDuration(config.limits.shutdown_grace)
        << ", max_response_bytes " << FormatBytes(config.limits.max_response_bytes)
        << ", max_batch_rows " << config.limits.max_batch_rows << ", max_in_flight_bytes "
        << FormatBytes(config.limits.max_in_flight_bytes) << "\n";
    if (config.sources.empty()) {
        out << "sources: none (the daemon serves metrics and health only)\n";
        return out.str();
    }
    out << "sources (" << config.sources.size() << "):\n";
    for (const auto& s : config.sources) {
        Source(out, s, config.path.string());
    }
    return out.str();
}

}  // namespace chatsync::config
