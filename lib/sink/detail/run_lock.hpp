#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include <pqxx/pqxx>

#include "sink/detail/pool.hpp"

/// @file
/// The run locks: a resource runs in one process at a time.

namespace chatsync::sink::detail {

/// The session-level advisory locks of the resources this sink is running, all held by one
/// dedicated session (opened by the first Acquire). Pool connections are shared by all calls,
/// so a session lock taken on one would be released (or held) by whichever call happens to
/// use it next.
///
/// If the lock session breaks, the server has dropped all its locks: runs in progress then
/// continue without their locks until they finish, and another process may start the same
/// resource meanwhile. That is accepted: it needs a lost connection during a run, and writes
/// stay consistent (each page and the run's end are atomic); the next Acquire opens a new
/// session.
///
/// @par Thread Safety
/// Every method may be called from any pool thread; a mutex guards the session.
class RunLocks {
public:
    /// `connector` must outlive the locks.
    RunLocks(const Connector& connector, std::string state_schema);

    /// Takes the run lock of source/resource on the lock session. Returns whether this call
    /// took it (false: this sink held it already, from a BeginRun without FinishRun, which the
    /// run log treats as a dead run). Throws SinkFailure(kResourceBusy) when another session
    /// holds it.
    bool Acquire(const std::string& source, const std::string& resource);

    /// Releases the run lock of source/resource if this sink holds it. Never throws: it runs
    /// after the call's outcome is decided, and a lock it cannot release on a live session
    /// stays recorded, so the next BeginRun of the resource here reuses it and the next
    /// FinishRun tries again.
    void Release(const std::string& source, const std::string& resource) noexcept;

    /// Closes the lock session, releasing every run lock (PgSink::Stop()).
    void Close();

private:
    /// The run lock's key. Stable across processes and releases (FNV-1a, not std::hash).
    std::int64_t Key(const std::string& source, const std::string& resource) const;

    /// Forgets the lock session and the locks it held (the server released them with it).
    /// Caller holds mutex_.
    void DropSessionLocked();

    const Connector& connector_;
    std::string state_schema_;

    /// Guards the lock session and held_; used from whichever pool thread runs the call.
    std::mutex mutex_;
    std::unique_ptr<pqxx::connection> session_;
    /// Keys of the run locks session_ holds, each once.
    std::unordered_set<std::int64_t> held_;
};

}  // namespace chatsync::sink::detail
