#pragma once

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "core/error.hpp"
#include "core/redactor.hpp"

/// @file
/// The libpqxx boundary: what a blocking operation threw, translated into an error code, a
/// message, and what to do with the connection.

namespace chatsync::sink::detail {

/// A failure translated at the libpqxx boundary.
struct Classified {
    Errc code = Errc::kSinkPermanent;
    /// The connection's state is unknown or broken: replace it.
    bool drop_connection = false;
    /// The connection was lost, and nothing was committed: the call may be repeated on a
    /// new connection.
    bool connection_lost = false;
    std::string message;
};

/// Classifies a SQLSTATE: the classes that may pass with time are transient (see
/// PostgreSQL's errcodes appendix), everything else permanent.
Classified ClassifySqlState(std::string_view state);

/// The SQLSTATE of a statement's failure. libpqxx 6.4 gives it to sql_error itself but not
/// to the subclasses it throws for the codes it knows (insufficient_privilege for 42501,
/// say), whose sqlstate() is then empty: for those the class names the code, or at least
/// its class ("class 22" stands for every code of data_exception's class).
std::string SqlStateOf(const pqxx::sql_error& e);

/// Classifies by a code or a class from SqlStateOf ("class 53" classifies as 53xxx).
Classified ClassifySqlStateOf(const pqxx::sql_error& e);

/// Translates what a blocking operation threw.
Classified Classify(const std::exception_ptr& error);

/// The SQLSTATE with which the server refused a connection (28P01: a wrong password; 28000:
/// no such role, or one not allowed to log in; 3D000: no such database), or "" when it did
/// not answer with one. A failed connection's message leaves the code out unless the
/// connection asked for verbose errors before the server answered, which libpqxx 6.4 cannot
/// do: so this connects once more, asking, and waits at most `timeout` for the refusal.
std::string RefusalSqlState(const std::string& conninfo, std::chrono::milliseconds timeout);

/// Whether a failure of an event's own SQL is the event's fault (a value, a body or a row the
/// database refuses), so that the event is stored without it and the batch goes on. Anything
/// that may pass (a lost connection, a serialization failure, a timeout) is not: the whole
/// call fails and the events are delivered again.
bool IsEventFault(const pqxx::sql_error& e, const pqxx::connection& conn);

/// Takes secrets out of the messages that leave the sink: the Redactor's and the DSN's.
///
/// @par Thread Safety
/// Immutable after construction; `redactor` must outlive it.
class Redaction {
public:
    Redaction(const Redactor& redactor, std::string_view dsn);

    std::string operator()(std::string_view message) const;

    /// The text of a statement the database refused, redacted, on one line.
    std::string SqlErrorText(const pqxx::sql_error& e) const;

private:
    const Redactor& redactor_;
    std::vector<std::string> dsn_secrets_;
};

}  // namespace chatsync::sink::detail
