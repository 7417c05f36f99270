#include "connectors/fetcher.hpp"

#include <algorithm>
#include <chrono>

#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "connectors/error_rules.hpp"
#include "connectors/page.hpp"
#include "connectors/request_builder.hpp"
#include "connectors/template.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/timer.hpp"
#include "http/url.hpp"
#include "metrics/metrics.hpp"
#include "sink/sink.hpp"

namespace chatsync::connectors {
namespace {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;

/// Counts what ParseJson repaired in a page (or a body) that is going to be stored.
void CountRepairs(
    metrics::Metrics& metrics,
    std::string_view source,
    std::string_view resource,
    const ParseRepairs& repairs
) {
    metrics.ValueRepaired(source, resource, "nul", repairs.nul);
    metrics.ValueRepaired(source, resource, "surrogate", repairs.surrogate);
    metrics.ValueRepaired(source, resource, "big_integer", repairs.big_integer);
    metrics.ValueRepaired(source, resource, "deep", repairs.deep);
}

double Seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

Fetcher::Fetcher(
    const Executor& executor,
    const SourceSettings& settings,
    sink::Sink& sink,
    metrics::Metrics& metrics,
    const Redactor& redactor
)
    : executor_(executor)
    , settings_(settings)
    , sink_(sink)
    , metrics_(metrics)
    , redactor_(redactor)
    , client_(executor, settings_.http)
    , budget_(executor, settings_.budget)
    , rng_(std::random_device{}())
    , sleeping_(executor) {
    client_.SetSendGate([this]() {
        return latched_ ? make_error_code(Errc::kUpstreamLatched) : boost::system::error_code{};
    });
}

void Fetcher::RequestStop() {
    stopping_ = true;
    sleeping_.Stop();
    client_.Stop();
}

Task<bool> Fetcher::Sleep(Millis duration) {
    co_return co_await sleeping_.SleepFor(duration);
}

Task<Result<void>> Fetcher::EnsureLogin(FetchNotes* run, const std::string* rejected_token) {
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
    if (HeldMeanwhile(*run)) {
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
            CancelTimer(*slot);
            slot = nullptr;
        }
    } release{login_in_flight_};

    co_return co_await SignIn(run);
}

Task<Result<void>> Fetcher::SignIn(FetchNotes* run) {
    const auto& auth = settings_.spec.auth;
    login_token_.clear();
    json::object ctx;
    ctx["config"] = settings_.values;
    // The login request carries no auth of its own.
    ConnectorSpec bare = settings_.spec;
    bare.auth = AuthSpec{};
    bare.resources.clear();
    std::vector<const ErrorRule*> rules;
    rules.reserve(settings_.spec.error_rules.size());
    for (const auto& r : settings_.spec.error_rules) {
        rules.push_back(&r);
    }
    const auto& source = settings_.name;
    std::uint32_t failures = 0;
    while (true) {
        auto request = BuildRequest(bare, auth.login, PaginationSpec{}, PagePosition{}, ctx);
        http::RateBudget::Wait wait;
        auto permit = co_await budget_.Acquire(&wait);
        if (!permit) {
            co_return permit.error();
        }
        const auto started = Clock::now();
        auto response = co_await client_.Send(std::move(request));
        permit = http::RateBudget::Permit{};
        if (!response && response.error() == Errc::kUpstreamLatched) {
            LatchedMeanwhile(*run);
            co_return response.error();
        }
        ++run->requests;
        // A transport failure, a 5xx or a 429 may pass; anything else is the answer.
        std::string transient;
        std::optional<Millis> retry_after;
        if (!response) {
            metrics_.HttpRequest(
                source, "_login", ErrorKind(response.error()), SecondsSince(started)
            );
            if (response.error() != Condition::kRetryable) {
                run->error = "login request failed: " + response.error().message();
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
                run->error =
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
            run->error = "login rejected the credentials: " + verdict.message;
            co_return Errc::kUpstreamAuth;
        }
        const auto* token = ec ? nullptr : FindPath(body, auth.token_path);
        if (token == nullptr || !token->is_string() || token->get_string().empty()) {
            run->error = "login response has no token at '" + auth.token_path + "'";
            co_return Errc::kUpstreamBadPayload;
        }
        login_token_ = std::string(token->get_string());
        login_at_ = Clock::now();
        co_return Result<void>{};
    }
}

bool Fetcher::HeldMeanwhile(FetchNotes& run) {
    if (!hold_ || Clock::now() >= hold_->until) {
        return false;
    }
    run.error = "source held after resource " + hold_->resource + " was refused: " + hold_->reason;
    return true;
}

std::optional<Fetcher::Hold> Fetcher::CurrentHold() const {
    if (!hold_ || Clock::now() >= hold_->until) {
        return std::nullopt;
    }
    return hold_;
}

bool Fetcher::LatchedMeanwhile(FetchNotes& run) {
    if (!latched_) {
        return false;
    }
    run.error = "latched: " + *latched_;
    return true;
}

void Fetcher::LatchClearedInDatabase(std::uint64_t stored_before) {
    if (latched_ && latch_stored_ && latches_stored_ == stored_before) {
        spdlog::info("latch cleared, requests may leave again source={}", settings_.name);
        latched_.reset();
        latch_stored_ = false;
    }
}

void Fetcher::HoldSource(FetchNotes& run) {
    hold_ = Hold{redactor_.Redact(run.error), run.resource_name, Clock::now() + settings_.hold};
    run.error += "; holding every resource of the source for " + FormatDuration(settings_.hold) +
                 " or until the config is reloaded";
}

Task<Result<FetchedPage>> Fetcher::Fetch(
    FetchNotes* run,
    const ResourceSpec* resource,
    json::object context,
    PagePosition position
) {
    std::vector<const ErrorRule*> rules;
    rules.reserve(resource->error_rules.size() + settings_.spec.error_rules.size());
    for (const auto& r : resource->error_rules) {
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
        if (LatchedMeanwhile(*run)) {
            co_return Errc::kUpstreamLatched;
        }
        if (HeldMeanwhile(*run)) {
            co_return Errc::kSourceHeld;
        }
        if (auto login = co_await EnsureLogin(run, nullptr); !login) {
            if (login.error() == Errc::kUpstreamAuth) {
                HoldSource(*run);
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
        auto request = BuildRequest(
            settings_.spec, resource->request, resource->pagination, position, context
        );
        const auto url = request.url;

        http::RateBudget::Wait wait;
        auto permit = co_await budget_.Acquire(&wait);
        if (!permit) {
            co_return permit.error();
        }
        if (login_in_flight_ != nullptr || login_token_ != used_token) {
            // A sign-in began or ended while this request waited for its turn (another
            // request's token was rejected): build it again with the new token rather than
            // send one known to be refused.
            permit = http::RateBudget::Permit{};
            continue;
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
        if (!response && response.error() == Errc::kUpstreamLatched) {
            // Withheld by the send gate: another resource's answer latched the source.
            LatchedMeanwhile(*run);
            co_return response.error();
        }
        ++run->requests;
        if (!response) {
            const auto ec = response.error();
            metrics_.HttpRequest(source, resource->name, ErrorKind(ec), SecondsSince(started));
            if (ec == Condition::kRetryable && ++failures < settings_.backoff.max_attempts) {
                const auto delay = http::BackoffDelay(settings_.backoff, failures - 1, rng_);
                metrics_.Retry(source, ErrorKind(ec));
                metrics_.Wait(source, "backoff", Seconds(delay));
                spdlog::warn(
                    "request failed, retrying source={} resource={} url={} error=\"{}\" attempt={} "
                    "wait_ms={}",
                    source,
                    resource->name,
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
            run->error = "request to " + http::RedactUrl(url) + " failed: " + ec.message();
            co_return ec == Condition::kRetryable ? Errc::kRetriesExhausted : ec;
        }
        metrics_.HttpRequest(
            source, resource->name, std::to_string(response->status), SecondsSince(started)
        );

        // The parse tree takes about twice the text's size: its first block fits most pages.
        auto arena = std::make_unique<json::monotonic_resource>(2 * response->body.size() + 1024);
        boost::system::error_code parse_ec;
        ParseRepairs repairs;
        json::value parsed = ParseJson(response->body, parse_ec, repairs, arena.get());
        FetchedPage fetched{
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
                    run->error = "response from " + http::RedactUrl(url) + " is not valid JSON (" +
                                 parse_ec.message() + ", " + std::to_string(response->body.size()) +
                                 " bytes)";
                    co_return Errc::kUpstreamBadPayload;
                }
                CountRepairs(metrics_, source, resource->name, repairs);
                if (repairs.nul > 0) {
                    detail::AttachOriginals(fetched.body, response->body, *resource);
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
                        resource->name,
                        response->status,
                        failures,
                        delay.count()
                    );
                    if (!co_await Sleep(delay)) {
                        co_return Errc::kCancelled;
                    }
                    continue;
                }
                run->error =
                    "giving up after " + std::to_string(failures) + " attempts: " + verdict.message;
                co_return Errc::kRetriesExhausted;
            case ErrorAction::kRateLimited: {
                if (++rate_limited > settings_.max_rate_limited_waits) {
                    run->error =
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
                    run->error = "upstream asked to wait " + FormatDuration(*delay) +
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
                    resource->name,
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
                            HoldSource(*run);
                        }
                        co_return login.error();
                    }
                    continue;
                }
                if (HeldMeanwhile(*run)) {
                    co_return Errc::kSourceHeld;
                }
                run->error = "credentials rejected: " + verdict.message;
                HoldSource(*run);
                co_return Errc::kUpstreamAuth;
            case ErrorAction::kLatch: {
                run->error = "latched: " + verdict.message;
                // Before anything is awaited: from here the send gate holds every request.
                const bool first = !latched_;
                latched_ = redactor_.Redact(verdict.message);
                sink::Latch latch{source, *latched_, std::chrono::system_clock::now(), "chatsyncd"};
                if (!first && latch_stored_) {
                    co_return Errc::kUpstreamLatched;
                }
                auto set = co_await sink_.SetLatch(latch);
                if (!set) {
                    spdlog::error(
                        "could not store latch source={} error=\"{}\"",
                        source,
                        set.error().message()
                    );
                } else {
                    latch_stored_ = true;
                    ++latches_stored_;
                }
                metrics_.Latched(source, true);
                co_return Errc::kUpstreamLatched;
            }
            case ErrorAction::kFatal:
                run->error = verdict.message;
                co_return Errc::kUpstreamStatus;
            case ErrorAction::kHold:
                if (HeldMeanwhile(*run)) {
                    co_return Errc::kSourceHeld;
                }
                run->error = verdict.message;
                HoldSource(*run);
                co_return Errc::kUpstreamStatus;
        }
    }
}

}  // namespace chatsync::connectors
