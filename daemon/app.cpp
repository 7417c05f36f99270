#include "daemon/app.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "core/root_task.hpp"
#include "daemon/commands.hpp"
#include "daemon/logging.hpp"
#include "daemon/settings.hpp"

namespace chatsync::daemon {

struct App::StopWaits {
    explicit StopWaits(net::io_context& ioc)
        : signals(ioc) {}

    net::signal_set signals;
    std::optional<net::steady_timer> grace;
};

App::App(config::Config config, TestHooks hooks)
    : config_(std::move(config))
    , hooks_(hooks)
    , waits_(std::make_unique<StopWaits>(ioc_)) {
    RegisterSecrets(config_, redactor_);
    SetUpLogging(config_.log.level, config_.log.format, redactor_);
}

App::~App() {
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

int App::OpenDatabase() {
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
            .replica = ReplicaName(config_),
        },
        redactor_
    );
    const Result<int> migrated = Await(sink_->Migrate());
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

void App::Run(Task<void> task, std::function<void()> after) {
    auto finished = [this, after = std::move(after)](const std::exception_ptr& /*error*/) {
        waits_->signals.cancel();
        if (waits_->grace) {
            waits_->grace->cancel();
        }
        if (after) {
            after();
        }
    };
    net::co_spawn(ioc_, std::move(task), RootHandler("main", std::move(finished)));
    ioc_.restart();
    ioc_.run();
}

void App::ClaimStopSignals() {
    waits_->signals.add(SIGINT);
    waits_->signals.add(SIGTERM);
}

void App::OnStopSignal(std::function<void()> stop) {
    waits_->signals.async_wait(
        [this, stop = std::move(stop)](const boost::system::error_code& ec, int signo) {
            if (ec) {
                return;
            }
            spdlog::info(
                "signal received, stopping signal={} grace_ms={}",
                signo,
                config_.limits.shutdown_grace.count()
            );
            interrupted_ = true;
            notifier_.Send("STOPPING=1");
            stop();
            // The grace timer is the only place that stops the loop with work still pending.
            waits_->grace.emplace(ioc_, config_.limits.shutdown_grace);
            waits_->grace->async_wait([this](const boost::system::error_code& grace_ec) {
                if (!grace_ec) {
                    spdlog::warn("shutdown grace period over; exiting with work in flight");
                    exit_now_ = true;
                    ioc_.stop();
                }
            });
            // A second signal ends the process at once.
            waits_->signals.async_wait([this](const boost::system::error_code& again, int) {
                if (!again) {
                    exit_now_ = true;
                    ioc_.stop();
                }
            });
        }
    );
}

void App::ExitNow() {
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

bool App::EgressAvailable(const config::SourceConfig& source) {
    auto why = config::EgressRefusal(source);
    if (!why) {
        refused_.erase(source.name);
        return true;
    }
    spdlog::error("source refused source={} kind=guard_refused error=\"{}\"", source.name, *why);
    metrics_.Error(source.name, "", ErrorKind(make_error_code(Errc::kGuardRefused)));
    refused_[source.name] = std::move(*why);
    return false;
}

std::shared_ptr<connectors::SourceRunner> App::MakeRunner(const config::SourceConfig& source) {
    return std::make_shared<connectors::SourceRunner>(
        ioc_.get_executor(), SettingsFor(source, config_, hooks_), *sink_, metrics_, redactor_
    );
}

int Execute(const Arguments& args, config::Config config) {
    if (args.command == Command::kCheckConfig) {
        return CheckConfig(config);
    }
    if (args.command == Command::kHealthcheck) {
        return Healthcheck(config);
    }
    App app(std::move(config), args.test_hooks);
    switch (args.command) {
        case Command::kRun:
            return RunDaemon(app);
        case Command::kOnce:
            return Once(app, args);
        case Command::kStatus:
            return Status(app, args);
        case Command::kReset:
            return Reset(app, args);
        case Command::kBreachClear:
            return BreachClear(app, args);
        case Command::kRederive:
            return Rederive(app, args);
        default:
            return kExitUsage;
    }
}

}  // namespace chatsync::daemon
