#pragma once

#include <optional>
#include <string>
#include <string_view>

/// @file
/// Checks a PostgreSQL connection string without connecting, so that a DSN that can never
/// work is a configuration error (found by `check-config` and at start-up) rather than a
/// database that seems to be down.

namespace chatsync::sink {

/// What is wrong with `dsn` as libpq reads it: a form that does not parse, an unknown option,
/// a port, timeout or mode that libpq would refuse when connecting. nullopt when nothing is.
/// The answer never holds the DSN's password, nor any text around it that libpq quotes.
std::optional<std::string> DsnProblem(std::string_view dsn);

}  // namespace chatsync::sink
