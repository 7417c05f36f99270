#include "sink/detail/errors.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

#include <libpq-fe.h>
#include <poll.h>

#include "sink/detail/conninfo.hpp"
#include "sink/detail/event_sql.hpp"
#include "sink/detail/pg_values.hpp"

namespace chatsync::sink::detail {

Classified ClassifySqlState(std::string_view state) {
    Classified c;
    if (state.size() != 5) {
        return c;
    }
    const std::string_view cls = state.substr(0, 2);
    if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
        // Connection exception; the server shutting down, restarting or starting up.
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.connection_lost = true;
    } else if (cls == "40" || cls == "53" || state == "57014" || state == "55P03") {
        // Transaction rollback (serialization, deadlock); insufficient resources (too many
        // connections, disk full); statement timeout; lock not available.
        c.code = Errc::kSinkTransient;
    }
    return c;
}

std::string SqlStateOf(const pqxx::sql_error& e) {
    if (!e.sqlstate().empty()) {
        return e.sqlstate();
    }
    // Most derived first: dynamic_cast also matches bases.
    const std::pair<bool, const char*> known[] = {
        {dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr, "42501"},
        {dynamic_cast<const pqxx::undefined_column*>(&e) != nullptr, "42703"},
        {dynamic_cast<const pqxx::undefined_function*>(&e) != nullptr, "42883"},
        {dynamic_cast<const pqxx::undefined_table*>(&e) != nullptr, "42P01"},
        {dynamic_cast<const pqxx::syntax_error*>(&e) != nullptr, "42601"},
        {dynamic_cast<const pqxx::restrict_violation*>(&e) != nullptr, "23001"},
        {dynamic_cast<const pqxx::not_null_violation*>(&e) != nullptr, "23502"},
        {dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr, "23503"},
        {dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr, "23505"},
        {dynamic_cast<const pqxx::check_violation*>(&e) != nullptr, "23514"},
        {dynamic_cast<const pqxx::integrity_constraint_violation*>(&e) != nullptr, "class 23"},
        {dynamic_cast<const pqxx::data_exception*>(&e) != nullptr, "class 22"},
        {dynamic_cast<const pqxx::feature_not_supported*>(&e) != nullptr, "0A000"},
        {dynamic_cast<const pqxx::invalid_cursor_state*>(&e) != nullptr, "24000"},
        {dynamic_cast<const pqxx::invalid_sql_statement_name*>(&e) != nullptr, "26000"},
        {dynamic_cast<const pqxx::invalid_cursor_name*>(&e) != nullptr, "34000"},
        {dynamic_cast<const pqxx::disk_full*>(&e) != nullptr, "53100"},
        {dynamic_cast<const pqxx::out_of_memory*>(&e) != nullptr, "53200"},
        {dynamic_cast<const pqxx::insufficient_resources*>(&e) != nullptr, "class 53"},
        {dynamic_cast<const pqxx::plpgsql_raise*>(&e) != nullptr, "P0001"},
        {dynamic_cast<const pqxx::plpgsql_no_data_found*>(&e) != nullptr, "P0002"},
        {dynamic_cast<const pqxx::plpgsql_too_many_rows*>(&e) != nullptr, "P0003"},
        {dynamic_cast<const pqxx::plpgsql_error*>(&e) != nullptr, "class P0"},
    };
    for (const auto& [matches, code] : known) {
        if (matches) {
            return code;
        }
    }
    return "unknown";
}

Classified ClassifySqlStateOf(const pqxx::sql_error& e) {
    const std::string state = SqlStateOf(e);
    if (state.starts_with("class ")) {
        return ClassifySqlState(state.substr(6) + "000");
    }
    return ClassifySqlState(state);
}

Classified Classify(const std::exception_ptr& error) {
    Classified c;
    try {
        std::rethrow_exception(error);
    } catch (const SinkFailure& e) {
        c.code = e.code();
        c.message = e.what();
    } catch (const pqxx::broken_connection& e) {
        // Includes too_many_connections and every failure to connect.
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.connection_lost = true;
        c.message = e.what();
    } catch (const pqxx::in_doubt_error& e) {
        // The commit may have happened: not repeated here, the caller decides.
        c.code = Errc::kSinkTransient;
        c.drop_connection = true;
        c.message = std::string("commit in doubt: ") + e.what();
    } catch (const pqxx::transaction_rollback& e) {
        // serialization_failure, deadlock_detected, statement_completion_unknown.
        c.code = Errc::kSinkTransient;
        c.message = e.what();
    } catch (const pqxx::sql_error& e) {
        c = ClassifySqlStateOf(e);
        c.message = std::string(e.what()) + " (SQLSTATE " + SqlStateOf(e) + ")";
    } catch (const std::invalid_argument& e) {
        // The batch cannot be written as given (PlanTable): the connection is fine.
        c.message = e.what();
    } catch (const std::exception& e) {
        // libpqxx usage, conversion or internal errors: the connection may be mid-COPY or
        // mid-transaction, so it is not trusted again.
        c.drop_connection = true;
        c.message = e.what();
    }
    return c;
}

std::string RefusalSqlState(const std::string& conninfo, std::chrono::milliseconds timeout) {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
        PQconnectStart(conninfo.c_str()), &PQfinish
    );
    if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) {
        return {};
    }
    PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        pollfd fd{
            PQsocket(conn.get()),
            static_cast<short>(status == PGRES_POLLING_READING ? POLLIN : POLLOUT),
            0};
        if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
            return {};
        }
        status = PQconnectPoll(conn.get());
    }
    // Verbose: "FATAL:  28P01: password authentication failed for user ...".
    const std::string_view message = PQerrorMessage(conn.get());
    const auto fatal = message.find("FATAL:  ");
    if (status != PGRES_POLLING_FAILED || fatal == std::string_view::npos) {
        return {};
    }
    const auto code = message.substr(fatal + 8, 6);
    const bool ok =
        code.size() == 6 && code[5] == ':' && std::all_of(code.begin(), code.end() - 1, [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
        });
    return ok ? std::string(code.substr(0, 5)) : std::string();
}

bool IsEventFault(const pqxx::sql_error& e, const pqxx::connection& conn) {
    return conn.is_open() && e.sqlstate().size() == 5 &&
           ClassifySqlState(e.sqlstate()).code == Errc::kSinkPermanent;
}

Redaction::Redaction(const Redactor& redactor, std::string_view dsn)
    : redactor_(redactor)
    , dsn_secrets_(DsnSecrets(std::string(dsn))) {}

std::string Redaction::operator()(std::string_view message) const {
    std::string clean = redactor_.Redact(message);
    for (const auto& secret : dsn_secrets_) {
        // Very short passwords would mask ordinary letters; below 3 bytes the DSN
        // password is left to the Redactor's own rules.
        if (secret.size() < 3) {
            continue;
        }
        std::size_t pos = 0;
        while ((pos = clean.find(secret, pos)) != std::string::npos) {
            clean.replace(pos, secret.size(), Redactor::kMask);
            pos += Redactor::kMask.size();
        }
    }
    return clean;
}

std::string Redaction::SqlErrorText(const pqxx::sql_error& e) const {
    return (*this)(OneLine(std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")"));
}

}  // namespace chatsync::sink::detail
