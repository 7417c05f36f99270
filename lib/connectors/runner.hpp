#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "connectors/pagination.hpp"
#include "connectors/spec.hpp"
#include "core/asio.hpp"
#include "core/redactor.hpp"
#include "core/table.hpp"
#include "http/budget.hpp"
#include "http/client.hpp"
#include "http/retry.hpp"

namespace chatsync::sink {
class Sink;
}  // namespace chatsync::sink

namespace chatsync::metrics {
class Metrics;
}  // namespace chatsync::metrics

namespace chatsync::connectors {

/// Everything a SourceRunner needs to know about its source, resolved from the config.
struct SourceSettings {
    std::string name;
    ConnectorSpec spec;
    /// `{{ config.* }}` values.
    boost::json::object values;
    http::Client::Options http;
    http::RateBudget::Options budget;
    http::BackoffPolicy backoff;
    /// A Retry-After longer than this fails the run instead of waiting.
    Millis max_retry_after = std::chrono::minutes(15);
    /// Consecutive rate-limited answers tolerated for one request before the run fails.
    std::uint32_t max_rate_limited_waits = 20;
    /// Rows per database transaction at most; larger pages are written in several.
    std::uint32_t max_batch_rows = 5000;
    /// Response bytes a resource run holds at once: what is being written and the pages read
    /// ahead meanwhile (at most half of it, and 1 MiB). After a page larger than half of it,
    /// the next is read only once that page is written.
    std::size_t max_in_flight_bytes = std::size_t{16} << 20U;
    /// The host-local label of where requests leave from, for the egress guard: the pinned
    /// address, or "unpinned" when the config vouches for one stable egress address.
    std::string egress = "unpinned";
    /// After rejected credentials (or an error rule with action hold) the source sends
    /// nothing for this long; a config reload, which makes a new runner, ends it sooner.
    Millis hold = std::chrono::minutes(15);
};

/// What one run of a resource did.
struct RunReport {
    std::string source;
    std::string resource;
    /// "success", "failed", "cancelled", "latched", "skipped" (another process runs it),
    /// "held" (the source is held after an earlier refusal; nothing was sent).
    std::string outcome;
    std::string error;
    /// ErrorKind() of the failure, for metrics ("bad_payload", "auth_failed"...).
    std::string error_kind;
    std::int64_t pages = 0;
    std::int64_t requests = 0;
    std::int64_t rows_written = 0;
    std::int64_t rows_unchanged = 0;
    std::int64_t rows_deleted = 0;
    /// The committed cursor after the run (canonical form), if the resource has one.
    std::string cursor;
    bool resumed = false;
    double seconds = 0;
};

/// Walks the resources of one source: builds each request from the spec, sends it through
/// the source's rate budget with retries and error rules, selects and flattens the records,
/// and commits every page with its checkpoint through the sink. Child resources run inside
/// their parent's run, for the parent rows each page inserted or changed.
///
/// @par Thread Safety
/// Use from one executor. Different resources of a source may run concurrently; the same
/// resource must not (the scheduler guarantees it).
///
/// @par Stopping
/// RequestStop() makes runs end after the page in progress commits, and wakes their waits.
class SourceRunner final {
public:
    SourceRunner(
        Executor executor,
        SourceSettings settings,
        sink::Sink& sink,
        metrics::Metrics& metrics,
        const Redactor& redactor
    );
    ~SourceRunner();

    SourceRunner(const SourceRunner&) = delete;
    SourceRunner& operator=(const SourceRunner&) = delete;

    /// Runs a top-level resource to completion (or failure). Never throws for expected
    /// failures; they are in the report.
    Task<RunReport> Run(std::string resource);

    void RequestStop();

    const SourceSettings& settings() const noexcept { return settings_; }

private:
    struct RunContext;
    struct Fetched;

    /// Sends one page's request with the budget, retries, re-login and error rules.
    Task<Result<Fetched>> Fetch(
        RunContext& run,
        const ResourceSpec& resource,
        boost::json::object context,
        PagePosition position
    );
    /// Signs in when the auth is a login and there is no valid token. One sign-in at a time:
    /// concurrent callers wait for the one in flight. `rejected_token` is the token a 401
    /// answered; a sign-in happens only if it is still the current one.
    Task<Result<void>> EnsureLogin(RunContext& run, const std::string* rejected_token);
    /// Sends the login request and keeps the token it returns.
    Task<Result<void>> SignIn(RunContext& run);
    /// Whether the source is held (by another resource's refusal); says why in run.error.
    bool HeldMeanwhile(RunContext& run);
    /// Stops every resource of the source for settings_.hold, and says so in run.error.
    void HoldSource(RunContext& run);
    /// Writes records to the resource's table with the checkpoint, in transactions of at most
    /// max_batch_rows rows: the last stores `checkpoint`, earlier ones `resume_checkpoint`.
    /// Returns the indices of the records that were inserted or changed. `prepared`, when
    /// given, is the records already flattened (Preflatten).
    Task<Result<std::vector<std::size_t>>> CommitRecords(
        RunContext& run,
        const ResourceSpec& resource,
        const boost::json::array& records,
        const boost::json::value* parent,
        std::string resume_checkpoint,
        std::string checkpoint,
        std::optional<RowBatch> prepared = std::nullopt
    );
    /// The first page read ahead, taken out of `ahead`, or else the page at `position`.
    Task<Result<Fetched>> FetchUnlessAhead(
        std::deque<Result<Fetched>>& ahead,
        RunContext& run,
        const ResourceSpec& resource,
        boost::json::object context,
        PagePosition position
    );

    /// What WriteWhileReading reads: pages from `from`, one, or while they fit in
    /// `gather_bytes` of response and max_batch_rows rows.
    struct ReadAhead {
        PagePosition from;
        std::function<boost::json::object(const PagePosition&)> context;
        std::size_t gather_bytes = 0;
    };

    /// Awaits `write` (a page's or gathered pages' commit) while the pages after it are
    /// fetched and flattened into `ahead`. The run's error, when both fail, is the write's.
    Task<Result<std::vector<std::size_t>>> WriteWhileReading(
        RunContext& run,
        const ResourceSpec& resource,
        Task<Result<std::vector<std::size_t>>> write,
        ReadAhead read,
        std::deque<Result<Fetched>>& ahead
    );
    /// Writes flattened rows and the checkpoint in one transaction. With
    /// `want_changed_rows`, returns the indices of the rows inserted or changed.
    Task<Result<std::vector<std::size_t>>> CommitRows(
        RunContext& run,
        const ResourceSpec& resource,
        RowBatch rows,
        std::string checkpoint,
        bool want_changed_rows = false
    );
    /// Before a run fails on a page: writes the rows gathered from the pages before it, so
    /// that the failure costs only what comes after. Keeps run.error.
    Task<void> FlushGathered(
        RunContext& run,
        const ResourceSpec& resource,
        RowBatch& gathered,
        const std::string& checkpoint
    );
    /// Flattens a page's records into Fetched::rows ahead of their write, when they will be
    /// written as they are in one transaction.
    void Preflatten(Fetched& fetched, const ResourceSpec& resource) const;
    Task<Result<void>>
    RunChildren(RunContext& run, const boost::json::array& parents, boost::json::object checkpoint);
    Task<bool> Sleep(Millis duration);
    /// Sets chatsync_status_value from the record a scalar resource read.
    void ExportScalar(const ResourceSpec& resource, const boost::json::array& records);
    /// For changes_only resources: drops the record when it equals the last change written,
    /// else stamps it with `changed_at` and notes it in the checkpoint.
    void KeepOnlyAChange(
        RunContext& run,
        boost::json::object& checkpoint,
        std::chrono::system_clock::time_point run_started_at,
        boost::json::array& records
    );
    /// Ends a run: the run log, the state (cursor promoted on success) and the metrics.
    Task<RunReport> Finish(RunContext& run, std::string outcome);
    /// Ends a run that never started in the run log (database or latch refused it).
    RunReport Abort(RunContext& run);

    Executor executor_;
    SourceSettings settings_;
    sink::Sink& sink_;
    metrics::Metrics& metrics_;
    const Redactor& redactor_;
    http::Client client_;
    http::RateBudget budget_;
    std::mt19937_64 rng_;
    std::string login_token_;
    std::chrono::steady_clock::time_point login_at_{};
    /// Set while a sign-in request is in flight; waiters sleep on it until it is cancelled.
    net::steady_timer* login_in_flight_ = nullptr;

    /// Why and until when the source is held (see SourceSettings::hold).
    struct Hold {
        std::string reason;
        std::string resource;
        std::chrono::steady_clock::time_point until;
    };

    std::optional<Hold> hold_;
    bool stopping_ = false;
    /// Timers of waits in progress, so that RequestStop() can wake them. Declared last: the
    /// waits that register here must not outlive the members above.
    std::list<net::steady_timer*> sleeping_;
};

}  // namespace chatsync::connectors
