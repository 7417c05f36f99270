#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>

#include "connectors/pagination.hpp"
#include "connectors/spec.hpp"
#include "core/asio.hpp"
#include "core/redactor.hpp"
#include "core/sleep_group.hpp"
#include "core/table.hpp"
#include "http/budget.hpp"
#include "http/client.hpp"
#include "http/retry.hpp"

/// @file
/// Sending one page's request: the source's rate budget, retries and backoff, Retry-After,
/// sign-in and re-login, holds, latches and the error rules.

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

/// What a run tells the fetcher, and learns from it.
struct FetchNotes {
    /// The run's top-level resource, named when a refusal holds the source.
    std::string resource_name;
    /// The failure's explanation, for the log and the run log (redacted when reported).
    std::string error;
    /// Requests sent, sign-ins included.
    std::int64_t requests = 0;
};

/// One page as received.
struct FetchedPage {
    /// Holds every value of `body` and never frees them one by one: parsing a page is a few
    /// large allocations, and dropping it is free. Declared first, so that it is destroyed
    /// last. Values moved out of the body still live here and must not outlive it; assigning
    /// one to a value elsewhere copies it into that value's storage. A page is only ever
    /// move-constructed, never assigned, since assigning `body` would copy it out of the arena.
    std::unique_ptr<boost::json::monotonic_resource> arena;
    http::Response response;
    boost::json::value body;
    std::string url;
    /// An error rule said to treat the answer as an empty page.
    bool ignored = false;
    /// The size of the response body as received.
    std::size_t bytes = 0;
    /// The page's records, flattened while the page before was written.
    std::optional<RowBatch> rows;
};

/// Sends the requests of one source.
///
/// @par Thread Safety
/// Use from one executor; concurrent fetches of one source share its budget and sign-in.
class Fetcher final {
public:
    /// Why and until when the source is held (see SourceSettings::hold).
    struct Hold {
        /// The refusal's message, redacted.
        std::string reason;
        /// The resource whose request was refused.
        std::string resource;
        std::chrono::steady_clock::time_point until;
    };

    Fetcher(
        const Executor& executor,
        const SourceSettings& settings,
        sink::Sink& sink,
        metrics::Metrics& metrics,
        const Redactor& redactor
    );

    /// Sends one page's request with the budget, retries, re-login and error rules. `notes`
    /// and `resource` are not null and outlive the call: the caller awaits it.
    Task<Result<FetchedPage>> Fetch(
        FetchNotes* notes,
        const ResourceSpec* resource,
        boost::json::object context,
        PagePosition position
    );

    /// Keeps the source's budget to a `replicas`-th share (http::RateBudget::Share()).
    void ShareBudget(std::uint32_t replicas) { budget_.Share(replicas); }

    /// Whether the source is held (by another resource's refusal); says why in notes.error.
    bool HeldMeanwhile(FetchNotes& notes);

    /// The hold in force now, if any.
    std::optional<Hold> CurrentHold() const;

    /// Whether an answer latched the source since this fetcher was made; says why in
    /// notes.error. Once latched, no request of the source leaves: the HTTP client's send
    /// gate refuses even those already past the budget and waiting for a connection.
    bool LatchedMeanwhile(FetchNotes& notes);

    /// How many latches this fetcher has stored: read before asking the database whether the
    /// source is latched, and handed to LatchClearedInDatabase().
    std::uint64_t LatchesStored() const noexcept { return latches_stored_; }

    /// Told that the database held no latch for the source when read after `stored_before`
    /// (LatchesStored() at the time): a latch this fetcher stored before that read was cleared
    /// by an operator, and requests may leave again. One stored later, or one that could not
    /// be stored, stays (until the process ends, for the latter: nothing else remembers it).
    void LatchClearedInDatabase(std::uint64_t stored_before);

    /// Waits, unless stopped first; false when stopped.
    Task<bool> Sleep(Millis duration);

    /// Ends waits and requests in progress; later fetches fail as cancelled.
    void RequestStop();

    bool stopping() const noexcept { return stopping_; }

private:
    /// Signs in when the auth is a login and there is no valid token. One sign-in at a time:
    /// concurrent callers wait for the one in flight. `rejected_token` is the token a 401
    /// answered; a sign-in happens only if it is still the current one. `notes` (not null)
    /// is the caller's, which awaits the result.
    Task<Result<void>> EnsureLogin(FetchNotes* notes, const std::string* rejected_token);
    /// Sends the login request and keeps the token it returns. `notes` is not null.
    Task<Result<void>> SignIn(FetchNotes* notes);
    /// Stops every resource of the source for settings_.hold, and says so in notes.error.
    void HoldSource(FetchNotes& notes);

    Executor executor_;
    const SourceSettings& settings_;
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

    std::optional<Hold> hold_;
    /// Why the source is latched (redacted), set in the same step that reads the latching
    /// answer: no other coroutine runs between that answer and this flag.
    std::optional<std::string> latched_;
    /// Whether the latch reached the database, and how many latches have.
    bool latch_stored_ = false;
    std::uint64_t latches_stored_ = 0;
    bool stopping_ = false;
    /// Waits in progress, so that RequestStop() can end them. Declared last: the waits that
    /// register here must not outlive the members above.
    SleepGroup sleeping_;
};

}  // namespace chatsync::connectors
