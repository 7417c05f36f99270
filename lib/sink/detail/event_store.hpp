#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "sink/detail/errors.hpp"
#include "sink/detail/event_sql.hpp"
#include "sink/detail/statements.hpp"
#include "sink/sink.hpp"

/// @file
/// Event intake: webhook bodies stored once each, with the rows derived from them, and read
/// back to derive their rows again.

namespace chatsync::sink::detail {

/// A batch of events turned into SQL, before anything runs.
struct EventBatch {
    struct Entry {
        /// The same source and key came earlier in the batch: this one is a duplicate.
        bool repeat = false;
        /// The tuple for the events insert.
        std::string values;
        /// The derived rows, checked and rendered; empty when none.
        std::vector<RenderedEventRow> rows;
        /// Why the rows are not written, when that is known before any SQL runs (a row
        /// that does not fit its table, a body the connection cannot send as JSON).
        std::string error;
    };

    std::vector<Entry> entries;
    /// The events to insert (first occurrences), ordered by source and key: concurrent
    /// batches then take their row locks in one order and cannot deadlock on them.
    std::vector<std::size_t> insert_order;
    /// "source\0key" -> index of the first occurrence.
    std::unordered_map<std::string, std::size_t> first;
    /// The event tables the rows write, sorted.
    std::vector<std::int64_t> lock_keys;
};

/// The order in which overlapping batches of events write (see EventSink::StoreEvents).
///
/// @par Thread Safety
/// Next() may be called from any thread, in the order the batches are to write; a Turn is
/// used by the one thread that stores its batch.
class WriteOrder {
public:
    class Turn {
    public:
        /// `written`, may be empty, is called by Written(); it must not throw (it may run in
        /// a destructor).
        explicit Turn(std::function<void()> written);
        Turn(const Turn&) = delete;
        Turn& operator=(const Turn&) = delete;
        /// Lets the next batch write if it has not yet.
        ~Turn();

        /// Blocks until the batch before has written or ended.
        void Wait() const;

        /// This batch has written its rows (or will not): the next batch may write, and the
        /// caller's callback runs. Only the first call does anything.
        void Written() noexcept;

    private:
        friend class WriteOrder;
        std::shared_future<void> before_;
        std::promise<void> done_;
        std::function<void()> written_;
        std::atomic<bool> fired_{false};
    };

    /// The turn after the last one handed out.
    std::shared_ptr<Turn> Next(std::function<void()> written);

private:
    std::mutex mutex_;
    std::shared_future<void> last_;
};

/// The blocking operations of event intake. Each batch is written in one transaction: one
/// multi-row insert into the state schema's `webhook_events` (`ON CONFLICT DO NOTHING`, so a
/// replay is stored once), then the new events' rows as upserts into the tables
/// PrepareTables declared, one prepared execution per table (GroupEventUpserts). When the database
/// refuses something of the batch for good (a value, a body), the batch is redone under savepoints,
/// halved until the events at fault are found; only they lose their rows (their bytes are
/// kept, with `derive_error`).
///
/// @par Thread Safety
/// Every method may run on several pool threads at once; the declared tables are guarded.
class EventStore {
public:
    /// `statements` and `redaction` must outlive the store.
    EventStore(const Statements& statements, const Redaction& redaction);

    /// Creates the schema and the tables, adds missing columns, and remembers the
    /// declarations for Store once they are committed.
    void PrepareTables(
        pqxx::connection& conn,
        const std::string& schema,
        const std::vector<EventTable>& tables
    );

    /// See EventSink::StoreEvents: the batch is planned at once, and written on its `turn`.
    std::vector<EventResult> Store(
        pqxx::connection& conn,
        const std::vector<InboundEvent>& events,
        const std::shared_ptr<WriteOrder::Turn>& turn
    );

    /// See Sink::ReadEvents.
    std::vector<StoredEvent> Read(
        pqxx::connection& conn,
        const std::string& source,
        const std::optional<TimePoint>& since,
        const std::optional<std::string>& after,
        std::size_t limit
    ) const;

    /// See Sink::RederiveEvents.
    std::vector<RederiveResult>
    Rederive(pqxx::connection& conn, const std::vector<InboundEvent>& events);

private:
    /// An existing event table must have the declared key as its primary key, or ON CONFLICT
    /// could not name it.
    static void CheckTableKey(pqxx::work& tx, const EventTablePlan& plan);

    std::shared_ptr<const EventTablePlan>
    FindTable(const std::string& schema, const std::string& table);

    /// Checks and renders an event's rows into `rows`, and adds their tables to `lock_keys`;
    /// returns why they cannot be written (then `rows` is empty), or "".
    std::string RenderRows(
        const InboundEvent& event,
        std::vector<RenderedEventRow>& rows,
        std::vector<std::int64_t>& lock_keys
    );

    /// The EXECUTEs of the tables' prepared upserts for `rows`, given in the order their
    /// events were received (GroupEventUpserts), each ending in ";\n"; prepares them on the
    /// server first where needed.
    static std::string UpsertSql(
        pqxx::connection_base& conn,
        const std::vector<const RenderedEventRow*>& rows,
        bool replay
    );

    /// Runs UpsertSql in one round trip; returns the result of the last execution (the only
    /// one when the rows are all of one table row).
    static pqxx::result Upsert(
        pqxx::transaction_base& tx,
        const std::vector<const RenderedEventRow*>& rows,
        bool replay
    );

    EventBatch Plan(pqxx::connection& conn, const std::vector<InboundEvent>& events);

    /// The whole batch in one transaction: one insert for the events, then the upserts of
    /// the new ones' rows (as if in the order of the batch, so that events touching the same
    /// row apply in the order received).
    std::vector<EventResult>
    StoreBatch(pqxx::connection& conn, const EventBatch& batch, WriteOrder::Turn& turn) const;

    /// The batch again, the events that cannot be stored whole sorted out under savepoints:
    /// an event whose body the database refuses is stored with its bytes in `raw` and
    /// without rows; an event whose rows are refused is stored without them. Either way
    /// derive_error says why. Every other event is stored as in StoreBatch.
    std::vector<EventResult> StoreOneByOne(
        pqxx::connection& conn,
        const std::vector<InboundEvent>& events,
        const EventBatch& batch,
        WriteOrder::Turn& turn
    ) const;

    /// Runs `run(sub, first, last)`, the statements of `items[first, last)`, under a
    /// savepoint, and hands its result to `done` once the savepoint is released. `run` must
    /// start with exec(): libpqxx 6.4 sets a savepoint on a subtransaction's first exec(),
    /// not on exec_prepared(), which would abort the whole transaction when it failed. When the
    /// database refuses them for good, the two halves go on their own, down to single
    /// items, whose refusal goes to `refused(item, why)`.
    template <class Run, class Done, class Refused>
    void Bisect(
        pqxx::work& tx,
        const pqxx::connection& conn,
        const std::vector<std::size_t>& items,
        std::size_t first,
        std::size_t last,
        const Run& run,
        const Done& done,
        const Refused& refused
    ) const;

    std::string InsertSql(const EventBatch& batch, const std::vector<std::size_t>& which) const;
    /// InsertSql, appended to `sql`: a batch's bodies are large, and each copy of them counts.
    void AppendInsertSql(
        std::string& sql,
        const EventBatch& batch,
        const std::vector<std::size_t>& which
    ) const;

    const Statements& statements_;
    const Redaction& redaction_;

    /// The event tables PrepareTables declared, by (schema, table) as given. Entries are
    /// replaced, never changed, so Store keeps using the one it found.
    std::mutex tables_mutex_;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const EventTablePlan>> tables_;
};

}  // namespace chatsync::sink::detail
