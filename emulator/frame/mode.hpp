#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/asio.hpp"
#include "emulator/frame/options.hpp"
#include "emulator/frame/router.hpp"

/// @file
/// A mode is one imitated API: a set of routes plus the state behind them. To add one, write
/// `emulator/<name>/mode.{hpp,cpp}` with a Mode subclass and a factory, list it in
/// BuiltinModes() (emulator/builtin_modes.cpp) and add the .cpp files to
/// emulator/CMakeLists.txt. Everything else (transport, faults,
/// request log, admin API) applies to the new routes without further work.

namespace chatsync::emulator {

/// What a mode may use when it is created.
struct ModeContext {
    Executor executor;       ///< The serving executor, for modes that run timers of their own.
    const Options& options;  ///< Outlives the mode.
};

/// One imitated API.
/// @par Thread Safety
/// Created, routed and stopped on the serving thread; handlers need no locking.
class Mode {
public:
    Mode() = default;
    Mode(const Mode&) = delete;
    Mode& operator=(const Mode&) = delete;
    virtual ~Mode() = default;

    /// The --mode name.
    virtual std::string_view Name() const = 0;

    /// Adds the mode's routes. Routes whose path starts with /_admin/ are admin routes: never
    /// faulted or logged, and the mode does not apply its auth to them.
    virtual void AddRoutes(Router& router) = 0;

    /// Runs for every non-admin request as soon as it has arrived, before faults and routing;
    /// a mode may keep the request waiting here (Mesibo's answer barrier). The default returns
    /// at once. Stop() must end every wait.
    virtual Task<void> Hold(std::string path);

    /// Adds the mode's counters to GET /_admin/stats.
    virtual void AddStats(boost::json::object& stats) const { (void)stats; }

    /// Cancels whatever the mode runs on its own (timers, outgoing calls) so that the
    /// io_context can run out of work on shutdown.
    virtual void Stop() {}
};

using ModeFactory = std::unique_ptr<Mode> (*)(const ModeContext& context);

/// A mode available to --mode.
struct ModeInfo {
    std::string_view name;
    ModeFactory create;
};

/// Every built-in mode, in the order their routes are added when several are served.
std::span<const ModeInfo> BuiltinModes();

}  // namespace chatsync::emulator
