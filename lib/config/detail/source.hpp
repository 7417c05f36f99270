#pragma once

#include <map>
#include <string>

#include "config/config.hpp"
#include "config/detail/connector_resolver.hpp"
#include "config/detail/reader.hpp"

/// @file
/// One entry of `sources:`: its name, its connector, its config values, and its own
/// `schedule`, `rate_limit`, `retry`, `http` and `resources` blocks.

namespace chatsync::config::detail {

/// Appends the source at `node` to config.sources (also when it has errors, which go to
/// `ctx`). `first_line` maps the source names seen so far to their lines, for duplicates;
/// `config` must have its webhooks listener read already.
void ReadSource(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    Config& config,
    std::map<std::string, int>& first_line,
    ConnectorResolver& resolver
);

}  // namespace chatsync::config::detail
