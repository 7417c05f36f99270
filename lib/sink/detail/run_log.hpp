#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "core/redactor.hpp"
#include "sink/detail/run_lock.hpp"
#include "sink/sink.hpp"

/// @file
/// The run log and the resources' state: runs begin and end, pages' checkpoints are read
/// back, and an operator may reset where a resource stands.

namespace chatsync::sink::detail {

/// The blocking operations on the run log (`runs`) and `resource_state`, each on the
/// connection given and in one transaction of its own.
///
/// @par Thread Safety
/// Const methods may run on several pool threads at once; BeginRun and FinishRun's lock
/// release go through RunLocks, which is thread-safe.
class RunLog {
public:
    /// `redactor` and `locks` must outlive the run log. `seen_keys_table` is the qualified
    /// table of the keys seen by passes over resources listed in full; `replica` names this
    /// daemon in the runs it records.
    RunLog(
        const Redactor& redactor,
        RunLocks& locks,
        std::string seen_keys_table,
        std::string replica
    );

    /// A resource's state; a resource never run has a default state.
    ResourceState
    LoadState(pqxx::connection& conn, const std::string& source, const std::string& resource) const;

    std::vector<ResourceState> ListStates(pqxx::connection& conn) const;

    /// Takes the resource's run lock first: without it another process is running the
    /// resource, and its run must not be marked interrupted. With it, runs still marked
    /// running belong to sessions that are gone (or to an earlier run here that never
    /// finished), so marking them interrupted is right. Returns the new run's id.
    std::string
    BeginRun(pqxx::connection& conn, const std::string& source, const std::string& resource);

    /// Run log, state and sweeps of a run's end, in one transaction. Does not release the run
    /// lock: the caller does that once this is done with, whatever its outcome.
    FinishResult FinishRun(pqxx::connection& conn, const RunEnd& end) const;

    /// Releases the run lock that BeginRun took.
    void ReleaseRunLock(const std::string& source, const std::string& resource) noexcept;

    /// A run that ended before it began ("held", "latched" or "skipped").
    void RecordRun(pqxx::connection& conn, const RunEnd& end) const;

    /// Forgets cursor and checkpoint; an empty `resource` means every resource of the source.
    std::int64_t ResetState(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& resource
    ) const;

    /// The rows of each table (count(*), all of them: soft-deleted ones too), in one read-only
    /// transaction; nullopt for a table that does not exist (yet).
    std::vector<std::optional<std::int64_t>>
    CountRows(pqxx::connection& conn, const std::vector<TableName>& tables) const;

    /// Whether each table holds no row at all (soft-deleted ones count), or does not exist.
    std::vector<bool> EmptyTables(pqxx::connection& conn, const std::vector<TableName>& tables)
        const;

private:
    const Redactor& redactor_;
    RunLocks& locks_;
    std::string seen_keys_table_;
    std::string replica_;
};

}  // namespace chatsync::sink::detail
