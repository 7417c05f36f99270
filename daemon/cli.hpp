#pragma once

#include <optional>
#include <string>
#include <vector>

namespace chatsync::daemon {

/// Exit codes, after sysexits.h where one fits.
enum ExitCode : int {
    kExitOk = 0,
    /// A sync failed (`once`), or the daemon stopped on an unexpected error.
    kExitFailure = 1,
    /// Bad command line.
    kExitUsage = 64,
    /// The database could not be reached or set up.
    kExitUnavailable = 69,
    /// Bad configuration.
    kExitConfig = 78,
};

enum class Command {
    kRun,
    kOnce,
    kCheckConfig,
    kStatus,
    kReset,
    /// `breach clear --source S`: lift the latch a breach (or any latch rule) set.
    kBreachClear,
    kHealthcheck,
    /// `rederive --source S [--since T]`: derive rows again from stored webhook events.
    kRederive,
    kVersion,
    kHelp,
};

struct Arguments {
    Command command = Command::kHelp;
    std::string config_path;
    std::optional<std::string> source;
    std::optional<std::string> resource;
    /// `rederive --since T`: only events received at or after T (ISO-8601, checked here).
    std::optional<std::string> since;
};

/// The usage text printed by `--help` and after usage errors.
std::string Usage();

/// Parses argv. Throws std::invalid_argument with a one-line reason on bad usage. The config
/// path defaults to $CHATSYNC_CONFIG, then /etc/chatsync/chatsync.yaml.
Arguments ParseArguments(const std::vector<std::string>& args);

}  // namespace chatsync::daemon
