#include "metrics/metrics.hpp"

#include <mutex>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "core/root_task.hpp"

namespace chatsync::metrics {
namespace {

/// HTTP latency buckets: from a fast local API to a slow page of a remote one.
const prometheus::Histogram::BucketBoundaries
    kHttpBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

/// Webhook acknowledgement buckets: from a group commit on a fast disk to a struggling one.
const prometheus::Histogram::BucketBoundaries
    kAckBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

const prometheus::Histogram::BucketBoundaries
    kBatchBuckets{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

/// Run duration buckets: seconds to an hour.
const prometheus::Histogram::BucketBoundaries
    kRunBuckets{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600};

std::string S(std::string_view v) {
    return std::string(v);
}

}  // namespace

struct Metrics::Impl {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    prometheus::Family<prometheus::Gauge>& build_info =
        prometheus::BuildGauge()
            .Name("chatsync_build_info")
            .Help("Always 1; the labels name the running build.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& http_requests =
        prometheus::BuildCounter()
            .Name("chatsync_http_requests_total")
            .Help("Upstream HTTP requests by answer: a status code, or the transport error kind.")
            .Register(*registry);
    prometheus::Family<prometheus::Histogram>& http_duration =
        prometheus::BuildHistogram()
            .Name("chatsync_http_request_duration_seconds")
            .Help("Upstream HTTP request duration, from sending to the last body byte.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& retries =
        prometheus::BuildCounter()
            .Name("chatsync_http_retries_total")
            .Help("Upstream requests retried, by reason.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& wait_seconds =
        prometheus::BuildCounter()
            .Name("chatsync_wait_seconds_total")
            .Help("Time spent waiting before requests, by reason.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& waits =
        prometheus::BuildCounter()
            .Name("chatsync_waits_total")
            .Help("Waits imposed before requests, by reason.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& rows_written =
        prometheus::BuildCounter()
            .Name("chatsync_rows_written_total")
            .Help("Rows inserted or changed in PostgreSQL.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& rows_unchanged =
        prometheus::BuildCounter()
            .Name("chatsync_rows_unchanged_total")
            .Help("Rows received that matched what PostgreSQL already had (not rewritten).")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& rows_deleted =
        prometheus::BuildCounter()
            .Name("chatsync_rows_deleted_total")
            .Help("Rows soft-deleted because a complete listing no longer returned them.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& listing_shifts =
        prometheus::BuildCounter()
            .Name("chatsync_listing_shifts_total")
            .Help(
                "Listings seen to move while read, by what was done: stepped_back (pages read "
                "again back to the last record read), restarted (read again from the first "
                "page), shifted_forward (records read again), unverified (the cursor was held "
                "back and deletions were not swept)."
            )
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& pages = prometheus::BuildCounter()
                                                         .Name("chatsync_pages_total")
                                                         .Help("Pages committed.")
                                                         .Register(*registry);
    prometheus::Family<prometheus::Counter>& runs = prometheus::BuildCounter()
                                                        .Name("chatsync_runs_total")
                                                        .Help("Resource runs by outcome.")
                                                        .Register(*registry);
    prometheus::Family<prometheus::Histogram>& run_duration =
        prometheus::BuildHistogram()
            .Name("chatsync_run_duration_seconds")
            .Help("Resource run duration.")
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& last_success =
        prometheus::BuildGauge()
            .Name("chatsync_last_success_timestamp_seconds")
            .Help("Unix time of the resource's last successful run.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& errors = prometheus::BuildCounter()
                                                          .Name("chatsync_errors_total")
                                                          .Help("Handled failures by kind.")
                                                          .Register(*registry);
    prometheus::Family<prometheus::Gauge>& cursor_lag =
        prometheus::BuildGauge()
            .Name("chatsync_cursor_lag_seconds")
            .Help("Now minus the resource's committed incremental cursor time.")
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& running =
        prometheus::BuildGauge()
            .Name("chatsync_resource_running")
            .Help("1 while a run of the resource is in progress.")
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& latched =
        prometheus::BuildGauge()
            .Name("chatsync_source_latched")
            .Help("1 while a latch stops all requests of the source.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& egress_changes =
        prometheus::BuildCounter()
            .Name("chatsync_egress_changes_total")
            .Help(
                "Runs of an egress-guarded source that sent from another address than the "
                "previous run."
            )
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& status_value =
        prometheus::BuildGauge()
            .Name("chatsync_status_value")
            .Help("The value a status resource last read (JivoChat channel: 1 available, 0 not).")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& values_repaired =
        prometheus::BuildCounter()
            .Name("chatsync_values_repaired_total")
            .Help(
                "Values stored in another form than received so that nothing is lost or "
                "refused: nul and surrogate replaced by U+FFFD, big_integer kept as numeric, deep "
                "documents accepted."
            )
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& webhook_events =
        prometheus::BuildCounter()
            .Name("chatsync_webhook_events_total")
            .Help("Webhook bodies received, by event name and outcome.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& webhook_bytes =
        prometheus::BuildCounter()
            .Name("chatsync_webhook_bytes_total")
            .Help("Bytes of webhook bodies received.")
            .Register(*registry);
    prometheus::Family<prometheus::Histogram>& webhook_ack =
        prometheus::BuildHistogram()
            .Name("chatsync_webhook_ack_seconds")
            .Help("From a webhook's last byte to its answer (after the commit).")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& webhook_rejected =
        prometheus::BuildCounter()
            .Name("chatsync_webhook_requests_rejected_total")
            .Help("Webhook requests answered with an error, by reason.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& connections_rejected =
        prometheus::BuildCounter()
            .Name("chatsync_listener_connections_rejected_total")
            .Help("Connections a listener refused or closed for its budgets, and failed accepts.")
            .Register(*registry);
    prometheus::Family<prometheus::Histogram>& webhook_batch =
        prometheus::BuildHistogram()
            .Name("chatsync_webhook_batch_events")
            .Help("Webhook events committed together in one transaction.")
            .Register(*registry);
    /// Filled from RootTaskFailures() in Render(); the mutex keeps two renders from adding
    /// the same failures twice.
    std::mutex task_failures_mutex;
    prometheus::Family<prometheus::Counter>& task_failures =
        prometheus::BuildCounter()
            .Name("chatsync_task_failures_total")
            .Help("Internal tasks that ended with an unexpected exception.")
            .Register(*registry);
    prometheus::Family<prometheus::Counter>& config_reloads =
        prometheus::BuildCounter()
            .Name("chatsync_config_reloads_total")
            .Help("Config reloads (SIGHUP) by outcome: applied, or refused for an invalid file.")
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& database_up =
        prometheus::BuildGauge()
            .Name("chatsync_database_up")
            .Help("1 when the last database check succeeded.")
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& replica_info =
        prometheus::BuildGauge()
            .Name("chatsync_replica_info")
            .Help("1, labelled with this daemon's replica name (the runs.replica of its runs).")
            .Register(*registry);
    prometheus::Family<prometheus::Gauge>& replicas_live =
        prometheus::BuildGauge()
            .Name("chatsync_replicas_live")
            .Help("Replicas sharing the database, this one included, at the last heartbeat.")
            .Register(*registry);
};

Metrics::Metrics()
    : impl_(std::make_unique<Impl>()) {
    impl_->build_info.Add({{"version", CHATSYNC_VERSION}}).Set(1);
    impl_->database_up.Add({}).Set(0);
}

Metrics::~Metrics() = default;

void Metrics::HttpRequest(
    std::string_view source,
    std::string_view resource,
    std::string_view code,
    double seconds
) {
    impl_->http_requests.Add({{"source", S(source)}, {"resource", S(resource)}, {"code", S(code)}}
    ).Increment();
    impl_->http_duration.Add({{"source", S(source)}}, kHttpBuckets).Observe(seconds);
}

void Metrics::Retry(std::string_view source, std::string_view reason) {
    impl_->retries.Add({{"source", S(source)}, {"reason", S(reason)}}).Increment();
}

void Metrics::Wait(std::string_view source, std::string_view reason, double seconds) {
    impl_->waits.Add({{"source", S(source)}, {"reason", S(reason)}}).Increment();
    impl_->wait_seconds.Add({{"source", S(source)}, {"reason", S(reason)}}).Increment(seconds);
}

void Metrics::Page(
    std::string_view source,
    std::string_view resource,
    std::int64_t written,
    std::int64_t unchanged
) {
    const prometheus::Labels labels{{"source", S(source)}, {"resource", S(resource)}};
    impl_->pages.Add(labels).Increment();
    impl_->rows_written.Add(labels).Increment(static_cast<double>(written));
    impl_->rows_unchanged.Add(labels).Increment(static_cast<double>(unchanged));
}

void Metrics::RowsDeleted(std::string_view source, std::string_view resource, std::int64_t n) {
    impl_->rows_deleted.Add({{"source", S(source)}, {"resource", S(resource)}}
    ).Increment(static_cast<double>(n));
}

void Metrics::ListingShift(
    std::string_view source,
    std::string_view resource,
    std::string_view action
) {
    impl_->listing_shifts
        .Add({{"source", S(source)}, {"resource", S(resource)}, {"action", S(action)}})
        .Increment();
}

void Metrics::Run(
    std::string_view source,
    std::string_view resource,
    RunOutcome outcome,
    double seconds,
    double now_unix
) {
    const prometheus::Labels labels{{"source", S(source)}, {"resource", S(resource)}};
    auto with_outcome = labels;
    with_outcome.emplace("outcome", S(OutcomeName(outcome)));
    impl_->runs.Add(with_outcome).Increment();
    impl_->run_duration.Add(labels, kRunBuckets).Observe(seconds);
    if (outcome == RunOutcome::kSuccess) {
        impl_->last_success.Add(labels).Set(now_unix);
    }
}

void Metrics::Error(std::string_view source, std::string_view resource, std::string_view kind) {
    impl_->errors.Add({{"source", S(source)}, {"resource", S(resource)}, {"kind", S(kind)}}
    ).Increment();
}

void Metrics::ValueRepaired(
    std::string_view source,
    std::string_view resource,
    std::string_view kind,
    std::size_t n
) {
    if (n == 0) {
        return;
    }
    impl_->values_repaired
        .Add({{"source", S(source)}, {"resource", S(resource)}, {"kind", S(kind)}})
        .Increment(static_cast<double>(n));
}

void Metrics::CursorLag(std::string_view source, std::string_view resource, double seconds) {
    impl_->cursor_lag.Add({{"source", S(source)}, {"resource", S(resource)}}).Set(seconds);
}

void Metrics::Running(std::string_view source, std::string_view resource, bool running) {
    impl_->running.Add({{"source", S(source)}, {"resource", S(resource)}}).Set(running ? 1 : 0);
}

void Metrics::Latched(std::string_view source, bool latched) {
    impl_->latched.Add({{"source", S(source)}}).Set(latched ? 1 : 0);
}

void Metrics::EgressChange(std::string_view source) {
    impl_->egress_changes.Add({{"source", S(source)}}).Increment();
}

void Metrics::StatusValue(std::string_view source, std::string_view resource, double value) {
    impl_->status_value.Add({{"source", S(source)}, {"resource", S(resource)}}).Set(value);
}

void Metrics::WebhookEvent(
    std::string_view source,
    std::string_view event,
    std::string_view outcome,
    std::size_t bytes,
    double ack_seconds
) {
    impl_->webhook_events.Add({{"source", S(source)}, {"event", S(event)}, {"outcome", S(outcome)}}
    ).Increment();
    impl_->webhook_bytes.Add({{"source", S(source)}}).Increment(static_cast<double>(bytes));
    impl_->webhook_ack.Add({{"source", S(source)}}, kAckBuckets).Observe(ack_seconds);
}

void Metrics::WebhookRejected(std::string_view source, std::string_view reason) {
    impl_->webhook_rejected.Add({{"source", S(source)}, {"reason", S(reason)}}).Increment();
}

void Metrics::ConnectionRejected(std::string_view listener, std::string_view reason) {
    impl_->connections_rejected.Add({{"listener", S(listener)}, {"reason", S(reason)}}).Increment();
}

void Metrics::WebhookBatch(std::size_t events) {
    impl_->webhook_batch.Add({}, kBatchBuckets).Observe(static_cast<double>(events));
}

void Metrics::ConfigReload(bool applied) {
    impl_->config_reloads.Add({{"outcome", applied ? "applied" : "refused"}}).Increment();
}

void Metrics::DatabaseUp(bool up) {
    impl_->database_up.Add({}).Set(up ? 1 : 0);
}

void Metrics::Replica(std::string_view name, std::uint32_t live) {
    impl_->replica_info.Add({{"replica", std::string(name)}}).Set(1);
    impl_->replicas_live.Add({}).Set(live);
}

std::string Metrics::Render() const {
    {
        // Root-task failures are counted for the process (core/root_task.hpp): the counter of
        // each task catches up with that count here.
        const std::lock_guard lock(impl_->task_failures_mutex);
        for (const auto& [task, failures] : RootTaskFailures()) {
            auto& counter = impl_->task_failures.Add({{"task", task}});
            if (const double behind = static_cast<double>(failures) - counter.Value(); behind > 0) {
                counter.Increment(behind);
            }
        }
    }
    const prometheus::TextSerializer serializer;
    return serializer.Serialize(impl_->registry->Collect());
}

}  // namespace chatsync::metrics
