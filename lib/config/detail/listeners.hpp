#pragma once

#include "config/config.hpp"
#include "config/detail/reader.hpp"

/// @file
/// The two HTTP listeners' blocks: `admin:` (metrics, health, status page) and `webhooks:`
/// (the one address meant to face the internet), with their addresses and budgets.

namespace chatsync::config::detail {

void ReadAdmin(Context& ctx, const YamlNode& node, AdminConfig& admin);

void ReadWebhooks(Context& ctx, const YamlNode& node, WebhooksConfig& webhooks);

}  // namespace chatsync::config::detail
