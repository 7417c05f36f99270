#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "connectors/webhook_strategy.hpp"
#include "daemon/supervisor.hpp"

namespace chatsync::daemon {

void Supervisor::SetConnectionBudgets() {
    const auto limit = server::RaiseOpenFileLimit();
    if (!limit.error.empty()) {
        spdlog::warn(
            "cannot raise the open-file limit soft={} hard={} error=\"{}\"",
            limit.soft,
            limit.hard,
            limit.error
        );
    }
    budgets_ = server::DeriveConnectionBudgets(
        limit.soft,
        !config_.webhooks.listen.empty(),
        config_.webhooks.max_connections,
        config_.webhooks.max_connections_per_client,
        config_.admin.max_connections,
        config_.admin.max_connections_per_client
    );
    spdlog::info(
        "connection budgets open_files={} raised={} webhook={} webhook_per_client={} "
        "admin={} admin_per_client={}",
        limit.soft,
        limit.raised,
        budgets_.webhook,
        budgets_.webhook_per_client,
        budgets_.admin,
        budgets_.admin_per_client
    );
    const std::uint64_t wanted = budgets_.webhook + budgets_.admin + server::kReservedFiles;
    if (limit.soft != 0 && wanted > limit.soft) {
        spdlog::warn(
            "the configured connection budgets exceed the open-file limit; a flood can "
            "exhaust descriptors open_files={} needed={}",
            limit.soft,
            wanted
        );
    }
}

std::vector<server::WebhookRoute> Supervisor::WebhookRoutes() const {
    std::vector<server::WebhookRoute> routes;
    for (const auto& source : config_.sources) {
        const auto& hook = source.connector.webhook;
        if (!source.enabled || !hook) {
            continue;
        }
        const auto token = source.values.find(hook->token_param);
        routes.push_back(server::WebhookRoute{
            .source = source.name,
            .strategy_name = hook->strategy,
            .token = token != source.values.end() ? token->second : std::string(),
            .strategy = connectors::MakeWebhookStrategy(hook->strategy)});
    }
    return routes;
}

Task<bool> Supervisor::PrepareEventTables(std::vector<server::WebhookRoute> routes) {
    for (const auto& route : routes) {
        auto task = sink_->PrepareEventTables(route.source, route.strategy->Tables());
        auto prepared = co_await std::move(task);
        if (!prepared) {
            spdlog::error(
                "cannot create the event tables source={} error=\"{}\"",
                route.source,
                prepared.error().message()
            );
            co_return false;
        }
    }
    co_return true;
}

Task<void>
Supervisor::PrepareEventTablesInto(std::vector<server::WebhookRoute> routes, bool* prepared) {
    auto task = PrepareEventTables(std::move(routes));
    *prepared = co_await std::move(task);
}

int Supervisor::StartWebhooks() {
    auto routes = WebhookRoutes();
    bool prepared = false;
    app_.Run(PrepareEventTablesInto(routes, &prepared), [this]() { CancelWaits(); });
    if (!prepared) {
        return kExitUnavailable;
    }
    webhooks_.emplace(
        app_.ioc().get_executor(),
        server::WebhookServer::Options{
            .listen = config_.webhooks.listen,
            .max_body_bytes = config_.webhooks.max_body_bytes,
            .max_batch_events = config_.webhooks.max_batch_events,
            .max_connections = budgets_.webhook,
            .max_connections_per_client = budgets_.webhook_per_client,
            .header_timeout = config_.webhooks.header_timeout,
            .idle_timeout = config_.webhooks.idle_timeout,
            .body_timeout = config_.webhooks.body_timeout,
            .body_min_rate = static_cast<std::size_t>(config_.webhooks.body_min_rate),
            .max_body_bytes_in_flight =
                static_cast<std::size_t>(config_.webhooks.max_body_bytes_in_flight)},
        *sink_,
        metrics_
    );
    std::vector<std::string> names;
    names.reserve(routes.size());
    for (const auto& r : routes) {
        names.push_back(r.source);
    }
    webhooks_->SetRoutes(std::move(routes));
    if (auto started = webhooks_->Start(); !started) {
        spdlog::error(
            "webhook listener failed listen={} error=\"{}\"",
            config_.webhooks.listen,
            started.error().message()
        );
        return kExitUnavailable;
    }
    spdlog::info(
        "webhook listener ready listen={} port={} sources={}",
        config_.webhooks.listen,
        webhooks_->port(),
        fmt::join(names, ",")
    );
    return kExitOk;
}

Task<void> Supervisor::UpdateWebhookRoutes() {
    auto routes = WebhookRoutes();
    auto task = PrepareEventTables(routes);
    const bool prepared = co_await std::move(task);
    if (prepared && webhooks_) {
        webhooks_->SetRoutes(std::move(routes));
    }
}

}  // namespace chatsync::daemon
