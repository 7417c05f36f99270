#include "daemon/cli.hpp"

#include <cstdlib>
#include <stdexcept>

#include "core/time.hpp"

namespace chatsync::daemon {

std::string Usage() {
    return R"(usage: chatsyncd [-c FILE] COMMAND [OPTIONS]

Keeps PostgreSQL in step with chat and support platforms.

commands:
  run                               run the daemon: sync every resource on its schedule
  once [--source S] [--resource R] [--json]
                                    sync what is configured once, to completion, and exit;
                                    the summary has a line per resource and per table
  check-config                      validate the config file and print what it configures
  status [--json]                   per resource: last run, outcome, rows, cursor, next run;
                                    per table: the last run's rows and the rows it holds;
                                    a latched source: why, and the command that clears it
  reset --source S [--resource R]   forget checkpoints: the next run is a full re-sync
  breach clear --source S           lift the latch that stopped source S (after TOKENBREACH or
                                    another latch rule), once its cause is dealt with
  rederive --source S [--since T]   derive the rows of webhook source S again from its stored
                                    events (all, or those received at or after T, an ISO-8601
                                    time such as 2026-12-01T00:00:00Z), after a fix or a
                                    mapping change; events that still fail keep derive_error
  healthcheck                       exit 0 when the running daemon's /healthz answers 200
  --version                         print the version

options:
  -c, --config FILE   config file (default: $CHATSYNC_CONFIG, else /etc/chatsync/chatsync.yaml)
  --json              once, status: one JSON document on stdout instead of the table
                      (docs/once.schema.json, docs/status.schema.json)
  -h, --help          this text

for tests only (a deployment never needs them):
  --test-hook rate_window=DURATION       rate budgets count over DURATION instead of a minute
  --test-hook rederive_batch=N           rederive handles N events per batch instead of 500
  --test-hook stall_on_sigusr1=DURATION  in run, SIGUSR1 blocks the event loop for DURATION

Logs go to stderr; reports (the once and rederive summaries, status, check-config) go to
stdout.

exit codes: 0 ok, 1 sync failed, unhealthy or a rederive write failed, 64 usage, 69 database
unavailable, 78 bad config
)";
}

namespace {

/// Applies one `--test-hook NAME=VALUE`.
void ParseTestHook(const std::string& hook, TestHooks& hooks) {
    const auto eq = hook.find('=');
    const std::string name = hook.substr(0, eq);
    const std::string value = eq == std::string::npos ? std::string() : hook.substr(eq + 1);
    auto duration = [&]() {
        const auto d = ParseDuration(value);
        if (!d || d->count() <= 0) {
            throw std::invalid_argument(
                "--test-hook " + name + " needs a duration such as 500ms or 1s, not '" + value + "'"
            );
        }
        return *d;
    };
    if (name == "rate_window") {
        hooks.rate_window = duration();
    } else if (name == "stall_on_sigusr1") {
        hooks.stall_on_sigusr1 = duration();
    } else if (name == "rederive_batch") {
        const bool digits = !value.empty() && value.size() <= 9 &&
                            value.find_first_not_of("0123456789") == std::string::npos;
        const std::size_t n = digits ? std::stoul(value) : 0;
        if (n == 0) {
            throw std::invalid_argument(
                "--test-hook rederive_batch needs a positive number, not '" + value + "'"
            );
        }
        hooks.rederive_batch = n;
    } else {
        throw std::invalid_argument(
            "unknown --test-hook '" + name +
            "' (rate_window, rederive_batch or stall_on_sigusr1, for tests only)"
        );
    }
}

}  // namespace

Arguments ParseArguments(const std::vector<std::string>& args) {
    Arguments out;
    if (const char* env = std::getenv("CHATSYNC_CONFIG"); env != nullptr && *env != '\0') {
        out.config_path = env;
    } else {
        out.config_path = "/etc/chatsync/chatsync.yaml";
    }
    std::optional<Command> command;
    auto value_of = [&](std::size_t& i, const std::string& flag) {
        if (i + 1 >= args.size()) {
            throw std::invalid_argument(flag + " needs a value");
        }
        return args[++i];
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "-c" || a == "--config") {
            out.config_path = value_of(i, a);
        } else if (a.starts_with("--config=")) {
            out.config_path = a.substr(9);
        } else if (a == "--source") {
            out.source = value_of(i, a);
        } else if (a == "--resource") {
            out.resource = value_of(i, a);
        } else if (a == "--since") {
            out.since = value_of(i, a);
        } else if (a == "--json") {
            out.json = true;
        } else if (a == "--test-hook") {
            ParseTestHook(value_of(i, a), out.test_hooks);
        } else if (a == "--version" || a == "version") {
            command = Command::kVersion;
        } else if (a == "-h" || a == "--help" || a == "help") {
            command = Command::kHelp;
        } else if (!command && a == "run") {
            command = Command::kRun;
        } else if (!command && a == "once") {
            command = Command::kOnce;
        } else if (!command && a == "check-config") {
            command = Command::kCheckConfig;
        } else if (!command && a == "status") {
            command = Command::kStatus;
        } else if (!command && a == "reset") {
            command = Command::kReset;
        } else if (!command && a == "breach") {
            if (i + 1 >= args.size() || args[i + 1] != "clear") {
                throw std::invalid_argument("breach takes 'clear': breach clear --source S");
            }
            ++i;
            command = Command::kBreachClear;
        } else if (!command && a == "rederive") {
            command = Command::kRederive;
        } else if (!command && a == "healthcheck") {
            command = Command::kHealthcheck;
        } else {
            throw std::invalid_argument("unexpected argument '" + a + "'");
        }
    }
    if (!command) {
        throw std::invalid_argument("no command given");
    }
    out.command = *command;
    const bool takes_filter = out.command == Command::kOnce || out.command == Command::kReset;
    if (out.json && out.command != Command::kOnce && out.command != Command::kStatus) {
        throw std::invalid_argument("--json goes with 'once' and 'status'");
    }
    if (out.since && out.command != Command::kRederive) {
        throw std::invalid_argument("--since goes with 'rederive'");
    }
    if (out.command == Command::kRederive) {
        if (!out.source) {
            throw std::invalid_argument("rederive needs --source");
        }
        if (out.resource) {
            throw std::invalid_argument(
                "rederive re-derives every table of a source: it takes no --resource"
            );
        }
        if (out.since && !ParseIso8601(*out.since)) {
            throw std::invalid_argument(
                "--since '" + *out.since +
                "' is not an ISO-8601 time (such as 2026-12-01T00:00:00Z; UTC when no zone)"
            );
        }
    } else if (out.command == Command::kBreachClear) {
        if (!out.source) {
            throw std::invalid_argument("breach clear needs --source");
        }
        if (out.resource) {
            throw std::invalid_argument(
                "a latch stops a whole source: breach clear takes no --resource"
            );
        }
    } else if (!takes_filter && (out.source || out.resource)) {
        throw std::invalid_argument("--source and --resource go with 'once' and 'reset'");
    }
    if (out.command == Command::kReset && !out.source) {
        throw std::invalid_argument("reset needs --source");
    }
    if (out.resource && !out.source) {
        throw std::invalid_argument("--resource needs --source");
    }
    return out;
}

}  // namespace chatsync::daemon
