#include "daemon/supervisor.hpp"

#include <csignal>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "core/root_task.hpp"
#include "daemon/commands.hpp"
#include "daemon/settings.hpp"

namespace chatsync::daemon {

int RunDaemon(App& app) {
    Supervisor supervisor(app);
    return supervisor.Run();
}

Supervisor::Supervisor(App& app)
    : app_(app)
    , config_(app.config())
    , metrics_(app.metrics()) {}

Supervisor::~Supervisor() = default;

int Supervisor::Run() {
    // Claim SIGINT and SIGTERM before anything else: one that arrives during start-up is
    // queued and handled as soon as the handlers are in place, instead of killing us.
    app_.ClaimStopSignals();
    control_signals_.emplace(app_.ioc(), SIGHUP, SIGUSR1);
    SetConnectionBudgets();
    if (const int rc = app_.OpenDatabase(); rc != kExitOk) {
        return rc;
    }
    sink_ = &app_.db();
    StateMap states;
    auto listed = app_.Await(sink_->ListStates(), [this]() { CancelWaits(); });
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
    if (!config_.admin.listen.empty()) {
        admin_.emplace(
            app_.ioc().get_executor(),
            server::AdminServer::Options{
                .listen = config_.admin.listen,
                .max_connections = budgets_.admin,
                .max_connections_per_client = budgets_.admin_per_client},
            metrics_,
            [this]() { return CheckReady(); },
            [this]() { return StatusPage(); }
        );
        if (auto started = admin_->Start(); !started) {
            spdlog::error(
                "admin listener failed listen={} error=\"{}\"",
                config_.admin.listen,
                started.error().message()
            );
            return kExitUnavailable;
        }
        spdlog::info(
            "admin listener ready listen={} port={}", config_.admin.listen, admin_->port()
        );
    }
    scheduler_.emplace(
        app_.ioc().get_executor(),
        sched::Scheduler::Options{.max_concurrent = config_.limits.max_concurrent_runs}
    );
    if (config_.replica.enabled) {
        // Before the sources start, so that their budgets are shared from the first request.
        replica_ = ReplicaName(config_);
        auto live = app_.Await(sink_->Heartbeat(HeartbeatTtl()), [this]() { CancelWaits(); });
        ApplyLiveReplicas(live ? *live : 1);
        heartbeat_.emplace(app_.ioc());
        net::co_spawn(app_.ioc(), HeartbeatLoop(), RootHandler("replica_heartbeat"));
    }
    for (const auto& source : config_.sources) {
        if (source.enabled) {
            StartSource(source, states);
        }
    }
    started_at_ = SysClock::now();
    spdlog::info(
        "chatsyncd started version={} sources={} resources={} replica={} live_replicas={}",
        CHATSYNC_VERSION,
        runners_.size(),
        health_.size(),
        config_.replica.enabled ? replica_ : "-",
        live_replicas_
    );
    app_.OnStopSignal([this]() { Stop(); });
    WaitControlSignal();
    // The database answered and the listeners are bound: systemd may now order
    // dependent units after us.
    app_.notifier().Send("READY=1");
    if (const auto every = app_.notifier().WatchdogPingInterval()) {
        watchdog_.emplace(app_.ioc());
        net::co_spawn(app_.ioc(), WatchdogLoop(*every), RootHandler("watchdog"));
    }
    app_.Run(Serve(), [this]() { CancelWaits(); });
    if (app_.exit_now()) {
        app_.ExitNow();
    }
    spdlog::info("chatsyncd stopped");
    return kExitOk;
}

void Supervisor::CancelWaits() {
    if (control_signals_) {
        control_signals_->cancel();
    }
    if (watchdog_) {
        watchdog_->cancel();
    }
    if (heartbeat_) {
        heartbeat_->cancel();
    }
}

Task<void> Supervisor::WatchdogLoop(Millis every) {
    while (watchdog_) {
        app_.notifier().Send("WATCHDOG=1");
        watchdog_->expires_after(every);
        auto [ec] = co_await watchdog_->async_wait(kAsTuple);
        if (ec) {
            break;
        }
    }
}

void Supervisor::WaitControlSignal() {
    if (!control_signals_) {
        return;  // Run() creates it before the first wait.
    }
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

void Supervisor::StallLoopForTest() const {
    if (const auto stall = app_.hooks().stall_on_sigusr1) {
        spdlog::warn("stalling the event loop for a test stall_ms={}", stall->count());
        std::this_thread::sleep_for(*stall);
    }
}

void Supervisor::Stop() {
    if (admin_) {
        admin_->SetDraining(true);
    }
    if (scheduler_) {
        scheduler_->Stop();
    }
    for (auto& [name, runner] : runners_) {
        runner->RequestStop();
    }
    // No new webhooks, and bodies still arriving are dropped unanswered (their senders
    // deliver again); those already in are answered after their commit.
    if (webhooks_) {
        webhooks_->Stop();
    }
}

/// Closing the listeners matters: their accept loops would otherwise keep the I/O context
/// running. Webhooks in progress are answered after their commit. The grace timer ends
/// whatever is still running when the grace is over.
Task<void> Supervisor::Serve() {
    if (scheduler_) {
        co_await scheduler_->Wait();
    }
    if (heartbeat_) {
        // No more runs here: the other replicas may take this one's share of the budgets now.
        // The loop ends when its timer goes; a heartbeat already under way may still renew
        // the row, which then lapses after its time-to-live.
        heartbeat_.reset();
        if (auto left = co_await sink_->LeaveReplicas(); !left) {
            spdlog::warn(
                "replica leave failed replica={} error=\"{}\"", replica_, left.error().message()
            );
        }
    }
    if (webhooks_) {
        webhooks_->Stop();
    }
    if (admin_) {
        admin_->Stop();
    }
    if (webhooks_) {
        co_await webhooks_->Drained();
    }
    if (admin_) {
        co_await admin_->Drained();
    }
}

}  // namespace chatsync::daemon
