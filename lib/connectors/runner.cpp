#include "connectors/runner.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <span>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "connectors/cursor.hpp"
#include "connectors/error_rules.hpp"
#include "connectors/pagination.hpp"
#include "connectors/partition.hpp"
#include "connectors/request_builder.hpp"
#include "connectors/template.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "http/url.hpp"
#include "metrics/metrics.hpp"
#include "normalize/flatten.hpp"
#include "sink/sink.hpp"

namespace chatsync::connectors {
namespace {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;

/// How much response a gathered transaction holds at most (less when max_in_flight_bytes is
/// smaller): about a thousand typical records. Past that a transaction's fixed cost is small
/// next to its rows, and more would only hold more memory.
constexpr std::size_t kGatherBytes = std::size_t{1} << 20U;

double SecondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double Seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

/// Appends the records of a page to a batch, with the parent's fields; checks the key.
Result<void> AppendRecords(
    RowBatch& batch,
    std::span<const json::value> records,
    const ResourceSpec& resource,
    const json::value* parent,
    std::string& error
) {
    const normalize::FlattenOptions options{.max_nesting = resource.max_nesting};
    std::size_t index = 0;
    for (const auto& item : records) {
        const auto* record = item.if_object();
        if (record == nullptr) {
            error = "record " + std::to_string(index) + " is not a JSON object";
            return Errc::kUpstreamBadPayload;
        }
        normalize::AppendRecord(batch, *record, options);
        if (parent != nullptr && resource.parent) {
            for (const auto& [column, path] : resource.parent->fields) {
                const auto* v = FindPath(*parent, path);
                if (v != nullptr && !v->is_null()) {
                    batch.Set(batch.Column(column, column), normalize::ToValue(*v));
                }
            }
        }
        for (const auto& key : resource.primary_key) {
            const auto col = batch.FindColumn(key);
            const auto& row = batch.rows().back();
            if (!col || *col >= row.size() || !row[*col]) {
                error = "record " + std::to_string(index) +
                        " has no value for primary key field '" + key + "'";
                return Errc::kUpstreamBadPayload;
            }
        }
        ++index;
    }
    return {};
}

/// Where a page's records are: the value at the records path (or at a fallback path); nullptr
/// when an optional path is absent. The body keeps them until TakeRecords.
Result<json::value*>
FindRecords(json::value& body, const ResourceSpec& resource, std::string& error) {
    const auto* v = FindPath(body, resource.records_path);
    for (const auto& path : resource.more_records_paths) {
        if (v != nullptr) {
            break;
        }
        v = FindPath(body, path);
    }
    if (v == nullptr) {
        if (resource.records_optional) {
            return nullptr;
        }
        error = "records path '" + resource.records_path + "' not found in the response";
        return Errc::kUpstreamBadPayload;
    }
    if (!v->is_array() && !v->is_object() && !v->is_null() && resource.scalar_field.empty()) {
        error = "records path '" + resource.records_path + "' holds neither an array nor an object";
        return Errc::kUpstreamBadPayload;
    }
    // FindPath only reads; the body is the caller's to change.
    return const_cast<json::value*>(v);
}

/// How many records TakeRecords makes of what FindRecords found.
std::size_t RecordCount(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return 0;
    }
    return v->is_array() ? v->get_array().size() : 1;
}

/// Moves the records out of the body (no copy: they share the page's memory): an array as it
/// is, one object as a one-record page, a scalar as the record {scalar_field: value}.
json::array TakeRecords(json::value* v, const ResourceSpec& resource) {
    if (v == nullptr || v->is_null()) {
        return json::array(v == nullptr ? json::storage_ptr() : v->storage());
    }
    if (auto* arr = v->if_array()) {
        return std::move(*arr);
    }
    json::array out(v->storage());
    if (v->is_object()) {
        out.push_back(std::move(*v));
    } else {
        json::object record(v->storage());
        record[resource.scalar_field] = std::move(*v);
        out.push_back(std::move(record));
    }
    return out;
}

std::vector<const ResourceSpec*> ChildrenOf(const ConnectorSpec& spec, const std::string& parent) {
    std::vector<const ResourceSpec*> out;
    for (const auto& r : spec.resources) {
        if (r.enabled && r.parent && r.parent->resource == parent) {
            out.push_back(&r);
        }
    }
    return out;
}

/// The run outcome a failed fetch ends in.
std::string OutcomeOf(boost::system::error_code ec) {
    if (ec == Errc::kCancelled) {
        return "cancelled";
    }
    if (ec == Errc::kUpstreamLatched) {
        return "latched";
    }
    if (ec == Errc::kSourceHeld) {
        return "held";
    }
    return "failed";
}

std::optional<std::string> StringAt(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->get_string());
    }
    return std::nullopt;
}

}  // namespace

struct SourceRunner::RunContext {
    const ResourceSpec* resource = nullptr;
    std::string run_id;
    /// The failure's explanation, for the log and the run log (redacted when reported).
    std::string error;
    RunReport report;
    Clock::time_point started = Clock::now();
    /// The cursor committed before this run.
    std::optional<std::string> committed_cursor;
    /// The largest cursor value seen by this run (and the runs it resumed).
    std::optional<CursorValue> run_cursor;
    /// Identifies one complete listing for soft deletes; kept across resumed runs.
    std::string pass_id;
    /// For changes_only resources: the record this run read, serialized, to be committed
    /// as the resource's cursor.
    std::optional<std::string> last_record;

    void Fail(boost::system::error_code ec, std::string outcome) {
        report.outcome = std::move(outcome);
        report.error_kind = ErrorKind(ec);
        if (error.empty()) {
            error = ec.message();
        }
    }
};

struct SourceRunner::Fetched {
    /// Holds every value of `body` and never frees them one by one: parsing a page is a few
    /// large allocations, and dropping it is free. Declared first, so that it is destroyed
    /// last. Values moved out of the body still live here and must not outlive it; assigning
    /// one to a value elsewhere copies it into that value's storage. A Fetched is only ever
    /// move-constructed, never assigned, since assigning `body` would copy it out of the arena.
    std::unique_ptr<json::monotonic_resource> arena;
    http::Response response;
    json::value body;
    std::string url;
    bool ignored = false;
    /// The size of the response body as received.
    std::size_t bytes = 0;
    /// The page's records, flattened while the page before was written (see Preflatten).
    std::optional<RowBatch> rows;
};

SourceRunner::SourceRunner(
    Executor executor,
    SourceSettings settings,
    sink::Sink& sink,
    metrics::Metrics& metrics,
    const Redactor& redactor
)
    : executor_(executor)
    , settings_(std::move(settings))
    , sink_(sink)
    , metrics_(metrics)
    , redactor_(redactor)
    , client_(executor, settings_.http)
    , budget_(executor, settings_.budget)
    , rng_(std::random_device{}()) {
    // start_param and end_param are shorthands for query templates.
    for (auto& resource : settings_.spec.resources) {
        if (!resource.incremental) {
            continue;
        }
        if (!resource.incremental->start_param.empty()) {
            resource.request.query.emplace_back(
                resource.incremental->start_param, "{{ cursor.start }}"
            );
        }
        if (!resource.incremental->end_param.empty()) {
            resource.request.query.emplace_back(
                resource.incremental->end_param, "{{ cursor.end }}"
            );
        }
    }
}

SourceRunner::~SourceRunner() = default;

void SourceRunner::RequestStop() {
    stopping_ = true;
    for (auto* timer : sleeping_) {
        timer->cancel();
    }
    client_.Stop();
}

Task<bool> SourceRunner::Sleep(Millis duration) {
    if (stopping_) {
        co_return false;
    }
    net::steady_timer timer(executor_, duration);
    sleeping_.push_back(&timer);
    const auto it = std::prev(sleeping_.end());
    auto [ec] = co_await timer.async_wait(kAsTuple);
    sleeping_.erase(it);
    co_return !ec && !stopping_;
}

Task<Result<void>> SourceRunner::EnsureLogin(RunContext& run, const std::string* rejected_token) {
    const auto& auth = settings_.spec.auth;
    if (auth.kind != AuthKind::kLogin) {
        co_return Result<void>{};
    }
    // One sign-in at a time: a burst of 401s, or resources starting together, must not send
    // a burst of sign-ins (with a wrong password, each one would be refused and counted).
    while (login_in_flight_ != nullptr) {
        // Woken by cancellation when the sign-in ends; the error code says nothing more.
        co_await login_in_flight_->async_wait(kAsTuple);
        if (stopping_) {
            co_return Errc::kCancelled;
        }
    }
    if (HeldMeanwhile(run)) {
        co_return Errc::kSourceHeld;
    }
    const bool expired = auth.token_ttl.count() > 0 && Clock::now() - login_at_ > auth.token_ttl;
    const bool rejected = rejected_token != nullptr && *rejected_token == login_token_;
    if (!login_token_.empty() && !expired && !rejected) {
        co_return Result<void>{};
    }
    net::steady_timer in_flight(executor_, Clock::time_point::max());
    login_in_flight_ = &in_flight;

    struct Release {
        net::steady_timer*& slot;

        ~Release() {
            slot->cancel();
            slot = nullptr;
        }
    } release{login_in_flight_};

    co_return co_await SignIn(run);
}

Task<Result<void>> SourceRunner::SignIn(RunContext& run) {
    const auto& auth = settings_.spec.auth;
    login_token_.clear();
    json::object ctx;
    ctx["config"] = settings_.values;
    // The login request carries no auth of its own.
    ConnectorSpec bare = settings_.spec;
    bare.auth = AuthSpec{};
    bare.resources.clear();
    std::vector<const ErrorRule*> rules;
    for (const auto& r : settings_.spec.error_rules) {
        rules.push_back(&r);
    }
    const auto& source = settings_.name;
    std::uint32_t failures = 0;
    while (true) {
        auto request = BuildRequest(bare, auth.login, PaginationSpec{}, PagePosition{}, ctx);
        http::RateBudget::Wait wait;
        auto permit = co_await budget_.Acquire(wait);
        if (!permit) {
            co_return permit.error();
        }
        const auto started = Clock::now();
        auto response = co_await client_.Send(std::move(request));
        permit = http::RateBudget::Permit{};
        ++run.report.requests;
        // A transport failure, a 5xx or a 429 may pass; anything else is the answer.
        std::string transient;
        std::optional<Millis> retry_after;
        if (!response) {
            metrics_.HttpRequest(
                source, "_login", ErrorKind(response.error()), SecondsSince(started)
            );
            if (response.error() != Condition::kRetryable) {
                run.error = "login request failed: " + response.error().message();
                co_return response.error();
            }
            transient = response.error().message();
        } else {
            metrics_.HttpRequest(
                source, "_login", std::to_string(response->status), SecondsSince(started)
            );
            const unsigned status = response->status;
            if (status == 429 || status == 408 || status >= 500) {
                transient = "HTTP " + std::to_string(status);
                if (const auto h = response->Header("Retry-After")) {
                    retry_after = http::ParseRetryAfter(*h, std::chrono::system_clock::now());
                }
            }
        }
        if (!transient.empty()) {
            if (++failures >= settings_.backoff.max_attempts) {
                run.error =
                    "login failed after " + std::to_string(failures) + " attempts: " + transient;
                co_return Errc::kRetriesExhausted;
            }
            Millis delay = http::BackoffDelay(settings_.backoff, failures - 1, rng_);
            if (retry_after && *retry_after <= settings_.max_retry_after) {
                delay = std::max(delay, *retry_after);
            }
            metrics_.Retry(source, "login");
            metrics_.Wait(source, "backoff", Seconds(delay));
            spdlog::warn(
                "login failed, retrying source={} error=\"{}\" attempt={} wait_ms={}",
                source,
                transient,
                failures,
                delay.count()
            );
            if (!co_await Sleep(delay)) {
                co_return Errc::kCancelled;
            }
            continue;
        }
        boost::system::error_code ec;
        const auto body = json::parse(response->body, ec);
        if (response->status < 200 || response->status >= 300) {
            // The source's error rules word the refusal ("Wrong password."). Any other 4xx
            // says the credentials or the account are wrong: the same ones cannot do better.
            const auto verdict = Classify(rules, *response, ec ? nullptr : &body);
            run.error = "login rejected the credentials: " + verdict.message;
            co_return Errc::kUpstreamAuth;
        }
        const auto* token = ec ? nullptr : FindPath(body, auth.token_path);
        if (token == nullptr || !token->is_string() || token->get_string().empty()) {
            run.error = "login response has no token at '" + auth.token_path + "'";
            co_return Errc::kUpstreamBadPayload;
        }
        login_token_ = std::string(token->get_string());
        login_at_ = Clock::now();
        co_return Result<void>{};
    }
}

bool SourceRunner::HeldMeanwhile(RunContext& run) {
    if (!hold_ || Clock::now() >= hold_->until) {
        return false;
    }
    run.error = "source held after resource " + hold_->resource + " was refused: " + hold_->reason;
    return true;
}

void SourceRunner::HoldSource(RunContext& run) {
    hold_ = Hold{redactor_.Redact(run.error), run.resource->name, Clock::now() + settings_.hold};
    run.error += "; holding every resource of the source for " + FormatDuration(settings_.hold) +
                 " or until the config is reloaded";
}

Task<Result<SourceRunner::Fetched>> SourceRunner::Fetch(
    RunContext& run,
    const ResourceSpec& resource,
    json::object context,
    PagePosition position
) {
    std::vector<const ErrorRule*> rules;
    for (const auto& r : resource.error_rules) {
        rules.push_back(&r);
    }
    for (const auto& r : settings_.spec.error_rules) {
        rules.push_back(&r);
    }
    const auto& source = settings_.name;
    std::uint32_t failures = 0;
    std::uint32_t rate_limited = 0;
    bool relogged = false;
    while (true) {
        if (stopping_) {
            co_return Errc::kCancelled;
        }
        if (HeldMeanwhile(run)) {
            co_return Errc::kSourceHeld;
        }
        if (auto login = co_await EnsureLogin(run, nullptr); !login) {
            if (login.error() == Errc::kUpstreamAuth) {
                HoldSource(run);
            }
            co_return login.error();
        }
        const std::string used_token = login_token_;
        auto& auth_ctx = context["auth"].emplace_object();
        if (!login_token_.empty()) {
            auth_ctx["token"] = login_token_;
        }
        if (settings_.spec.auth.kind == AuthKind::kApiKey) {
            auth_ctx["key"] = Render(settings_.spec.auth.key_value, context);
        }
        auto request =
            BuildRequest(settings_.spec, resource.request, resource.pagination, position, context);
        const auto url = request.url;

        http::RateBudget::Wait wait;
        auto permit = co_await budget_.Acquire(wait);
        if (!permit) {
            co_return permit.error();
        }
        if (wait.paused.count() > 0) {
            metrics_.Wait(source, "retry_after", Seconds(wait.paused));
        }
        if (wait.throttled.count() > 0) {
            metrics_.Wait(source, "budget", Seconds(wait.throttled));
        }
        if (wait.queued.count() > 0) {
            metrics_.Wait(source, "concurrency", Seconds(wait.queued));
        }
        const auto started = Clock::now();
        auto response = co_await client_.Send(std::move(request));
        permit = http::RateBudget::Permit{};
        ++run.report.requests;
        if (!response) {
            const auto ec = response.error();
            metrics_.HttpRequest(source, resource.name, ErrorKind(ec), SecondsSince(started));
            if (ec == Condition::kRetryable && ++failures < settings_.backoff.max_attempts) {
                const auto delay = http::BackoffDelay(settings_.backoff, failures - 1, rng_);
                metrics_.Retry(source, ErrorKind(ec));
                metrics_.Wait(source, "backoff", Seconds(delay));
                spdlog::warn(
                    "request failed, retrying source={} resource={} url={} error=\"{}\" attempt={} "
                    "wait_ms={}",
                    source,
                    resource.name,
                    http::RedactUrl(url),
                    ec.message(),
                    failures,
                    delay.count()
                );
                if (!co_await Sleep(delay)) {
                    co_return Errc::kCancelled;
                }
                continue;
            }
            run.error = "request to " + http::RedactUrl(url) + " failed: " + ec.message();
            co_return ec == Condition::kRetryable ? Errc::kRetriesExhausted : ec;
        }
        metrics_.HttpRequest(
            source, resource.name, std::to_string(response->status), SecondsSince(started)
        );

        // The parse tree takes about twice the text's size: its first block fits most pages.
        auto arena = std::make_unique<json::monotonic_resource>(2 * response->body.size() + 1024);
        boost::system::error_code parse_ec;
        json::value parsed = json::parse(response->body, parse_ec, arena.get());
        Fetched fetched{
            .arena = std::move(arena),
            .response = {},
            .body = std::move(parsed),
            .url = url,
            .ignored = false,
            .bytes = response->body.size(),
            .rows = std::nullopt,
        };
        const json::value* body = parse_ec ? nullptr : &fetched.body;
        const auto verdict = Classify(rules, *response, body);
        switch (verdict.action) {
            case ErrorAction::kSuccess:
                if (body == nullptr) {
                    run.error = "response from " + http::RedactUrl(url) + " is not valid JSON (" +
                                parse_ec.message() + ", " + std::to_string(response->body.size()) +
                                " bytes)";
                    co_return Errc::kUpstreamBadPayload;
                }
                fetched.response = std::move(*response);
                // Parsed: the text is not needed again, and a page can be large.
                std::string().swap(fetched.response.body);
                co_return fetched;
            case ErrorAction::kIgnore:
                fetched.ignored = true;
                fetched.response = std::move(*response);
                co_return fetched;
            case ErrorAction::kRetry:
                if (++failures < settings_.backoff.max_attempts) {
                    const auto delay = http::BackoffDelay(settings_.backoff, failures - 1, rng_);
                    metrics_.Retry(source, "status_" + std::to_string(response->status));
                    metrics_.Wait(source, "backoff", Seconds(delay));
                    spdlog::warn(
                        "upstream error, retrying source={} resource={} status={} attempt={} "
                        "wait_ms={}",
                        source,
                        resource.name,
                        response->status,
                        failures,
                        delay.count()
                    );
                    if (!co_await Sleep(delay)) {
                        co_return Errc::kCancelled;
                    }
                    continue;
                }
                run.error =
                    "giving up after " + std::to_string(failures) + " attempts: " + verdict.message;
                co_return Errc::kRetriesExhausted;
            case ErrorAction::kRateLimited: {
                if (++rate_limited > settings_.max_rate_limited_waits) {
                    run.error =
                        "still rate limited after " + std::to_string(rate_limited - 1) + " waits";
                    co_return Errc::kUpstreamRateLimited;
                }
                std::optional<Millis> delay;
                if (const auto h = response->Header("Retry-After")) {
                    delay = http::ParseRetryAfter(*h, std::chrono::system_clock::now());
                }
                const char* reason = delay ? "retry_after" : "backoff";
                if (!delay) {
                    delay = http::BackoffDelay(settings_.backoff, rate_limited - 1, rng_);
                }
                if (*delay > settings_.max_retry_after) {
                    run.error = "upstream asked to wait " + FormatDuration(*delay) +
                                ", longer than max_retry_after " +
                                FormatDuration(settings_.max_retry_after);
                    co_return Errc::kUpstreamRateLimited;
                }
                // Every request of the source waits, not only this one: the platform's
                // Retry-After speaks of the client, not of one URL.
                budget_.PauseUntil(Clock::now() + *delay);
                metrics_.Retry(source, "rate_limited");
                spdlog::warn(
                    "rate limited, waiting source={} resource={} status={} wait_ms={} reason={}",
                    source,
                    resource.name,
                    response->status,
                    delay->count(),
                    reason
                );
                continue;
            }
            case ErrorAction::kAuthFailed:
                if (settings_.spec.auth.kind == AuthKind::kLogin && !relogged) {
                    relogged = true;
                    metrics_.Retry(source, "auth_refresh");
                    if (auto login = co_await EnsureLogin(run, &used_token); !login) {
                        if (login.error() == Errc::kUpstreamAuth) {
                            HoldSource(run);
                        }
                        co_return login.error();
                    }
                    continue;
                }
                if (HeldMeanwhile(run)) {
                    co_return Errc::kSourceHeld;
                }
                run.error = "credentials rejected: " + verdict.message;
                HoldSource(run);
                co_return Errc::kUpstreamAuth;
            case ErrorAction::kLatch: {
                run.error = "latched: " + verdict.message;
                sink::Latch latch{
                    source,
                    redactor_.Redact(verdict.message),
                    std::chrono::system_clock::now(),
                    "chatsyncd"};
                auto set = co_await sink_.SetLatch(latch);
                if (!set) {
                    spdlog::error(
                        "could not store latch source={} error=\"{}\"",
                        source,
                        set.error().message()
                    );
                }
                metrics_.Latched(source, true);
                co_return Errc::kUpstreamLatched;
            }
            case ErrorAction::kFatal:
                run.error = verdict.message;
                co_return Errc::kUpstreamStatus;
            case ErrorAction::kHold:
                if (HeldMeanwhile(run)) {
                    co_return Errc::kSourceHeld;
                }
                run.error = verdict.message;
                HoldSource(run);
                co_return Errc::kUpstreamStatus;
        }
    }
}

Task<Result<void>>
SourceRunner::RunChildren(RunContext& run, const json::array& parents, json::object checkpoint) {
    const auto children = ChildrenOf(settings_.spec, run.resource->name);
    json::array pending = parents;
    while (!pending.empty()) {
        const auto parent = pending.front();
        pending.erase(pending.begin());
        for (const auto* child : children) {
            auto position = FirstPosition(child->pagination);
            while (true) {
                if (stopping_) {
                    co_return Errc::kCancelled;
                }
                json::object ctx;
                ctx["config"] = settings_.values;
                ctx["parent"] = parent;
                ctx["page"] = PageContext(child->pagination, position);
                auto fetched = co_await Fetch(run, *child, ctx, position);
                if (!fetched) {
                    co_return fetched.error();
                }
                json::value* found = nullptr;
                if (!fetched->ignored) {
                    auto selected = FindRecords(fetched->body, *child, run.error);
                    if (!selected) {
                        co_return selected.error();
                    }
                    found = *selected;
                }
                auto next = NextPosition(
                    child->pagination,
                    position,
                    &fetched->body,
                    fetched->response,
                    RecordCount(found),
                    fetched->url
                );
                json::array records = TakeRecords(found, *child);
                // The parent stays pending until its last child page commits, so a restart
                // fetches its children again (upserts make that harmless).
                json::array still = pending;
                still.insert(still.begin(), parent);
                checkpoint["pending"] = still;
                const auto resume = json::serialize(checkpoint);
                if (!next && child == children.back()) {
                    still.erase(still.begin());
                    checkpoint["pending"] = still;
                }
                auto written = co_await CommitRecords(
                    run, *child, records, &parent, resume, json::serialize(checkpoint)
                );
                if (!written) {
                    co_return written.error();
                }
                if (!next) {
                    break;
                }
                position = *next;
            }
        }
    }
    co_return Result<void>{};
}

Task<Result<std::vector<std::size_t>>> SourceRunner::CommitRecords(
    RunContext& run,
    const ResourceSpec& resource,
    const json::array& records,
    const json::value* parent,
    std::string resume_checkpoint,
    std::string checkpoint,
    std::optional<RowBatch> prepared
) {
    const bool has_children = !ChildrenOf(settings_.spec, resource.name).empty();
    const std::size_t batch = std::max<std::size_t>(1, settings_.max_batch_rows);
    std::vector<std::size_t> changed;
    std::size_t start = 0;
    do {
        const std::size_t end = std::min(records.size(), start + batch);
        const bool last = end == records.size();
        RowBatch rows;
        const std::span<const json::value> part(records.data() + start, end - start);
        if (prepared && start == 0 && last) {
            rows = std::move(*prepared);
        } else if (auto r = AppendRecords(rows, part, resource, parent, run.error); !r) {
            co_return r.error();
        }
        // Parts before the last keep the checkpoint that repeats this page, so a crash
        // between them resumes at the same page.
        auto write = CommitRows(
            run, resource, std::move(rows), last ? checkpoint : resume_checkpoint, has_children
        );
        auto written = co_await std::move(write);
        if (!written) {
            co_return written.error();
        }
        for (const auto index : *written) {
            changed.push_back(start + index);
        }
        start = end;
    } while (start < records.size());
    co_return changed;
}

void SourceRunner::Preflatten(Fetched& fetched, const ResourceSpec& resource) const {
    // Records that a run still changes (scalar and changes-only resources) or splits over
    // several transactions are flattened when they are written.
    if (fetched.ignored || !resource.scalar_field.empty() || resource.changes_only) {
        return;
    }
    std::string error;
    const auto found = FindRecords(fetched.body, resource, error);
    if (!found || *found == nullptr || !(*found)->is_array()) {
        return;
    }
    const auto& records = (*found)->get_array();
    if (records.empty() || records.size() > settings_.max_batch_rows) {
        return;
    }
    RowBatch rows;
    // On failure CommitRecords meets the same error again, and reports it.
    if (AppendRecords(rows, records, resource, nullptr, error)) {
        fetched.rows = std::move(rows);
    }
}

Task<Result<SourceRunner::Fetched>> SourceRunner::FetchUnlessAhead(
    std::deque<Result<Fetched>>& ahead,
    RunContext& run,
    const ResourceSpec& resource,
    json::object context,
    PagePosition position
) {
    if (!ahead.empty()) {
        Result<Fetched> fetched(std::move(ahead.front()));
        ahead.pop_front();
        co_return fetched;
    }
    auto fetch = Fetch(run, resource, std::move(context), position);
    co_return co_await std::move(fetch);
}

Task<Result<std::vector<std::size_t>>> SourceRunner::WriteWhileReading(
    RunContext& run,
    const ResourceSpec& resource,
    Task<Result<std::vector<std::size_t>>> write,
    ReadAhead read,
    std::deque<Result<Fetched>>& ahead
) {
    std::string write_error;
    auto commit = [&]() -> Task<Result<std::vector<std::size_t>>> {
        auto written = co_await std::move(write);
        if (!written) {
            write_error = run.error;
        }
        co_return written;
    };
    // The next pages are read and flattened while the database writes: one, or as many as
    // make a batch of read.gather_bytes or max_batch_rows rows (the first always).
    auto fetch = [&]() -> Task<void> {
        PagePosition at = read.from;
        std::size_t bytes = 0;
        std::size_t rows = 0;
        while (true) {
            auto task = Fetch(run, resource, read.context(at), at);
            auto fetched = co_await std::move(task);
            std::optional<PagePosition> following;
            std::size_t page_bytes = 0;
            std::size_t page_rows = 0;
            if (fetched) {
                Preflatten(*fetched, resource);
                std::string error;
                json::value* found = nullptr;
                if (!fetched->ignored) {
                    auto selected = FindRecords(fetched->body, resource, error);
                    found = selected ? *selected : nullptr;
                }
                page_bytes = fetched->bytes;
                page_rows = RecordCount(found);
                if (fetched->rows) {
                    following = NextPosition(
                        resource.pagination,
                        at,
                        &fetched->body,
                        fetched->response,
                        page_rows,
                        fetched->url
                    );
                }
            }
            ahead.push_back(std::move(fetched));
            bytes += page_bytes;
            rows += page_rows;
            // Another page of the same size must still fit.
            if (!following || stopping_ || bytes + page_bytes > read.gather_bytes ||
                rows + page_rows > settings_.max_batch_rows) {
                co_return;
            }
            at = *following;
        }
    };
    auto group = net::experimental::make_parallel_group(
        net::co_spawn(executor_, commit(), net::deferred),
        net::co_spawn(executor_, fetch(), net::deferred)
    );
    auto wait = group.async_wait(net::experimental::wait_for_all(), kUseAwaitable);
    auto [order, write_exception, written, read_exception] = co_await std::move(wait);
    (void)order;
    for (const auto& e : {write_exception, read_exception}) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    // The run fails for the write, not for a page it would have read next.
    if (!written) {
        run.error = std::move(write_error);
    }
    co_return std::move(written);
}

Task<Result<std::vector<std::size_t>>> SourceRunner::CommitRows(
    RunContext& run,
    const ResourceSpec& resource,
    RowBatch rows,
    std::string checkpoint,
    bool want_changed_rows
) {
    sink::PageCommit commit;
    commit.schema = settings_.name;
    commit.source = settings_.name;
    commit.resource = run.resource->name;
    commit.run_id = run.run_id;
    commit.checkpoint = std::move(checkpoint);
    if (!rows.empty()) {
        sink::TableWrite write;
        write.table = resource.name;
        write.key_paths = resource.primary_key;
        if (resource.soft_delete) {
            write.seen_pass = run.pass_id;
        }
        write.want_changed_rows = want_changed_rows;
        write.rows = std::move(rows);
        commit.tables.push_back(std::move(write));
    }
    auto written = co_await sink_.CommitPage(std::move(commit));
    if (!written) {
        run.error = "database: " + sink_.LastError();
        co_return written.error();
    }
    std::vector<std::size_t> changed;
    for (const auto& t : written->tables) {
        run.report.rows_written += t.inserted + t.updated;
        run.report.rows_unchanged += t.unchanged;
        metrics_.Page(settings_.name, resource.name, t.inserted + t.updated, t.unchanged);
        changed.insert(changed.end(), t.changed_rows.begin(), t.changed_rows.end());
    }
    co_return changed;
}

Task<void> SourceRunner::FlushGathered(
    RunContext& run,
    const ResourceSpec& resource,
    RowBatch& gathered,
    const std::string& checkpoint
) {
    if (gathered.empty()) {
        co_return;
    }
    // The failure being reported stays the run's error; should this write fail too, its
    // pages are read again by the next run.
    const std::string error = run.error;
    auto task = CommitRows(run, resource, std::exchange(gathered, RowBatch{}), checkpoint);
    auto written = co_await std::move(task);
    if (!written) {
        spdlog::warn(
            "could not write the pages read before a failure source={} resource={} error=\"{}\"",
            settings_.name,
            resource.name,
            redactor_.Redact(run.error)
        );
    }
    run.error = error;
}

Task<RunReport> SourceRunner::Finish(RunContext& run, std::string outcome) {
    const auto& source = settings_.name;
    const auto& resource = *run.resource;
    const auto& inc = resource.incremental;
    run.report.outcome = outcome;
    run.report.error = redactor_.Redact(run.error);
    sink::RunEnd end;
    end.source = source;
    end.resource = resource.name;
    end.run_id = run.run_id;
    // The run log knows success, failed and cancelled; a run that a latch or a hold stopped
    // half-way failed, and its error says why.
    end.outcome = outcome == "success" || outcome == "cancelled" ? outcome : "failed";
    end.pages = run.report.pages;
    end.rows_written = run.report.rows_written;
    end.rows_unchanged = run.report.rows_unchanged;
    end.error = run.report.error;
    end.schema = source;
    end.next_run_at =
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(resource.schedule.interval);
    if (outcome == "success") {
        std::optional<CursorValue> committed;
        if (inc && run.committed_cursor) {
            committed = ParseCursorText(*run.committed_cursor, inc->format, inc->format_pattern);
        }
        if (run.run_cursor && (!committed || *committed < *run.run_cursor)) {
            committed = run.run_cursor;
        }
        if (run.last_record) {
            end.cursor = run.last_record;
            run.report.cursor = *run.last_record;
        }
        if (committed) {
            end.cursor = committed->Canonical();
            run.report.cursor = *end.cursor;
            if (committed->is_time) {
                metrics_.CursorLag(
                    source,
                    resource.name,
                    std::chrono::duration<double>(
                        std::chrono::system_clock::now() - committed->time
                    )
                        .count()
                );
            }
        }
        if (resource.soft_delete) {
            end.sweeps.push_back({resource.name, run.pass_id});
        }
        // Children listed for every parent (the parser allows soft delete only then) were
        // listed in full by this pass too.
        for (const auto* child : ChildrenOf(settings_.spec, resource.name)) {
            if (child->soft_delete) {
                end.sweeps.push_back({child->name, run.pass_id});
            }
        }
    }
    auto finished = co_await sink_.FinishRun(end);
    if (!finished) {
        run.error = "database: could not finish the run: " + sink_.LastError();
        run.Fail(finished.error(), "failed");
        run.report.error = redactor_.Redact(run.error);
    } else {
        run.report.rows_deleted = finished->rows_deleted;
        if (finished->rows_deleted > 0) {
            metrics_.RowsDeleted(source, resource.name, finished->rows_deleted);
        }
    }
    run.report.seconds = SecondsSince(run.started);
    metrics_.Running(source, resource.name, false);
    metrics_.Run(
        source,
        resource.name,
        run.report.outcome,
        run.report.seconds,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()
    );
    if (run.report.outcome != "success" && run.report.outcome != "held") {
        metrics_.Error(source, resource.name, run.report.error_kind);
    }
    co_return run.report;
}

RunReport SourceRunner::Abort(RunContext& run) {
    run.report.error = redactor_.Redact(run.error);
    run.report.seconds = SecondsSince(run.started);
    metrics_.Run(
        settings_.name,
        run.report.resource,
        run.report.outcome,
        run.report.seconds,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()
    );
    // A held run sent nothing: the refusal that started the hold was counted already.
    if (run.report.outcome != "held") {
        metrics_.Error(settings_.name, run.report.resource, run.report.error_kind);
    }
    return run.report;
}

void SourceRunner::ExportScalar(const ResourceSpec& resource, const json::array& records) {
    if (records.empty() || !records.back().is_object()) {
        return;
    }
    const auto* v = records.back().get_object().if_contains(resource.scalar_field);
    if (v == nullptr) {
        return;
    }
    if (v->is_number()) {
        metrics_.StatusValue(settings_.name, resource.name, v->to_number<double>());
    } else if (v->is_bool()) {
        metrics_.StatusValue(settings_.name, resource.name, v->get_bool() ? 1.0 : 0.0);
    }
}

void SourceRunner::KeepOnlyAChange(
    RunContext& run,
    json::object& checkpoint,
    std::chrono::system_clock::time_point run_started_at,
    json::array& records
) {
    if (records.empty()) {
        return;
    }
    json::value record = records.back();
    const auto now = json::serialize(record);
    // The last change written: by an earlier run (the cursor), or by this run's own page
    // when a crash came between that page and the end of the run (the checkpoint).
    std::optional<std::string> last = run.committed_cursor;
    if (auto c = StringAt(checkpoint, "last_record")) {
        last = std::move(c);
    }
    run.last_record = now;
    if (last && *last == now) {
        records.clear();
        ++run.report.rows_unchanged;
        return;
    }
    checkpoint["last_record"] = now;
    record.as_object()["changed_at"] = FormatCursor(
        CursorValue{
            true, std::chrono::time_point_cast<std::chrono::microseconds>(run_started_at), 0},
        CursorFormat::kIso8601,
        ""
    );
    records = json::array{std::move(record)};
}

Task<RunReport> SourceRunner::Run(std::string resource_name) {
    RunContext run;
    run.report.source = settings_.name;
    run.report.resource = resource_name;
    run.resource = settings_.spec.FindResource(resource_name);
    const auto& source = settings_.name;

    if (run.resource == nullptr) {
        run.error = "unknown resource";
        run.Fail(Errc::kUpstreamBadPayload, "failed");
        co_return Abort(run);
    }
    const auto& resource = *run.resource;

    auto latch = co_await sink_.GetLatch(source);
    if (!latch) {
        run.error = "database: " + sink_.LastError();
        run.Fail(latch.error(), "failed");
        co_return Abort(run);
    }
    if (*latch) {
        run.error = "source is latched since a previous error: " + (*latch)->reason;
        metrics_.Latched(source, true);
        run.Fail(Errc::kUpstreamLatched, "latched");
        co_return Abort(run);
    }
    if (HeldMeanwhile(run)) {
        run.Fail(Errc::kSourceHeld, "held");
        co_return Abort(run);
    }
    auto state = co_await sink_.LoadState(source, resource_name);
    if (!state) {
        run.error = "database: " + sink_.LastError();
        run.Fail(state.error(), "failed");
        co_return Abort(run);
    }
    auto run_id = co_await sink_.BeginRun(source, resource_name);
    if (!run_id && run_id.error() == Errc::kResourceBusy) {
        // Another chatsyncd on this database is syncing it: not a failure of ours.
        run.error = sink_.LastError();
        run.Fail(run_id.error(), "skipped");
        co_return Abort(run);
    }
    if (!run_id) {
        run.error = "database: " + sink_.LastError();
        run.Fail(run_id.error(), "failed");
        co_return Abort(run);
    }
    run.run_id = *run_id;
    metrics_.Running(source, resource_name, true);

    // Where this run's requests leave from, checked against where the source's earlier runs
    // sent from (see EgressGuardSpec), and recorded with the run.
    if (const auto& guard = settings_.spec.egress_guard) {
        const auto& address = settings_.egress;
        auto claim = co_await sink_.ClaimEgress(source, address, guard->max_addresses, run.run_id);
        if (!claim) {
            run.error = "database: " + sink_.LastError();
            run.Fail(claim.error(), "failed");
            co_return co_await Finish(run, "failed");
        }
        if (claim->refused) {
            std::string used;
            for (const auto& a : claim->others) {
                used += (used.empty() ? "" : ", ") + a;
            }
            run.error = "egress guard: the source has sent from " + used + "; sending from " +
                        address + " too would exceed its " + std::to_string(guard->max_addresses) +
                        " addresses (the platform disables a token used from too many); retire "
                        "the old ones, then run 'chatsyncd breach clear --source " +
                        source + "'";
            run.Fail(Errc::kGuardRefused, "failed");
            co_return co_await Finish(run, "failed");
        }
        if (!claim->previous.empty() && claim->previous != address) {
            spdlog::warn(
                "egress address changed source={} previous={} now={}",
                source,
                claim->previous,
                address
            );
            metrics_.EgressChange(source);
        }
    }

    // Resume an unfinished run from its checkpoint, or start a new listing.
    json::object checkpoint;
    std::optional<PagePosition> position = FirstPosition(resource.pagination);
    std::optional<CursorValue> window_start;
    auto& run_cursor = run.run_cursor;
    run.committed_cursor = state->cursor;
    run.pass_id = run.run_id;
    auto& pass_id = run.pass_id;
    json::array pending;
    // The calls of a partitioned listing still to make, the current one first.
    json::array partitions;
    const auto& inc = resource.incremental;
    if (state->checkpoint) {
        boost::system::error_code ec;
        auto parsed = json::parse(*state->checkpoint, ec);
        if (!ec && parsed.is_object()) {
            checkpoint = std::move(parsed.get_object());
            run.report.resumed = true;
            if (const auto* p = checkpoint.if_contains("position")) {
                position = p->is_null() ? std::nullopt : std::optional(PagePosition::FromJson(*p));
            }
            if (inc) {
                if (auto w = StringAt(checkpoint, "window_start")) {
                    window_start = ParseCursorText(*w, inc->format, inc->format_pattern);
                }
                if (auto c = StringAt(checkpoint, "run_cursor")) {
                    run_cursor = ParseCursorText(*c, inc->format, inc->format_pattern);
                }
            }
            if (auto p = StringAt(checkpoint, "pass")) {
                pass_id = *p;
            }
            run.last_record = StringAt(checkpoint, "last_record");
            if (const auto* p = checkpoint.if_contains("pending"); p != nullptr && p->is_array()) {
                pending = p->get_array();
            }
            if (const auto* p = checkpoint.if_contains("partitions");
                p != nullptr && p->is_array()) {
                partitions = p->get_array();
            }
            spdlog::info(
                "resuming run source={} resource={} run_id={} from_page={}",
                source,
                resource_name,
                run.run_id,
                position ? position->pages : -1
            );
        }
    }
    if (!run.report.resumed && inc) {
        window_start = WindowStart(*inc, state->cursor);
    }
    const auto run_started_at = std::chrono::system_clock::now();
    json::object cursor_ctx;
    if (inc) {
        if (window_start) {
            cursor_ctx["start"] = FormatCursor(*window_start, inc->format, inc->format_pattern);
        }
        cursor_ctx["end"] = FormatCursor(
            CursorValue{
                true, std::chrono::time_point_cast<std::chrono::microseconds>(run_started_at), 0},
            inc->format,
            inc->format_pattern
        );
    }
    checkpoint["pass"] = pass_id;
    if (window_start) {
        checkpoint["window_start"] = window_start->Canonical();
    }
    const auto children = ChildrenOf(settings_.spec, resource_name);

    // Children left pending by an interrupted run come first.
    if (!pending.empty()) {
        auto r = co_await RunChildren(run, pending, checkpoint);
        if (!r) {
            run.Fail(r.error(), OutcomeOf(r.error()));
            co_return co_await Finish(run, run.report.outcome);
        }
        checkpoint["pending"] = json::array{};
    }

    const auto& partition = resource.partition;
    if (partition && partitions.empty()) {
        partitions.push_back(Partition{}.ToJson());
    }
    const auto page_context = [&](const PagePosition& at) {
        json::object ctx;
        ctx["config"] = settings_.values;
        ctx["cursor"] = cursor_ctx;
        ctx["page"] = PageContext(resource.pagination, at);
        if (partition) {
            ctx["partition"] =
                PartitionContext(*partition, Partition::FromJson(partitions.front()));
        }
        return ctx;
    };
    // Pages read while the previous write ran, in order.
    std::deque<Result<Fetched>> ahead;
    // Pages that go to the table as they are, of a resource listed in one sequence, are
    // gathered into one transaction for as many as were read ahead during the previous
    // write: the rows, and the checkpoint after the last of them.
    const bool gathers =
        children.empty() && !partition && resource.scalar_field.empty() && !resource.changes_only;
    const std::size_t gather_bytes =
        gathers ? std::min<std::size_t>(kGatherBytes, settings_.max_in_flight_bytes / 2) : 0;
    RowBatch gathered;
    std::string gathered_checkpoint;
    while (position) {
        if (stopping_) {
            auto flush = FlushGathered(run, resource, gathered, gathered_checkpoint);
            co_await std::move(flush);
            run.Fail(Errc::kCancelled, "cancelled");
            co_return co_await Finish(run, "cancelled");
        }
        auto fetch = FetchUnlessAhead(ahead, run, resource, page_context(*position), *position);
        Result<Fetched> fetched = co_await std::move(fetch);
        if (!fetched) {
            auto flush = FlushGathered(run, resource, gathered, gathered_checkpoint);
            co_await std::move(flush);
            const auto ec = fetched.error();
            run.Fail(ec, OutcomeOf(ec));
            co_return co_await Finish(run, run.report.outcome);
        }
        json::value* found = nullptr;
        if (!fetched->ignored) {
            auto selected = FindRecords(fetched->body, resource, run.error);
            if (!selected) {
                run.error = "page " + std::to_string(position->pages + 1) + " from " +
                            http::RedactUrl(fetched->url) + ": " + run.error;
                auto flush = FlushGathered(run, resource, gathered, gathered_checkpoint);
                co_await std::move(flush);
                run.Fail(selected.error(), "failed");
                co_return co_await Finish(run, "failed");
            }
            found = *selected;
        }
        auto next = NextPosition(
            resource.pagination,
            *position,
            &fetched->body,
            fetched->response,
            RecordCount(found),
            fetched->url
        );
        json::array records = TakeRecords(found, resource);
        if (partition && !next) {
            // This call is done: a full answer is replaced by narrower calls, depth first so
            // that the queue stays short.
            const auto done = Partition::FromJson(partitions.front());
            partitions.erase(partitions.begin());
            bool too_deep = false;
            const auto narrower = SplitPartition(*partition, done, records, too_deep);
            if (too_deep) {
                spdlog::warn(
                    "partition still full at the longest prefix; records beyond the cap are "
                    "not listed source={} resource={} prefix_bytes={}",
                    source,
                    resource_name,
                    done.prefix.size()
                );
            }
            for (auto it = narrower.rbegin(); it != narrower.rend(); ++it) {
                partitions.insert(partitions.begin(), it->ToJson());
            }
            if (!partitions.empty()) {
                next = FirstPosition(resource.pagination);
            }
        }

        if (!resource.scalar_field.empty()) {
            ExportScalar(resource, records);
        }
        if (resource.changes_only) {
            KeepOnlyAChange(run, checkpoint, run_started_at, records);
        }
        const auto resume = json::serialize(checkpoint);
        if (inc) {
            for (const auto& item : records) {
                const auto* v = FindPath(item, inc->cursor_field);
                if (v == nullptr || v->is_null()) {
                    continue;
                }
                const auto fmt = inc->record_format.value_or(inc->format);
                const auto& pattern =
                    inc->record_format ? inc->record_format_pattern : inc->format_pattern;
                if (auto c = ReadCursor(*v, fmt, pattern); c && (!run_cursor || *run_cursor < *c)) {
                    run_cursor = c;
                }
            }
            if (run_cursor) {
                checkpoint["run_cursor"] = run_cursor->Canonical();
            }
        }
        checkpoint["position"] = next ? next->ToJson() : json::value(nullptr);
        if (partition) {
            checkpoint["partitions"] = partitions;
        }
        checkpoint["pages"] = run.report.pages + 1;
        // Every parent of the page is pending in the page's own transaction: which rows
        // changed is known only once it commits, and a crash right after must not lose
        // their children. The list is narrowed to the changed rows just after.
        checkpoint["pending"] = children.empty() ? json::array{} : records;
        if (gathers && records.size() <= settings_.max_batch_rows) {
            RowBatch rows;
            if (fetched->rows) {
                rows = std::move(*fetched->rows);
            } else if (auto r = AppendRecords(rows, records, resource, nullptr, run.error); !r) {
                run.error = "page " + std::to_string(position->pages + 1) + ": " + run.error;
                auto flush = FlushGathered(run, resource, gathered, gathered_checkpoint);
                co_await std::move(flush);
                run.Fail(r.error(), "failed");
                co_return co_await Finish(run, "failed");
            }
            if (gathered.size() + rows.size() > settings_.max_batch_rows) {
                auto write = CommitRows(
                    run, resource, std::exchange(gathered, RowBatch{}), gathered_checkpoint
                );
                if (auto written = co_await std::move(write); !written) {
                    run.Fail(written.error(), "failed");
                    co_return co_await Finish(run, "failed");
                }
            }
            gathered.Append(std::move(rows));
            gathered_checkpoint = json::serialize(checkpoint);
            ++run.report.pages;
            position = next;
            if (next && !ahead.empty() && !stopping_) {
                continue;
            }
            auto write =
                CommitRows(run, resource, std::exchange(gathered, RowBatch{}), gathered_checkpoint);
            Result<std::vector<std::size_t>> written = Errc::kCancelled;
            if (next && !stopping_ && 2 * fetched->bytes <= settings_.max_in_flight_bytes) {
                auto both = WriteWhileReading(
                    run,
                    resource,
                    std::move(write),
                    ReadAhead{*next, page_context, gather_bytes},
                    ahead
                );
                written = co_await std::move(both);
            } else {
                written = co_await std::move(write);
            }
            if (!written) {
                run.Fail(written.error(), "failed");
                co_return co_await Finish(run, "failed");
            }
            continue;
        }
        if (!gathered.empty()) {
            auto write =
                CommitRows(run, resource, std::exchange(gathered, RowBatch{}), gathered_checkpoint);
            if (auto written = co_await std::move(write); !written) {
                run.Fail(written.error(), "failed");
                co_return co_await Finish(run, "failed");
            }
        }
        Result<std::vector<std::size_t>> changed = Errc::kCancelled;
        // Reading ahead overlaps the API's time with the database's. Not for parents: their
        // children come between two of their pages.
        auto commit = CommitRecords(
            run,
            resource,
            records,
            nullptr,
            resume,
            json::serialize(checkpoint),
            std::move(fetched->rows)
        );
        if (next && children.empty() && !stopping_ &&
            2 * fetched->bytes <= settings_.max_in_flight_bytes) {
            auto both = WriteWhileReading(
                run, resource, std::move(commit), ReadAhead{*next, page_context, 0}, ahead
            );
            changed = co_await std::move(both);
        } else {
            changed = co_await std::move(commit);
        }
        if (!changed) {
            if (changed.error() == Errc::kUpstreamBadPayload) {
                run.error = "page " + std::to_string(position->pages + 1) + ": " + run.error;
            }
            run.Fail(changed.error(), "failed");
            co_return co_await Finish(run, "failed");
        }
        ++run.report.pages;
        if (!children.empty()) {
            const bool all_children =
                std::any_of(children.begin(), children.end(), [](const auto* c) {
                    return !c->parent->only_changed;
                });
            json::array parents;
            if (all_children) {
                parents = records;
            } else {
                for (const auto index : *changed) {
                    parents.push_back(records[index]);
                }
                checkpoint["pending"] = parents;
                const json::array no_records;
                auto narrowed = co_await CommitRecords(
                    run, resource, no_records, nullptr, "", json::serialize(checkpoint)
                );
                if (!narrowed) {
                    run.Fail(narrowed.error(), "failed");
                    co_return co_await Finish(run, "failed");
                }
            }
            auto r = co_await RunChildren(run, parents, checkpoint);
            if (!r) {
                run.Fail(r.error(), OutcomeOf(r.error()));
                co_return co_await Finish(run, run.report.outcome);
            }
            checkpoint["pending"] = json::array{};
        }
        position = next;
    }
    run.report.outcome = "success";
    co_return co_await Finish(run, "success");
}

}  // namespace chatsync::connectors
