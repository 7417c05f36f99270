#pragma once

#include <string>

#include "config/config.hpp"
#include "connectors/runner.hpp"
#include "core/redactor.hpp"
#include "daemon/cli.hpp"

/// @file
/// The mapping from the loaded config to what the libraries take: secrets for the redactor,
/// and each source's runner settings.

namespace chatsync::daemon {

/// Registers every secret of the config with the redactor before anything is logged.
void RegisterSecrets(const config::Config& config, Redactor& redactor);

/// The runner settings of one source: its connector, HTTP options, rate budget, retries and
/// the config's limits. `hooks.rate_window` (tests only) shortens the budget's window.
connectors::SourceSettings SettingsFor(
    const config::SourceConfig& source,
    const config::Config& config,
    const TestHooks& hooks
);

/// A resource that is scheduled on its own: enabled and not the child of another.
bool IsTopLevel(const connectors::ResourceSpec& r);

/// This daemon's replica name: `replica.name`, or "<host>:<pid>" when it sets none.
std::string ReplicaName(const config::Config& config);

}  // namespace chatsync::daemon
