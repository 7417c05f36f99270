#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "connectors/webhook_strategy.hpp"
#include "core/time.hpp"
#include "daemon/commands.hpp"

namespace chatsync::daemon {
namespace {

/// Events per batch of `rederive`: read, mapped and written together (one transaction).
constexpr std::size_t kRederiveBatch = 500;

/// What `rederive` did so far.
struct RederiveTotals {
    std::int64_t read = 0;
    std::int64_t derived = 0;
    std::int64_t cleared = 0;
    std::int64_t failing = 0;
    std::int64_t recorded = 0;
    std::int64_t not_json = 0;
    std::int64_t rows_written = 0;
};

/// Reports through out-parameters owned by the caller, which waits for it in App::Run() and so
/// outlives it.
Task<void> RederiveAll(
    sink::PgSink* db,
    std::string source,
    const connectors::WebhookStrategy* strategy,
    std::optional<sink::TimePoint> since,
    std::size_t batch_size,
    RederiveTotals* totals,
    int* rc
) {
    auto prepared = co_await db->PrepareEventTables(source, strategy->Tables());
    if (!prepared) {
        spdlog::error(
            "cannot create the event tables source={} error=\"{}\"",
            source,
            prepared.error().message()
        );
        *rc = kExitFailure;
        co_return;
    }
    std::optional<std::string> after;
    for (;;) {
        auto read = co_await db->ReadEvents(source, since, after, batch_size);
        if (!read) {
            spdlog::error(
                "cannot read the stored events source={} error=\"{}\"",
                source,
                read.error().message()
            );
            *rc = kExitUnavailable;
            co_return;
        }
        if (read->empty()) {
            break;
        }
        after = read->back().event_key;
        std::vector<sink::InboundEvent> events;
        for (auto& stored : *read) {
            ++totals->read;
            if (stored.malformed) {
                // Not JSON: intake stores such bodies without rows, and so does this.
                ++totals->not_json;
                continue;
            }
            if (!stored.body) {
                // The database refused the body as JSON; its derive_error says why, and
                // intake would write no rows from it either.
                ++totals->failing;
                continue;
            }
            const auto channel = stored.channel == "chat_api"
                                     ? connectors::WebhookChannel::kChatApi
                                     : connectors::WebhookChannel::kWebhook;
            auto mapped = strategy->Map(
                channel,
                *stored.body,
                stored.event_key,
                FormatIso8601(
                    std::chrono::time_point_cast<std::chrono::microseconds>(stored.received_at)
                )
            );
            sink::InboundEvent event;
            event.source = source;
            event.event_key = std::move(stored.event_key);
            event.received_at = stored.received_at;
            event.rows = std::move(mapped.rows);
            events.push_back(std::move(event));
        }
        auto written = co_await db->RederiveEvents(events);
        if (!written) {
            spdlog::error(
                "writing re-derived rows failed source={} error=\"{}\"",
                source,
                written.error().message()
            );
            *rc = kExitFailure;
            co_return;
        }
        for (std::size_t i = 0; i < written->size(); ++i) {
            const auto& r = (*written)[i];
            totals->rows_written += r.rows_written;
            if (r.error.empty()) {
                ++totals->derived;
                totals->cleared += r.error_changed ? 1 : 0;
            } else {
                ++totals->failing;
                totals->recorded += r.error_changed ? 1 : 0;
                spdlog::warn(
                    "webhook event still derives no rows source={} event_key={} error=\"{}\"",
                    source,
                    events[i].event_key,
                    r.error
                );
            }
        }
        // Progress, a line per batch: on stderr, with the log.
        std::fprintf(
            stderr,
            "rederive %s: %lld events read, %lld derived, %lld still failing, %lld rows "
            "written\n",
            source.c_str(),
            static_cast<long long>(totals->read),
            static_cast<long long>(totals->derived),
            static_cast<long long>(totals->failing),
            static_cast<long long>(totals->rows_written)
        );
    }
}

}  // namespace

int Rederive(App& app, const Arguments& args) {
    // Names first, as for once: a wrong one must not open (or start) a database.
    if (const int rc = CheckNames(app.config(), args); rc != kExitOk) {
        return rc;
    }
    if (!args.source) {
        return kExitUsage;  // ParseArguments refuses `rederive` without --source.
    }
    const auto* source = app.config().FindSource(*args.source);
    const auto& hook = source->connector.webhook;
    auto strategy = hook ? connectors::MakeWebhookStrategy(hook->strategy) : nullptr;
    if (!strategy) {
        std::fprintf(
            stderr,
            "chatsyncd: source '%s' receives no webhooks: there are no stored events to "
            "derive rows from\n",
            args.source->c_str()
        );
        return kExitUsage;
    }
    std::optional<sink::TimePoint> since;
    if (args.since) {
        // Checked when the command line was parsed.
        since = ParseIso8601(*args.since).value_or(SysTime{});
    }
    if (const int rc = app.OpenDatabase(); rc != kExitOk) {
        return rc;
    }
    RederiveTotals totals;
    int rc = kExitOk;
    const std::size_t batch_size = app.hooks().rederive_batch.value_or(kRederiveBatch);
    app.Run(RederiveAll(&app.db(), *args.source, strategy.get(), since, batch_size, &totals, &rc));
    std::printf(
        "rederive %s: %lld events read, %lld derived (%lld derive errors cleared), %lld "
        "still failing (%lld derive errors recorded), %lld not JSON, %lld rows written%s\n",
        args.source->c_str(),
        static_cast<long long>(totals.read),
        static_cast<long long>(totals.derived),
        static_cast<long long>(totals.cleared),
        static_cast<long long>(totals.failing),
        static_cast<long long>(totals.recorded),
        static_cast<long long>(totals.not_json),
        static_cast<long long>(totals.rows_written),
        rc == kExitOk ? "" : " (stopped early: see the log)"
    );
    std::fflush(stdout);
    return rc;
}

}  // namespace chatsync::daemon
