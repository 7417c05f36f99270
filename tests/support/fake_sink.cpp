#include "support/fake_sink.hpp"

#include <algorithm>
#include <chrono>

namespace chatsync::test {
namespace {

std::optional<std::string> NullIfEmpty(const std::string& s) {
    if (s.empty()) {
        return std::nullopt;
    }
    return s;
}

/// A cell of a batch row; rows may be shorter than the batch's columns.
const RowBatch::Cell* CellAt(const RowBatch::Row& row, std::size_t column) {
    if (column >= row.size() || !row[column]) {
        return nullptr;
    }
    return &row[column];
}

/// How one TableWrite maps onto its table, worked out before anything is changed, so that a
/// page that cannot be written changes nothing.
struct TablePlan {
    const sink::TableWrite* write = nullptr;
    /// Batch indices of the key columns, in key order.
    std::vector<std::size_t> key;
    /// Batch indices of the columns written: typed ones, and NULL-only ones the table has.
    std::vector<std::size_t> columns;
    /// Each row's key.
    std::vector<FakeSink::Key> row_keys;
};

}  // namespace

void FakeSink::FailCommits(CommitFault fault) {
    commit_fault_ = fault;
    commits_since_fault_ = 0;
}

void FakeSink::SetBusyElsewhere(const std::string& source, const std::string& resource, bool busy) {
    if (busy) {
        busy_elsewhere_.emplace(source, resource);
    } else {
        busy_elsewhere_.erase({source, resource});
    }
}

void FakeSink::SetUnreachable(bool unreachable) {
    unreachable_ = unreachable;
}

void FakeSink::ClearFaults() {
    commit_fault_.reset();
    unreachable_ = false;
}

const FakeSink::Table* FakeSink::FindTable(const std::string& schema, const std::string& table)
    const {
    const auto it = tables_.find({schema, table});
    return it == tables_.end() ? nullptr : &it->second;
}

std::optional<sink::ResourceState>
FakeSink::State(const std::string& source, const std::string& resource) const {
    const auto it = states_.find({source, resource});
    if (it == states_.end()) {
        return std::nullopt;
    }
    return it->second;
}

Error FakeSink::Fail(Errc code, std::string message) {
    return {code, std::move(message)};
}

std::optional<Error> FakeSink::Unreachable(const std::string& operation) const {
    if (!unreachable_) {
        return std::nullopt;
    }
    return Error{
        Errc::kSinkTransient, operation + ": the database is unreachable (SetUnreachable)"};
}

std::optional<Errc> FakeSink::TakeCommitFault() {
    if (!commit_fault_) {
        return std::nullopt;
    }
    const std::size_t index = commits_since_fault_++;
    const auto& f = *commit_fault_;
    if (index < f.after) {
        return std::nullopt;
    }
    if (f.count != CommitFault::kEvery && index - f.after >= f.count) {
        return std::nullopt;
    }
    return f.code;
}

sink::ResourceState& FakeSink::StateRow(const std::string& source, const std::string& resource) {
    auto [it, created] = states_.try_emplace({source, resource});
    if (created) {
        it->second.source = source;
        it->second.resource = resource;
    }
    return it->second;
}

Task<Result<sink::ResourceState>> FakeSink::LoadState(std::string source, std::string resource) {
    if (auto down = Unreachable("LoadState")) {
        co_return *down;
    }
    if (auto state = State(source, resource)) {
        co_return std::move(*state);
    }
    sink::ResourceState fresh;
    fresh.source = std::move(source);
    fresh.resource = std::move(resource);
    co_return fresh;
}

Task<Result<std::vector<sink::ResourceState>>> FakeSink::ListStates() {
    if (auto down = Unreachable("ListStates")) {
        co_return *down;
    }
    // states_ is ordered by (source, resource), as PgSink lists them.
    std::vector<sink::ResourceState> out;
    out.reserve(states_.size());
    for (const auto& [key, state] : states_) {
        out.push_back(state);
    }
    co_return out;
}

Task<Result<std::string>> FakeSink::BeginRun(std::string source, std::string resource) {
    if (auto down = Unreachable("BeginRun")) {
        co_return *down;
    }
    if (busy_elsewhere_.count({source, resource}) > 0) {
        co_return Fail(
            Errc::kResourceBusy,
            "resource " + source + "/" + resource + " is being synced by another process"
        );
    }
    // Nothing else runs the resource, so runs still marked running belong to a process that
    // died (or to a run here that never finished).
    bool interrupted = false;
    for (auto& run : runs_) {
        if (run.source == source && run.resource == resource &&
            run.outcome == RunOutcome::kRunning) {
            run.outcome = RunOutcome::kInterrupted;
            interrupted = true;
        }
    }
    RunRecord run;
    run.run_id = "run-" + std::to_string(next_run_++);
    run.source = source;
    run.resource = resource;
    runs_.push_back(run);
    auto& state = StateRow(source, resource);
    state.last_run_at = std::chrono::system_clock::now();
    if (interrupted) {
        state.last_outcome = RunOutcome::kInterrupted;
    }
    co_return run.run_id;
}

Task<Result<std::vector<bool>>> FakeSink::EmptyTables(std::vector<sink::TableName> tables) {
    if (auto down = Unreachable("EmptyTables")) {
        co_return *down;
    }
    std::vector<bool> out;
    for (const auto& t : tables) {
        const Table* table = FindTable(t.schema, t.table);
        out.push_back(table == nullptr || table->rows.empty());
    }
    co_return out;
}

Task<Result<sink::WriteResult>> FakeSink::CommitPage(sink::PageCommit page) {
    CommitRecord record;
    record.schema = page.schema;
    record.source = page.source;
    record.resource = page.resource;
    record.run_id = page.run_id;
    record.checkpoint = page.checkpoint;
    for (const auto& tw : page.tables) {
        record.rows.emplace_back(tw.table, tw.rows.size());
    }
    Result<sink::WriteResult> result = sink::WriteResult{};
    if (auto down = Unreachable("CommitPage")) {
        result = *down;
    } else {
        if (const auto fault = TakeCommitFault()) {
            result = Fail(
                *fault,
                "CommitPage " + page.source + "/" + page.resource + ": failed by FailCommits"
            );
        } else {
            result = Commit(page);
        }
    }
    record.committed = result.has_value();
    commits_.push_back(std::move(record));
    co_return result;
}

Result<sink::WriteResult> FakeSink::Commit(const sink::PageCommit& page) {
    const std::string operation = "CommitPage " + page.source + "/" + page.resource + ": ";
    if (page.schema.empty()) {
        return Fail(Errc::kSinkPermanent, operation + "the page names no schema");
    }
    std::vector<TablePlan> plans;
    for (const auto& tw : page.tables) {
        TablePlan& plan = plans.emplace_back();
        plan.write = &tw;
        if (tw.rows.empty()) {
            continue;
        }
        const auto& columns = tw.rows.columns();
        if (tw.key_paths.empty()) {
            return Fail(Errc::kSinkPermanent, operation + "table " + tw.table + " has no key");
        }
        std::vector<std::string> key_names;
        for (const auto& path : tw.key_paths) {
            const auto index = tw.rows.FindColumn(path);
            if (!index) {
                return Fail(
                    Errc::kSinkPermanent,
                    operation + "key path " + path + " is not in the batch for " + tw.table
                );
            }
            plan.key.push_back(*index);
            key_names.push_back(columns[*index].name);
        }
        const Table* existing = FindTable(page.schema, tw.table);
        if (existing != nullptr && existing->key_columns != key_names) {
            return Fail(
                Errc::kSinkPermanent,
                operation + "the key of " + tw.table + " differs from the table's primary key"
            );
        }
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (columns[c].typed ||
                (existing != nullptr && existing->columns.count(columns[c].name) > 0)) {
                plan.columns.push_back(c);
            }
        }
        for (const auto& row : tw.rows.rows()) {
            Key key;
            for (const std::size_t k : plan.key) {
                const auto* cell = CellAt(row, k);
                if (cell == nullptr) {
                    return Fail(
                        Errc::kSinkPermanent,
                        operation + "null value in key column " + columns[k].name + " of " +
                            tw.table
                    );
                }
                key.push_back((*cell)->text);
            }
            plan.row_keys.push_back(std::move(key));
        }
    }

    sink::WriteResult result;
    for (const auto& plan : plans) {
        const sink::TableWrite& tw = *plan.write;
        sink::TableResult& out = result.tables.emplace_back();
        if (tw.rows.empty()) {
            continue;
        }
        const auto& columns = tw.rows.columns();
        auto [it, created] = tables_.try_emplace({page.schema, tw.table});
        Table& table = it->second;
        if (created) {
            for (const std::size_t k : plan.key) {
                table.key_columns.push_back(columns[k].name);
            }
        }
        table.has_deleted_at = table.has_deleted_at || tw.seen_pass.has_value();
        for (const std::size_t c : plan.columns) {
            table.columns.insert(columns[c].name);
        }

        // A key written twice in one batch counts once, with its last values.
        std::map<Key, std::size_t> last;
        for (std::size_t r = 0; r < plan.row_keys.size(); ++r) {
            last[plan.row_keys[r]] = r;
        }
        for (const auto& [key, r] : last) {
            const auto& cells = tw.rows.rows()[r];
            auto found = table.rows.find(key);
            if (found != table.rows.end() && !found->second.deleted) {
                const Row& stored = found->second;
                const bool same =
                    std::all_of(plan.columns.begin(), plan.columns.end(), [&](std::size_t c) {
                        const auto* cell = CellAt(cells, c);
                        const auto at = stored.values.find(columns[c].name);
                        if (cell == nullptr) {
                            return at == stored.values.end();
                        }
                        return at != stored.values.end() && at->second == (*cell)->text;
                    });
                if (same) {
                    ++out.unchanged;
                    continue;
                }
            }
            if (found == table.rows.end()) {
                found = table.rows.emplace(key, Row{}).first;
                ++out.inserted;
            } else {
                ++out.updated;
            }
            Row& row = found->second;
            for (const std::size_t c : plan.columns) {
                if (const auto* cell = CellAt(cells, c)) {
                    row.values[columns[c].name] = (*cell)->text;
                } else {
                    row.values.erase(columns[c].name);
                }
            }
            row.run_id = page.run_id;
            row.deleted = false;
            ++row.writes;
            if (tw.want_changed_rows) {
                out.changed_rows.push_back(r);
            }
        }
        std::sort(out.changed_rows.begin(), out.changed_rows.end());
        if (tw.seen_pass && !tw.pass_began_empty) {
            auto& seen = seen_[{*tw.seen_pass, page.schema, tw.table}];
            seen.insert(plan.row_keys.begin(), plan.row_keys.end());
        }
    }

    auto& state = StateRow(page.source, page.resource);
    state.checkpoint = NullIfEmpty(page.checkpoint);
    state.run_id = NullIfEmpty(page.run_id);
    return result;
}

Task<Result<void>> FakeSink::RecordRun(sink::RunEnd end) {
    if (auto down = Unreachable("RecordRun")) {
        co_return *down;
    }
    const bool to_state = end.outcome == RunOutcome::kHeld || end.outcome == RunOutcome::kLatched;
    if (!to_state && end.outcome != RunOutcome::kSkipped) {
        co_return Fail(
            Errc::kSinkPermanent,
            "RecordRun " + end.source + "/" + end.resource + ": unknown outcome '" +
                std::string(OutcomeName(end.outcome)) + "' (held, latched or skipped)"
        );
    }
    auto& run = runs_.emplace_back();
    run.run_id = "recorded-" + std::to_string(runs_.size());
    run.source = end.source;
    run.resource = end.resource;
    run.outcome = end.outcome;
    run.error = end.error;
    if (to_state) {
        auto& state = StateRow(end.source, end.resource);
        state.last_run_at = std::chrono::system_clock::now();
        state.next_run_at = end.next_run_at;
        state.last_outcome = end.outcome;
        state.last_error = end.error;
        state.last_rows_written = 0;
        state.last_rows_unchanged = 0;
        state.last_tables.clear();
    }
    co_return Result<void>{};
}

Task<Result<sink::FinishResult>> FakeSink::FinishRun(sink::RunEnd end) {
    if (auto down = Unreachable("FinishRun")) {
        co_return *down;
    }
    const std::string operation = "FinishRun " + end.source + "/" + end.resource + ": ";
    const bool success = end.outcome == RunOutcome::kSuccess;
    if (!success && end.outcome != RunOutcome::kFailed && end.outcome != RunOutcome::kCancelled) {
        co_return Fail(
            Errc::kSinkPermanent,
            operation + "unknown run outcome '" + std::string(OutcomeName(end.outcome)) +
                "' (success, failed or cancelled)"
        );
    }
    if (success && !end.sweeps.empty() && end.schema.empty()) {
        co_return Fail(Errc::kSinkPermanent, operation + "the run end has sweeps but no schema");
    }
    sink::FinishResult result;
    if (success) {
        for (const auto& sweep : end.sweeps) {
            const SeenKey pass{sweep.seen_pass, end.schema, sweep.table};
            const auto table = tables_.find({end.schema, sweep.table});
            if (table != tables_.end() && table->second.has_deleted_at) {
                const auto seen = seen_.find(pass);
                for (auto& [key, row] : table->second.rows) {
                    const bool was_seen = seen != seen_.end() && seen->second.count(key) > 0;
                    if (!row.deleted && !was_seen) {
                        row.deleted = true;
                        ++result.rows_deleted;
                        ++sink::CountsFor(result.swept, {end.schema, sweep.table}).deleted;
                    }
                }
            }
            seen_.erase(pass);
        }
    }

    auto run = std::find_if(runs_.begin(), runs_.end(), [&](const RunRecord& r) {
        return r.run_id == end.run_id;
    });
    if (run == runs_.end()) {
        // PgSink records the end of a run that BeginRun never recorded, too.
        run = runs_.insert(runs_.end(), RunRecord{});
        run->run_id = end.run_id;
        run->source = end.source;
        run->resource = end.resource;
    }
    run->outcome = end.outcome;
    run->pages = end.pages;
    run->rows_written = end.rows_written;
    run->rows_unchanged = end.rows_unchanged;
    run->rows_deleted = result.rows_deleted;
    run->error = end.error;
    run->cursor = end.cursor;

    const bool known = states_.count({end.source, end.resource}) > 0;
    auto& state = StateRow(end.source, end.resource);
    state.next_run_at = end.next_run_at;
    state.last_outcome = end.outcome;
    state.last_rows_written = end.rows_written;
    state.last_rows_unchanged = end.rows_unchanged;
    state.last_tables = end.tables;
    for (const auto& swept : result.swept) {
        sink::CountsFor(state.last_tables, swept.name).deleted += swept.deleted;
    }
    if (success) {
        if (end.cursor) {
            state.cursor = end.cursor;
        }
        state.checkpoint.reset();
        state.run_id = NullIfEmpty(end.run_id);
        state.last_success_at = std::chrono::system_clock::now();
        state.last_error.clear();
    } else {
        // Cursor and checkpoint stay, so that the next run resumes.
        state.last_error = end.error;
        if (!known) {
            state.run_id = NullIfEmpty(end.run_id);
        }
    }
    co_return result;
}

Task<Result<std::int64_t>> FakeSink::ResetState(std::string source, std::string resource) {
    if (auto down = Unreachable("ResetState")) {
        co_return *down;
    }
    std::int64_t reset = 0;
    for (auto& [key, state] : states_) {
        if (key.first == source && (resource.empty() || key.second == resource)) {
            state.cursor.reset();
            state.checkpoint.reset();
            state.run_id.reset();
            ++reset;
        }
    }
    co_return reset;
}

Task<Result<std::optional<sink::Latch>>> FakeSink::GetLatch(std::string source) {
    if (auto down = Unreachable("GetLatch")) {
        co_return *down;
    }
    const auto it = latches_.find(source);
    if (it == latches_.end()) {
        co_return std::optional<sink::Latch>{};
    }
    co_return std::optional<sink::Latch>{it->second};
}

Task<Result<void>> FakeSink::SetLatch(sink::Latch latch) {
    if (auto down = Unreachable("SetLatch")) {
        co_return *down;
    }
    if (latch.set_at == sink::TimePoint{}) {
        latch.set_at = std::chrono::system_clock::now();
    }
    const std::string source = latch.source;
    latches_[source] = std::move(latch);
    co_return Result<void>{};
}

Task<Result<bool>> FakeSink::ClearLatch(std::string source) {
    if (auto down = Unreachable("ClearLatch")) {
        co_return *down;
    }
    co_return latches_.erase(source) > 0;
}

Task<Result<sink::EgressClaim>> FakeSink::ClaimEgress(
    std::string source,
    std::string address,
    std::uint32_t max_addresses,
    std::string run_id
) {
    (void)run_id;
    if (auto down = Unreachable("ClaimEgress")) {
        co_return *down;
    }
    auto& used = egress_[source];
    std::vector<std::pair<std::uint64_t, std::string>> recent;
    for (const auto& [a, seen] : used) {
        recent.emplace_back(seen, a);
    }
    // Most recent first, then by address, as PgSink orders them.
    std::sort(recent.begin(), recent.end(), [](const auto& x, const auto& y) {
        return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    sink::EgressClaim claim;
    bool known = false;
    for (const auto& [seen, a] : recent) {
        if (claim.previous.empty()) {
            claim.previous = a;
        }
        if (a == address) {
            known = true;
        } else {
            claim.others.push_back(a);
        }
    }
    if (!known && claim.others.size() >= max_addresses) {
        claim.refused = true;
    } else {
        used[address] = ++egress_clock_;
    }
    co_return claim;
}

Task<Result<sink::IntervalClaim>>
FakeSink::ClaimInterval(std::string source, std::string resource, Millis min_interval) {
    if (auto down = Unreachable("ClaimInterval")) {
        co_return *down;
    }
    const auto now = std::chrono::system_clock::now();
    const auto [it, first] = last_calls_.try_emplace({std::move(source), std::move(resource)}, now);
    sink::IntervalClaim claim;
    if (!first && now - it->second < min_interval) {
        claim.due = false;
        claim.last = it->second;
    } else {
        it->second = now;
    }
    co_return claim;
}

Task<Result<std::int64_t>> FakeSink::ForgetEgress(std::string source) {
    if (auto down = Unreachable("ForgetEgress")) {
        co_return *down;
    }
    const auto it = egress_.find(source);
    if (it == egress_.end()) {
        co_return std::int64_t{0};
    }
    const auto n = static_cast<std::int64_t>(it->second.size());
    egress_.erase(it);
    co_return n;
}

Task<Result<void>> FakeSink::Ping() {
    if (auto down = Unreachable("Ping")) {
        co_return *down;
    }
    co_return Result<void>{};
}

}  // namespace chatsync::test
