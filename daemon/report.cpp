#include "daemon/report.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/time.hpp"

namespace chatsync::daemon {

bool Succeeded(const connectors::RunReport& r) {
    return r.outcome == RunOutcome::kSuccess || r.outcome == RunOutcome::kNotDue;
}

void LogReport(const connectors::RunReport& r) {
    if (r.outcome == RunOutcome::kSuccess) {
        spdlog::info(
            "sync finished source={} resource={} outcome=success pages={} requests={} "
            "rows_written={} "
            "rows_unchanged={} rows_deleted={} cursor={} resumed={} duration_ms={}",
            r.source,
            r.resource,
            r.pages,
            r.requests,
            r.rows_written,
            r.rows_unchanged,
            r.rows_deleted,
            r.cursor.empty() ? "-" : r.cursor,
            r.resumed,
            static_cast<long long>(r.seconds * 1000)
        );
    } else if (r.outcome == RunOutcome::kHeld) {
        // The refusal that started the hold was logged once, as an error.
        spdlog::debug(
            "sync held source={} resource={} outcome=held reason=\"{}\"",
            r.source,
            r.resource,
            r.error
        );
    } else if (r.outcome == RunOutcome::kNotDue) {
        spdlog::info(
            "sync not due source={} resource={} outcome=not_due reason=\"{}\"",
            r.source,
            r.resource,
            r.error
        );
    } else if (r.outcome == RunOutcome::kSkipped) {
        // Handled, not a failure: another process holds the resource.
        spdlog::warn(
            "sync skipped source={} resource={} outcome=skipped reason=\"{}\"",
            r.source,
            r.resource,
            r.error
        );
    } else {
        spdlog::error(
            "sync failed source={} resource={} outcome={} kind={} pages={} rows_written={} "
            "error=\"{}\"",
            r.source,
            r.resource,
            OutcomeName(r.outcome),
            r.error_kind,
            r.pages,
            r.rows_written,
            r.error
        );
    }
}

namespace {

/// The width of a report's first columns (source, resource and the fields up to the first
/// count), which a table's line fills with its name so that its counts stand under the
/// resources' counts.
constexpr std::size_t kSummaryLead = 14 + 1 + 18 + 1 + 10 + 1 + 7;
constexpr std::size_t kStatusLead = 14 + 1 + 18 + 1 + 19 + 1 + 11;
constexpr std::string_view kTablePrefix = "  table ";

std::string RowsText(const RowCounts& rows, const sink::TableName& name) {
    const auto it = rows.find(name.Display());
    return it != rows.end() ? std::to_string(it->second) : std::string("-");
}

/// "  table demo.comments" padded to `lead` (longer names overflow, as long source names do).
std::string TableLead(const sink::TableName& name, std::size_t lead) {
    return fmt::format("{}{:<{}}", kTablePrefix, name.Display(), lead - kTablePrefix.size());
}

void AddTable(std::vector<sink::TableName>& out, const sink::TableName& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) {
        out.push_back(name);
    }
}

}  // namespace

std::vector<sink::TableName> TablesOf(const std::vector<connectors::RunReport>& reports) {
    std::vector<sink::TableName> out;
    for (const auto& r : reports) {
        for (const auto& t : r.tables) {
            AddTable(out, t.name);
        }
    }
    return out;
}

std::vector<sink::TableName> TablesOf(const std::vector<SourceStatus>& sources) {
    std::vector<sink::TableName> out;
    for (const auto& source : sources) {
        for (const auto& s : source.resources) {
            for (const auto& t : s.last_tables) {
                AddTable(out, t.name);
            }
        }
    }
    return out;
}

std::string
FormatSummary(const std::vector<connectors::RunReport>& reports, const RowCounts& rows) {
    auto out = fmt::format(
        "\n{:<14} {:<18} {:<10} {:>7} {:>9} {:>9} {:>9} {:>9} {:>12}\n",
        "SOURCE",
        "RESOURCE",
        "OUTCOME",
        "PAGES",
        "WRITTEN",
        "UNCHANGED",
        "DELETED",
        "SECONDS",
        "ROWS"
    );
    for (const auto& r : reports) {
        out += fmt::format(
            "{:<14} {:<18} {:<10} {:>7} {:>9} {:>9} {:>9} {:>9.1f}\n",
            r.source,
            r.resource,
            OutcomeName(r.outcome),
            r.pages,
            r.rows_written,
            r.rows_unchanged,
            r.rows_deleted,
            r.seconds
        );
        if (!r.error.empty()) {
            out += fmt::format("    error: {}\n", r.error);
        }
        for (const auto& t : r.tables) {
            out += fmt::format(
                "{} {:>9} {:>9} {:>9} {:>9} {:>12}\n",
                TableLead(t.name, kSummaryLead),
                t.written,
                t.unchanged,
                t.deleted,
                "",
                RowsText(rows, t.name)
            );
        }
    }
    return out;
}

std::string
FormatStatus(const std::vector<SourceStatus>& sources, const RowCounts& rows, bool name_replicas) {
    auto out = fmt::format(
        "{:<14} {:<18} {:<19} {:<11} {:>9} {:>9}  {:<24} {:<19}\n",
        "SOURCE",
        "RESOURCE",
        "LAST RUN",
        "OUTCOME",
        "WRITTEN",
        "UNCHANGED",
        "CURSOR",
        "NEXT RUN"
    );
    for (const auto& source : sources) {
        const sink::Latch* latch = source.latch ? &*source.latch : nullptr;
        for (const auto& s : source.resources) {
            // A latched source sends nothing until the latch is cleared, whatever its
            // resources' last outcome and schedule say: it shows as latched, with no next run.
            const std::string_view outcome = latch != nullptr ? OutcomeName(RunOutcome::kLatched)
                                             : s.last_outcome ? OutcomeName(*s.last_outcome)
                                                              : std::string_view("never run");
            out += fmt::format(
                "{:<14} {:<18} {:<19} {:<11} {:>9} {:>9}  {:<24} {:<19}\n",
                s.source,
                s.resource,
                FormatAge(s.last_run_at),
                outcome,
                s.last_rows_written,
                s.last_rows_unchanged,
                s.cursor.value_or("-"),
                latch != nullptr ? "-" : FormatAge(s.next_run_at)
            );
            // The run that set the latch failed with the latch's reason, said below.
            const bool said_below =
                latch != nullptr && s.last_error.find(latch->reason) != std::string::npos;
            if (!s.last_error.empty() && !said_below) {
                out += fmt::format("    error: {}\n", s.last_error);
            }
            if (name_replicas && !s.replica.empty()) {
                out += fmt::format("    last run on replica {}\n", s.replica);
            }
            if (s.checkpoint) {
                out += fmt::format(
                    "    unfinished run {}: resumes from its checkpoint\n", s.run_id.value_or("?")
                );
            }
            for (const auto& t : s.last_tables) {
                out += fmt::format(
                    "{} {:>9} {:>9}  deleted {:<9} rows {}\n",
                    TableLead(t.name, kStatusLead),
                    t.written,
                    t.unchanged,
                    t.deleted,
                    RowsText(rows, t.name)
                );
            }
        }
        if (latch != nullptr) {
            out += fmt::format(
                "    source {} latched since {}: {}\n"
                "    no resource of it runs until: chatsyncd breach clear --source {}\n",
                source.source,
                FormatAge(latch->set_at),
                latch->reason,
                source.source
            );
        }
    }
    return out;
}

std::string FormatAge(std::optional<sink::TimePoint> t) {
    if (!t) {
        return "-";
    }
    return FormatTime(
        std::chrono::time_point_cast<std::chrono::microseconds>(*t), "%Y-%m-%d %H:%M:%S"
    );
}

}  // namespace chatsync::daemon
