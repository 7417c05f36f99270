// chatsync-bench-sql: prints the statements chatsyncd would use to write a table's rows into
// another table, so that bench/sync.sh can time PostgreSQL running exactly those statements
// on its own, with no chatsyncd in the way.
//
//   chatsync-bench-sql DSN SOURCE TARGET KEY_PATH...
//
// SOURCE is a table chatsyncd wrote (its column comments name the record paths); TARGET an
// existing table of the same layout. Prints three lines: the staging columns a batch is
// copied into, after the ordinal column; the CREATE TEMP TABLE statement for a staging table
// named `_chatsync_stage`; and the upsert from it into TARGET ($1 is the run id).

#include <iostream>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "sink/detail/identifier.hpp"
#include "sink/detail/table_plan.hpp"

namespace {

using chatsync::sink::detail::ExistingColumn;

std::vector<ExistingColumn> ReadColumns(pqxx::work& tx, const std::string& table) {
    std::vector<ExistingColumn> out;
    for (const auto& row :
         tx.exec_params(std::string(chatsync::sink::detail::kTableColumnsSql), table)) {
        ExistingColumn c{row[0].as<std::string>(), row[1].as<std::string>(), std::nullopt};
        if (!row[2].is_null()) {
            c.path = row[2].as<std::string>();
        }
        out.push_back(std::move(c));
    }
    if (out.empty()) {
        throw std::runtime_error("no such table: " + table);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: chatsync-bench-sql DSN SOURCE TARGET KEY_PATH...\n";
        return 2;
    }
    try {
        pqxx::connection conn(argv[1]);
        pqxx::work tx(conn);
        const auto source = ReadColumns(tx, argv[2]);
        const auto target = ReadColumns(tx, argv[3]);
        bool deleted_at = false;
        std::vector<chatsync::ColumnDef> batch;
        for (const auto& c : source) {
            deleted_at = deleted_at || c.name == chatsync::sink::detail::kDeletedAtColumn;
            const auto type = chatsync::ColumnTypeFromSql(c.sql_type);
            if (c.path && type) {
                batch.push_back(chatsync::ColumnDef{*c.path, c.name, *type, true});
            }
        }
        const std::vector<std::string> keys(argv + 4, argv + argc);
        const auto plan =
            chatsync::sink::detail::PlanTable(argv[3], target, batch, keys, deleted_at);
        if (!plan.ddl.empty()) {
            throw std::runtime_error(
                std::string(argv[3]) + " does not have the layout of " + argv[2]
            );
        }
        std::string columns;
        for (const auto& c : plan.columns) {
            columns += (columns.empty() ? "" : ", ") + chatsync::sink::detail::QuoteIdent(c.name);
        }
        std::cout << columns << "\n"
                  << chatsync::sink::detail::StagingTableSql(plan, target, "_chatsync_stage")
                  << "\n"
                  << chatsync::sink::detail::UpsertSql(plan, "_chatsync_stage", false) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "chatsync-bench-sql: " << e.what() << "\n";
        return 1;
    }
}
