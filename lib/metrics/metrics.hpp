#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/run_outcome.hpp"

/// @file
/// Every Prometheus family chatsync exports, defined once. Services receive a reference to
/// Metrics and call its methods; prometheus-cpp stays inside metrics.cpp.

namespace chatsync::metrics {

/// The metric families and their label sets. Labels are bounded: source and resource names
/// come from the config, codes and reasons from fixed vocabularies; never URLs or ids.
///
/// @par Thread Safety
/// All methods may be called from any thread.
class Metrics final {
public:
    Metrics();
    ~Metrics();

    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    /// chatsync_http_requests_total{source,resource,code} and
    /// chatsync_http_request_duration_seconds{source}. `code` is the status ("200") or an
    /// error kind ("timeout", "connection_reset").
    void HttpRequest(
        std::string_view source,
        std::string_view resource,
        std::string_view code,
        double seconds
    );

    /// chatsync_http_retries_total{source,reason}.
    void Retry(std::string_view source, std::string_view reason);

    /// chatsync_wait_seconds_total{source,reason} and chatsync_waits_total{source,reason}:
    /// reason is retry_after, backoff, budget, concurrency.
    void Wait(std::string_view source, std::string_view reason, double seconds);

    /// chatsync_rows_written_total, chatsync_rows_unchanged_total, chatsync_rows_deleted_total,
    /// chatsync_pages_total {source,resource}.
    void Page(
        std::string_view source,
        std::string_view resource,
        std::int64_t written,
        std::int64_t unchanged
    );
    void RowsDeleted(std::string_view source, std::string_view resource, std::int64_t n);
    /// chatsync_listing_shifts_total{source,resource,action}.
    void ListingShift(std::string_view source, std::string_view resource, std::string_view action);

    /// chatsync_runs_total{source,resource,outcome}, chatsync_run_duration_seconds{source,resource}
    /// and, on success, chatsync_last_success_timestamp_seconds{source,resource}.
    void Run(
        std::string_view source,
        std::string_view resource,
        RunOutcome outcome,
        double seconds,
        double now_unix
    );

    /// chatsync_errors_total{source,resource,kind}: every handled failure.
    void Error(std::string_view source, std::string_view resource, std::string_view kind);

    /// chatsync_values_repaired_total{source,resource,kind}: `n` values of a parsed page or
    /// webhook body stored in another form than received, so that nothing is lost or refused:
    /// kind nul (a NUL, stored as U+FFFD), surrogate (a lone UTF-16 surrogate, stored as
    /// U+FFFD), big_integer (an integer beyond 64 bits, kept exactly as numeric) or deep (a
    /// document nested deeper than 32 levels, accepted). For webhooks `resource` is the
    /// channel (webhook, chat_api). Nothing is counted for n == 0.
    void ValueRepaired(
        std::string_view source,
        std::string_view resource,
        std::string_view kind,
        std::size_t n
    );

    /// chatsync_cursor_lag_seconds{source,resource}: now minus the committed cursor time.
    void CursorLag(std::string_view source, std::string_view resource, double seconds);

    /// chatsync_resource_running{source,resource}: 1 while a run is in progress.
    void Running(std::string_view source, std::string_view resource, bool running);

    /// chatsync_source_latched{source}: 1 while a latch stops the source.
    void Latched(std::string_view source, bool latched);

    /// chatsync_egress_changes_total{source}: a run of a guarded source sent from another
    /// address than the previous run.
    void EgressChange(std::string_view source);

    /// chatsync_status_value{source,resource}: the number a scalar resource last read
    /// (JivoChat's channel status: 1 available, 0 not).
    void StatusValue(std::string_view source, std::string_view resource, double value);

    /// chatsync_webhook_events_total{source,event,outcome}, chatsync_webhook_bytes_total{source}
    /// and chatsync_webhook_ack_seconds{source}, for one received body. `event` is a
    /// documented event name or "other" (the strategy bounds it); `outcome` is stored,
    /// unmapped (stored without rows: an unknown event), malformed (stored raw), duplicate,
    /// derive_failed (stored, its rows refused) or failed (not stored: answered 503).
    void WebhookEvent(
        std::string_view source,
        std::string_view event,
        std::string_view outcome,
        std::size_t bytes,
        double ack_seconds
    );

    /// chatsync_webhook_requests_rejected_total{source,reason}: not_found (wrong path or
    /// token), method, too_large, bad_request, timeout (a request too slow: 408), busy (bodies
    /// in flight at their budget: 503), unavailable (the database did not take it).
    /// `source` is "" when the path names no configured source.
    void WebhookRejected(std::string_view source, std::string_view reason);

    /// chatsync_listener_connections_rejected_total{listener,reason}: `listener` is webhook or
    /// admin; `reason` is listener_full (the new connection closed at once), client_full (the
    /// same for one client address's share), idle_closed (an idle connection closed to make
    /// room) or accept_failed (accept() failed, e.g. out of file descriptors).
    void ConnectionRejected(std::string_view listener, std::string_view reason);

    /// chatsync_webhook_batch_events: events committed together in one transaction.
    void WebhookBatch(std::size_t events);

    /// chatsync_config_reloads_total{outcome}: SIGHUP reloads, "applied" or "refused".
    void ConfigReload(bool applied);

    /// chatsync_database_up: 1 when the last database check succeeded.
    void DatabaseUp(bool up);

    /// chatsync_replica_info{replica} (1) and chatsync_replicas_live: this daemon's replica
    /// name and how many replicas share the database. `name` is one per process (from the
    /// config), so the label stays bounded.
    void Replica(std::string_view name, std::uint32_t live);

    /// The registry in Prometheus text exposition format 0.0.4, with
    /// chatsync_task_failures_total{task} brought up to RootTaskFailures() (core/root_task.hpp):
    /// root coroutines of the process that ended with an exception.
    std::string Render() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatsync::metrics
