#include "config/detail/listeners.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/detail/map_reader.hpp"

namespace chatsync::config::detail {

namespace {

/// More connections than any open-file limit allows.
constexpr std::int64_t kMaxConnections = 10'000'000;

/// "host:port" with a numeric port; IPv6 hosts in brackets.
bool IsListenAddress(std::string_view s) {
    const std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) {
        return false;
    }
    const std::string_view host = s.substr(0, colon);
    const std::string_view port = s.substr(colon + 1);
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    if (std::stoul(std::string(port)) > 65535) {
        return false;
    }
    if (host.find(':') != std::string_view::npos) {
        return host.front() == '[' && host.back() == ']';
    }
    return true;
}

/// `listen:` of a listener: host:port, or empty to turn the listener off. `example` is an
/// address to show in the message.
void ReadListen(MapReader& m, std::string_view example, std::string& listen) {
    const YamlNode* l = m.Get("listen");
    if (l == nullptr) {
        return;
    }
    if (const auto s = ReadScalar(m.ctx(), *l, m.PathOf("listen"))) {
        if (!s->text.empty() && !IsListenAddress(s->text)) {
            m.ctx().Error(
                s->mark,
                m.PathOf("listen"),
                "expected host:port such as " + std::string(example) + s->Got()
            );
        } else {
            listen = s->text;
        }
    }
}

/// Connections open at once, and from one client address.
template <class Listener>
void ReadConnectionBudgets(MapReader& m, Listener& listener) {
    if (const auto v = m.Integer("max_connections", 0, kMaxConnections)) {
        listener.max_connections = static_cast<std::uint32_t>(*v);
    }
    if (const auto v = m.Integer("max_connections_per_client", 0, kMaxConnections)) {
        listener.max_connections_per_client = static_cast<std::uint32_t>(*v);
    }
}

}  // namespace

void ReadAdmin(Context& ctx, const YamlNode& node, AdminConfig& admin) {
    MapReader m(ctx, node, "admin");
    ReadListen(m, "127.0.0.1:9187", admin.listen);
    if (const YamlNode* n = m.Get("stale_after_intervals")) {
        if (const auto v = ReadPositiveNumber(ctx, *n, m.PathOf("stale_after_intervals"))) {
            admin.stale_after_intervals = *v;
        }
    }
    ReadConnectionBudgets(m, admin);
    m.Finish();
}

void ReadWebhooks(Context& ctx, const YamlNode& node, WebhooksConfig& webhooks) {
    MapReader m(ctx, node, "webhooks");
    ReadListen(m, "127.0.0.1:8080", webhooks.listen);
    if (const auto v = m.PositiveByteSize("max_body_bytes")) {
        webhooks.max_body_bytes = *v;
    }
    if (const auto v = m.Integer("max_batch_events", 1, 100000)) {
        webhooks.max_batch_events = static_cast<std::uint32_t>(*v);
    }
    ReadConnectionBudgets(m, webhooks);
    if (const auto v = m.Duration("header_timeout", true)) {
        webhooks.header_timeout = *v;
    }
    if (const auto v = m.Duration("idle_timeout", true)) {
        webhooks.idle_timeout = *v;
    }
    if (const auto v = m.Duration("body_timeout", true)) {
        webhooks.body_timeout = *v;
    }
    if (const auto v = m.PositiveByteSize("body_min_rate", " (bytes per second)")) {
        webhooks.body_min_rate = *v;
    }
    if (const auto v = m.ByteSize("max_body_bytes_in_flight")) {
        if (*v < webhooks.max_body_bytes) {
            ctx.Error(
                m.Get("max_body_bytes_in_flight")->mark,
                m.PathOf("max_body_bytes_in_flight"),
                "must be at least max_body_bytes (" + std::to_string(webhooks.max_body_bytes) +
                    " bytes), or no body of the largest size could ever be taken"
            );
        } else {
            webhooks.max_body_bytes_in_flight = *v;
        }
    }
    m.Finish();
}

}  // namespace chatsync::config::detail
