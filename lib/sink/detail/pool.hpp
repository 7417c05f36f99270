#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <pqxx/pqxx>

#include "core/asio.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/result.hpp"
#include "sink/detail/errors.hpp"
#include "sink/detail/statements.hpp"

/// @file
/// The blocking side of PgSink: how its connections are opened, and the pool of threads that
/// runs its operations, one connection each, translating every failure into an Error.

namespace chatsync::sink::detail {

/// Opens the sink's connections: the DSN with the sink's settings, the session variables, and
/// every prepared statement.
///
/// @par Thread Safety
/// Immutable after construction; Connect() may be called from any thread.
class Connector {
public:
    struct Settings {
        std::string dsn;
        Millis connect_timeout = std::chrono::seconds(10);
        Millis statement_timeout = std::chrono::seconds(60);
    };

    /// `statements` must outlive the connector.
    Connector(const Settings& settings, const Statements& statements);

    /// A new connection, ready for the sink's statements. Throws what libpqxx throws; a server
    /// that refused the connection is named by its SQLSTATE in the message.
    std::unique_ptr<pqxx::connection> Connect() const;

private:
    std::string conninfo_;
    Millis connect_timeout_;
    Millis statement_timeout_;
    const Statements& statements_;
};

/// Threads that run blocking libpqxx work, each on a connection of its own, made on first use
/// and replaced when it breaks.
///
/// @par Thread Safety
/// Dispatch() is awaited from the caller's executor; the operation runs on a pool thread and
/// the caller resumes on its own executor. Stop() once, before destruction.
class Pool {
public:
    /// `connector` and `redaction` must outlive the pool.
    Pool(std::size_t threads, const Connector& connector, const Redaction& redaction);

    /// Nothing to do after an operation.
    struct NoFollowUp {
        void operator()() const noexcept {}
    };

    /// Runs `op(connection)` on a pool thread, then `after()` on the same thread whatever the
    /// result (retries included). Fails with kCancelled, without running either, once the
    /// pool has stopped (a stopped pool would never run it, and the caller would wait
    /// forever). Any failure comes back as an Error whose message starts with `operation`.
    template <class T, class Op, class After = NoFollowUp>
    Task<Result<T>> Dispatch(std::string operation, Op op, After after = {}) {
        if (stopped_.load()) {
            co_return Result<T>(
                boost::system::in_place_error,
                make_error_code(Errc::kCancelled),
                operation + ": the sink has stopped"
            );
        }
        auto blocking = Blocking<T>(std::move(operation), std::move(op), std::move(after));
        auto result =
            co_await net::co_spawn(threads_.get_executor(), std::move(blocking), kUseAwaitable);
        co_return result;
    }

    /// Refuses new work and waits for the work in flight. Returns false when it had stopped
    /// already.
    bool Stop();

    /// Closes every thread's connection (after Stop()).
    void CloseConnections();

private:
    template <class T, class Op, class After>
    Task<Result<T>> Blocking(std::string operation, Op op, After after) {
        Result<T> result = Run<T>(operation, op);
        after();
        co_return result;
    }

    /// Runs `op` on this thread's connection and translates every failure into an Error: its
    /// code, and its explanation (redacted) as the message.
    template <class T, class Op>
    Result<T> Run(std::string_view operation, Op& op) {
        for (int attempt = 0;; ++attempt) {
            bool fresh = false;
            std::exception_ptr error;
            try {
                pqxx::connection& conn = Connection(fresh);
                if constexpr (std::is_void_v<T>) {
                    op(conn);
                    return {};
                } else {
                    return Result<T>(op(conn));
                }
            } catch (...) {
                error = std::current_exception();
            }
            const Classified c = Translate(error);
            // A pooled connection that died while idle (server restart, idle timeout, a
            // terminated backend) fails on first use and says nothing about the database
            // now; its transaction never committed, so the call runs once more on a new one.
            if (c.connection_lost && !fresh && attempt == 0) {
                continue;
            }
            // in_place_error: a Result<bool> would otherwise take the error_code as a bool.
            return Result<T>(boost::system::in_place_error, Failure(operation, c));
        }
    }

    /// Classifies a failure of this thread's operation, and drops the connection when it
    /// cannot be trusted again.
    Classified Translate(const std::exception_ptr& error);

    Error Failure(std::string_view operation, const Classified& c) const;

    /// This thread's connection, made now (`fresh`) when it had none or lost it.
    pqxx::connection& Connection(bool& fresh);
    std::unique_ptr<pqxx::connection>& Slot();
    /// Whether this thread's connection is gone (after a failure).
    bool ConnectionLost();
    void DropConnection();

    const Connector& connector_;
    const Redaction& redaction_;

    std::mutex conns_mutex_;
    std::unordered_map<std::thread::id, std::unique_ptr<pqxx::connection>> conns_;
    std::atomic<bool> stopped_{false};
    /// Last: its threads use everything above until Stop() joins them.
    net::thread_pool threads_;
};

}  // namespace chatsync::sink::detail
