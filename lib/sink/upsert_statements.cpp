#include "sink/upsert_statements.hpp"

#include <exception>
#include <stdexcept>

#include <pqxx/pqxx>

#include "core/table.hpp"
#include "sink/detail/errors.hpp"
#include "sink/detail/identifier.hpp"
#include "sink/detail/pg_types.hpp"
#include "sink/detail/pg_values.hpp"
#include "sink/detail/statements.hpp"
#include "sink/detail/table_plan.hpp"

namespace chatsync::sink {
namespace {

std::vector<detail::ExistingColumn> Columns(pqxx::work& tx, const std::string& table) {
    std::vector<detail::ExistingColumn> out = detail::ReadColumns(tx, table);
    if (out.empty()) {
        throw std::invalid_argument("no such table: " + table);
    }
    return out;
}

UpsertStatements Describe(
    const std::string& dsn,
    const std::string& source,
    const std::string& target,
    const std::vector<std::string>& key_paths,
    std::string_view stage
) {
    pqxx::connection conn(dsn);
    // Only the catalog query is needed here; it names no state schema.
    const detail::Statements statements("");
    for (const auto& [name, sql] : statements.Prepared()) {
        if (name == "table_columns") {
            conn.prepare(name, sql);
        }
    }
    pqxx::work tx(conn);
    const auto from = Columns(tx, source);
    const auto to = Columns(tx, target);
    bool deleted_at = false;
    std::vector<ColumnDef> batch;
    for (const auto& c : from) {
        deleted_at = deleted_at || c.name == detail::kDeletedAtColumn;
        const auto type = detail::ColumnTypeFromSql(c.sql_type);
        if (c.path && type) {
            batch.push_back(ColumnDef{*c.path, c.name, *type, true});
        }
    }
    const detail::TablePlan plan = detail::PlanTable(target, to, batch, key_paths, deleted_at);
    if (!plan.ddl.empty()) {
        throw std::invalid_argument(target + " does not have the layout of " + source);
    }
    UpsertStatements out;
    for (const auto& c : plan.columns) {
        out.staging_columns +=
            (out.staging_columns.empty() ? "" : ", ") + detail::QuoteIdent(c.name);
    }
    out.create_staging = detail::StagingTableSql(plan, to, stage);
    out.upsert = detail::UpsertSql(plan, stage, false);
    return out;
}

}  // namespace

Result<UpsertStatements> DescribeUpsert(
    const std::string& dsn,
    const std::string& source,
    const std::string& target,
    const std::vector<std::string>& key_paths,
    std::string_view stage
) {
    try {
        return Describe(dsn, source, target, key_paths, stage);
    } catch (...) {
        const detail::Classified c = detail::Classify(std::current_exception());
        return Result<UpsertStatements>(
            boost::system::in_place_error, make_error_code(c.code), detail::OneLine(c.message)
        );
    }
}

}  // namespace chatsync::sink
