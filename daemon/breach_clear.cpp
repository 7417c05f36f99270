#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "daemon/commands.hpp"
#include "daemon/report.hpp"

namespace chatsync::daemon {
namespace {

/// Reports through out-parameters owned by the caller, which waits for it in App::Run() and so
/// outlives it.
Task<void> ClearLatch(
    sink::PgSink* db,
    std::string source,
    Result<std::optional<sink::Latch>>* latch,
    Result<bool>* cleared,
    Result<std::int64_t>* forgot
) {
    *latch = co_await db->GetLatch(source);
    if (*latch) {
        *cleared = co_await db->ClearLatch(source);
    }
    if (*latch && *cleared) {
        // The addresses it sent from are history too: the next run starts a new list.
        *forgot = co_await db->ForgetEgress(source);
    }
}

}  // namespace

int BreachClear(App& app, const Arguments& args) {
    if (!args.source) {
        return kExitUsage;  // ParseArguments refuses `breach clear` without --source.
    }
    if (app.config().FindSource(*args.source) == nullptr) {
        std::fprintf(stderr, "chatsyncd: no source named '%s'\n", args.source->c_str());
        return kExitUsage;
    }
    if (const int rc = app.OpenDatabase(); rc != kExitOk) {
        return rc;
    }
    Result<std::optional<sink::Latch>> latch = Errc::kCancelled;
    Result<bool> cleared = Errc::kCancelled;
    Result<std::int64_t> forgot = Errc::kCancelled;
    auto& db = app.db();
    app.Run(ClearLatch(&db, *args.source, &latch, &cleared, &forgot));
    if (!latch || !cleared || !forgot) {
        // The first call that failed; the ones after it did not run.
        const Error failure = !latch ? latch.error() : !cleared ? cleared.error() : forgot.error();
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
    const std::optional<sink::Latch>& held = *latch;
    if (!*cleared || !held) {
        std::printf("source %s is not latched\n", args.source->c_str());
        return kExitOk;
    }
    spdlog::warn(
        "latch cleared source={} reason=\"{}\" latched_at={}",
        args.source->c_str(),
        held->reason,
        FormatAge(held->set_at)
    );
    std::printf(
        "cleared the latch of source %s (set %s: %s); its next run sends requests again\n",
        args.source->c_str(),
        FormatAge(held->set_at).c_str(),
        held->reason.c_str()
    );
    return kExitOk;
}

}  // namespace chatsync::daemon
