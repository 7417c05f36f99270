#include "sink/detail/migrator.hpp"

#include <algorithm>
#include <vector>

#include "sink/detail/event_sql.hpp"
#include "sink/detail/migrations.hpp"

namespace chatsync::sink::detail {

int ApplyMigrations(
    pqxx::connection& conn,
    const Statements& statements,
    const std::string& state_schema
) {
    const std::string& quoted_state_schema = statements.quoted_state_schema();
    const std::vector<Migration> known = KnownMigrations();
    const int known_max = known.empty() ? 0 : known.back().version;
    const std::string migrations_table = quoted_state_schema + ".schema_migrations";
    while (true) {
        pqxx::work tx(conn);
        tx.exec_params(statements.Text("migration_lock"), state_schema);
        if (!tx.exec_prepared1("schema_exists", state_schema)[0].as<bool>()) {
            tx.exec(statements.Text("create_state_schema"));
        }
        std::vector<int> applied;
        if (tx.exec_params1(statements.Text("migrations_table_exists"), migrations_table)[0]
                .as<bool>()) {
            for (const auto& row : tx.exec(statements.Text("applied_versions"))) {
                applied.push_back(row[0].as<int>());
            }
        }
        const int db_max = applied.empty() ? 0 : applied.back();
        if (db_max > known_max) {
            throw SinkFailure(
                Errc::kSinkPermanent,
                "the database schema " + quoted_state_schema + " is at version " +
                    std::to_string(db_max) + ", newer than this chatsyncd knows (" +
                    std::to_string(known_max) + "); run a newer chatsyncd"
            );
        }
        const auto missing = std::find_if(known.begin(), known.end(), [&](const Migration& m) {
            return !std::binary_search(applied.begin(), applied.end(), m.version);
        });
        if (missing == known.end()) {
            tx.commit();
            return db_max;
        }
        tx.exec(statements.Text("migration_search_path"));
        try {
            tx.exec(std::string(missing->sql));
        } catch (const pqxx::sql_error& e) {
            throw SinkFailure(
                Errc::kSinkPermanent,
                "migration " + std::to_string(missing->version) + "_" + missing->name +
                    " failed: " + e.what()
            );
        }
        tx.exec_params(statements.Text("record_migration"), missing->version, missing->name);
        tx.commit();
    }
}

}  // namespace chatsync::sink::detail
