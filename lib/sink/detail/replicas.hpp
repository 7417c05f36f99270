#pragma once

#include <cstdint>
#include <string>

#include <pqxx/pqxx>

#include "core/duration.hpp"
#include "sink/pg_sink.hpp"

/// @file
/// Several daemons on one database: the live replicas, and the shared schedule they claim
/// resources' runs from.

namespace chatsync::sink::detail {

/// The blocking operations on `replicas` and on the schedule columns of `resource_state`, each
/// on the connection given and in one transaction of its own.
///
/// @par Thread Safety
/// Immutable; its methods may run on several pool threads at once.
class Replicas {
public:
    /// See PgSink::ClaimRun.
    RunClaim ClaimRun(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& resource,
        const std::string& replica,
        Millis interval
    ) const;

    /// See PgSink::Heartbeat.
    std::uint32_t Heartbeat(pqxx::connection& conn, const std::string& replica, Millis ttl) const;

    /// See PgSink::LeaveReplicas.
    void Leave(pqxx::connection& conn, const std::string& replica) const;
};

}  // namespace chatsync::sink::detail
