#pragma once

#include "config/config.hpp"
#include "daemon/app.hpp"
#include "daemon/cli.hpp"
#include "daemon/report.hpp"

/// @file
/// The commands, one file each; every one returns the process exit code.

namespace chatsync::daemon {

/// `run`: the daemon, every resource on its schedule, until a stop signal (supervisor.cpp).
int RunDaemon(App& app);

/// `once [--source S] [--resource R] [--json]`: syncs what is asked once, to completion, and
/// prints the summary, per run and per table (once.cpp).
int Once(App& app, const Arguments& args);

/// `status [--json]`: per resource its last run, outcome, rows, cursor and next run, per
/// table of its last run the rows written, unchanged and deleted and the rows it holds, and
/// the latch of a latched source (status.cpp).
int Status(App& app, const Arguments& args);

/// `reset --source S [--resource R]`: forgets checkpoints (reset.cpp).
int Reset(App& app, const Arguments& args);

/// `breach clear --source S`: lifts a source's latch (breach_clear.cpp).
int BreachClear(App& app, const Arguments& args);

/// `rederive --source S [--since T]`: maps the source's stored webhook events again, in the
/// order received and a batch at a time, and writes their rows as intake would
/// (rederive.cpp).
int Rederive(App& app, const Arguments& args);

/// `healthcheck`: asks the running daemon's admin listener for /healthz (healthcheck.cpp).
int Healthcheck(const config::Config& config);

/// `check-config`: validates what loading could not, then prints the summary
/// (check_config.cpp).
int CheckConfig(const config::Config& config);

/// The rows each of `tables` holds, for the reports of `once` and `status` (status.cpp). A
/// table that does not exist is left out; when counting fails, the reason goes to stderr and
/// every table is left out.
RowCounts CountRows(App& app, const std::vector<sink::TableName>& tables);

/// `--source` and `--resource` of `once` and `rederive` against the config, before anything
/// else happens: kExitUsage with a one-line reason (and what the config has) when one names
/// nothing there (once.cpp).
int CheckNames(const config::Config& config, const Arguments& args);

}  // namespace chatsync::daemon
