#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/asio.hpp"
#include "core/sleep_group.hpp"
#include "emulator/frame/faults.hpp"
#include "emulator/frame/http_types.hpp"
#include "emulator/frame/mode.hpp"
#include "emulator/frame/options.hpp"
#include "emulator/frame/request_log.hpp"
#include "emulator/frame/router.hpp"

/// @file
/// The emulator: modes, admin API, faults and request log behind one HTTP server.

namespace chatsync::emulator {

class Server;

/// Serves the selected modes plus the admin API. Every non-admin request is logged, passed to
/// every mode's Hold() and checked against the fault list before its route runs.
/// @par Thread Safety
/// Construct, start, stop and destroy it on the thread that runs the executor's io_context
/// (or before that thread starts); the executor must be single-threaded.
/// @par Stopping
/// Stop() closes the server and cancels pending delays; io_context::run() then returns on its
/// own. Destroy the emulator after run() has returned.
class Emulator final {
public:
    /// Throws std::invalid_argument for an unknown --mode, a bad --fault or a bad --moving.
    Emulator(Executor executor, Options options);
    ~Emulator();
    Emulator(const Emulator&) = delete;
    Emulator& operator=(const Emulator&) = delete;

    /// Binds the listener; throws boost::system::system_error when it cannot.
    void Start();

    /// The bound port (after Start()).
    std::uint16_t Port() const;

    /// "host:port" as printed on start-up.
    std::string Address() const;

    /// Stops serving. Idempotent.
    void Stop();

    /// The mode with this name, or nullptr when it is not served.
    Mode* FindMode(std::string_view name) const;

    /// Answers one request: log, hold, fault, route. The server calls it; tests may too.
    Task<Reply> Handle(Request request);

private:
    /// The reply for a request with its fault (if any) applied, and the status to log.
    Reply Answer(const Request& request, const std::optional<Fault>& fault, unsigned& status);

    Executor executor_;
    Options options_;
    RequestLog log_;
    FaultList faults_;
    std::vector<std::unique_ptr<Mode>> modes_;
    Router router_;
    SleepGroup delays_;  ///< Pending delay faults, ended by Stop().
    bool stopping_ = false;
    // Last: its connections call back into Handle(), which uses everything above.
    std::unique_ptr<Server> server_;
};

}  // namespace chatsync::emulator
