#pragma once

#include "config/config.hpp"
#include "daemon/cli.hpp"

namespace chatsync::daemon {

/// Runs a command (run, once, check-config, status, reset) with a loaded config and returns
/// the process exit code. The only place that knows every part of chatsync.
int Execute(const Arguments& args, config::Config config);

}  // namespace chatsync::daemon
