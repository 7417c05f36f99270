#include "daemon/report.hpp"

#include <chrono>
#include <cstdio>

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

void PrintSummary(const std::vector<connectors::RunReport>& reports) {
    std::printf(
        "\n%-14s %-18s %-10s %7s %9s %9s %9s %9s\n",
        "SOURCE",
        "RESOURCE",
        "OUTCOME",
        "PAGES",
        "WRITTEN",
        "UNCHANGED",
        "DELETED",
        "SECONDS"
    );
    for (const auto& r : reports) {
        std::printf(
            "%-14s %-18s %-10s %7lld %9lld %9lld %9lld %9.1f\n",
            r.source.c_str(),
            r.resource.c_str(),
            std::string(OutcomeName(r.outcome)).c_str(),
            static_cast<long long>(r.pages),
            static_cast<long long>(r.rows_written),
            static_cast<long long>(r.rows_unchanged),
            static_cast<long long>(r.rows_deleted),
            r.seconds
        );
        if (!r.error.empty()) {
            std::printf("    error: %s\n", r.error.c_str());
        }
    }
    std::fflush(stdout);
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
