#include "daemon/app.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "connectors/runner.hpp"
#include "connectors/webhook_strategy.hpp"
#include "core/error.hpp"
#include "core/redactor.hpp"
#include "core/time.hpp"
#include "daemon/logging.hpp"
#include "daemon/notify.hpp"
#include "http/client.hpp"
#include "metrics/metrics.hpp"
#include "sched/scheduler.hpp"
#include "server/admin.hpp"
#include "server/listener.hpp"
#include "server/webhook.hpp"
#include "sink/embedded.hpp"
#include "sink/pg_sink.hpp"

namespace chatsync::daemon {
namespace {

using SysClock = std::chrono::system_clock;

/// Registers every secret of the config with the redactor before anything is logged.
void RegisterSecrets(const config::Config& config, Redactor& redactor) {
    redactor.Add(config.database.dsn);
    // A DSN's password also travels alone in libpq's messages.
    const auto& dsn = config.database.dsn;
    if (const auto at = dsn.find('@'), scheme = dsn.find("://");
        at != std::string::npos && scheme != std::string::npos) {
        const auto userinfo = dsn.substr(scheme + 3, at - scheme - 3);
        if (const auto colon = userinfo.find(':'); colon != std::string::npos) {
            redactor.Add(userinfo.substr(colon + 1));
        }
    }
    if (const auto pw = dsn.find("password="); pw != std::string::npos) {
        const auto end = dsn.find(' ', pw);
        redactor.Add(dsn.substr(pw + 9, end == std::string::npos ? std::string::npos : end - pw - 9)
        );
    }
    for (const auto& source : config.sources) {
        for (const auto& key : source.secret_keys) {
            if (const auto it = source.values.find(key); it != source.values.end()) {
                redactor.Add(it->second);
            }
        }
    }
}

connectors::SourceSettings
SettingsFor(const config::SourceConfig& source, const config::Config& config) {
    connectors::SourceSettings s;
    s.name = source.name;
    s.spec = source.connector;
    for (const auto& [key, value] : source.values) {
        s.values[key] = value;
    }
    s.http.connect_timeout = source.http.connect_timeout;
    s.http.idle_timeout = source.http.idle_timeout;
    s.http.total_timeout = source.http.total_timeout;
    s.http.verify_tls = source.http.verify_tls;
    s.http.ca_file = source.http.ca_file;
    s.http.local_address = source.http.local_address;
    s.http.max_response_bytes = config.limits.max_response_bytes;
    s.budget.requests_per_minute = source.connector.rate_limit.requests_per_minute;
    s.budget.burst = source.connector.rate_limit.EffectiveBurst();
    s.budget.concurrency = source.connector.rate_limit.concurrency;
    s.backoff.initial = source.retry.initial_backoff;
    s.backoff.max = source.retry.max_backoff;
    s.backoff.max_attempts = source.retry.max_attempts;
    s.max_retry_after = source.retry.max_retry_after;
    s.max_batch_rows = config.limits.max_batch_rows;
    s.max_in_flight_bytes = static_cast<std::size_t>(config.limits.max_in_flight_bytes);
    s.hold = source.retry.hold;
    if (!source.http.local_address.empty()) {
        s.egress = source.http.local_address;
    }
    // Tests run rate limits on a compressed clock: the budget counts requests_per_minute over
    // this many milliseconds instead of a minute (the emulators shorten their windows alike).
    if (const char* ms = std::getenv("CHATSYNC_TEST_RATE_WINDOW_MS"); ms != nullptr) {
        if (const long v = std::strtol(ms, nullptr, 10); v > 0) {
            s.budget.window = std::chrono::milliseconds(v);
        }
    }
    return s;
}

bool IsTopLevel(const connectors::ResourceSpec& r) {
    return r.enabled && !r.parent;
}

std::string FormatAge(std::optional<sink::TimePoint> t) {
    if (!t) {
        return "-";
    }
    return FormatTime(
        std::chrono::time_point_cast<std::chrono::microseconds>(*t), "%Y-%m-%d %H:%M:%S"
    );
}

/// Everything a command needs: the config, logging, the database and the metrics.
class App final {
public:
    explicit App(config::Config config)
        : config_(std::move(config)) {
        RegisterSecrets(config_, redactor_);
        SetUpLogging(config_.log.level, config_.log.format, redactor_);
    }

    ~App() {
        if (sink_) {
            sink_->Stop();
        }
        if (embedded_) {
            if (auto stopped = embedded_->Stop(); !stopped) {
                spdlog::warn(
                    "embedded postgresql did not stop error=\"{}\"", stopped.error().message()
                );
            }
        }
        spdlog::default_logger()->flush();
    }

    App(const App&) = delete;
    App& operator=(const App&) = delete;

    /// Connects to (or starts) the database and applies migrations.
    int OpenDatabase() {
        std::string dsn = config_.database.dsn;
        if (dsn.empty()) {
            sink::EmbeddedPostgres::Options opts;
            opts.dir = config_.data_dir / "postgres";
            opts.bin_dir = config_.database.embedded.bin_dir;
            opts.port = config_.database.embedded.port;
            opts.run_as_user = config_.database.embedded.run_as_user;
            embedded_ = std::make_unique<sink::EmbeddedPostgres>(opts);
            spdlog::info("starting embedded postgresql dir={}", opts.dir.string());
            auto started = embedded_->Start();
            if (!started) {
                spdlog::error("embedded postgresql failed: {}", started.error().message());
                return kExitUnavailable;
            }
            dsn = *started;
        }
        sink_ = std::make_unique<sink::PgSink>(
            sink::PgSink::Options{
                .dsn = dsn,
                .pool_size = config_.database.pool_size,
                .statement_timeout = config_.database.statement_timeout,
                .connect_timeout = config_.database.connect_timeout,
            },
            redactor_
        );
        Result<int> migrated = Errc::kCancelled;
        Run(Migrate(&migrated));
        if (!migrated) {
            spdlog::error(
                "database unavailable: {} ({})",
                migrated.error().message(),
                migrated.error().code().message()
            );
            return kExitUnavailable;
        }
        metrics_.DatabaseUp(true);
        spdlog::debug("database ready schema_version={}", *migrated);
        return kExitOk;
    }

    int Once(const Arguments& args) {
        // Names first: a wrong one must not start (or initdb) an embedded cluster.
        if (const int rc = CheckNames(args); rc != kExitOk) {
            return rc;
        }
        signals_.emplace(ioc_, SIGINT, SIGTERM);
        if (const int rc = OpenDatabase(); rc != kExitOk) {
            return rc;
        }
        MakeRunners(args.source);
        // The one source asked for cannot run here: a config problem, said as start-up says it.
        if (const auto refused = args.source ? refused_.find(*args.source) : refused_.end();
            refused != refused_.end()) {
            std::fprintf(
                stderr,
                "chatsyncd: source %s refused: %s\n",
                refused->first.c_str(),
                refused->second.c_str()
            );
            return kExitConfig;
        }

        struct Item {
            connectors::SourceRunner* runner;
            std::string resource;
        };

        std::vector<Item> items;
        for (auto& [name, runner] : runners_) {
            for (const auto& r : runner->settings().spec.resources) {
                if (!IsTopLevel(r) || (args.resource && r.name != *args.resource)) {
                    continue;
                }
                items.push_back({runner.get(), r.name});
            }
        }
        progress_ = isatty(STDERR_FILENO) == 1;
        sched::Scheduler scheduler(
            ioc_.get_executor(),
            {.max_concurrent = config_.limits.max_concurrent_runs, .once = true}
        );
        for (const auto& item : items) {
            auto* runner = item.runner;
            auto resource = item.resource;
            scheduler.Add({
                .name = runner->settings().name + "/" + resource,
                .group = runner->settings().name,
                .group_limit = runner->settings().spec.rate_limit.concurrency,
                .run = [this, runner, resource]() { return RunOnce(runner, resource); },
            });
        }
        InstallSignals(&scheduler);
        Run(scheduler.Wait());
        PrintSummary(reports_);
        const bool all_ok = std::all_of(reports_.begin(), reports_.end(), [](const auto& r) {
            return Succeeded(r);
        });
        return all_ok && !interrupted_ && refused_.empty() ? kExitOk : kExitFailure;
    }

    int Daemon() {
        // Claim SIGINT and SIGTERM before anything else: one that arrives during start-up is
        // queued and handled as soon as the handlers are in place, instead of killing us.
        signals_.emplace(ioc_, SIGINT, SIGTERM);
        control_signals_.emplace(ioc_, SIGHUP, SIGUSR1);
        SetConnectionBudgets();
        if (const int rc = OpenDatabase(); rc != kExitOk) {
            return rc;
        }
        StateMap states;
        Result<std::vector<sink::ResourceState>> listed = Errc::kCancelled;
        Run(ListStates(&listed));
        if (listed) {
            for (auto& s : *listed) {
                states[{s.source, s.resource}] = std::move(s);
            }
        }
        // Before any listener: Run() returns only when the I/O context has no work left.
        if (!config_.webhooks.listen.empty()) {
            if (const int rc = StartWebhooks(); rc != kExitOk) {
                return rc;
            }
        }
        std::optional<server::AdminServer> admin;
        if (!config_.admin.listen.empty()) {
            admin.emplace(
                ioc_.get_executor(),
                server::AdminServer::Options{
                    .listen = config_.admin.listen,
                    .max_connections = budgets_.admin,
                    .max_connections_per_client = budgets_.admin_per_client},
                metrics_,
                [this]() { return CheckReady(); }
            );
            if (auto started = admin->Start(); !started) {
                spdlog::error(
                    "admin listener failed listen={} error=\"{}\"",
                    config_.admin.listen,
                    started.error().message()
                );
                return kExitUnavailable;
            }
            spdlog::info(
                "admin listener ready listen={} port={}", config_.admin.listen, admin->port()
            );
        }
        scheduler_.emplace(
            ioc_.get_executor(),
            sched::Scheduler::Options{.max_concurrent = config_.limits.max_concurrent_runs}
        );
        for (const auto& source : config_.sources) {
            if (source.enabled) {
                StartSource(source, states);
            }
        }
        started_at_ = SysClock::now();
        spdlog::info(
            "chatsyncd started version={} sources={} resources={}",
            CHATSYNC_VERSION,
            runners_.size(),
            health_.size()
        );
        InstallSignals(&*scheduler_, admin ? &*admin : nullptr);
        InstallControlSignals();
        // The database answered and the listeners are bound: systemd may now order
        // dependent units after us.
        notifier_.Send("READY=1");
        if (const auto every = notifier_.WatchdogPingInterval()) {
            watchdog_.emplace(ioc_);
            net::co_spawn(ioc_, WatchdogLoop(*every), [](std::exception_ptr) {});
        }
        Run(Serve(&*scheduler_, admin ? &*admin : nullptr));
        if (exit_now_) {
            ExitNow();
        }
        spdlog::info("chatsyncd stopped");
        return kExitOk;
    }

    int Status() {
        if (const int rc = OpenDatabase(); rc != kExitOk) {
            return rc;
        }
        Result<std::vector<sink::ResourceState>> listed = Errc::kCancelled;
        Run(ListStates(&listed));
        if (!listed) {
            std::fprintf(
                stderr, "chatsyncd: cannot read state: %s\n", listed.error().message().c_str()
            );
            return kExitUnavailable;
        }
        Result<std::map<std::string, sink::Latch>> latches = Errc::kCancelled;
        Run(ListLatches(&latches));
        if (!latches) {
            std::fprintf(
                stderr, "chatsyncd: cannot read latches: %s\n", latches.error().message().c_str()
            );
            return kExitUnavailable;
        }
        std::printf(
            "%-14s %-18s %-19s %-11s %9s %9s  %-24s %-19s\n",
            "SOURCE",
            "RESOURCE",
            "LAST RUN",
            "OUTCOME",
            "WRITTEN",
            "UNCHANGED",
            "CURSOR",
            "NEXT RUN"
        );
        // A latched source sends nothing until the latch is cleared, whatever its resources'
        // last outcome and schedule say: it shows as latched, with no next run.
        auto print = [](const sink::ResourceState& s, const sink::Latch* latch) {
            const char* outcome = s.last_outcome.empty() ? "never run" : s.last_outcome.c_str();
            std::printf(
                "%-14s %-18s %-19s %-11s %9lld %9lld  %-24s %-19s\n",
                s.source.c_str(),
                s.resource.c_str(),
                FormatAge(s.last_run_at).c_str(),
                latch != nullptr ? "latched" : outcome,
                static_cast<long long>(s.last_rows_written),
                static_cast<long long>(s.last_rows_unchanged),
                s.cursor.value_or("-").c_str(),
                latch != nullptr ? "-" : FormatAge(s.next_run_at).c_str()
            );
            // The run that set the latch failed with the latch's reason, said below.
            const bool said_below =
                latch != nullptr && s.last_error.find(latch->reason) != std::string::npos;
            if (!s.last_error.empty() && !said_below) {
                std::printf("    error: %s\n", s.last_error.c_str());
            }
            if (s.checkpoint) {
                std::printf(
                    "    unfinished run %s: resumes from its checkpoint\n",
                    s.run_id.value_or("?").c_str()
                );
            }
        };
        for (const auto& source : config_.sources) {
            const auto latched = latches->find(source.name);
            const sink::Latch* latch = latched != latches->end() ? &latched->second : nullptr;
            for (const auto& r : source.connector.resources) {
                if (!IsTopLevel(r)) {
                    continue;
                }
                const auto it = std::find_if(listed->begin(), listed->end(), [&](const auto& s) {
                    return s.source == source.name && s.resource == r.name;
                });
                if (it != listed->end()) {
                    print(*it, latch);
                } else {
                    sink::ResourceState never;
                    never.source = source.name;
                    never.resource = r.name;
                    print(never, latch);
                }
            }
            if (latch != nullptr) {
                std::printf(
                    "    source %s latched since %s: %s\n"
                    "    no resource of it runs until: chatsyncd breach clear --source %s\n",
                    source.name.c_str(),
                    FormatAge(latch->set_at).c_str(),
                    latch->reason.c_str(),
                    source.name.c_str()
                );
            }
        }
        return kExitOk;
    }

    int Reset(const Arguments& args) {
        const auto* source = config_.FindSource(*args.source);
        if (source == nullptr) {
            std::fprintf(stderr, "chatsyncd: no source named '%s'\n", args.source->c_str());
            return kExitUsage;
        }
        if (args.resource && source->connector.FindResource(*args.resource) == nullptr) {
            std::fprintf(
                stderr,
                "chatsyncd: source '%s' has no resource '%s'\n",
                args.source->c_str(),
                args.resource->c_str()
            );
            return kExitUsage;
        }
        if (const int rc = OpenDatabase(); rc != kExitOk) {
            return rc;
        }
        Result<std::int64_t> reset = Errc::kCancelled;
        Run(ResetState(*args.source, args.resource.value_or(""), &reset));
        if (!reset) {
            std::fprintf(stderr, "chatsyncd: reset failed: %s\n", reset.error().message().c_str());
            return kExitUnavailable;
        }
        std::printf(
            "reset %lld resource(s) of source %s: the next run re-syncs in full\n",
            static_cast<long long>(*reset),
            args.source->c_str()
        );
        return kExitOk;
    }

    int BreachClear(const Arguments& args) {
        if (config_.FindSource(*args.source) == nullptr) {
            std::fprintf(stderr, "chatsyncd: no source named '%s'\n", args.source->c_str());
            return kExitUsage;
        }
        if (const int rc = OpenDatabase(); rc != kExitOk) {
            return rc;
        }
        Result<std::optional<sink::Latch>> latch = Errc::kCancelled;
        Result<bool> cleared = Errc::kCancelled;
        Result<std::int64_t> forgot = Errc::kCancelled;
        Run(ClearLatch(*args.source, &latch, &cleared, &forgot));
        if (!latch || !cleared || !forgot) {
            // The first call that failed; the ones after it did not run.
            const Error failure = !latch     ? latch.error()
                                  : !cleared ? cleared.error()
                                             : forgot.error();
            std::fprintf(stderr, "chatsyncd: breach clear failed: %s\n", failure.message().c_str());
            return kExitUnavailable;
        }
        if (*forgot > 0) {
            std::printf(
                "forgot the %lld egress address(es) source %s had used\n",
                static_cast<long long>(*forgot),
                args.source->c_str()
            );
        }
        if (!*cleared) {
            std::printf("source %s is not latched\n", args.source->c_str());
            return kExitOk;
        }
        spdlog::warn(
            "latch cleared source={} reason=\"{}\" latched_at={}",
            args.source->c_str(),
            (*latch)->reason,
            FormatAge((*latch)->set_at)
        );
        std::printf(
            "cleared the latch of source %s (set %s: %s); its next run sends requests again\n",
            args.source->c_str(),
            FormatAge((*latch)->set_at).c_str(),
            (*latch)->reason.c_str()
        );
        return kExitOk;
    }

    /// `rederive --source S [--since T]`: maps the source's stored webhook events again, in
    /// the order received and a batch at a time, and writes their rows as intake would.
    int Rederive(const Arguments& args) {
        // Names first, as for once: a wrong one must not open (or start) a database.
        if (const int rc = CheckNames(args); rc != kExitOk) {
            return rc;
        }
        const auto* source = config_.FindSource(*args.source);
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
        if (const int rc = OpenDatabase(); rc != kExitOk) {
            return rc;
        }
        RederiveTotals totals;
        int rc = kExitOk;
        Run(RederiveAll(*args.source, strategy.get(), since, &totals, &rc));
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

private:
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

    /// Events per batch of `rederive`: read, mapped and written together (one transaction).
    static std::size_t RederiveBatch() {
        // Tests take several batches out of a few events.
        if (const char* n = std::getenv("CHATSYNC_TEST_REDERIVE_BATCH"); n != nullptr) {
            if (const long v = std::strtol(n, nullptr, 10); v > 0) {
                return static_cast<std::size_t>(v);
            }
        }
        return 500;
    }

    Task<void> RederiveAll(
        std::string source,
        const connectors::WebhookStrategy* strategy,
        std::optional<sink::TimePoint> since,
        RederiveTotals* totals,
        int* rc
    ) {
        auto prepared = co_await sink_->PrepareEventTables(source, strategy->Tables());
        if (!prepared) {
            spdlog::error(
                "cannot create the event tables source={} error=\"{}\"",
                source,
                prepared.error().message()
            );
            *rc = kExitFailure;
            co_return;
        }
        const std::size_t batch_size = RederiveBatch();
        std::optional<std::string> after;
        for (;;) {
            auto read = co_await sink_->ReadEvents(source, since, after, batch_size);
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
            auto written = co_await sink_->RederiveEvents(events);
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

    /// `--source` and `--resource` of `once` against the config, before anything else
    /// happens: kExitUsage with a one-line reason (and what the config has) when one names
    /// nothing there.
    int CheckNames(const Arguments& args) const {
        if (!args.source) {
            return kExitOk;
        }
        const auto* source = config_.FindSource(*args.source);
        if (source == nullptr) {
            std::vector<std::string> names;
            for (const auto& s : config_.sources) {
                names.push_back(s.name);
            }
            std::fprintf(
                stderr,
                "chatsyncd: no source named '%s' in %s (it has: %s)\n",
                args.source->c_str(),
                config_.path.c_str(),
                names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")).c_str()
            );
            return kExitUsage;
        }
        if (!source->enabled) {
            std::fprintf(
                stderr,
                "chatsyncd: source '%s' is disabled in %s (enabled: false)\n",
                args.source->c_str(),
                config_.path.c_str()
            );
            return kExitUsage;
        }
        if (!args.resource) {
            return kExitOk;
        }
        std::vector<std::string> names;
        for (const auto& r : source->connector.resources) {
            if (!IsTopLevel(r)) {
                continue;
            }
            if (r.name == *args.resource) {
                return kExitOk;
            }
            names.push_back(r.name);
        }
        std::fprintf(
            stderr,
            "chatsyncd: source '%s' has no top-level resource '%s' (it has: %s)\n",
            args.source->c_str(),
            args.resource->c_str(),
            names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")).c_str()
        );
        return kExitUsage;
    }

    struct ResourceHealth {
        Millis interval{0};
        std::optional<sink::TimePoint> last_success;
    };

    using StateMap = std::map<std::pair<std::string, std::string>, sink::ResourceState>;

    // Coroutines that report through an out-parameter owned by the caller, which waits for
    // them in Run() and so outlives them.
    Task<void> Migrate(Result<int>* out) { *out = co_await sink_->Migrate(); }

    Task<void> ListStates(Result<std::vector<sink::ResourceState>>* out) {
        *out = co_await sink_->ListStates();
    }

    /// The latch of every configured source that has one, by source name.
    Task<void> ListLatches(Result<std::map<std::string, sink::Latch>>* out) {
        std::map<std::string, sink::Latch> latches;
        for (const auto& source : config_.sources) {
            auto latch = co_await sink_->GetLatch(source.name);
            if (!latch) {
                *out = latch.error();
                co_return;
            }
            if (*latch) {
                latches.emplace(source.name, std::move(**latch));
            }
        }
        *out = std::move(latches);
    }

    Task<void> ClearLatch(
        std::string source,
        Result<std::optional<sink::Latch>>* latch,
        Result<bool>* cleared,
        Result<std::int64_t>* forgot
    ) {
        *latch = co_await sink_->GetLatch(source);
        if (*latch) {
            *cleared = co_await sink_->ClearLatch(source);
        }
        if (*latch && *cleared) {
            // The addresses it sent from are history too: the next run starts a new list.
            *forgot = co_await sink_->ForgetEgress(source);
        }
    }

    Task<void> ResetState(std::string source, std::string resource, Result<std::int64_t>* out) {
        *out = co_await sink_->ResetState(std::move(source), std::move(resource));
    }

    Task<bool> RunOnce(connectors::SourceRunner* runner, std::string resource) {
        if (progress_) {
            std::fprintf(
                stderr, "syncing %s/%s ...\n", runner->settings().name.c_str(), resource.c_str()
            );
        }
        auto report = co_await runner->Run(resource);
        LogReport(report);
        if (progress_) {
            std::fprintf(
                stderr,
                "%s/%s: %s, %lld pages, %lld rows written, %lld unchanged\n",
                report.source.c_str(),
                report.resource.c_str(),
                report.outcome.c_str(),
                static_cast<long long>(report.pages),
                static_cast<long long>(report.rows_written),
                static_cast<long long>(report.rows_unchanged)
            );
        }
        const bool ok = Succeeded(report);
        reports_.push_back(std::move(report));
        co_return ok;
    }

    /// Sends WATCHDOG=1 from the event loop itself, so a loop that hangs stops the pings and
    /// systemd restarts the service.
    Task<void> WatchdogLoop(Millis every) {
        while (watchdog_) {
            notifier_.Send("WATCHDOG=1");
            watchdog_->expires_after(every);
            auto [ec] = co_await watchdog_->async_wait(kAsTuple);
            if (ec) {
                break;
            }
        }
    }

    /// SIGHUP reloads the config. SIGUSR1 blocks the event loop for $CHATSYNC_TEST_STALL_MS
    /// when that is set: a test hook that proves the watchdog notices a hung loop.
    void InstallControlSignals() { WaitControlSignal(); }

    void WaitControlSignal() {
        control_signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
            if (ec) {
                return;
            }
            if (signo == SIGHUP) {
                spdlog::info("SIGHUP received, reloading config path={}", config_.path.string());
                Reload();
            } else {
                StallLoopForTest();
            }
            WaitControlSignal();
        });
    }

    static void StallLoopForTest() {
        const char* ms = std::getenv("CHATSYNC_TEST_STALL_MS");
        if (ms != nullptr) {
            spdlog::warn("stalling the event loop for a test stall_ms={}", ms);
            std::this_thread::sleep_for(std::chrono::milliseconds(std::atol(ms)));
        }
    }

    /// Waits for the scheduler to drain after a stop, then closes the listeners, whose
    /// accept loops would otherwise keep the I/O context running, and waits for their last
    /// connections (webhooks in progress are answered after their commit). The grace timer
    /// ends whatever is still running when the grace is over.
    Task<void> Serve(sched::Scheduler* scheduler, server::AdminServer* admin) {
        co_await scheduler->Wait();
        if (webhooks_) {
            webhooks_->Stop();
        }
        if (admin != nullptr) {
            admin->Stop();
        }
        if (webhooks_) {
            co_await webhooks_->Drained();
        }
        if (admin != nullptr) {
            co_await admin->Drained();
        }
    }

    /// Leaves at once when the shutdown grace ran out (or a second signal came). What is still
    /// in flight could hold the teardown past the grace (a commit waiting on a lock keeps a
    /// database pool thread, which the sink's destructor joins). What was acknowledged is
    /// committed; the database rolls back the rest when the connections drop. An embedded cluster
    /// is stopped first: its fast shutdown ends those sessions.
    [[noreturn]] void ExitNow() {
        if (embedded_) {
            if (auto stopped = embedded_->Stop(); !stopped) {
                spdlog::warn(
                    "embedded postgresql did not stop error=\"{}\"", stopped.error().message()
                );
            }
        }
        spdlog::info("chatsyncd stopped");
        spdlog::default_logger()->flush();
        std::_Exit(kExitOk);
    }

    /// Raises the open-file limit to its hard limit and derives the listeners' connection
    /// budgets from it, so that neither listener can take the descriptors the other, the
    /// database and the upstream connections need.
    void SetConnectionBudgets() {
        const auto limit = server::RaiseOpenFileLimit();
        if (!limit.error.empty()) {
            spdlog::warn(
                "cannot raise the open-file limit soft={} hard={} error=\"{}\"",
                limit.soft,
                limit.hard,
                limit.error
            );
        }
        budgets_ = server::DeriveConnectionBudgets(
            limit.soft,
            !config_.webhooks.listen.empty(),
            config_.webhooks.max_connections,
            config_.webhooks.max_connections_per_client,
            config_.admin.max_connections,
            config_.admin.max_connections_per_client
        );
        spdlog::info(
            "connection budgets open_files={} raised={} webhook={} webhook_per_client={} "
            "admin={} admin_per_client={}",
            limit.soft,
            limit.raised,
            budgets_.webhook,
            budgets_.webhook_per_client,
            budgets_.admin,
            budgets_.admin_per_client
        );
        const std::uint64_t wanted = budgets_.webhook + budgets_.admin + server::kReservedFiles;
        if (limit.soft != 0 && wanted > limit.soft) {
            spdlog::warn(
                "the configured connection budgets exceed the open-file limit; a flood can "
                "exhaust descriptors open_files={} needed={}",
                limit.soft,
                wanted
            );
        }
    }

    /// The routes of the enabled sources that receive webhooks.
    std::vector<server::WebhookRoute> WebhookRoutes() const {
        std::vector<server::WebhookRoute> routes;
        for (const auto& source : config_.sources) {
            const auto& hook = source.connector.webhook;
            if (!source.enabled || !hook) {
                continue;
            }
            const auto token = source.values.find(hook->token_param);
            routes.push_back(server::WebhookRoute{
                .source = source.name,
                .strategy_name = hook->strategy,
                .token = token != source.values.end() ? token->second : std::string(),
                .strategy = connectors::MakeWebhookStrategy(hook->strategy)});
        }
        return routes;
    }

    /// Creates the event tables of every route's source; false (logged) on failure.
    Task<bool> PrepareEventTables(std::vector<server::WebhookRoute> routes) {
        for (const auto& route : routes) {
            auto task = sink_->PrepareEventTables(route.source, route.strategy->Tables());
            auto prepared = co_await std::move(task);
            if (!prepared) {
                spdlog::error(
                    "cannot create the event tables source={} error=\"{}\"",
                    route.source,
                    prepared.error().message()
                );
                co_return false;
            }
        }
        co_return true;
    }

    /// Creates the event tables, then binds the webhook listener (so call it before any
    /// other listener exists: it waits on the I/O context).
    int StartWebhooks() {
        auto routes = WebhookRoutes();
        bool prepared = false;
        Run([](App* self, std::vector<server::WebhookRoute> r, bool* out) -> Task<void> {
            auto task = self->PrepareEventTables(std::move(r));
            *out = co_await std::move(task);
        }(this, routes, &prepared));
        if (!prepared) {
            return kExitUnavailable;
        }
        webhooks_.emplace(
            ioc_.get_executor(),
            server::WebhookServer::Options{
                .listen = config_.webhooks.listen,
                .max_body_bytes = config_.webhooks.max_body_bytes,
                .max_batch_events = config_.webhooks.max_batch_events,
                .max_connections = budgets_.webhook,
                .max_connections_per_client = budgets_.webhook_per_client,
                .header_timeout = config_.webhooks.header_timeout,
                .idle_timeout = config_.webhooks.idle_timeout,
                .body_timeout = config_.webhooks.body_timeout,
                .body_min_rate = static_cast<std::size_t>(config_.webhooks.body_min_rate),
                .max_body_bytes_in_flight =
                    static_cast<std::size_t>(config_.webhooks.max_body_bytes_in_flight)},
            *sink_,
            metrics_
        );
        std::vector<std::string> names;
        for (const auto& r : routes) {
            names.push_back(r.source);
        }
        webhooks_->SetRoutes(std::move(routes));
        if (auto started = webhooks_->Start(); !started) {
            spdlog::error(
                "webhook listener failed listen={} error=\"{}\"",
                config_.webhooks.listen,
                started.error().message()
            );
            return kExitUnavailable;
        }
        spdlog::info(
            "webhook listener ready listen={} port={} sources={}",
            config_.webhooks.listen,
            webhooks_->port(),
            fmt::join(names, ",")
        );
        return kExitOk;
    }

    /// After a reload: tables for new webhook sources first, then the new routes.
    Task<void> UpdateWebhookRoutes() {
        auto routes = WebhookRoutes();
        auto task = PrepareEventTables(routes);
        const bool prepared = co_await std::move(task);
        if (prepared && webhooks_) {
            webhooks_->SetRoutes(std::move(routes));
        }
    }

    Task<bool> RunScheduled(connectors::SourceRunner* runner, std::string resource) {
        auto report = co_await runner->Run(resource);
        LogReport(report);
        if (report.outcome == "success") {
            health_[{report.source, report.resource}].last_success = SysClock::now();
        }
        co_return Succeeded(report);
    }

    /// A run that did its job: it synced, or it was not due (its API allows no call yet).
    static bool Succeeded(const connectors::RunReport& r) {
        return r.outcome == "success" || r.outcome == "not_due";
    }

    static void LogReport(const connectors::RunReport& r) {
        if (r.outcome == "success") {
            spdlog::info(
                "sync finished source={} resource={} outcome=success pages={} requests={} "
                "rows_written={} "
                "rows_unchanged={} rows_deleted={} cursor={} resumed={} duration_ms={}",
                r.source,
                r.resource,
                r.pages,
                r.requests,
                r.rows_written,
                r.rows_unchanged,
                r.rows_deleted,
                r.cursor.empty() ? "-" : r.cursor,
                r.resumed,
                static_cast<long long>(r.seconds * 1000)
            );
        } else if (r.outcome == "held") {
            // The refusal that started the hold was logged once, as an error.
            spdlog::debug(
                "sync held source={} resource={} outcome=held reason=\"{}\"",
                r.source,
                r.resource,
                r.error
            );
        } else if (r.outcome == "not_due") {
            spdlog::info(
                "sync not due source={} resource={} outcome=not_due reason=\"{}\"",
                r.source,
                r.resource,
                r.error
            );
        } else if (r.outcome == "skipped") {
            // Handled, not a failure: another process holds the resource.
            spdlog::warn(
                "sync skipped source={} resource={} outcome=skipped reason=\"{}\"",
                r.source,
                r.resource,
                r.error
            );
        } else {
            spdlog::error(
                "sync failed source={} resource={} outcome={} kind={} pages={} rows_written={} "
                "error=\"{}\"",
                r.source,
                r.resource,
                r.outcome,
                r.error_kind,
                r.pages,
                r.rows_written,
                r.error
            );
        }
    }

    static void PrintSummary(const std::vector<connectors::RunReport>& reports) {
        std::printf(
            "\n%-14s %-18s %-10s %7s %9s %9s %9s %9s\n",
            "SOURCE",
            "RESOURCE",
            "OUTCOME",
            "PAGES",
            "WRITTEN",
            "UNCHANGED",
            "DELETED",
            "SECONDS"
        );
        for (const auto& r : reports) {
            std::printf(
                "%-14s %-18s %-10s %7lld %9lld %9lld %9lld %9.1f\n",
                r.source.c_str(),
                r.resource.c_str(),
                r.outcome.c_str(),
                static_cast<long long>(r.pages),
                static_cast<long long>(r.rows_written),
                static_cast<long long>(r.rows_unchanged),
                static_cast<long long>(r.rows_deleted),
                r.seconds
            );
            if (!r.error.empty()) {
                std::printf("    error: %s\n", r.error.c_str());
            }
        }
        std::fflush(stdout);
    }

    void MakeRunners(const std::optional<std::string>& only) {
        for (const auto& source : config_.sources) {
            if (!source.enabled || (only && source.name != *only) || !EgressAvailable(source)) {
                continue;
            }
            runners_[source.name] = MakeRunner(source);
        }
    }

    /// A source that this host cannot run as configured (config::EgressRefusal) is refused,
    /// and the others run: sending from another address could cost a platform's trust in the
    /// token.
    bool EgressAvailable(const config::SourceConfig& source) {
        auto why = config::EgressRefusal(source);
        if (!why) {
            refused_.erase(source.name);
            return true;
        }
        spdlog::error(
            "source refused source={} kind=guard_refused error=\"{}\"", source.name, *why
        );
        metrics_.Error(source.name, "", ErrorKind(make_error_code(Errc::kGuardRefused)));
        refused_[source.name] = std::move(*why);
        return false;
    }

    std::shared_ptr<connectors::SourceRunner> MakeRunner(const config::SourceConfig& source) {
        return std::make_shared<connectors::SourceRunner>(
            ioc_.get_executor(), SettingsFor(source, config_), *sink_, metrics_, redactor_
        );
    }

    /// Schedules every top-level resource of a source, after what is left of its interval
    /// since the last successful run recorded in `states`.
    void StartSource(const config::SourceConfig& source, const StateMap& states) {
        if (!EgressAvailable(source)) {
            return;
        }
        auto runner = MakeRunner(source);
        runners_[source.name] = runner;
        const auto now = SysClock::now();
        for (const auto& r : runner->settings().spec.resources) {
            if (!IsTopLevel(r)) {
                continue;
            }
            ResourceHealth h;
            h.interval = r.schedule.interval;
            Millis initial{0};
            if (const auto it = states.find({source.name, r.name}); it != states.end()) {
                const auto& st = it->second;
                h.last_success = st.last_success_at;
                if (st.last_outcome == "success" && st.next_run_at && *st.next_run_at > now) {
                    initial = std::min(
                        std::chrono::duration_cast<Millis>(*st.next_run_at - now),
                        r.schedule.interval
                    );
                }
            }
            health_[{source.name, r.name}] = h;
            const auto resource = r.name;
            scheduler_->Add({
                .name = source.name + "/" + resource,
                .group = source.name,
                .group_limit = runner->settings().spec.rate_limit.concurrency,
                .interval = r.schedule.interval,
                .jitter = r.schedule.jitter,
                .initial_delay = initial,
                .run = [this, runner, resource]() { return RunScheduled(runner.get(), resource); },
            });
        }
    }

    /// SIGHUP: re-reads the config file. An invalid file is refused and the running config
    /// stays. Sources that were added start, removed ones stop, changed ones restart; runs in
    /// progress finish first (the scheduler never runs a resource twice at once).
    void Reload() {
        config::Config fresh;
        try {
            fresh = config::LoadFile(config_.path);
        } catch (const config::ConfigErrors& e) {
            for (const auto& err : e.errors()) {
                spdlog::error("config reload refused, keeping the running config: {}", err.what());
            }
            metrics_.ConfigReload(false);
            return;
        }
        RegisterSecrets(fresh, redactor_);
        if (fresh.database.dsn != config_.database.dsn ||
            fresh.admin.listen != config_.admin.listen ||
            fresh.webhooks.listen != config_.webhooks.listen ||
            fresh.limits.max_concurrent_runs != config_.limits.max_concurrent_runs ||
            fresh.data_dir != config_.data_dir) {
            spdlog::warn(
                "config reload: database, admin, webhooks.listen, data_dir and "
                "max_concurrent_runs changes take effect on restart only"
            );
        }
        std::vector<std::string> added;
        std::vector<std::string> removed;
        std::vector<std::string> changed;
        for (const auto& old : config_.sources) {
            const auto* now = fresh.FindSource(old.name);
            if (now == nullptr || !now->enabled) {
                if (old.enabled) {
                    removed.push_back(old.name);
                }
            } else if (!old.enabled) {
                added.push_back(old.name);
            } else if (!(*now == old)) {
                changed.push_back(old.name);
            }
        }
        for (const auto& source : fresh.sources) {
            if (source.enabled && config_.FindSource(source.name) == nullptr) {
                added.push_back(source.name);
            }
        }
        for (const auto& name : removed) {
            StopSource(name);
        }
        for (const auto& name : changed) {
            StopSource(name);
        }
        config_.sources = std::move(fresh.sources);
        for (const auto& source : config_.sources) {
            const bool start =
                std::find(added.begin(), added.end(), source.name) != added.end() ||
                std::find(changed.begin(), changed.end(), source.name) != changed.end();
            if (start) {
                StartSource(source, {});
            }
        }
        if (webhooks_) {
            net::co_spawn(ioc_, UpdateWebhookRoutes(), [this](const std::exception_ptr& e) {
                if (e) {
                    metrics_.TaskFailure("webhook_routes");
                }
            });
        }
        metrics_.ConfigReload(true);
        spdlog::info(
            "config reloaded added={} removed={} changed={}",
            fmt::join(added, ","),
            fmt::join(removed, ","),
            fmt::join(changed, ",")
        );
    }

    void StopSource(const std::string& name) {
        scheduler_->RemoveGroup(name);
        runners_.erase(name);
        std::erase_if(health_, [&](const auto& kv) { return kv.first.first == name; });
    }

    Task<server::Readiness> CheckReady() {
        server::Readiness r{.ready = true, .detail = ""};
        std::vector<std::string> problems;
        auto ping = co_await sink_->Ping();
        metrics_.DatabaseUp(static_cast<bool>(ping));
        if (!ping) {
            problems.push_back("database unreachable: " + ping.error().message());
        }
        const auto now = SysClock::now();
        for (const auto& [key, h] : health_) {
            const auto allowed = std::chrono::duration_cast<SysClock::duration>(
                h.interval * config_.admin.stale_after_intervals
            );
            // A resource gets a full allowance after start-up before it counts as stale.
            const auto since = std::max(h.last_success.value_or(started_at_), started_at_);
            if (now - since > allowed) {
                problems.push_back(
                    "resource " + key.first + "/" + key.second +
                    " has not synced successfully for over " +
                    FormatDuration(std::chrono::duration_cast<Millis>(allowed))
                );
            }
        }
        // Copied: a reload may change runners_ while this coroutine waits on the database.
        std::vector<std::string> sources;
        for (const auto& [name, runner] : runners_) {
            sources.push_back(name);
        }
        for (const auto& name : sources) {
            auto latch = co_await sink_->GetLatch(name);
            if (latch && *latch) {
                problems.push_back("source " + name + " latched: " + (*latch)->reason);
            }
        }
        if (!problems.empty()) {
            r.ready = false;
            for (const auto& p : problems) {
                r.detail += r.detail.empty() ? p : "\n" + p;
            }
        } else {
            r.detail = "ok";
        }
        co_return r;
    }

    void InstallSignals(sched::Scheduler* scheduler, server::AdminServer* admin = nullptr) {
        signals_->async_wait(
            [this, scheduler, admin](const boost::system::error_code& ec, int signo) {
                if (ec) {
                    return;
                }
                OnSignal(signo, scheduler, admin);
            }
        );
    }

    void OnSignal(int signo, sched::Scheduler* scheduler, server::AdminServer* admin) {
        spdlog::info(
            "signal received, stopping signal={} grace_ms={}",
            signo,
            config_.limits.shutdown_grace.count()
        );
        interrupted_ = true;
        notifier_.Send("STOPPING=1");
        if (admin != nullptr) {
            admin->SetDraining(true);
        }
        scheduler->Stop();
        for (auto& [name, runner] : runners_) {
            runner->RequestStop();
        }
        // No new webhooks, and bodies still arriving are dropped unanswered (their senders
        // deliver again); those already in are answered after their commit.
        if (webhooks_) {
            webhooks_->Stop();
        }
        grace_.emplace(ioc_, config_.limits.shutdown_grace);
        // The grace timer is the only place that stops the loop with work still pending.
        grace_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                spdlog::warn("shutdown grace period over; exiting with work in flight");
                exit_now_ = true;
                ioc_.stop();
            }
        });
        // A second signal ends the process at once.
        signals_->async_wait([this](const boost::system::error_code& ec, int) {
            if (!ec) {
                exit_now_ = true;
                ioc_.stop();
            }
        });
    }

    /// Runs a coroutine to completion on the I/O context, then cancels the signal wait and
    /// the grace timer so that run() can return.
    void Run(Task<void> task) {
        net::co_spawn(ioc_, std::move(task), [this](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    metrics_.TaskFailure("main");
                    spdlog::error("unexpected failure error=\"{}\"", ex.what());
                }
            }
            if (signals_) {
                signals_->cancel();
            }
            if (control_signals_) {
                control_signals_->cancel();
            }
            if (grace_) {
                grace_->cancel();
            }
            if (watchdog_) {
                watchdog_->cancel();
            }
        });
        ioc_.restart();
        ioc_.run();
    }

    config::Config config_;
    Redactor redactor_;
    metrics::Metrics metrics_;
    net::io_context ioc_{1};
    std::unique_ptr<sink::EmbeddedPostgres> embedded_;
    std::unique_ptr<sink::PgSink> sink_;
    /// Runners by source name. Scheduled jobs hold them too, so a runner removed by a reload
    /// lives until its run in progress ends.
    std::map<std::string, std::shared_ptr<connectors::SourceRunner>> runners_;
    std::map<std::pair<std::string, std::string>, ResourceHealth> health_;
    SysClock::time_point started_at_ = SysClock::now();
    bool interrupted_ = false;
    /// The shutdown grace ran out with work in flight, or a second signal came.
    bool exit_now_ = false;
    /// Why each source that start-up (or a reload) refused was refused, by source name.
    std::map<std::string, std::string> refused_;
    bool progress_ = false;
    std::vector<connectors::RunReport> reports_;
    SystemdNotifier notifier_;
    std::optional<sched::Scheduler> scheduler_;
    server::ConnectionBudgets budgets_;
    std::optional<server::WebhookServer> webhooks_;
    /// Last: their handlers refer to the members above.
    std::optional<net::signal_set> signals_;
    std::optional<net::signal_set> control_signals_;
    std::optional<net::steady_timer> grace_;
    std::optional<net::steady_timer> watchdog_;
};

}  // namespace

/// Asks the running daemon's admin listener for /healthz: for container HEALTHCHECKs, which
/// have no curl in the image.
int Healthcheck(const config::Config& config) {
    const auto& listen = config.admin.listen;
    const auto colon = listen.rfind(':');
    if (listen.empty() || colon == std::string::npos || listen.substr(colon + 1) == "0") {
        std::fprintf(stderr, "chatsyncd: healthcheck needs admin.listen with a fixed port\n");
        return kExitConfig;
    }
    auto host = listen.substr(0, colon);
    if (host.empty() || host == "0.0.0.0") {
        host = "127.0.0.1";
    } else if (host == "[::]") {
        host = "[::1]";
    }
    net::io_context ioc;
    http::Client client(
        ioc.get_executor(),
        {.connect_timeout = std::chrono::seconds(3),
         .idle_timeout = std::chrono::seconds(3),
         .total_timeout = std::chrono::seconds(5)}
    );
    http::Request request;
    request.url = "http://" + host + ":" + listen.substr(colon + 1) + "/healthz";
    std::optional<Result<http::Response>> answer;
    net::co_spawn(
        ioc,
        client.Send(std::move(request)),
        [&](std::exception_ptr e, Result<http::Response> r) {
            if (!e) {
                answer = std::move(r);
            }
        }
    );
    ioc.run();
    if (!answer || !*answer) {
        std::fprintf(
            stderr,
            "chatsyncd: healthcheck: %s\n",
            answer ? (*answer).error().message().c_str() : "failed"
        );
        return kExitFailure;
    }
    if ((*answer)->status != 200) {
        std::fprintf(stderr, "chatsyncd: healthcheck: /healthz answered %u\n", (*answer)->status);
        return kExitFailure;
    }
    return kExitOk;
}

/// Validates what loading could not: every enabled source must be one that start-up would
/// run on this host, or the config is refused with start-up's reason.
int CheckConfig(const config::Config& config) {
    std::vector<config::ConfigError> refused;
    for (std::size_t i = 0; i < config.sources.size(); ++i) {
        const auto& source = config.sources[i];
        if (!source.enabled) {
            continue;
        }
        if (const auto why = config::EgressRefusal(source)) {
            refused.emplace_back(
                config.path.string(),
                0,
                0,
                "sources[" + std::to_string(i) + "].http",
                "source " + source.name + " refused: " + *why
            );
        }
    }
    if (!refused.empty()) {
        std::fprintf(stderr, "%s\n", config::ConfigErrors(std::move(refused)).what());
        return kExitConfig;
    }
    std::fputs(config::Summarize(config).c_str(), stdout);
    return kExitOk;
}

int Execute(const Arguments& args, config::Config config) {
    if (args.command == Command::kCheckConfig) {
        return CheckConfig(config);
    }
    if (args.command == Command::kHealthcheck) {
        return Healthcheck(config);
    }
    App app(std::move(config));
    switch (args.command) {
        case Command::kRun:
            return app.Daemon();
        case Command::kOnce:
            return app.Once(args);
        case Command::kStatus:
            return app.Status();
        case Command::kReset:
            return app.Reset(args);
        case Command::kBreachClear:
            return app.BreachClear(args);
        case Command::kRederive:
            return app.Rederive(args);
        default:
            return kExitUsage;
    }
}

}  // namespace chatsync::daemon
