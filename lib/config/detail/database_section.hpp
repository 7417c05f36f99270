#pragma once

#include <string>

#include "config/config.hpp"
#include "config/detail/reader.hpp"

/// @file
/// The `database:` block: the DSN (written, or read from dsn_file, and checked as libpq
/// would), the pool, its timeouts and the embedded cluster.

namespace chatsync::config::detail {

void ReadDatabase(Context& ctx, const YamlNode& node, const std::string& path, DatabaseConfig& db);

}  // namespace chatsync::config::detail
