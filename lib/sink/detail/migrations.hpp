#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatsync::sink::detail {

/// The migrations under deploy/sql/, compiled in by cmake/embed.cmake: (file name, SQL), in
/// file name order.
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedMigrations();

/// One migration file, `NNNN_description.sql`.
struct Migration {
    int version = 0;
    std::string name;
    std::string_view sql;
};

/// Splits a migration file name into version and description; nullopt when it does not
/// follow `NNNN_description.sql` (digits, an underscore, a description, `.sql`).
std::optional<Migration> ParseMigrationName(std::string_view file_name);

/// The embedded migrations, parsed and sorted by version. Throws std::logic_error when a file
/// name is malformed or two files share a version: the binary itself is broken then.
std::vector<Migration> KnownMigrations();

}  // namespace chatsync::sink::detail
