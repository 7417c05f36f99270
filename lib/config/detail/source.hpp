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

/// Where a source name was first given: names are unique across the config file and the
/// files of its `sources_dir`, so a duplicate names both places.
struct NamePlace {
    std::string file;
    int line = 0;
};

/// The source names seen so far, by name.
using SourceNames = std::map<std::string, NamePlace>;

/// Appends the source at `node` to config.sources (also when it has errors, which go to
/// `ctx`). `names` holds the source names seen so far, for duplicates; `config` must have
/// its webhooks listener read already.
void ReadSource(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    Config& config,
    SourceNames& names,
    ConnectorResolver& resolver
);

}  // namespace chatsync::config::detail
