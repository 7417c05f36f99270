#include "sink/detail/run_lock.hpp"

#include "sink/detail/event_sql.hpp"
#include "sink/detail/identifier.hpp"

namespace chatsync::sink::detail {

RunLocks::RunLocks(const Connector& connector, std::string state_schema)
    : connector_(connector)
    , state_schema_(std::move(state_schema)) {}

std::int64_t RunLocks::Key(const std::string& source, const std::string& resource) const {
    return AdvisoryLockKey(state_schema_ + "/" + source + "/" + resource);
}

void RunLocks::DropSessionLocked() {
    held_.clear();
    session_.reset();
}

bool RunLocks::Acquire(const std::string& source, const std::string& resource) {
    const std::int64_t key = Key(source, resource);
    const std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
        bool fresh = false;
        try {
            if (!session_ || !session_->is_open()) {
                DropSessionLocked();
                session_ = connector_.Connect();
                fresh = true;
            }
            const bool held = held_.count(key) > 0;
            // Asked even when recorded as held: a session that died while idle still looks
            // open, and its locks may belong to another process by now.
            pqxx::nontransaction tx(*session_);
            const bool taken = tx.exec_prepared1("try_run_lock", key)[0].as<bool>();
            if (!taken) {
                throw SinkFailure(
                    Errc::kResourceBusy,
                    std::string("resource ")
                        .append(source)
                        .append("/")
                        .append(resource)
                        .append(" is being synced by another process")
                );
            }
            if (held) {
                // Session locks nest; one FinishRun must be enough to release it.
                tx.exec_prepared1("run_unlock", key);
                return false;
            }
            held_.insert(key);
            return true;
        } catch (const SinkFailure&) {
            throw;
        } catch (...) {
            if (session_ && session_->is_open()) {
                throw;
            }
            DropSessionLocked();
            // A session that died while idle says nothing about the database now.
            if (fresh || attempt > 0) {
                throw;
            }
        }
    }
}

void RunLocks::Release(const std::string& source, const std::string& resource) noexcept {
    try {
        const std::int64_t key = Key(source, resource);
        const std::lock_guard lock(mutex_);
        if (held_.count(key) == 0) {
            return;
        }
        if (!session_ || !session_->is_open()) {
            DropSessionLocked();
            return;
        }
        try {
            pqxx::nontransaction tx(*session_);
            tx.exec_prepared1("run_unlock", key);
            held_.erase(key);
        } catch (...) {
            if (!session_->is_open()) {
                DropSessionLocked();
            }
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do but keep the lock
        // Only allocation or mutex failures land here; the lock then stays held until
        // FinishRun is called again or the sink stops.
    }
}

void RunLocks::Close() {
    std::unique_ptr<pqxx::connection> old;
    {
        const std::lock_guard lock(mutex_);
        held_.clear();
        old = std::move(session_);
    }
    old.reset();
}

}  // namespace chatsync::sink::detail
