#include "sink/detail/replicas.hpp"

#include <algorithm>

#include <unistd.h>

#include "sink/detail/pg_values.hpp"

namespace chatsync::sink::detail {

RunClaim Replicas::ClaimRun(
    pqxx::connection& conn,
    const std::string& source,
    const std::string& resource,
    const std::string& replica,
    Millis interval
) const {
    pqxx::work tx(conn);
    RunClaim claim;
    const auto ms = static_cast<std::int64_t>(interval.count());
    claim.claimed = !tx.exec_prepared("claim_run", source, resource, replica, ms).empty();
    if (!claim.claimed) {
        // A statement of its own, so that it reads the row as the claim that won left it
        // (read committed: each statement sees what committed before it began).
        const pqxx::result r = tx.exec_prepared("next_run", source, resource);
        if (!r.empty()) {
            claim.due_in = Millis{r[0][0].as<std::int64_t>()};
        }
    }
    tx.commit();
    return claim;
}

std::uint32_t Replicas::Heartbeat(pqxx::connection& conn, const std::string& replica, Millis ttl)
    const {
    pqxx::work tx(conn);
    tx.exec_prepared("replica_heartbeat", replica, HostName(), static_cast<int>(getpid()));
    tx.exec_prepared("forget_replicas");
    const auto live = tx.exec_prepared1("live_replicas", static_cast<std::int64_t>(ttl.count()))[0]
                          .as<std::int64_t>();
    tx.commit();
    return static_cast<std::uint32_t>(std::max<std::int64_t>(live, 1));
}

void Replicas::Leave(pqxx::connection& conn, const std::string& replica) const {
    pqxx::work tx(conn);
    tx.exec_prepared("leave_replica", replica);
    tx.commit();
}

}  // namespace chatsync::sink::detail
