#include "server/webhook.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "connectors/webhook_strategy.hpp"
#include "core/error.hpp"
#include "core/root_task.hpp"
#include "core/time.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "server/listener.hpp"
#include "sink/sink.hpp"

namespace chatsync::server {
namespace {

using Clock = std::chrono::steady_clock;
using Digest = std::array<unsigned char, 32>;

constexpr std::string_view kPrefix = "/webhooks/";
constexpr std::string_view kChatSuffix = "chat";
constexpr std::string_view kAck = R"({"result":"ok"})";
/// Body bytes per transaction at most (after the first body): the database driver copies
/// what it sends, so a batch of large bodies would cost several times their size at once.
constexpr std::size_t kMaxBatchBytes = std::size_t{2} << 20U;
/// Batches stored at once: one commits while the next writes.
constexpr std::size_t kBatchesInFlight = 2;

Digest Sha256(std::string_view a, std::string_view b = {}) {
    Digest out{};
    unsigned int size = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) {
        throw std::bad_alloc();
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    EVP_DigestUpdate(ctx, a.data(), a.size());
    EVP_DigestUpdate(ctx, b.data(), b.size());
    EVP_DigestFinal_ex(ctx, out.data(), &size);
    EVP_MD_CTX_free(ctx);
    return out;
}

std::string Hex(const Digest& d) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(d.size() * 2);
    for (const unsigned char c : d) {
        out += kDigits[c >> 4U];
        out += kDigits[c & 0xFU];
    }
    return out;
}

/// Equal tokens, in time that depends on neither token's content nor length: both are
/// hashed, and the digests compared with CRYPTO_memcmp.
bool SameToken(std::string_view given, std::string_view expected) {
    const auto a = Sha256(given);
    const auto b = Sha256(expected);
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// The parts of /webhooks/<strategy>/<source>/<token>[/chat].
struct Target {
    std::string_view strategy;
    std::string_view source;
    std::string_view token;
    connectors::WebhookChannel channel = connectors::WebhookChannel::kWebhook;
};

std::optional<Target> ParseTarget(std::string_view path) {
    if (!path.starts_with(kPrefix)) {
        return std::nullopt;
    }
    path.remove_prefix(kPrefix.size());
    std::vector<std::string_view> parts;
    while (!path.empty()) {
        const auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    if (parts.size() == 4 && parts[3] == kChatSuffix) {
        return Target{parts[0], parts[1], parts[2], connectors::WebhookChannel::kChatApi};
    }
    if (parts.size() == 3) {
        return Target{parts[0], parts[1], parts[2], connectors::WebhookChannel::kWebhook};
    }
    return std::nullopt;
}

http::ServerResponse Plain(unsigned status, std::string body) {
    http::ServerResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

http::ServerResponse MethodNotAllowed() {
    auto r = Plain(405, "method not allowed; Jivo delivers with POST\n");
    r.headers.emplace_back("Allow", "POST");
    return r;
}

/// The metric reason of a request the HTTP server refused.
std::string_view RefusalReason(unsigned status) {
    switch (status) {
        case 413:
            return "too_large";
        case 408:
            return "timeout";
        case 503:
            return "busy";
        default:
            return "bad_request";
    }
}

}  // namespace

struct WebhookServer::Impl {
    /// An event waiting for its commit; the request's coroutine sleeps on `wake`.
    struct Pending {
        explicit Pending(const Executor& executor)
            : wake(executor, Clock::time_point::max()) {}

        sink::InboundEvent event;
        net::steady_timer wake;
        bool done = false;
        Result<sink::EventResult> result = Errc::kCancelled;
    };

    Impl(Executor executor_in, Options options_in, sink::EventSink& sink_in, metrics::Metrics& m)
        : executor(std::move(executor_in))
        , options(std::move(options_in))
        , sink(sink_in)
        , metrics(m)
        , server(
              executor,
              http::Server::Options{
                  .listen = options.listen,
                  .max_body_bytes = options.max_body_bytes,
                  .max_connections = options.max_connections,
                  .max_connections_per_client = options.max_connections_per_client,
                  .header_timeout = options.header_timeout,
                  .idle_timeout = options.idle_timeout,
                  .body_timeout = options.body_timeout,
                  .body_min_rate = options.body_min_rate,
                  .max_body_bytes_in_flight = options.max_body_bytes_in_flight,
                  .check_head = [this](const http::ServerRequest& head) { return Check(head); },
                  .on_refused =
                      [this](const std::string& path, unsigned status) {
                          metrics.WebhookRejected(KnownSource(path), RefusalReason(status));
                      },
                  .on_connection = ConnectionReporter("webhook", m)},
              [this](http::ServerRequest request) { return Handle(std::move(request)); }
          ) {}

    /// The route a path names with the right token, or nullptr.
    const WebhookRoute* Find(const Target& t) const {
        for (const auto& r : routes) {
            if (r.source == t.source && r.strategy_name == t.strategy) {
                return SameToken(t.token, r.token) ? &r : nullptr;
            }
        }
        // No such source: still compare, so that answers take the same time either way.
        (void)SameToken(t.token, "");
        return nullptr;
    }

    /// Refuses, from the request header alone, what Handle would refuse: a wrong path or
    /// token (404) and another method than POST (405). The body is then never read.
    std::optional<http::ServerResponse> Check(const http::ServerRequest& head) const {
        const auto target = ParseTarget(head.path);
        const WebhookRoute* route = target ? Find(*target) : nullptr;
        if (route == nullptr) {
            metrics.WebhookRejected("", "not_found");
            return Plain(404, "not found\n");
        }
        if (head.method != "POST") {
            metrics.WebhookRejected(route->source, "method");
            return MethodNotAllowed();
        }
        return std::nullopt;
    }

    /// The source of a path with the right token (for metric labels), else "".
    std::string KnownSource(const std::string& path) const {
        const auto t = ParseTarget(path);
        const WebhookRoute* r = t ? Find(*t) : nullptr;
        return r != nullptr ? r->source : std::string();
    }

    Task<http::ServerResponse> Handle(http::ServerRequest request) {
        const auto arrived = Clock::now();
        const auto target = ParseTarget(request.path);
        if (!target) {
            metrics.WebhookRejected("", "not_found");
            co_return Plain(404, "not found\n");
        }
        const WebhookRoute* route = Find(*target);
        if (route == nullptr) {
            metrics.WebhookRejected("", "not_found");
            co_return Plain(404, "not found\n");
        }
        if (request.method != "POST") {
            metrics.WebhookRejected(route->source, "method");
            co_return MethodNotAllowed();
        }
        // Copied: a reload may replace the routes while this request waits for its commit.
        const std::string source = route->source;
        const auto strategy = route->strategy;
        const auto channel = target->channel;
        const auto channel_name = std::string(connectors::ChannelName(channel));

        sink::InboundEvent event;
        event.source = source;
        event.channel = channel_name;
        event.received_at = std::chrono::system_clock::now();
        event.event_key = Hex(Sha256(channel_name + "\n", request.body));
        const auto received_at =
            FormatIso8601(std::chrono::time_point_cast<std::chrono::microseconds>(event.received_at)
            );
        auto mapped = strategy->Map(channel, request.body, event.event_key, received_at);
        event.event_name = std::move(mapped.event_name);
        event.event_type = std::move(mapped.event_type);
        event.valid_json = mapped.valid_json;
        event.rows = std::move(mapped.rows);
        const std::size_t bytes = request.body.size();
        event.body = std::move(request.body);
        const bool has_rows = !event.rows.empty();
        const bool valid = event.valid_json;

        auto stored = co_await Submit(std::move(event));
        const double seconds = std::chrono::duration<double>(Clock::now() - arrived).count();
        if (!stored) {
            metrics.WebhookEvent(source, mapped.metric_event, "failed", bytes, seconds);
            metrics.WebhookRejected(source, "unavailable");
            auto r = Plain(503, "the event could not be stored now; deliver it again\n");
            r.headers.emplace_back("Retry-After", "5");
            co_return r;
        }
        std::string_view outcome = "stored";
        switch (stored->outcome) {
            case sink::EventResult::Outcome::kDuplicate:
                outcome = "duplicate";
                break;
            case sink::EventResult::Outcome::kStoredWithoutRows:
                outcome = "derive_failed";
                spdlog::warn(
                    "webhook event stored without its rows source={} event={} error=\"{}\"",
                    source,
                    mapped.metric_event,
                    stored->error
                );
                break;
            case sink::EventResult::Outcome::kStored:
                outcome = !valid ? "malformed" : (has_rows ? "stored" : "unmapped");
                break;
        }
        if (outcome == "malformed") {
            spdlog::info(
                "stored a webhook body that is not JSON, flagged malformed source={} event={} "
                "bytes={}",
                source,
                mapped.metric_event,
                bytes
            );
        }
        metrics.WebhookEvent(source, mapped.metric_event, outcome, bytes, seconds);
        if (outcome == "stored") {
            // Counted once the rows are in: a duplicate's were counted the first time.
            const auto& repairs = mapped.repairs;
            metrics.ValueRepaired(source, channel_name, "nul", repairs.nul);
            metrics.ValueRepaired(source, channel_name, "surrogate", repairs.surrogate);
            metrics.ValueRepaired(source, channel_name, "big_integer", repairs.big_integer);
            metrics.ValueRepaired(source, channel_name, "deep", repairs.deep);
        }
        http::ServerResponse r;
        r.content_type = "application/json";
        r.body = kAck;
        co_return r;
    }

    /// Queues an event for the next commit and waits for it.
    Task<Result<sink::EventResult>> Submit(sink::InboundEvent event) {
        auto pending = std::make_shared<Pending>(executor);
        pending->event = std::move(event);
        queue.push_back(pending);
        if (!writing) {
            writing = true;
            auto finished = [this](const std::exception_ptr& error) {
                writing = false;
                if (error) {
                    // Wake everyone still waiting: their events were not stored.
                    for (auto& p : queue) {
                        p->done = true;
                        p->wake.cancel();
                    }
                    queue.clear();
                }
            };
            net::co_spawn(executor, WriteLoop(), RootHandler("webhook_writes", finished));
        }
        while (!pending->done) {
            auto [ec] = co_await pending->wake.async_wait(kAsTuple);
            (void)ec;  // Cancelled when the result is in.
        }
        co_return pending->result;
    }

    /// A batch being stored.
    struct Batch {
        std::vector<std::shared_ptr<Pending>> pending;
        /// Its rows are written (or it has ended): the next batch may form.
        bool written = false;
    };

    /// Forms batches from the queue until it is empty, each once the batch before has
    /// written its rows and while fewer than kBatchesInFlight are stored: events that
    /// arrive meanwhile go into the next batch, which writes while the one before commits.
    Task<void> WriteLoop() {
        while (!queue.empty()) {
            while (in_flight >= kBatchesInFlight || (last_batch && !last_batch->written)) {
                auto [ec] = co_await writer_wake->async_wait(kAsTuple);
                (void)ec;  // Cancelled by every change.
            }
            auto batch = std::make_shared<Batch>();
            std::vector<sink::InboundEvent> events;
            std::size_t bytes = 0;
            while (!queue.empty() && batch->pending.size() < options.max_batch_events &&
                   bytes < kMaxBatchBytes) {
                batch->pending.push_back(std::move(queue.front()));
                queue.pop_front();
                bytes += batch->pending.back()->event.body.size();
                events.push_back(std::move(batch->pending.back()->event));
            }
            metrics.WebhookBatch(batch->pending.size());
            last_batch = batch;
            ++in_flight;
            net::co_spawn(
                executor, StoreBatch(batch, std::move(events)), RootHandler("webhook_batch")
            );
        }
        writing = false;
    }

    /// Stores one batch and answers its events.
    Task<void> StoreBatch(std::shared_ptr<Batch> batch, std::vector<sink::InboundEvent> events) {
        // Called on a database thread: the news is posted here. Posting throws only when
        // out of memory, which then ends the daemon.
        auto written = [ex = executor, batch, wake = writer_wake]() {
            net::post(ex, [batch, wake]() {
                batch->written = true;
                wake->cancel();
            });
        };
        Result<std::vector<sink::EventResult>> results = Errc::kSinkPermanent;
        try {
            auto task = sink.StoreEvents(std::move(events), std::move(written));
            results = co_await std::move(task);
        } catch (const std::exception& e) {
            // Nothing is acknowledged that was not committed; the senders deliver again.
            spdlog::error("storing webhook events failed error=\"{}\"", e.what());
        }
        batch->written = true;
        --in_flight;
        writer_wake->cancel();
        if (!results) {
            const auto now = Clock::now();
            if (now - last_failure_log > std::chrono::seconds(10)) {
                spdlog::warn(
                    "webhook events not stored, answered 503 events={} error=\"{}\"",
                    batch->pending.size(),
                    results.error().message()
                );
                last_failure_log = now;
            }
        }
        for (std::size_t i = 0; i < batch->pending.size(); ++i) {
            auto& p = *batch->pending[i];
            if (!results) {
                p.result = results.error();
            } else if (i < results->size()) {
                p.result = (*results)[i];
            }
            p.done = true;
            p.wake.cancel();
        }
    }

    Executor executor;
    Options options;
    sink::EventSink& sink;
    metrics::Metrics& metrics;
    std::vector<WebhookRoute> routes;
    std::deque<std::shared_ptr<Pending>> queue;
    bool writing = false;
    /// Batches being stored, and the last one formed.
    std::size_t in_flight = 0;
    std::shared_ptr<Batch> last_batch;
    /// The write loop's wait for a batch to write or end; cancelled at each.
    std::shared_ptr<net::steady_timer> writer_wake =
        std::make_shared<net::steady_timer>(executor, Clock::time_point::max());
    Clock::time_point last_failure_log{};
    /// Last: its handler refers to the members above.
    http::Server server;
};

WebhookServer::WebhookServer(
    Executor executor,
    Options options,
    sink::EventSink& sink,
    metrics::Metrics& metrics
)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options), sink, metrics)) {}

WebhookServer::~WebhookServer() = default;

void WebhookServer::SetRoutes(std::vector<WebhookRoute> routes) {
    impl_->routes = std::move(routes);
}

Result<void> WebhookServer::Start() {
    return impl_->server.Start();
}

std::uint16_t WebhookServer::port() const noexcept {
    return impl_->server.port();
}

void WebhookServer::Stop() {
    impl_->server.Stop();
}

Task<void> WebhookServer::Drained() {
    return impl_->server.Drained();
}

}  // namespace chatsync::server
