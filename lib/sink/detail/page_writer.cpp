#include "sink/detail/page_writer.hpp"

#include <algorithm>
#include <utility>

#include <pqxx/tablewriter>

#include "sink/detail/errors.hpp"
#include "sink/detail/event_sql.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_values.hpp"

namespace chatsync::sink::detail {
namespace {

/// Copies a batch into the staging table: its ordinal, then the plan's columns.
void CopyRows(
    pqxx::work& tx,
    const std::string& stage,
    const TablePlan& plan,
    const RowBatch& batch
) {
    // libpqxx 6.4 offers raw COPY lines only through tablewriter (stream_to takes fixed
    // tuples); it is deprecated there, not broken, and we need per-batch column sets.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const std::vector<std::string> columns = StagingCopyColumns(plan);
    pqxx::tablewriter writer(tx, stage, columns.begin(), columns.end());
#pragma GCC diagnostic pop
    std::string line;
    std::string scratch;
    const auto& rows = batch.rows();
    for (std::size_t r = 0; r < rows.size(); ++r) {
        line.clear();
        line += std::to_string(r);
        const auto& row = rows[r];
        for (const auto& col : plan.columns) {
            line.push_back('\t');
            const std::size_t b = col.batch_index;
            const RowBatch::Cell* cell = b < row.size() ? &row[b] : nullptr;
            if (cell == nullptr || !cell->has_value()) {
                line += "\\N";
                continue;
            }
            AppendCopyField(line, CellText(**cell, col.cell_type, scratch));
        }
        writer.write_raw_line(line);
    }
    writer.complete();
}

}  // namespace

PageWriter::PageWriter(std::string seen_keys_table)
    : seen_keys_table_(std::move(seen_keys_table)) {}

WriteResult PageWriter::Commit(pqxx::connection& conn, const PageCommit& page) const {
    if (page.schema.empty()) {
        throw SinkFailure(Errc::kSinkPermanent, "the page names no schema");
    }
    const std::string schema = ShortIdentifier(page.schema, page.schema);
    std::vector<std::string> qualified;
    std::vector<std::int64_t> lock_keys;
    for (const auto& tw : page.tables) {
        qualified.push_back(QualifiedName(schema, ShortIdentifier(tw.table, tw.table)));
        lock_keys.push_back(AdvisoryLockKey("chatsync.table:" + qualified.back()));
    }
    std::sort(lock_keys.begin(), lock_keys.end());
    lock_keys.erase(std::unique(lock_keys.begin(), lock_keys.end()), lock_keys.end());

    // The staging tables of this thread's session, by slot: reused while they have the
    // layout of the table written through them, replaced when it changes, so a session
    // holds one per slot. Updated only once a transaction commits, and forgotten when one
    // fails, since a rollback undoes what it made.
    thread_local StagingTables stages;
    if (stages.backend != conn.backendpid()) {
        stages = StagingTables{conn.backendpid(), {}};
    }
    try {
        return Transaction(conn, page, schema, qualified, lock_keys, stages);
    } catch (...) {
        stages.layouts.clear();
        throw;
    }
}

WriteResult PageWriter::Transaction(
    pqxx::connection& conn,
    const PageCommit& page,
    const std::string& schema,
    const std::vector<std::string>& qualified,
    const std::vector<std::int64_t>& lock_keys,
    StagingTables& stages
) const {
    // Staging tables made by this transaction, by slot.
    std::vector<std::pair<std::size_t, std::string>> made;
    pqxx::work tx(conn);
    if (!lock_keys.empty()) {
        tx.exec_prepared("lock_tables", ArrayLiteral(lock_keys));
    }
    WriteResult result;
    bool schema_ready = false;
    for (std::size_t i = 0; i < page.tables.size(); ++i) {
        const TableWrite& tw = page.tables[i];
        TableResult& out = result.tables.emplace_back();
        if (tw.rows.empty()) {
            continue;
        }
        const std::vector<ExistingColumn> existing = ReadColumns(tx, qualified[i]);
        const TablePlan plan = PlanTable(
            qualified[i], existing, tw.rows.columns(), tw.key_paths, tw.seen_pass.has_value()
        );
        if (plan.create && !schema_ready) {
            // Taken after the table locks and released only at commit; nobody waits for a
            // table lock while holding it, so the order cannot deadlock.
            tx.exec_prepared("lock_key", AdvisoryLockKey("chatsync.schema:" + QuoteIdent(schema)));
            if (!tx.exec_prepared1("schema_exists", schema)[0].as<bool>()) {
                tx.exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(schema));
            }
            schema_ready = true;
        }
        for (const auto& ddl : plan.ddl) {
            tx.exec(ddl);
        }
        for (const auto& conversion : plan.conversions) {
            ConvertColumn(tx, plan.qualified, conversion);
            out.converted.push_back({conversion.column, conversion.from, conversion.to});
        }
        const std::string stage = "pg_temp._chatsync_stage_" + std::to_string(i);
        std::string layout = StagingTableSql(plan, existing, stage);
        if (i >= stages.layouts.size() || stages.layouts[i] != layout) {
            tx.exec("DROP TABLE IF EXISTS " + stage);
            tx.exec(layout);
            made.emplace_back(i, std::move(layout));
        }
        CopyRows(tx, stage, plan, tw.rows);

        const pqxx::result r =
            tx.exec_params(UpsertSql(plan, stage, tw.want_changed_rows), page.run_id);
        std::int64_t distinct = 0;
        if (tw.want_changed_rows) {
            for (const auto& row : r) {
                distinct = row[0].as<long long>();
                if (row[1].is_null()) {
                    continue;
                }
                (row[1].as<bool>() ? out.inserted : out.updated) += 1;
                out.changed_rows.push_back(static_cast<std::size_t>(row[2].as<long long>()));
            }
            std::sort(out.changed_rows.begin(), out.changed_rows.end());
        } else if (!r.empty()) {
            distinct = r[0][0].as<long long>();
            out.inserted = r[0][1].as<long long>();
            out.updated = r[0][2].as<long long>();
        }
        out.unchanged = distinct - out.inserted - out.updated;

        if (tw.seen_pass && !tw.pass_began_empty) {
            tx.exec_params(SeenKeysSql(plan, stage, seen_keys_table_), *tw.seen_pass, qualified[i]);
        }
    }
    tx.exec_prepared(
        "upsert_checkpoint",
        page.source,
        page.resource,
        NullIfEmpty(page.checkpoint),
        NullIfEmpty(page.run_id)
    );
    tx.commit();
    for (auto& [slot, layout] : made) {
        if (stages.layouts.size() <= slot) {
            stages.layouts.resize(slot + 1);
        }
        stages.layouts[slot] = std::move(layout);
    }
    return result;
}

void PageWriter::ConvertColumn(
    pqxx::work& tx,
    const std::string& qualified,
    const ColumnConversion& conversion
) {
    try {
        tx.exec(conversion.sql);
    } catch (const pqxx::sql_error& e) {
        if (ClassifySqlStateOf(e).code == Errc::kSinkTransient) {
            throw;
        }
        throw SinkFailure(
            Errc::kSinkPermanent,
            "column " + QuoteIdent(conversion.column) + " of table " + qualified +
                " cannot be converted from " + conversion.from + " to its declared type " +
                conversion.to + ", so nothing was changed: " +
                OneLine(std::string(e.what()) + " (SQLSTATE " + SqlStateOf(e) + ")") +
                ". Correct or clear the values that have no " + conversion.to +
                " form, or remove '" + conversion.path + "' from the resource's column_types"
        );
    }
}

}  // namespace chatsync::sink::detail
