#pragma once

#include <string>

#include <pqxx/pqxx>

#include "sink/detail/statements.hpp"

/// @file
/// Applies the compiled-in migrations (deploy/sql/) to the state schema.

namespace chatsync::sink::detail {

/// Applies the migrations the state schema lacks, each in its own transaction, under an
/// advisory lock so that several daemons may start at once. Returns the version in place
/// before the last check. Throws SinkFailure(kSinkPermanent) when the database is newer than
/// this binary or a migration fails.
int ApplyMigrations(
    pqxx::connection& conn,
    const Statements& statements,
    const std::string& state_schema
);

}  // namespace chatsync::sink::detail
