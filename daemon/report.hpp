#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/runner.hpp"
#include "sink/sink.hpp"

/// @file
/// What the daemon says about runs: the log line of each, `once`'s summary and `status`'s
/// table, as text or as JSON (docs/once.schema.json, docs/status.schema.json), and the times
/// the reports print.

namespace chatsync::daemon {

/// The rows each table holds, by TableName::Display(). A table left out (absent, or not
/// counted) prints as "-" and is null in JSON.
using RowCounts = std::map<std::string, std::int64_t>;

/// What `status` shows of one source: its top-level resources' states in the config's order
/// (a resource never run has a default state), and its latch, if it has one.
struct SourceStatus {
    std::string source;
    std::vector<sink::ResourceState> resources;
    std::optional<sink::Latch> latch;
};

/// A run that did its job: it synced, or it was not due (its API allows no call yet).
bool Succeeded(const connectors::RunReport& r);

/// Logs one run's outcome: info for a success or a run not due, debug for a held one, a
/// warning for a skipped one, an error for a failure.
void LogReport(const connectors::RunReport& r);

/// Every table the reports name, once each, in the order first named.
std::vector<sink::TableName> TablesOf(const std::vector<connectors::RunReport>& reports);

/// Every table the states' last runs name, once each, in the order first named.
std::vector<sink::TableName> TablesOf(const std::vector<SourceStatus>& sources);

/// `once`'s summary: a line per run with its totals, its error below it, and a line per table
/// it wrote (its own, then its children's) with the rows the table holds.
std::string FormatSummary(const std::vector<connectors::RunReport>& reports, const RowCounts& rows);

/// `status`'s table: a line per resource, its error, latch and unfinished run below it, and
/// a line per table of its last run with the rows the table holds.
/// `name_replicas` adds the replica that ran each resource's last run (`replica.enabled`).
std::string FormatStatus(
    const std::vector<SourceStatus>& sources,
    const RowCounts& rows,
    bool name_replicas = false
);

/// `once --json`: {"runs": [...]}, as docs/once.schema.json describes.
std::string SummaryJson(const std::vector<connectors::RunReport>& reports, const RowCounts& rows);

/// `status --json`: {"resources": [...], "latches": [...]}, as docs/status.schema.json
/// describes.
std::string StatusJson(const std::vector<SourceStatus>& sources, const RowCounts& rows);

/// A time as the reports print it ("2026-12-06 20:12:42", UTC), or "-" for none.
std::string FormatAge(std::optional<sink::TimePoint> t);

}  // namespace chatsync::daemon
