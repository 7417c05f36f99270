#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

/// @file
/// The statements PgSink runs to write a batch of rows into a table, spelled out for a table
/// that exists, so that a benchmark can time PostgreSQL running exactly those statements on
/// its own (bench/upsert_sql.cpp).

namespace chatsync::sink {

/// How PgSink writes a batch into one table: COPY into a staging table, then one upsert.
struct UpsertStatements {
    /// The columns a batch is copied into after the ordinal column, quoted, comma-separated.
    std::string staging_columns;
    /// CREATE TEMP TABLE of the staging table.
    std::string create_staging;
    /// The upsert from the staging table into the target ($1 is the run id).
    std::string upsert;
};

/// Reads the layouts of `source`, a table chatsync wrote (its column comments name the record
/// paths), and `target`, a table of the same layout, over `dsn`; returns the statements that
/// write a batch of `source`'s columns into `target` through a staging table named `stage`,
/// keyed by `key_paths`. Fails with kSinkPermanent, saying why, when a table is missing or
/// `target` does not have `source`'s layout, and with kSinkTransient when the database cannot
/// be reached.
Result<UpsertStatements> DescribeUpsert(
    const std::string& dsn,
    const std::string& source,
    const std::string& target,
    const std::vector<std::string>& key_paths,
    std::string_view stage = "_chatsync_stage"
);

}  // namespace chatsync::sink
