#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// @file
/// The status page that the admin listener serves at `/`: a model of what `chatsyncd status`
/// shows plus the webhook intake figures of /metrics, and its rendering as one self-contained
/// HTML document (inline style, no script, no external asset). Rendering is a pure function of
/// the model; Supervisor::StatusPage() (status_page_data.cpp) gathers the model.

namespace chatsync::daemon {

using PageTime = std::chrono::system_clock::time_point;

/// One top-level resource, as its state row says.
struct PageResource {
    std::string name{};
    std::optional<PageTime> last_run_at{};
    /// OutcomeName() of the last run, "never run" before the first, or "latched" while the
    /// source is latched (whatever the last run did).
    std::string outcome = "never run";
    std::int64_t rows_written = 0;
    std::int64_t rows_unchanged = 0;
    std::optional<std::string> cursor{};
    /// Nullopt while latched: nothing runs until the latch is cleared.
    std::optional<PageTime> next_run_at{};
    /// The last failure's message, already redacted.
    std::string last_error{};
    /// The run that left a checkpoint behind, when one is unfinished.
    std::optional<std::string> unfinished_run{};
    /// The replica that ran the last run; shown when the daemon runs as a replica.
    std::string replica{};
};

/// A latch read from the database.
struct PageLatch {
    std::string reason{};
    PageTime set_at{};
};

/// A hold in force in this process after a refusal of the source's credentials or account.
struct PageHold {
    std::string resource{};
    std::string reason{};
    PageTime until{};
};

struct PageSource {
    std::string name{};
    bool enabled = true;
    std::vector<PageResource> resources{};
    std::optional<PageLatch> latch{};
    std::optional<PageHold> hold{};
};

/// The webhook intake of one source since the process started, from the metrics: bodies by
/// outcome (stored, duplicate, malformed, ...), rejected requests by reason, bytes received.
/// `source` is "" for requests whose path named no configured source.
struct WebhookIntake {
    std::string source{};
    std::map<std::string, double> events{};
    std::map<std::string, double> rejected{};
    double bytes = 0;
};

struct StatusPageModel {
    std::string version{};
    /// This daemon's replica name with `replica.enabled`, else empty (and the page names no
    /// replica).
    std::string replica{};
    PageTime generated_at{};
    PageTime started_at{};
    /// What /readyz answers.
    bool ready = false;
    std::string ready_detail{};
    /// Set when the state could not be read; the sources then show their config only.
    std::string state_error{};
    std::vector<PageSource> sources{};
    std::vector<WebhookIntake> webhooks{};
    /// Seconds between reloads of the page; 0 for none.
    int refresh_seconds = 10;
};

/// `text` with & < > " ' replaced by character references, for element content and quoted
/// attribute values alike.
std::string EscapeHtml(std::string_view text);

/// The webhook intake figures in a Prometheus text exposition (Metrics::Render()): the
/// chatsync_webhook_events_total, chatsync_webhook_requests_rejected_total and
/// chatsync_webhook_bytes_total samples summed by source, sorted by source name.
std::vector<WebhookIntake> ReadWebhookIntake(std::string_view exposition);

/// The page as an HTML document. Every value of the model is escaped.
std::string RenderStatusPage(const StatusPageModel& model);

/// The Content-Security-Policy of the rendered page: nothing may load or run but the page's
/// own inline style, allowed by its SHA-256 hash.
const std::string& StatusPageSecurityPolicy();

}  // namespace chatsync::daemon
