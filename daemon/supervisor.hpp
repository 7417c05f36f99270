#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "connectors/runner.hpp"
#include "daemon/app.hpp"
#include "sched/scheduler.hpp"
#include "server/admin.hpp"
#include "server/listener.hpp"
#include "server/webhook.hpp"

namespace chatsync::daemon {

/// `chatsyncd run`: schedules every resource of every enabled source, serves the admin and
/// webhook listeners, reloads the config on SIGHUP, answers readiness, pings the systemd
/// watchdog, and on SIGINT/SIGTERM stops in order within the shutdown grace.
///
/// Its parts, a file each: supervisor.cpp (start-up, signals, watchdog, shutdown),
/// webhooks.cpp (connection budgets and the webhook listener's wiring), reload.cpp (starting
/// and stopping sources, SIGHUP), readiness.cpp (/readyz) and status_page_data.cpp (the
/// status page at /).
///
/// @par Thread Safety
/// Use from the thread that runs the App's I/O context.
class Supervisor final {
public:
    explicit Supervisor(App& app);
    ~Supervisor();

    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    /// Starts everything, serves until a stop signal, and returns the exit code.
    int Run();

private:
    using SysClock = std::chrono::system_clock;

    struct ResourceHealth {
        Millis interval{0};
        std::optional<sink::TimePoint> last_success;
    };

    using StateMap = std::map<std::pair<std::string, std::string>, sink::ResourceState>;

    // supervisor.cpp

    /// Cancels the control signals' wait and the watchdog timer: after the main task, so
    /// that the I/O context runs out of work.
    void CancelWaits();
    /// Sends WATCHDOG=1 from the event loop itself, so a loop that hangs stops the pings and
    /// systemd restarts the service.
    Task<void> WatchdogLoop(Millis every);
    /// SIGHUP reloads the config. SIGUSR1 stalls the event loop when the test hook
    /// stall_on_sigusr1 is set (tests only), and does nothing otherwise.
    void WaitControlSignal();
    /// Blocks the event loop for the stall_on_sigusr1 test hook, if set: proves that the
    /// watchdog notices a hung loop.
    void StallLoopForTest() const;
    /// The first stop signal: /healthz answers 503, the scheduler starts nothing new, runs
    /// stop after their page in progress, and the webhook listener takes nothing new.
    void Stop();
    /// Waits for the scheduler to drain after a stop, then closes the listeners and waits for
    /// their last connections.
    Task<void> Serve();

    // webhooks.cpp

    /// Raises the open-file limit to its hard limit and derives the listeners' connection
    /// budgets from it, so that neither listener can take the descriptors the other, the
    /// database and the upstream connections need.
    void SetConnectionBudgets();
    /// The routes of the enabled sources that receive webhooks.
    std::vector<server::WebhookRoute> WebhookRoutes() const;
    /// Creates the event tables of every route's source; false (logged) on failure.
    Task<bool> PrepareEventTables(std::vector<server::WebhookRoute> routes);
    /// PrepareEventTables() for App::Run(): the outcome goes to `*prepared`, which the caller
    /// owns and which outlives the run.
    Task<void> PrepareEventTablesInto(std::vector<server::WebhookRoute> routes, bool* prepared);
    /// Creates the event tables, then binds the webhook listener (so call it before any
    /// other listener exists: it waits on the I/O context).
    int StartWebhooks();
    /// After a reload: tables for new webhook sources first, then the new routes.
    Task<void> UpdateWebhookRoutes();

    // reload.cpp

    /// Schedules every top-level resource of a source, after what is left of its interval
    /// since the last successful run recorded in `states`.
    void StartSource(const config::SourceConfig& source, const StateMap& states);
    void StopSource(const std::string& name);
    Task<bool> RunScheduled(connectors::SourceRunner* runner, std::string resource);
    /// SIGHUP: re-reads the config file. An invalid file is refused and the running config
    /// stays. Sources that were added start, removed ones stop, changed ones restart; runs in
    /// progress finish first (the scheduler never runs a resource twice at once).
    void Reload();

    // replica.cpp

    /// With `replica.enabled`: records this replica alive, counts the live replicas and
    /// shares every source's budget among them (logged when the database refuses).
    Task<void> Heartbeat();
    /// Shares every source's budget among `live` replicas, if that changed.
    void ApplyLiveReplicas(std::uint32_t live);
    /// How long a replica counts as live after its last heartbeat.
    Millis HeartbeatTtl() const;
    /// Heartbeat() every `replica.heartbeat` until the stop.
    Task<void> HeartbeatLoop();
    /// A resource's claim on the shared schedule (sched::Scheduler::Job::claim): granted when
    /// this replica claimed the resource's due run; otherwise, ask again when it is due, plus
    /// a random spread so that no replica always asks first.
    Task<sched::Scheduler::Claim>
    ClaimRun(std::string source, std::string resource, Millis interval);
    /// A random spread of up to a fiftieth of `interval` (at most 1 s, at least 20 ms).
    Millis Spread(Millis interval);
    /// With replicas, the last successes come from the database: this replica may not have
    /// run a resource for a long time, while another has.
    Task<void> RefreshHealthFromDatabase();

    // readiness.cpp

    /// /readyz: the database answers, every resource synced within its allowance, and no
    /// running source is latched.
    Task<server::Readiness> CheckReady();

    // status_page_data.cpp

    /// The admin listener's `/`: every configured source and its top-level resources with
    /// their state (as `chatsyncd status` shows them), latches, holds in force, readiness and
    /// the webhook intake figures of the metrics.
    Task<server::StatusPage> StatusPage();

    App& app_;
    /// The App's config: a reload replaces its sources.
    config::Config& config_;
    metrics::Metrics& metrics_;
    /// The App's database, set once it is open.
    sink::PgSink* sink_ = nullptr;
    /// Runners by source name. Scheduled jobs hold them too, so a runner removed by a reload
    /// lives until its run in progress ends.
    std::map<std::string, std::shared_ptr<connectors::SourceRunner>> runners_;
    std::map<std::pair<std::string, std::string>, ResourceHealth> health_;
    SysClock::time_point started_at_ = SysClock::now();
    server::ConnectionBudgets budgets_;
    /// This daemon's replica name, and the live replicas at the last heartbeat.
    std::string replica_;
    std::uint32_t live_replicas_ = 1;
    std::mt19937_64 rng_{std::random_device{}()};
    std::optional<sched::Scheduler> scheduler_;
    std::optional<server::WebhookServer> webhooks_;
    std::optional<server::AdminServer> admin_;
    /// Last: their handlers refer to the members above.
    std::optional<net::signal_set> control_signals_;
    std::optional<net::steady_timer> watchdog_;
    std::optional<net::steady_timer> heartbeat_;
};

}  // namespace chatsync::daemon
