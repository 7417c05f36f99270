#include "sink/pg_sink.hpp"

#include <mutex>
#include <type_traits>
#include <utility>

#include <pqxx/pqxx>

#include "sink/detail/errors.hpp"
#include "sink/detail/event_store.hpp"
#include "sink/detail/guards.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/migrator.hpp"
#include "sink/detail/page_writer.hpp"
#include "sink/detail/pool.hpp"
#include "sink/detail/replicas.hpp"
#include "sink/detail/run_lock.hpp"
#include "sink/detail/run_log.hpp"
#include "sink/detail/statements.hpp"

namespace chatsync::sink {
namespace {

/// The operations on the database as a whole: its schema and its liveness.
class Maintenance {
public:
    Maintenance(const detail::Statements& statements, std::string state_schema)
        : statements_(statements)
        , state_schema_(std::move(state_schema)) {}

    int Migrate(pqxx::connection& conn) const {
        return detail::ApplyMigrations(conn, statements_, state_schema_);
    }

    void Ping(pqxx::connection& conn) const {
        pqxx::nontransaction tx(conn);
        tx.exec_prepared("ping");
    }

private:
    const detail::Statements& statements_;
    std::string state_schema_;
};

}  // namespace

/// The role units, each owning its part of the work; the pool runs their blocking operations.
/// Members are declared in dependency order, and the pool last: its threads use everything
/// above until Stop() joins them.
struct PgSink::Impl {
    Impl(const Options& options, const Redactor& redactor)
        : redaction(redactor, options.dsn)
        , statements(detail::QuoteIdent(options.state_schema))
        , connector(
              {.dsn = options.dsn,
               .connect_timeout = options.connect_timeout,
               .statement_timeout = options.statement_timeout},
              statements
          )
        , maintenance(statements, options.state_schema)
        , run_locks(connector, options.state_schema)
        , run_log(
              redactor,
              run_locks,
              statements.quoted_state_schema() + ".seen_keys",
              options.replica
          )
        , replica(options.replica)
        , pages(statements.quoted_state_schema() + ".seen_keys")
        , guards(redactor, options.state_schema)
        , events(statements, redaction)
        , pool(options.pool_size, connector, redaction) {}

    /// The one way into the pool: runs `(unit.*method)(connection, args...)` on a pool thread,
    /// then `after()` once that is done with, whatever the result. The arguments are moved
    /// into the coroutine frame when the call is made, so nothing refers to the caller's
    /// temporaries (GCC 12 mishandles temporaries inside a co_await full-expression, and
    /// double-destroyed a PageCommit that way).
    template <class Unit, class Method, class After, class... Args>
    auto CallThen(std::string operation, Unit& unit, Method method, After after, Args... args) {
        using T = std::invoke_result_t<Method, Unit&, pqxx::connection&, const Args&...>;
        auto op = [&unit, method, ... args = std::move(args)](pqxx::connection& c) {
            return (unit.*method)(c, args...);
        };
        return pool.Dispatch<T>(std::move(operation), std::move(op), std::move(after));
    }

    template <class Unit, class Method, class... Args>
    auto Call(std::string operation, Unit& unit, Method method, Args... args) {
        return CallThen(
            std::move(operation), unit, method, detail::Pool::NoFollowUp{}, std::move(args)...
        );
    }

    detail::Redaction redaction;
    detail::Statements statements;
    detail::Connector connector;
    Maintenance maintenance;
    detail::RunLocks run_locks;
    detail::RunLog run_log;
    std::string replica;
    detail::Replicas replicas;
    detail::PageWriter pages;
    detail::Guards guards;
    detail::EventStore events;
    detail::WriteOrder write_order;
    std::mutex stop_mutex;
    detail::Pool pool;
};

PgSink::PgSink(const Options& options, const Redactor& redactor)
    : impl_(std::make_unique<Impl>(options, redactor)) {}

PgSink::~PgSink() {
    Stop();
}

void PgSink::Stop() {
    const std::lock_guard lock(impl_->stop_mutex);
    if (!impl_->pool.Stop()) {
        return;
    }
    impl_->run_locks.Close();
    impl_->pool.CloseConnections();
}

Task<Result<int>> PgSink::Migrate() {
    return impl_->Call("Migrate", impl_->maintenance, &Maintenance::Migrate);
}

TableName PgSink::NameOf(const std::string& schema, const std::string& resource) const {
    return {detail::ShortIdentifier(schema, schema), detail::ShortIdentifier(resource, resource)};
}

Task<Result<std::vector<std::optional<std::int64_t>>>> PgSink::CountRows(
    std::vector<TableName> tables
) {
    return impl_->Call("CountRows", impl_->run_log, &detail::RunLog::CountRows, std::move(tables));
}

Task<Result<ResourceState>> PgSink::LoadState(std::string source, std::string resource) {
    return impl_->Call(
        "LoadState",
        impl_->run_log,
        &detail::RunLog::LoadState,
        std::move(source),
        std::move(resource)
    );
}

Task<Result<std::vector<ResourceState>>> PgSink::ListStates() {
    return impl_->Call("ListStates", impl_->run_log, &detail::RunLog::ListStates);
}

Task<Result<std::string>> PgSink::BeginRun(std::string source, std::string resource) {
    std::string operation = "BeginRun " + source + "/" + resource;
    return impl_->Call(
        std::move(operation),
        impl_->run_log,
        &detail::RunLog::BeginRun,
        std::move(source),
        std::move(resource)
    );
}

Task<Result<std::vector<bool>>> PgSink::EmptyTables(std::vector<TableName> tables) {
    return impl_->Call(
        "EmptyTables", impl_->run_log, &detail::RunLog::EmptyTables, std::move(tables)
    );
}

Task<Result<WriteResult>> PgSink::CommitPage(PageCommit page) {
    std::string operation = "CommitPage " + page.source + "/" + page.resource;
    return impl_->Call(
        std::move(operation), impl_->pages, &detail::PageWriter::Commit, std::move(page)
    );
}

Task<Result<FinishResult>> PgSink::FinishRun(RunEnd end) {
    std::string operation = "FinishRun " + end.source + "/" + end.resource;
    // The lock goes after the transaction (retries included), and also when it fails: a run
    // whose end could not be recorded must not keep other processes from the resource for as
    // long as this one lives; their BeginRun then marks it interrupted.
    auto release =
        [&log = impl_->run_log, source = end.source, resource = end.resource]() noexcept {
            log.ReleaseRunLock(source, resource);
        };
    return impl_->CallThen(
        std::move(operation),
        impl_->run_log,
        &detail::RunLog::FinishRun,
        std::move(release),
        std::move(end)
    );
}

Task<Result<void>> PgSink::RecordRun(RunEnd end) {
    std::string operation = "RecordRun " + end.source + "/" + end.resource;
    return impl_->Call(
        std::move(operation), impl_->run_log, &detail::RunLog::RecordRun, std::move(end)
    );
}

Task<Result<std::int64_t>> PgSink::ResetState(std::string source, std::string resource) {
    return impl_->Call(
        "ResetState",
        impl_->run_log,
        &detail::RunLog::ResetState,
        std::move(source),
        std::move(resource)
    );
}

Task<Result<std::optional<Latch>>> PgSink::GetLatch(std::string source) {
    return impl_->Call("GetLatch", impl_->guards, &detail::Guards::GetLatch, std::move(source));
}

Task<Result<void>> PgSink::SetLatch(Latch latch) {
    return impl_->Call("SetLatch", impl_->guards, &detail::Guards::SetLatch, std::move(latch));
}

Task<Result<bool>> PgSink::ClearLatch(std::string source) {
    return impl_->Call("ClearLatch", impl_->guards, &detail::Guards::ClearLatch, std::move(source));
}

Task<Result<EgressClaim>> PgSink::ClaimEgress(
    std::string source,
    std::string address,
    std::uint32_t max_addresses,
    std::string run_id
) {
    return impl_->Call(
        "ClaimEgress",
        impl_->guards,
        &detail::Guards::ClaimEgress,
        std::move(source),
        std::move(address),
        max_addresses,
        std::move(run_id)
    );
}

Task<Result<std::int64_t>> PgSink::ForgetEgress(std::string source) {
    return impl_->Call(
        "ForgetEgress", impl_->guards, &detail::Guards::ForgetEgress, std::move(source)
    );
}

Task<Result<IntervalClaim>>
PgSink::ClaimInterval(std::string source, std::string resource, Millis min_interval) {
    return impl_->Call(
        "ClaimInterval",
        impl_->guards,
        &detail::Guards::ClaimInterval,
        std::move(source),
        std::move(resource),
        min_interval
    );
}

Task<Result<void>> PgSink::PrepareEventTables(std::string schema, std::vector<EventTable> tables) {
    std::string operation = "PrepareEventTables " + schema;
    return impl_->Call(
        std::move(operation),
        impl_->events,
        &detail::EventStore::PrepareTables,
        std::move(schema),
        std::move(tables)
    );
}

Task<Result<std::vector<EventResult>>>
PgSink::StoreEvents(std::vector<InboundEvent> events, std::function<void()> written) {
    // Taken now, in the order of the calls, not when the pool gets to them.
    auto turn = impl_->write_order.Next(std::move(written));
    std::string operation = "StoreEvents (" + std::to_string(events.size()) + " events)";
    return impl_->Call(
        std::move(operation),
        impl_->events,
        &detail::EventStore::Store,
        std::move(events),
        std::move(turn)
    );
}

Task<Result<std::vector<StoredEvent>>> PgSink::ReadEvents(
    std::string source,
    std::optional<TimePoint> since,
    std::optional<std::string> after,
    std::size_t limit
) {
    std::string operation = "ReadEvents " + source;
    return impl_->Call(
        std::move(operation),
        impl_->events,
        &detail::EventStore::Read,
        std::move(source),
        since,
        std::move(after),
        limit
    );
}

Task<Result<std::vector<RederiveResult>>> PgSink::RederiveEvents(std::vector<InboundEvent> events) {
    if (events.empty()) {
        co_return std::vector<RederiveResult>{};
    }
    std::string operation = "RederiveEvents (" + std::to_string(events.size()) + " events)";
    auto task = impl_->Call(
        std::move(operation), impl_->events, &detail::EventStore::Rederive, std::move(events)
    );
    co_return co_await std::move(task);
}

Task<Result<void>> PgSink::Ping() {
    return impl_->Call("Ping", impl_->maintenance, &Maintenance::Ping);
}

Task<Result<RunClaim>> PgSink::ClaimRun(std::string source, std::string resource, Millis interval) {
    std::string operation = "ClaimRun " + source + "/" + resource;
    return impl_->Call(
        std::move(operation),
        impl_->replicas,
        &detail::Replicas::ClaimRun,
        std::move(source),
        std::move(resource),
        impl_->replica,
        interval
    );
}

Task<Result<std::uint32_t>> PgSink::Heartbeat(Millis ttl) {
    return impl_->Call(
        "Heartbeat", impl_->replicas, &detail::Replicas::Heartbeat, impl_->replica, ttl
    );
}

Task<Result<void>> PgSink::LeaveReplicas() {
    return impl_->Call("LeaveReplicas", impl_->replicas, &detail::Replicas::Leave, impl_->replica);
}

}  // namespace chatsync::sink
