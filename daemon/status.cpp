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

int Status(App& app) {
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
    std::printf(
        "%-14s %-18s %-19s %-11s %9s %9s  %-24s %-19s\n",
        "SOURCE",
        "RESOURCE",
        "LAST RUN",
        "OUTCOME",
        "WRITTEN",
        "UNCHANGED",
        "CURSOR",
        "NEXT RUN"
    );
    // A latched source sends nothing until the latch is cleared, whatever its resources'
    // last outcome and schedule say: it shows as latched, with no next run.
    auto print = [](const sink::ResourceState& s, const sink::Latch* latch) {
        const char* outcome = s.last_outcome ? OutcomeName(*s.last_outcome).data() : "never run";
        std::printf(
            "%-14s %-18s %-19s %-11s %9lld %9lld  %-24s %-19s\n",
            s.source.c_str(),
            s.resource.c_str(),
            FormatAge(s.last_run_at).c_str(),
            latch != nullptr ? OutcomeName(RunOutcome::kLatched).data() : outcome,
            static_cast<long long>(s.last_rows_written),
            static_cast<long long>(s.last_rows_unchanged),
            s.cursor.value_or("-").c_str(),
            latch != nullptr ? "-" : FormatAge(s.next_run_at).c_str()
        );
        // The run that set the latch failed with the latch's reason, said below.
        const bool said_below =
            latch != nullptr && s.last_error.find(latch->reason) != std::string::npos;
        if (!s.last_error.empty() && !said_below) {
            std::printf("    error: %s\n", s.last_error.c_str());
        }
        if (s.checkpoint) {
            std::printf(
                "    unfinished run %s: resumes from its checkpoint\n",
                s.run_id.value_or("?").c_str()
            );
        }
    };
    for (const auto& source : config.sources) {
        const auto latched = latches->find(source.name);
        const sink::Latch* latch = latched != latches->end() ? &latched->second : nullptr;
        for (const auto& r : source.connector.resources) {
            if (!IsTopLevel(r)) {
                continue;
            }
            const auto it = std::find_if(listed->begin(), listed->end(), [&](const auto& s) {
                return s.source == source.name && s.resource == r.name;
            });
            if (it != listed->end()) {
                print(*it, latch);
            } else {
                sink::ResourceState never;
                never.source = source.name;
                never.resource = r.name;
                print(never, latch);
            }
        }
        if (latch != nullptr) {
            std::printf(
                "    source %s latched since %s: %s\n"
                "    no resource of it runs until: chatsyncd breach clear --source %s\n",
                source.name.c_str(),
                FormatAge(latch->set_at).c_str(),
                latch->reason.c_str(),
                source.name.c_str()
            );
        }
    }
    return kExitOk;
}

}  // namespace chatsync::daemon
