#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "daemon/commands.hpp"
#include "daemon/report.hpp"
#include "daemon/settings.hpp"

namespace chatsync::daemon {
namespace {

/// The latch of every configured source that has one, by source name.
Task<Result<std::map<std::string, sink::Latch>>>
ListLatches(sink::PgSink* db, std::vector<std::string> sources) {
    std::map<std::string, sink::Latch> latches;
    for (const auto& source : sources) {
        auto latch = co_await db->GetLatch(source);
        if (!latch) {
            co_return latch.error();
        }
        if (auto& held = *latch) {
            latches.emplace(source, std::move(*held));
        }
    }
    co_return latches;
}

}  // namespace

RowCounts CountRows(App& app, const std::vector<sink::TableName>& tables) {
    RowCounts rows;
    if (tables.empty()) {
        return rows;
    }
    auto counted = app.Await(app.db().CountRows(tables));
    if (!counted) {
        // The report stands without them: its row counts print as "-" (null in JSON).
        std::fprintf(
            stderr, "chatsyncd: cannot count rows: %s\n", counted.error().message().c_str()
        );
        return rows;
    }
    const auto& counts = *counted;
    for (std::size_t i = 0; i < tables.size() && i < counts.size(); ++i) {
        if (const auto& n = counts[i]) {
            rows[tables[i].Display()] = *n;
        }
    }
    return rows;
}

int Status(App& app, const Arguments& args) {
    if (const int rc = app.OpenDatabase(); rc != kExitOk) {
        return rc;
    }
    auto& db = app.db();
    const auto& config = app.config();
    auto listed = app.Await(db.ListStates());
    if (!listed) {
        std::fprintf(
            stderr, "chatsyncd: cannot read state: %s\n", listed.error().message().c_str()
        );
        return kExitUnavailable;
    }
    std::vector<std::string> names;
    names.reserve(config.sources.size());
    for (const auto& source : config.sources) {
        names.push_back(source.name);
    }
    auto latches = app.Await(ListLatches(&db, std::move(names)));
    if (!latches) {
        std::fprintf(
            stderr, "chatsyncd: cannot read latches: %s\n", latches.error().message().c_str()
        );
        return kExitUnavailable;
    }
    std::vector<SourceStatus> sources;
    sources.reserve(config.sources.size());
    for (const auto& source : config.sources) {
        SourceStatus shown{.source = source.name, .resources = {}, .latch = std::nullopt};
        if (const auto latched = latches->find(source.name); latched != latches->end()) {
            shown.latch = latched->second;
        }
        for (const auto& r : source.connector.resources) {
            if (!IsTopLevel(r)) {
                continue;
            }
            const auto it = std::find_if(listed->begin(), listed->end(), [&](const auto& s) {
                return s.source == source.name && s.resource == r.name;
            });
            if (it != listed->end()) {
                shown.resources.push_back(*it);
            } else {
                sink::ResourceState never;
                never.source = source.name;
                never.resource = r.name;
                shown.resources.push_back(std::move(never));
            }
        }
        sources.push_back(std::move(shown));
    }
    const RowCounts rows = CountRows(app, TablesOf(sources));
    const std::string report =
        args.json ? StatusJson(sources, rows) : FormatStatus(sources, rows, config.replica.enabled);
    std::fputs(report.c_str(), stdout);
    return kExitOk;
}

}  // namespace chatsync::daemon
