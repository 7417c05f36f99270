#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "sink/detail/event_store.hpp"
#include "sink/detail/pg_values.hpp"

// The batch side of EventStore: planning a batch, storing it whole, and sorting out the
// events the database refuses.

namespace chatsync::sink::detail {
namespace {

/// How an event's body is stored.
enum class BodyAs {
    /// Valid JSON, in `body`, exactly as received.
    kJson,
    /// Not JSON: the bytes in `raw`, flagged malformed.
    kMalformed,
    /// JSON that the database refused: the bytes in `raw`, not flagged (derive_error says why).
    kRefused,
};

/// An event's tuple for insert_events_head.sql. Throws pqxx::argument_error when the body is
/// to be stored as JSON and is not valid in the connection's encoding.
std::string EventValuesSql(
    pqxx::connection& conn,
    const InboundEvent& event,
    BodyAs body_as,
    const std::string& derive_error
) {
    const auto optional_text = [&](const std::string& text) {
        std::string valid = ValidText(text);
        return valid.empty() ? std::string("NULL") : conn.quote(valid);
    };
    std::string sql = "(" + conn.quote(event.source) + ", " + conn.quote(event.event_key) + ", " +
                      TimestampSql(event.received_at) + ", " +
                      conn.quote(ValidText(event.channel)) + ", " +
                      optional_text(event.event_name) + ", " + optional_text(event.event_type) +
                      ", " + std::to_string(event.body.size()) + ", ";
    if (body_as == BodyAs::kJson) {
        sql += conn.quote(event.body) + "::json, NULL, false, ";
    } else {
        // libpqxx 6.4 takes binary data as unsigned bytes only.
        const auto* bytes = reinterpret_cast<const unsigned char*>(event.body.data());
        sql += "NULL, " + conn.quote_raw(bytes, event.body.size()) + ", " +
               (body_as == BodyAs::kMalformed ? "true" : "false") + ", ";
    }
    sql += optional_text(derive_error) + ")";
    return sql;
}

std::string EventKey(std::string_view source, std::string_view key) {
    std::string out(source);
    out.push_back('\0');
    out.append(key);
    return out;
}

/// The rows of the events `batch.entries[which[first, last)]`, in batch order.
std::vector<const RenderedEventRow*> RowsOf(
    const EventBatch& batch,
    const std::vector<std::size_t>& which,
    std::size_t first,
    std::size_t last
) {
    std::vector<const RenderedEventRow*> rows;
    for (std::size_t k = first; k < last; ++k) {
        for (const auto& row : batch.entries[which[k]].rows) {
            rows.push_back(&row);
        }
    }
    return rows;
}

/// A transaction whose BEGIN travels with its first statements, where pqxx::work would send
/// it in a round trip of its own. Rolled back unless committed; should even that fail, the
/// connection is closed, so that the pool replaces it rather than reuse a session left inside
/// a transaction.
class InlineTransaction {
public:
    explicit InlineTransaction(pqxx::connection& conn)
        : conn_(conn)
        , tx_(conn) {}

    InlineTransaction(const InlineTransaction&) = delete;
    InlineTransaction& operator=(const InlineTransaction&) = delete;

    ~InlineTransaction() {
        if (!open_) {
            return;
        }
        try {
            tx_.exec("ROLLBACK");
        } catch (const std::exception&) {
            conn_.disconnect();
        }
    }

    /// What the text given to Begin starts with: it is built after this, rather than copied
    /// behind it.
    static constexpr std::string_view kBegin = "BEGIN;\n";

    /// Runs `sql`, kBegin then one or more statements; returns the last statement's result.
    pqxx::result Begin(const std::string& sql) {
        if (!sql.starts_with(kBegin)) {
            throw std::logic_error("an inline transaction's text does not start with BEGIN");
        }
        open_ = true;
        return tx_.exec(sql);
    }

    void Commit() {
        // Should COMMIT fail, the session is not trusted again: the destructor's ROLLBACK
        // finds no transaction, or closes the connection.
        tx_.exec("COMMIT");
        open_ = false;
    }

private:
    pqxx::connection& conn_;
    pqxx::nontransaction tx_;
    bool open_ = false;
};

/// Shared: batches write at once; creating or altering a table waits for them.
void LockEventTables(pqxx::work& tx, const EventBatch& batch) {
    if (!batch.lock_keys.empty()) {
        tx.exec_prepared("lock_tables_shared", ArrayLiteral(batch.lock_keys));
    }
}

void MarkNew(const EventBatch& batch, const pqxx::result& returned, std::vector<bool>& fresh) {
    for (const auto& row : returned) {
        const auto it =
            batch.first.find(EventKey(row[0].as<std::string>(), row[1].as<std::string>()));
        if (it == batch.first.end()) {
            throw std::logic_error("the events insert returned a key it was not given");
        }
        fresh[it->second] = true;
    }
}

std::vector<EventResult> EventResults(
    const EventBatch& batch,
    const std::vector<bool>& fresh,
    const std::vector<std::string>& errors
) {
    std::vector<EventResult> out(batch.entries.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (batch.entries[i].repeat || !fresh[i]) {
            out[i].outcome = EventResult::Outcome::kDuplicate;
        } else if (!errors[i].empty()) {
            out[i].outcome = EventResult::Outcome::kStoredWithoutRows;
            out[i].error = errors[i];
        }
    }
    return out;
}

}  // namespace

EventBatch EventStore::Plan(pqxx::connection& conn, const std::vector<InboundEvent>& events) {
    EventBatch batch;
    batch.entries.resize(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        const InboundEvent& event = events[i];
        EventBatch::Entry& entry = batch.entries[i];
        // Both are ours (a source name, a digest), and a replaced byte could merge two keys.
        for (const std::string* text : {&event.source, &event.event_key}) {
            if (ValidText(*text) != *text) {
                throw SinkFailure(
                    Errc::kSinkPermanent,
                    "event " + std::to_string(i) + ": source or key is not UTF-8 text"
                );
            }
        }
        if (!batch.first.emplace(EventKey(event.source, event.event_key), i).second) {
            entry.repeat = true;
            continue;
        }
        batch.insert_order.push_back(i);
        BodyAs body_as = event.valid_json ? BodyAs::kJson : BodyAs::kMalformed;
        if (body_as == BodyAs::kJson && event.body.find('\0') != std::string::npos) {
            body_as = BodyAs::kRefused;
            entry.error = "the body was refused as JSON: it contains a NUL byte";
        }
        if (body_as == BodyAs::kJson) {
            entry.error = RenderRows(event, entry.rows, batch.lock_keys);
            try {
                entry.values = EventValuesSql(conn, event, body_as, entry.error);
            } catch (const pqxx::argument_error& e) {
                body_as = BodyAs::kRefused;
                entry.rows.clear();
                entry.error =
                    "the body was refused as JSON: not valid text (" + OneLine(e.what()) + ")";
            }
        }
        if (body_as != BodyAs::kJson) {
            // Rows come only from JSON bodies.
            entry.values = EventValuesSql(conn, event, body_as, entry.error);
        }
    }
    std::sort(
        batch.insert_order.begin(),
        batch.insert_order.end(),
        [&](std::size_t a, std::size_t b) {
            return std::tie(events[a].source, events[a].event_key) <
                   std::tie(events[b].source, events[b].event_key);
        }
    );
    std::sort(batch.lock_keys.begin(), batch.lock_keys.end());
    batch.lock_keys.erase(
        std::unique(batch.lock_keys.begin(), batch.lock_keys.end()), batch.lock_keys.end()
    );
    return batch;
}

WriteOrder::Turn::Turn(std::function<void()> written)
    : written_(std::move(written)) {}

WriteOrder::Turn::~Turn() {
    Written();
}

void WriteOrder::Turn::Wait() const {
    if (before_.valid()) {
        before_.wait();
    }
}

void WriteOrder::Turn::Written() noexcept {
    if (fired_.exchange(true)) {
        return;
    }
    done_.set_value();
    if (written_) {
        written_();
    }
}

std::shared_ptr<WriteOrder::Turn> WriteOrder::Next(std::function<void()> written) {
    auto turn = std::make_shared<Turn>(std::move(written));
    const std::lock_guard lock(mutex_);
    turn->before_ = last_;
    last_ = turn->done_.get_future().share();
    return turn;
}

std::vector<EventResult> EventStore::Store(
    pqxx::connection& conn,
    const std::vector<InboundEvent>& events,
    const std::shared_ptr<WriteOrder::Turn>& turn
) {
    // However this ends, the next batch may then write.
    class Release {
    public:
        explicit Release(WriteOrder::Turn& turn)
            : turn_(turn) {}

        Release(const Release&) = delete;
        Release& operator=(const Release&) = delete;

        ~Release() { turn_.Written(); }

    private:
        WriteOrder::Turn& turn_;
    } const release(*turn);

    if (events.empty()) {
        return {};
    }
    const EventBatch batch = Plan(conn, events);
    turn->Wait();
    try {
        return StoreBatch(conn, batch, *turn);
    } catch (const pqxx::sql_error& e) {
        if (!IsEventFault(e, conn)) {
            throw;
        }
    }
    // The database refused something of the batch for good, and which event it belongs
    // to is unknown: the batch is redone, the events at fault sorted out.
    return StoreOneByOne(conn, events, batch, *turn);
}

std::vector<EventResult> EventStore::StoreBatch(
    pqxx::connection& conn,
    const EventBatch& batch,
    WriteOrder::Turn& turn
) const {
    const std::size_t n = batch.entries.size();
    std::vector<bool> fresh(n, false);
    std::vector<std::string> errors(n);
    // The first occurrence of each event, in the order received.
    std::vector<std::size_t> firsts;
    for (std::size_t i = 0; i < n; ++i) {
        errors[i] = batch.entries[i].error;
        if (!batch.entries[i].repeat) {
            firsts.push_back(i);
        }
    }
    {
        // A batch rarely holds a replay: BEGIN, the tables' locks, every event's rows and the
        // events go in one round trip, kept when the insert returns every event as new.
        InlineTransaction tx(conn);
        std::string sql(InlineTransaction::kBegin);
        if (!batch.lock_keys.empty()) {
            conn.prepare_now("lock_tables_shared");
            sql +=
                "EXECUTE lock_tables_shared(" + conn.quote(ArrayLiteral(batch.lock_keys)) + ");\n";
        }
        sql += UpsertSql(conn, RowsOf(batch, firsts, 0, firsts.size()), false);
        AppendInsertSql(sql, batch, batch.insert_order);
        const pqxx::result inserted = tx.Begin(sql);
        if (inserted.size() == batch.insert_order.size()) {
            MarkNew(batch, inserted, fresh);
            // Every row this batch touches is locked: the next batch may write, and waits on
            // those rows until this commit.
            turn.Written();
            tx.Commit();
            return EventResults(batch, fresh, errors);
        }
        // A replay, whose rows must not apply again: rolled back, and done in two steps.
    }
    pqxx::work tx(conn);
    LockEventTables(tx, batch);
    MarkNew(batch, tx.exec(InsertSql(batch, batch.insert_order)), fresh);
    std::vector<std::size_t> with_rows;
    for (std::size_t i = 0; i < n; ++i) {
        if (fresh[i]) {
            with_rows.push_back(i);
        }
    }
    Upsert(tx, RowsOf(batch, with_rows, 0, with_rows.size()), false);
    turn.Written();
    tx.commit();
    return EventResults(batch, fresh, errors);
}

template <class Run, class Done, class Refused>
void EventStore::Bisect(
    pqxx::work& tx,
    const pqxx::connection& conn,
    const std::vector<std::size_t>& items,
    std::size_t first,
    std::size_t last,
    const Run& run,
    const Done& done,
    const Refused& refused
) const {
    if (first >= last) {
        return;
    }
    std::string why;
    {
        pqxx::subtransaction sub(tx, "chatsync_events");
        try {
            const pqxx::result r = run(sub, first, last);
            sub.commit();
            done(r);
            return;
        } catch (const pqxx::sql_error& e) {
            if (!IsEventFault(e, conn)) {
                throw;
            }
            why = redaction_.SqlErrorText(e);
            // libpqxx has rolled back to the savepoint already; this only says so.
            sub.abort();
        }
    }
    if (last - first == 1) {
        refused(items[first], why);
        return;
    }
    const std::size_t middle = first + (last - first) / 2;
    Bisect(tx, conn, items, first, middle, run, done, refused);
    Bisect(tx, conn, items, middle, last, run, done, refused);
}

std::vector<EventResult> EventStore::StoreOneByOne(
    pqxx::connection& conn,
    const std::vector<InboundEvent>& events,
    const EventBatch& batch,
    WriteOrder::Turn& turn
) const {
    const std::size_t n = batch.entries.size();
    std::vector<bool> fresh(n, false);
    std::vector<std::string> errors(n);
    for (std::size_t i = 0; i < n; ++i) {
        errors[i] = batch.entries[i].error;
    }
    pqxx::work tx(conn);
    LockEventTables(tx, batch);

    const auto insert = [&](pqxx::subtransaction& sub, std::size_t first, std::size_t last) {
        return sub.exec(InsertSql(
            batch,
            std::vector<std::size_t>(
                batch.insert_order.begin() + static_cast<std::ptrdiff_t>(first),
                batch.insert_order.begin() + static_cast<std::ptrdiff_t>(last)
            )
        ));
    };
    const auto inserted = [&](const pqxx::result& r) {
        MarkNew(batch, r, fresh);
    };
    // Only its body comes from outside, so that is what the database refused: the bytes
    // are kept and no rows written. Should this fail too, so does the call.
    const auto body_refused = [&](std::size_t i, const std::string& why) {
        errors[i] = "the body was refused as JSON: " + why;
        EventBatch single;
        single.entries.emplace_back().values =
            EventValuesSql(conn, events[i], BodyAs::kRefused, errors[i]);
        fresh[i] = !tx.exec(InsertSql(single, {0})).empty();
    };
    Bisect(
        tx, conn, batch.insert_order, 0, batch.insert_order.size(), insert, inserted, body_refused
    );

    std::vector<std::size_t> with_rows;
    for (std::size_t i = 0; i < n; ++i) {
        if (fresh[i] && errors[i].empty() && !batch.entries[i].rows.empty()) {
            with_rows.push_back(i);
        }
    }
    const auto upsert = [&](pqxx::subtransaction& sub, std::size_t first, std::size_t last) {
        Upsert(sub, RowsOf(batch, with_rows, first, last), false);
        return pqxx::result();
    };
    const auto rows_written = [](const pqxx::result&) {
    };
    const auto rows_refused = [&](std::size_t i, const std::string& why) {
        errors[i] = "derived rows refused: " + why;
        tx.exec_prepared("event_derive_error", events[i].source, events[i].event_key, errors[i]);
    };
    Bisect(tx, conn, with_rows, 0, with_rows.size(), upsert, rows_written, rows_refused);
    turn.Written();
    tx.commit();
    return EventResults(batch, fresh, errors);
}

std::string EventStore::InsertSql(const EventBatch& batch, const std::vector<std::size_t>& which)
    const {
    std::string sql;
    AppendInsertSql(sql, batch, which);
    return sql;
}

void EventStore::AppendInsertSql(
    std::string& sql,
    const EventBatch& batch,
    const std::vector<std::size_t>& which
) const {
    const std::string& head = statements_.Text("insert_events_head");
    const std::string& tail = statements_.Text("insert_events_tail");
    std::size_t size = sql.size() + head.size() + tail.size() + 1;
    for (const std::size_t i : which) {
        size += batch.entries[i].values.size() + 2;
    }
    sql.reserve(size);
    sql += head;
    for (std::size_t n = 0; n < which.size(); ++n) {
        if (n > 0) {
            sql += ",\n";
        }
        sql += batch.entries[which[n]].values;
    }
    sql += '\n';
    sql += tail;
}

}  // namespace chatsync::sink::detail
