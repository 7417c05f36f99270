#include <map>
#include <string>
#include <utility>
#include <vector>

#include "daemon/settings.hpp"
#include "daemon/status_page.hpp"
#include "daemon/supervisor.hpp"
#include "metrics/metrics.hpp"

namespace chatsync::daemon {
namespace {

/// A steady-clock deadline as a wall-clock time, for display.
PageTime WallTime(std::chrono::steady_clock::time_point t) {
    return std::chrono::time_point_cast<PageTime::duration>(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            t - std::chrono::steady_clock::now()
        )
    );
}

PageResource FromState(const sink::ResourceState& s) {
    PageResource r;
    r.name = s.resource;
    r.last_run_at = s.last_run_at;
    if (s.last_outcome) {
        r.outcome = std::string(OutcomeName(*s.last_outcome));
    }
    r.rows_written = s.last_rows_written;
    r.rows_unchanged = s.last_rows_unchanged;
    r.cursor = s.cursor;
    r.next_run_at = s.next_run_at;
    r.last_error = s.last_error;
    r.replica = s.replica;
    if (s.checkpoint) {
        r.unfinished_run = s.run_id.value_or("?");
    }
    return r;
}

}  // namespace

/// The model is taken from the config and this process before the first wait, since a reload
/// may replace both while the database answers; the state rows and latches come after.
Task<server::StatusPage> Supervisor::StatusPage() {
    StatusPageModel model;
    model.version = CHATSYNC_VERSION;
    if (config_.replica.enabled) {
        model.replica = replica_;
    }
    model.started_at = started_at_;
    for (const auto& source : config_.sources) {
        PageSource page;
        page.name = source.name;
        page.enabled = source.enabled;
        for (const auto& r : source.connector.resources) {
            if (IsTopLevel(r)) {
                page.resources.push_back(PageResource{.name = r.name});
            }
        }
        if (const auto runner = runners_.find(source.name); runner != runners_.end()) {
            if (auto hold = runner->second->CurrentHold()) {
                page.hold = PageHold{
                    .resource = std::move(hold->resource),
                    .reason = std::move(hold->reason),
                    .until = WallTime(hold->until)};
            }
        }
        model.sources.push_back(std::move(page));
    }
    model.webhooks = ReadWebhookIntake(metrics_.Render());

    const auto ready = co_await CheckReady();
    model.ready = ready.ready;
    model.ready_detail = ready.detail;
    auto listed = co_await sink_->ListStates();
    if (!listed) {
        model.state_error = listed.error().message();
    } else {
        std::map<std::pair<std::string, std::string>, const sink::ResourceState*> states;
        for (const auto& s : *listed) {
            states[{s.source, s.resource}] = &s;
        }
        for (auto& source : model.sources) {
            for (auto& r : source.resources) {
                if (const auto it = states.find({source.name, r.name}); it != states.end()) {
                    r = FromState(*it->second);
                }
            }
        }
    }
    for (auto& source : model.sources) {
        auto latch = co_await sink_->GetLatch(source.name);
        if (!latch) {
            if (model.state_error.empty()) {
                model.state_error = latch.error().message();
            }
            continue;
        }
        if (!*latch) {
            continue;
        }
        source.latch = PageLatch{.reason = (*latch)->reason, .set_at = (*latch)->set_at};
        // A latched source sends nothing until the latch is cleared, whatever its resources'
        // last outcome and schedule say (as `chatsyncd status` shows it).
        for (auto& r : source.resources) {
            r.outcome = std::string(OutcomeName(RunOutcome::kLatched));
            r.next_run_at.reset();
        }
    }
    model.generated_at = std::chrono::system_clock::now();
    co_return server::StatusPage{
        .html = RenderStatusPage(model), .content_security_policy = StatusPageSecurityPolicy()};
}

}  // namespace chatsync::daemon
