#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "core/duration.hpp"
#include "core/redactor.hpp"
#include "sink/sink.hpp"

/// @file
/// What keeps a source from sending: latches, the addresses it has sent from, and the
/// minimum interval between calls of a resource.

namespace chatsync::sink::detail {

/// The blocking operations on `latches`, `egress` and the interval columns of
/// `resource_state`, each on the connection given and in one transaction of its own.
///
/// @par Thread Safety
/// Immutable; its methods may run on several pool threads at once.
class Guards {
public:
    /// `redactor` must outlive the guards.
    Guards(const Redactor& redactor, std::string state_schema);

    std::optional<Latch> GetLatch(pqxx::connection& conn, const std::string& source) const;
    void SetLatch(pqxx::connection& conn, const Latch& latch) const;
    /// Returns whether a latch was cleared.
    bool ClearLatch(pqxx::connection& conn, const std::string& source) const;

    /// See Sink::ClaimEgress: one claim at a time per source, across processes.
    EgressClaim ClaimEgress(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& address,
        std::uint32_t max_addresses,
        const std::string& run_id
    ) const;

    std::int64_t ForgetEgress(pqxx::connection& conn, const std::string& source) const;

    /// See Sink::ClaimInterval.
    IntervalClaim ClaimInterval(
        pqxx::connection& conn,
        const std::string& source,
        const std::string& resource,
        Millis min_interval
    ) const;

private:
    const Redactor& redactor_;
    std::string state_schema_;
};

}  // namespace chatsync::sink::detail
