#pragma once

#include <optional>
#include <string>
#include <vector>

#include "connectors/runner.hpp"
#include "sink/sink.hpp"

/// @file
/// What the daemon says about runs: the log line of each, `once`'s summary table, and the
/// times the reports print.

namespace chatsync::daemon {

/// A run that did its job: it synced, or it was not due (its API allows no call yet).
bool Succeeded(const connectors::RunReport& r);

/// Logs one run's outcome: info for a success or a run not due, debug for a held one, a
/// warning for a skipped one, an error for a failure.
void LogReport(const connectors::RunReport& r);

/// Prints `once`'s summary table to stdout, a line per run and its error below it.
void PrintSummary(const std::vector<connectors::RunReport>& reports);

/// A time as the reports print it ("2026-12-06 20:12:42", UTC), or "-" for none.
std::string FormatAge(std::optional<sink::TimePoint> t);

}  // namespace chatsync::daemon
