#pragma once

#include <vector>

#include "config/config.hpp"
#include "config/detail/connector_resolver.hpp"
#include "config/detail/reader.hpp"
#include "config/detail/source.hpp"

/// @file
/// `sources_dir:`: sources kept one file each in a directory, next to (or instead of) the
/// config file's `sources:` list.

namespace chatsync::config::detail {

/// Reads the directory named at `node` (relative to the config file's directory): every
/// regular file in it whose name ends in `.yaml` or `.yml` and does not start with a dot, in
/// the byte order of their names, not descending into subdirectories. A file holds one source
/// (a mapping with the keys of a `sources:` entry) or a list of them; its sources are
/// appended to config.sources after those already there.
///
/// Every file is read with `${...}` interpolation through `ctx`'s environment, and its errors
/// carry its own path, line and column; relative paths inside it (connector_file, `*_file`,
/// ca_file) are relative to the directory. Errors go to `errors` (the list `ctx` reports to):
/// a broken file does not stop the others from being read, so one pass reports them all.
void ReadSourcesDir(
    Context& ctx,
    const YamlNode& node,
    std::vector<ConfigError>& errors,
    Config& config,
    SourceNames& names,
    ConnectorResolver& resolver
);

}  // namespace chatsync::config::detail
