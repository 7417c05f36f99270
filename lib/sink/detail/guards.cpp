#include "sink/detail/guards.hpp"

#include <vector>

#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_values.hpp"

namespace chatsync::sink::detail {

Guards::Guards(const Redactor& redactor, std::string state_schema)
    : redactor_(redactor)
    , state_schema_(std::move(state_schema)) {}

std::optional<Latch> Guards::GetLatch(pqxx::connection& conn, const std::string& source) const {
    pqxx::read_transaction tx(conn);
    const pqxx::result r = tx.exec_prepared("get_latch", source);
    if (r.empty()) {
        return std::nullopt;
    }
    Latch latch;
    latch.source = source;
    latch.reason = r[0][0].as<std::string>();
    latch.set_at = FromMicros(r[0][1]).value_or(TimePoint{});
    latch.set_by = r[0][2].as<std::string>();
    return latch;
}

void Guards::SetLatch(pqxx::connection& conn, const Latch& latch) const {
    pqxx::work tx(conn);
    std::optional<TimePoint> set_at;
    if (latch.set_at != TimePoint{}) {
        set_at = latch.set_at;
    }
    tx.exec_prepared(
        "set_latch", latch.source, redactor_.Redact(latch.reason), ToMicros(set_at), latch.set_by
    );
    tx.commit();
}

bool Guards::ClearLatch(pqxx::connection& conn, const std::string& source) const {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_prepared("clear_latch", source);
    tx.commit();
    return r.affected_rows() > 0;
}

EgressClaim Guards::ClaimEgress(
    pqxx::connection& conn,
    const std::string& source,
    const std::string& address,
    std::uint32_t max_addresses,
    const std::string& run_id
) const {
    pqxx::work tx(conn);
    // One claim at a time per source, across processes: two daemons with new addresses
    // must not both see room for one.
    tx.exec_prepared("lock_key", AdvisoryLockKey(state_schema_ + "/egress/" + source));
    EgressClaim claim;
    bool known = false;
    for (const auto& row : tx.exec_prepared("egress_list", source)) {
        const auto used = row[0].as<std::string>();
        if (claim.previous.empty()) {
            claim.previous = used;
        }
        if (used == address) {
            known = true;
        } else {
            claim.others.push_back(used);
        }
    }
    tx.exec_prepared("run_egress", run_id, address);
    if (!known && claim.others.size() >= max_addresses) {
        claim.refused = true;
    } else {
        tx.exec_prepared("egress_touch", source, address, HostName());
    }
    tx.commit();
    return claim;
}

IntervalClaim Guards::ClaimInterval(
    pqxx::connection& conn,
    const std::string& source,
    const std::string& resource,
    Millis min_interval
) const {
    pqxx::work tx(conn);
    IntervalClaim claim;
    const auto ms = static_cast<std::int64_t>(min_interval.count());
    claim.due = !tx.exec_prepared("claim_interval", source, resource, ms).empty();
    if (!claim.due) {
        const pqxx::result r = tx.exec_prepared("last_call", source, resource);
        if (!r.empty()) {
            claim.last = FromMicros(r[0][0]);
        }
    }
    tx.commit();
    return claim;
}

std::int64_t Guards::ForgetEgress(pqxx::connection& conn, const std::string& source) const {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_prepared("egress_forget", source);
    tx.commit();
    return static_cast<std::int64_t>(r.affected_rows());
}

}  // namespace chatsync::sink::detail
