#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "sink/detail/table_plan.hpp"
#include "sink/sink.hpp"

/// @file
/// A page's rows and its checkpoint, written in one transaction.

namespace chatsync::sink::detail {

/// Writes pages: creates and evolves the tables, copies the rows into a staging table and
/// upserts them from there, and stores the checkpoint, all in one transaction. Writes to one
/// table take a transaction-scoped advisory lock, so DDL on a table never races another
/// connection's write to it.
///
/// @par Thread Safety
/// Commit() may run on several pool threads at once; each thread keeps its own staging tables.
class PageWriter {
public:
    /// `seen_keys_table` is the qualified table of the keys seen by passes over resources
    /// listed in full.
    explicit PageWriter(std::string seen_keys_table);

    WriteResult Commit(pqxx::connection& conn, const PageCommit& page) const;

private:
    /// The staging tables a session has made, by slot.
    struct StagingTables {
        int backend = 0;
        std::vector<std::string> layouts;
    };

    WriteResult Transaction(
        pqxx::connection& conn,
        const PageCommit& page,
        const std::string& schema,
        const std::vector<std::string>& qualified,
        const std::vector<std::int64_t>& lock_keys,
        StagingTables& stages
    ) const;

    /// Converts an existing column to its declared type. A value that does not convert
    /// fails the transaction: the table keeps every value and its old type, and the error
    /// says which column and what the operator can do.
    static void
    ConvertColumn(pqxx::work& tx, const std::string& qualified, const ColumnConversion& conversion);

    std::string seen_keys_table_;
};

}  // namespace chatsync::sink::detail
