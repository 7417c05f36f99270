#include "daemon/settings.hpp"

#include <array>

#include <unistd.h>

namespace chatsync::daemon {

void RegisterSecrets(const config::Config& config, Redactor& redactor) {
    redactor.Add(config.database.dsn);
    // A DSN's password also travels alone in libpq's messages.
    const auto& dsn = config.database.dsn;
    if (const auto at = dsn.find('@'), scheme = dsn.find("://");
        at != std::string::npos && scheme != std::string::npos) {
        const auto userinfo = dsn.substr(scheme + 3, at - scheme - 3);
        if (const auto colon = userinfo.find(':'); colon != std::string::npos) {
            redactor.Add(userinfo.substr(colon + 1));
        }
    }
    if (const auto pw = dsn.find("password="); pw != std::string::npos) {
        const auto end = dsn.find(' ', pw);
        redactor.Add(dsn.substr(pw + 9, end == std::string::npos ? std::string::npos : end - pw - 9)
        );
    }
    for (const auto& source : config.sources) {
        for (const auto& key : source.secret_keys) {
            if (const auto it = source.values.find(key); it != source.values.end()) {
                redactor.Add(it->second);
            }
        }
    }
}

connectors::SourceSettings SettingsFor(
    const config::SourceConfig& source,
    const config::Config& config,
    const TestHooks& hooks
) {
    connectors::SourceSettings s;
    s.name = source.name;
    s.spec = source.connector;
    for (const auto& [key, value] : source.values) {
        s.values[key] = value;
    }
    s.http.connect_timeout = source.http.connect_timeout;
    s.http.idle_timeout = source.http.idle_timeout;
    s.http.total_timeout = source.http.total_timeout;
    s.http.verify_tls = source.http.verify_tls;
    s.http.ca_file = source.http.ca_file;
    s.http.local_address = source.http.local_address;
    s.http.max_response_bytes = config.limits.max_response_bytes;
    s.budget.requests_per_minute = source.connector.rate_limit.requests_per_minute;
    s.budget.burst = source.connector.rate_limit.EffectiveBurst();
    s.budget.concurrency = source.connector.rate_limit.concurrency;
    s.backoff.initial = source.retry.initial_backoff;
    s.backoff.max = source.retry.max_backoff;
    s.backoff.max_attempts = source.retry.max_attempts;
    s.max_retry_after = source.retry.max_retry_after;
    s.max_batch_rows = config.limits.max_batch_rows;
    s.max_in_flight_bytes = static_cast<std::size_t>(config.limits.max_in_flight_bytes);
    s.hold = source.retry.hold;
    if (!source.http.local_address.empty()) {
        s.egress = source.http.local_address;
    }
    if (hooks.rate_window) {
        s.budget.window = *hooks.rate_window;
    }
    return s;
}

bool IsTopLevel(const connectors::ResourceSpec& r) {
    return r.enabled && !r.parent;
}

std::string ReplicaName(const config::Config& config) {
    if (!config.replica.name.empty()) {
        return config.replica.name;
    }
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) {
        host[0] = '\0';
    }
    return std::string(host.data()) + ":" + std::to_string(getpid());
}

}  // namespace chatsync::daemon
