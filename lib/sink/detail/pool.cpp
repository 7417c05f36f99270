#include "sink/detail/pool.hpp"

#include <algorithm>

#include "sink/detail/conninfo.hpp"
#include "sink/detail/pg_values.hpp"

namespace chatsync::sink::detail {

Connector::Connector(const Settings& settings, const Statements& statements)
    : connect_timeout_(settings.connect_timeout)
    , statement_timeout_(settings.statement_timeout)
    , statements_(statements) {
    ConnSettings conn;
    conn.connect_timeout_seconds =
        static_cast<long>((settings.connect_timeout.count() + 999) / 1000);
    conninfo_ = BuildConninfo(settings.dsn, conn);
}

std::unique_ptr<pqxx::connection> Connector::Connect() const {
    std::unique_ptr<pqxx::connection> conn;
    try {
        conn = std::make_unique<pqxx::connection>(conninfo_);
    } catch (const pqxx::too_many_connections&) {
        // A server out of connections is not asked again.
        throw;
    } catch (const pqxx::broken_connection& e) {
        // The server answered and refused (a password, a role, a database): its code
        // says which, whatever the language of its message.
        std::string message = e.what();
        if (message.find("FATAL:") == std::string::npos) {
            throw;
        }
        const std::string state = RefusalSqlState(conninfo_, connect_timeout_);
        if (state.empty()) {
            throw;
        }
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
            message.pop_back();
        }
        throw pqxx::broken_connection(message + " (SQLSTATE " + state + ")");
    }
    // set_variable (not a plain SET) so that libpqxx restores them should it ever
    // re-establish the session itself.
    conn->set_variable("TimeZone", "'UTC'");
    conn->set_variable("statement_timeout", std::to_string(statement_timeout_.count()));
    // CREATE ... IF NOT EXISTS notices would otherwise go to stderr through libpq.
    conn->set_variable("client_min_messages", "warning");
    for (const auto& [name, sql] : statements_.Prepared()) {
        conn->prepare(name, sql);
    }
    return conn;
}

Pool::Pool(std::size_t threads, const Connector& connector, const Redaction& redaction)
    : connector_(connector)
    , redaction_(redaction)
    , threads_(std::max<std::size_t>(threads, 1)) {}

bool Pool::Stop() {
    if (stopped_.exchange(true)) {
        return false;
    }
    threads_.join();
    return true;
}

void Pool::CloseConnections() {
    const std::lock_guard lock(conns_mutex_);
    conns_.clear();
}

Classified Pool::Translate(const std::exception_ptr& error) {
    Classified c = Classify(error);
    if (!c.connection_lost && c.code != Errc::kSinkTransient && ConnectionLost()) {
        // libpqxx reports some losses as plain failures ("not connected").
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.connection_lost = true;
    }
    if (c.drop_connection) {
        DropConnection();
    }
    return c;
}

Error Pool::Failure(std::string_view operation, const Classified& c) const {
    return {c.code, redaction_(std::string(operation) + ": " + OneLine(c.message))};
}

pqxx::connection& Pool::Connection(bool& fresh) {
    std::unique_ptr<pqxx::connection>& slot = Slot();
    if (!slot || !slot->is_open()) {
        slot.reset();
        slot = connector_.Connect();
        fresh = true;
    }
    return *slot;
}

std::unique_ptr<pqxx::connection>& Pool::Slot() {
    const std::lock_guard lock(conns_mutex_);
    // unordered_map keeps references to its elements valid across inserts, and only this
    // thread uses its own slot.
    return conns_[std::this_thread::get_id()];
}

bool Pool::ConnectionLost() {
    const std::unique_ptr<pqxx::connection>& slot = Slot();
    return slot && !slot->is_open();
}

void Pool::DropConnection() {
    std::unique_ptr<pqxx::connection> old;
    {
        const std::lock_guard lock(conns_mutex_);
        const auto it = conns_.find(std::this_thread::get_id());
        if (it != conns_.end()) {
            old = std::move(it->second);
        }
    }
    // Destroyed outside the lock: closing still talks to the server.
    old.reset();
}

}  // namespace chatsync::sink::detail
