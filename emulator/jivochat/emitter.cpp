#include "emulator/jivochat/emitter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>
#include <utility>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include "core/error.hpp"
#include "core/time.hpp"
#include "emulator/frame/rng.hpp"
#include "http/client.hpp"

namespace chatsync::emulator {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxResponseBytes = 1024;

std::string Iso(std::chrono::system_clock::time_point t) {
    return FormatIso8601(std::chrono::time_point_cast<std::chrono::microseconds>(t));
}

/// Nearest-rank percentile of sorted values; 0 for none.
double Percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

/// Milliseconds with three decimals, so the status stays readable.
double RoundMs(double ms) {
    return std::round(ms * 1000.0) / 1000.0;
}

/// What a Jivo request carries: the Chat API documents UTF-8 JSON with a charset; the other
/// APIs only say "JSON".
std::string_view ContentType(JivoKind kind) {
    return kind == JivoKind::kChatApi ? "application/json; charset=utf-8" : "application/json";
}

}  // namespace

std::vector<JivoDeliveryPlan>
PlanJivoDeliveries(std::size_t events, double replay, bool shuffle, std::uint64_t seed) {
    Rng rng(seed ^ 0xBB67AE8584CAA73BULL);
    const double fraction = std::clamp(std::isfinite(replay) ? replay : 0.0, 0.0, 1.0);
    const auto replays = std::min(
        events, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(events)))
    );
    // A partial Fisher-Yates picks the replayed events without repeats.
    std::vector<std::size_t> pool(events);
    std::iota(pool.begin(), pool.end(), std::size_t{0});
    // (after which original, copy?, event): a copy goes right after the original of a later
    // (or the same) event, so it always follows its own first delivery.
    std::vector<std::tuple<std::size_t, bool, std::size_t>> keyed;
    keyed.reserve(events + replays);
    for (std::size_t i = 0; i < events; ++i) {
        keyed.emplace_back(i, false, i);
    }
    for (std::size_t i = 0; i < replays; ++i) {
        std::swap(pool[i], pool[i + rng.Below(events - i)]);
        const std::size_t event = pool[i];
        const std::size_t after = event + rng.Below(events - event);
        keyed.emplace_back(after, true, event);
    }
    std::sort(keyed.begin(), keyed.end());
    std::vector<JivoDeliveryPlan> plan;
    plan.reserve(keyed.size());
    for (const auto& [after, copy, event] : keyed) {
        plan.push_back(JivoDeliveryPlan{.event = event, .replay = copy});
    }
    if (shuffle) {
        for (std::size_t i = plan.size(); i > 1; --i) {
            std::swap(plan[i - 1], plan[rng.Below(i)]);
        }
        // A copy that now precedes its first delivery takes the original's place: "replay"
        // means the second time the receiver sees the event.
        std::set<std::size_t> seen;
        for (auto& p : plan) {
            p.replay = !seen.insert(p.event).second;
        }
    }
    return plan;
}

bool IsJivoResultOk(std::string_view body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        return false;
    }
    const auto* result = v.get_object().if_contains("result");
    return result != nullptr && result->is_string() && result->get_string() == "ok";
}

JivoJob::JivoJob(std::string id, Executor executor, JivoJobSpec spec, std::vector<JivoEvent> events)
    : id_(std::move(id))
    , executor_(std::move(executor))
    , spec_(std::move(spec))
    , events_(std::move(events)) {
    for (const JivoDeliveryPlan& plan :
         PlanJivoDeliveries(events_.size(), spec_.replay, spec_.shuffle, spec_.seed)) {
        Delivery d;
        d.plan = plan;
        switch (events_[plan.event].kind) {
            case JivoKind::kWebhook:
                d.url = spec_.url;
                break;
            case JivoKind::kCrm:
                d.url = spec_.crm_url;
                break;
            case JivoKind::kChatApi:
                d.url = spec_.chat_url;
                break;
            case JivoKind::kBot:
                d.url = spec_.bot_url;
                break;
        }
        deliveries_.push_back(std::move(d));
    }
    http::Client::Options options;
    options.connect_timeout = std::min(spec_.timeout, Millis(std::chrono::seconds(10)));
    options.idle_timeout = spec_.timeout;
    options.total_timeout = spec_.timeout;
    options.max_idle_per_host = std::max<std::size_t>(spec_.concurrency, 1);
    options.user_agent = "chatsync-emulator (JivoChat)";
    client_ = std::make_unique<http::Client>(executor_, options);
}

JivoJob::~JivoJob() = default;

void JivoJob::Start() {
    started_ = true;
    started_at_ = std::chrono::system_clock::now();
    started_steady_ = Clock::now();
    const std::size_t workers =
        std::min(std::max<std::size_t>(spec_.concurrency, 1), deliveries_.size());
    if (workers == 0) {
        finished_at_ = started_at_;
        return;
    }
    // Counted before any worker runs: a worker that ends at once must not see zero.
    workers_running_ = workers;
    worker_alive_.assign(workers, true);
    for (std::size_t i = 0; i < workers; ++i) {
        net::cancellation_signal& signal = signals_.emplace_back();
        net::co_spawn(
            executor_, Worker(), net::bind_cancellation_slot(signal.slot(), WorkerDone{this, i})
        );
    }
}

void JivoJob::Cancel() {
    // A finished job stays "finished".
    if (cancelled_ || !Running()) {
        return;
    }
    cancelled_ = true;
    // Only running workers: an ended worker's slot may still hold co_spawn's handler, which
    // refers to a coroutine that no longer exists.
    for (std::size_t i = 0; i < signals_.size(); ++i) {
        if (worker_alive_[i]) {
            signals_[i].emit(net::cancellation_type::terminal);
        }
    }
}

void JivoJob::WorkerDone::operator()(const std::exception_ptr& error) const {
    job->OnWorkerDone(worker, error);
}

void JivoJob::OnWorkerDone(std::size_t worker, const std::exception_ptr& error) {
    worker_alive_[worker] = false;
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            failure_ = e.what();
        } catch (...) {
            failure_ = "unknown exception";
        }
    }
    if (--workers_running_ > 0) {
        return;
    }
    finished_at_ = std::chrono::system_clock::now();
    for (Delivery& d : deliveries_) {
        if (d.outcome == Outcome::kPending) {
            d.outcome = Outcome::kCancelled;
        }
    }
    // Idle keep-alive connections would otherwise stay open until the job is destroyed.
    client_->Stop();
}

Task<void> JivoJob::Worker() {
    // Cancellation is checked explicitly below, so that a cancelled wait or exchange ends the
    // worker normally instead of throwing out of it.
    co_await net::this_coro::throw_if_cancelled(false);
    net::steady_timer timer(executor_);
    while (next_ < deliveries_.size() && !cancelled_) {
        const std::size_t index = next_++;
        if (spec_.rate > 0) {
            // Start times are fixed from the job start, so a slow delivery does not lower the
            // rate of the others.
            const auto offset =
                std::chrono::duration<double>(static_cast<double>(index) / spec_.rate);
            timer.expires_at(started_steady_ + std::chrono::duration_cast<Clock::duration>(offset));
            auto [ec] = co_await timer.async_wait(kAsTuple);
            // operation_aborted comes from Cancel(); the loop condition ends the worker then.
            (void)ec;
            if (cancelled_) {
                break;
            }
        }
        co_await Deliver(index);
    }
}

Task<void> JivoJob::Deliver(std::size_t index) {
    Delivery& d = deliveries_[index];
    const JivoEvent& event = events_[d.plan.event];
    net::steady_timer timer(executor_);
    for (std::int64_t attempt = 0;; ++attempt) {
        http::Request request;
        request.method = "POST";
        request.url = d.url;
        request.headers.emplace_back("Content-Type", std::string(ContentType(event.kind)));
        request.body = event.body;
        const auto start = Clock::now();
        Result<http::Response> result = co_await client_->Send(std::move(request));
        Attempt a;
        a.latency_ms =
            RoundMs(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        bool retry = true;
        if (!result) {
            if (cancelled_) {
                d.outcome = Outcome::kCancelled;
                co_return;
            }
            a.error = ErrorKind(result.error());
        } else {
            a.status = result->status;
            d.response = result->body.substr(0, kMaxResponseBytes);
            d.response_type = std::string(result->Header("Content-Type").value_or(""));
            if (a.status >= 200 && a.status < 300) {
                d.outcome = Acknowledges(event, a.status, result->body) ? Outcome::kAcknowledged
                                                                        : Outcome::kNotAcknowledged;
                d.attempts.push_back(std::move(a));
                co_return;
            }
            // Chat API: "4xx: event rejected ... do not resend"; anything else may pass.
            retry = a.status < 400 || a.status >= 500 || spec_.retry_4xx;
        }
        const bool client_error = a.status >= 400 && a.status < 500;
        d.attempts.push_back(std::move(a));
        if (!retry || attempt >= spec_.retries) {
            d.outcome = client_error ? Outcome::kRejected : Outcome::kFailed;
            co_return;
        }
        if (cancelled_) {
            d.outcome = Outcome::kCancelled;
            co_return;
        }
        timer.expires_after(spec_.backoff);
        auto [ec] = co_await timer.async_wait(kAsTuple);
        // Aborted only by Cancel(), which the check below reports.
        (void)ec;
        if (cancelled_) {
            d.outcome = Outcome::kCancelled;
            co_return;
        }
    }
}

bool JivoJob::Acknowledges(const JivoEvent& event, unsigned status, std::string_view body) const {
    if (status < 200 || status >= 300) {
        return false;
    }
    JivoAck ack = spec_.ack;
    if (ack == JivoAck::kAuto) {
        ack = event.kind == JivoKind::kWebhook || event.kind == JivoKind::kCrm ? JivoAck::kResultOk
                                                                               : JivoAck::k2xx;
    }
    return ack == JivoAck::k2xx || IsJivoResultOk(body);
}

std::string_view JivoJob::OutcomeName(Outcome outcome) {
    switch (outcome) {
        case Outcome::kPending:
            return "pending";
        case Outcome::kAcknowledged:
            return "acknowledged";
        case Outcome::kNotAcknowledged:
            return "not_acknowledged";
        case Outcome::kRejected:
            return "rejected";
        case Outcome::kFailed:
            return "failed";
        case Outcome::kCancelled:
            return "cancelled";
    }
    return "pending";
}

std::string_view JivoJob::State() const {
    if (Running() || !started_) {
        return "running";
    }
    if (!failure_.empty()) {
        return "failed";
    }
    return cancelled_ ? "cancelled" : "finished";
}

std::int64_t JivoJob::Acknowledged() const {
    return std::count_if(deliveries_.begin(), deliveries_.end(), [](const Delivery& d) {
        return d.outcome == Outcome::kAcknowledged;
    });
}

json::object JivoJob::Status(bool deliveries, bool bodies) const {
    std::int64_t sent = 0;
    std::int64_t attempts = 0;
    std::int64_t retried = 0;
    std::array<std::int64_t, 6> by_outcome{};
    std::vector<double> latencies;
    std::vector<bool> acknowledged(events_.size(), false);
    for (const Delivery& d : deliveries_) {
        sent += d.attempts.empty() ? 0 : 1;
        attempts += static_cast<std::int64_t>(d.attempts.size());
        retried += d.attempts.size() > 1 ? 1 : 0;
        ++by_outcome[static_cast<std::size_t>(d.outcome)];
        for (const Attempt& a : d.attempts) {
            if (a.status != 0) {
                latencies.push_back(a.latency_ms);
            }
        }
        if (d.outcome == Outcome::kAcknowledged) {
            acknowledged[d.plan.event] = true;
        }
    }
    std::sort(latencies.begin(), latencies.end());
    const auto count = [&by_outcome](Outcome o) {
        return by_outcome[static_cast<std::size_t>(o)];
    };

    json::object out;
    out["id"] = id_;
    out["state"] = State();
    if (!failure_.empty()) {
        out["error"] = failure_;
    }
    json::object spec;
    spec["url"] = spec_.url;
    spec["crm_url"] = spec_.crm_url;
    spec["chat_url"] = spec_.chat_url;
    spec["bot_url"] = spec_.bot_url;
    spec["rate"] = spec_.rate;
    spec["concurrency"] = static_cast<std::int64_t>(spec_.concurrency);
    spec["replay"] = spec_.replay;
    spec["shuffle"] = spec_.shuffle;
    spec["seed"] = spec_.seed;
    spec["retries"] = spec_.retries;
    spec["backoff_ms"] = static_cast<std::int64_t>(spec_.backoff.count());
    spec["timeout_ms"] = static_cast<std::int64_t>(spec_.timeout.count());
    spec["ack"] = spec_.ack == JivoAck::kAuto       ? "auto"
                  : spec_.ack == JivoAck::kResultOk ? "result_ok"
                                                    : "2xx";
    spec["retry_4xx"] = spec_.retry_4xx;
    out["spec"] = std::move(spec);

    json::object totals;
    totals["events"] = static_cast<std::int64_t>(events_.size());
    totals["deliveries"] = static_cast<std::int64_t>(deliveries_.size());
    totals["replays"] = std::count_if(
        deliveries_.begin(), deliveries_.end(), [](const Delivery& d) { return d.plan.replay; }
    );
    totals["sent"] = sent;
    totals["attempts"] = attempts;
    totals["retried"] = retried;
    totals["acknowledged"] = count(Outcome::kAcknowledged);
    totals["not_acknowledged"] = count(Outcome::kNotAcknowledged);
    totals["rejected"] = count(Outcome::kRejected);
    totals["failed"] = count(Outcome::kFailed);
    totals["cancelled"] = count(Outcome::kCancelled);
    totals["pending"] = count(Outcome::kPending);
    out["totals"] = std::move(totals);
    out["latency_ms"] = json::object{
        {"p50", Percentile(latencies, 50)},
        {"p90", Percentile(latencies, 90)},
        {"p99", Percentile(latencies, 99)},
        {"max", latencies.empty() ? 0.0 : latencies.back()},
    };
    out["started_at"] = started_ ? json::value(Iso(started_at_)) : json::value(nullptr);
    const bool done = started_ && !Running();
    out["finished_at"] = done ? json::value(Iso(finished_at_)) : json::value(nullptr);
    out["duration_ms"] =
        done ? json::value(RoundMs(
                   std::chrono::duration<double, std::milli>(finished_at_ - started_at_).count()
               ))
             : json::value(nullptr);

    json::array acked;
    json::array unacked;
    for (std::size_t i = 0; i < events_.size(); ++i) {
        (acknowledged[i] ? acked : unacked).push_back(json::value(events_[i].id));
    }
    out["acknowledged_ids"] = std::move(acked);
    out["unacknowledged_ids"] = std::move(unacked);

    if (deliveries) {
        json::array list;
        list.reserve(deliveries_.size());
        for (std::size_t i = 0; i < deliveries_.size(); ++i) {
            const Delivery& d = deliveries_[i];
            const JivoEvent& e = events_[d.plan.event];
            json::object item;
            item["seq"] = static_cast<std::int64_t>(i);
            item["id"] = e.id;
            item["name"] = e.name;
            item["kind"] = JivoKindName(e.kind);
            item["replay"] = d.plan.replay;
            item["url"] = d.url;
            item["outcome"] = OutcomeName(d.outcome);
            item["acknowledged"] = d.outcome == Outcome::kAcknowledged;
            const Attempt* last = d.attempts.empty() ? nullptr : &d.attempts.back();
            item["status"] = last != nullptr && last->status != 0
                                 ? json::value(static_cast<std::int64_t>(last->status))
                                 : json::value(nullptr);
            item["error"] = last != nullptr && !last->error.empty() ? json::value(last->error)
                                                                    : json::value(nullptr);
            json::array tries;
            for (const Attempt& a : d.attempts) {
                json::object t;
                t["status"] = a.status != 0 ? json::value(static_cast<std::int64_t>(a.status))
                                            : json::value(nullptr);
                t["error"] = a.error.empty() ? json::value(nullptr) : json::value(a.error);
                t["latency_ms"] = a.latency_ms;
                tries.push_back(std::move(t));
            }
            item["attempts"] = std::move(tries);
            item["response"] = d.response;
            item["response_type"] = d.response_type;
            if (bodies) {
                item["body"] = e.body;
            }
            list.push_back(std::move(item));
        }
        out["deliveries"] = std::move(list);
    }
    return out;
}

}  // namespace chatsync::emulator
