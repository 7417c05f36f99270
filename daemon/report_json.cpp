#include <chrono>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/time.hpp"
#include "daemon/report.hpp"

/// @file
/// `once --json` and `status --json`. The field names are an interface for scripts: they are
/// documented in docs/once.schema.json and docs/status.schema.json, and change only with them.

namespace chatsync::daemon {
namespace {

namespace json = boost::json;

/// An absent value is null, never left out, so that every document has every field.
json::value OrNull(const std::optional<std::string>& text) {
    return text ? json::value(*text) : json::value(nullptr);
}

json::value OrNull(const std::string& text) {
    return text.empty() ? json::value(nullptr) : json::value(text);
}

/// ISO-8601 UTC to the microsecond ("2026-12-06T20:12:42.123456Z"; to the millisecond when
/// the rest is zero), or null.
json::value TimeOrNull(const std::optional<sink::TimePoint>& t) {
    if (!t) {
        return nullptr;
    }
    return json::value(FormatIso8601(std::chrono::time_point_cast<std::chrono::microseconds>(*t)));
}

json::array Tables(const std::vector<sink::TableCounts>& tables, const RowCounts& rows) {
    json::array out;
    out.reserve(tables.size());
    for (const auto& t : tables) {
        const auto counted = rows.find(t.name.Display());
        out.push_back(json::object{
            {"table", t.name.Display()},
            {"schema", t.name.schema},
            {"name", t.name.table},
            {"written", t.written},
            {"unchanged", t.unchanged},
            {"deleted", t.deleted},
            {"rows", counted != rows.end() ? json::value(counted->second) : json::value(nullptr)},
        });
    }
    return out;
}

}  // namespace

std::string SummaryJson(const std::vector<connectors::RunReport>& reports, const RowCounts& rows) {
    json::array runs;
    runs.reserve(reports.size());
    for (const auto& r : reports) {
        runs.push_back(json::object{
            {"source", r.source},
            {"resource", r.resource},
            {"outcome", OutcomeName(r.outcome)},
            {"error", OrNull(r.error)},
            {"pages", r.pages},
            {"requests", r.requests},
            {"written", r.rows_written},
            {"unchanged", r.rows_unchanged},
            {"deleted", r.rows_deleted},
            {"cursor", OrNull(r.cursor)},
            {"seconds", r.seconds},
            {"tables", Tables(r.tables, rows)},
        });
    }
    return json::serialize(json::object{{"runs", std::move(runs)}}) + "\n";
}

std::string StatusJson(const std::vector<SourceStatus>& sources, const RowCounts& rows) {
    json::array resources;
    json::array latches;
    for (const auto& source : sources) {
        const bool latched = source.latch.has_value();
        for (const auto& s : source.resources) {
            // As the text says it: a latched source's resources are latched, with no next run.
            json::value outcome = nullptr;
            if (latched) {
                outcome = OutcomeName(RunOutcome::kLatched);
            } else if (s.last_outcome) {
                outcome = OutcomeName(*s.last_outcome);
            }
            resources.push_back(json::object{
                {"source", s.source},
                {"resource", s.resource},
                {"outcome", std::move(outcome)},
                {"error", OrNull(s.last_error)},
                {"last_run_at", TimeOrNull(s.last_run_at)},
                {"last_success_at", TimeOrNull(s.last_success_at)},
                {"next_run_at", latched ? json::value(nullptr) : TimeOrNull(s.next_run_at)},
                {"cursor", OrNull(s.cursor)},
                {"unfinished_run", s.checkpoint ? OrNull(s.run_id) : json::value(nullptr)},
                {"written", s.last_rows_written},
                {"unchanged", s.last_rows_unchanged},
                {"tables", Tables(s.last_tables, rows)},
                {"replica", OrNull(s.replica)},
            });
        }
        if (const auto& latch = source.latch) {
            latches.push_back(json::object{
                {"source", source.source},
                {"reason", latch->reason},
                {"set_at", TimeOrNull(latch->set_at)},
                {"set_by", latch->set_by},
            });
        }
    }
    return json::serialize(json::object{
               {"resources", std::move(resources)}, {"latches", std::move(latches)}}) +
           "\n";
}

}  // namespace chatsync::daemon
