#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"

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

/// Settings for tests only, each given as `--test-hook NAME=VALUE`: they shorten what a test
/// would otherwise wait for, or make a failure it checks happen on demand. A deployment never
/// sets them; unset, the daemon behaves as documented.
struct TestHooks {
    /// `rate_window=DURATION`: rate budgets count requests_per_minute over this window instead
    /// of a minute (rate limits on a compressed clock, as the emulator shortens its windows).
    std::optional<Millis> rate_window;
    /// `rederive_batch=N`: events per batch of `rederive` (read, mapped and written together)
    /// instead of 500, so that a few events take several batches.
    std::optional<std::size_t> rederive_batch;
    /// `stall_on_sigusr1=DURATION`: in `run`, SIGUSR1 blocks the event loop this long, which
    /// proves that the systemd watchdog notices a hung loop.
    std::optional<Millis> stall_on_sigusr1;
};

struct Arguments {
    Command command = Command::kHelp;
    std::string config_path;
    std::optional<std::string> source;
    std::optional<std::string> resource;
    /// `rederive --since T`: only events received at or after T (ISO-8601, checked here).
    std::optional<std::string> since;
    /// `once --json`, `status --json`: the report as one JSON document on stdout.
    bool json = false;
    TestHooks test_hooks;
};

/// The usage text printed by `--help` and after usage errors.
std::string Usage();

/// Parses argv. Throws std::invalid_argument with a one-line reason on bad usage. The config
/// path defaults to $CHATSYNC_CONFIG, then /etc/chatsync/chatsync.yaml.
Arguments ParseArguments(const std::vector<std::string>& args);

}  // namespace chatsync::daemon
