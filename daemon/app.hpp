#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "connectors/runner.hpp"
#include "core/asio.hpp"
#include "core/error.hpp"
#include "core/redactor.hpp"
#include "core/result.hpp"
#include "daemon/cli.hpp"
#include "daemon/notify.hpp"
#include "metrics/metrics.hpp"
#include "sink/embedded.hpp"
#include "sink/pg_sink.hpp"

namespace chatsync::daemon {

/// Runs a command (run, once, check-config, status, reset, ...) with a loaded config and
/// returns the process exit code. The only place that knows every part of chatsync.
int Execute(const Arguments& args, config::Config config);

/// What every command that touches the database shares: the config, logging with its
/// redactor, the metrics, the I/O context, the database (an embedded cluster when no DSN is
/// configured), the stop signals and the source runners' making.
///
/// @par Thread Safety
/// Use from the thread that calls Run(); coroutines it runs use its I/O context.
///
/// @par Stopping
/// The destructor stops the sink and the embedded cluster and flushes the log.
class App final {
public:
    App(config::Config config, TestHooks hooks);
    ~App();

    App(const App&) = delete;
    App& operator=(const App&) = delete;

    /// Connects to (or starts) the database and applies migrations: kExitOk, or
    /// kExitUnavailable (logged).
    int OpenDatabase();

    /// Runs `task` to completion on the I/O context (a failure is logged and counted by its
    /// RootHandler, "main"), then cancels the stop signals' wait and the grace timer and calls
    /// `after`, so that the I/O context runs out of work and this returns.
    void Run(Task<void> task, std::function<void()> after = {});

    /// Run() for a task with a result: Errc::kCancelled when it ended without one.
    template <class T>
    Result<T> Await(Task<Result<T>> task, std::function<void()> after = {}) {
        Result<T> out = Errc::kCancelled;
        Run(Store(std::move(task), &out), std::move(after));
        return out;
    }

    /// Claims SIGINT and SIGTERM. Call it first: a signal that arrives during start-up is
    /// then queued and handled once OnStopSignal() is called, instead of killing the process.
    void ClaimStopSignals();

    /// On the first stop signal (within the next Run()): logs it, tells systemd STOPPING=1 and
    /// calls `stop`, then arms the shutdown grace timer. The end of the grace, or a second
    /// signal, stops the I/O context at once and sets exit_now().
    void OnStopSignal(std::function<void()> stop);

    /// A stop signal came.
    bool interrupted() const noexcept { return interrupted_; }

    /// The shutdown grace ran out with work in flight, or a second signal came.
    bool exit_now() const noexcept { return exit_now_; }

    /// Leaves at once when the shutdown grace ran out (or a second signal came). What is still
    /// in flight could hold the teardown past the grace (a commit waiting on a lock keeps a
    /// database pool thread, which the sink's destructor joins). What was acknowledged is
    /// committed; the database rolls back the rest when the connections drop. An embedded
    /// cluster is stopped first: its fast shutdown ends those sessions.
    [[noreturn]] void ExitNow();

    /// Whether this host can run `source` as configured (config::EgressRefusal). A source
    /// that it cannot is refused (logged, counted, and kept in refused() with the reason) and
    /// the others run: sending from another address could cost a platform's trust in the
    /// token.
    bool EgressAvailable(const config::SourceConfig& source);

    /// Why each source that start-up (or a reload) refused was refused, by source name.
    const std::map<std::string, std::string>& refused() const noexcept { return refused_; }

    /// A runner for `source`, writing to the database opened by OpenDatabase().
    std::shared_ptr<connectors::SourceRunner> MakeRunner(const config::SourceConfig& source);

    config::Config& config() noexcept { return config_; }

    const TestHooks& hooks() const noexcept { return hooks_; }

    Redactor& redactor() noexcept { return redactor_; }

    metrics::Metrics& metrics() noexcept { return metrics_; }

    /// Valid after OpenDatabase() succeeded.
    sink::PgSink& db() noexcept { return *sink_; }

    net::io_context& ioc() noexcept { return ioc_; }

    const SystemdNotifier& notifier() const noexcept { return notifier_; }

private:
    /// The stop signals and the grace timer (Asio types, kept out of this header).
    struct StopWaits;

    template <class T>
    static Task<void> Store(Task<Result<T>> task, Result<T>* out) {
        *out = co_await std::move(task);
    }

    config::Config config_;
    TestHooks hooks_;
    Redactor redactor_;
    metrics::Metrics metrics_;
    net::io_context ioc_{1};
    std::unique_ptr<sink::EmbeddedPostgres> embedded_;
    std::unique_ptr<sink::PgSink> sink_;
    std::map<std::string, std::string> refused_;
    SystemdNotifier notifier_;
    bool interrupted_ = false;
    bool exit_now_ = false;
    /// Last: their handlers refer to the members above.
    std::unique_ptr<StopWaits> waits_;
};

}  // namespace chatsync::daemon
