#pragma once

#include <optional>
#include <vector>

#include "config/config.hpp"
#include "config/detail/connector_resolver.hpp"
#include "config/detail/reader.hpp"
#include "config/detail/source.hpp"

/// @file
/// `sources_dir:`: sources kept one file each in a directory, next to (or instead of) the
/// config file's `sources:` list.

namespace chatsync::config::detail {

/// `source_template`, checked (a mapping without `name`) and with every node marked as written
/// in `ctx`'s file, so that an error in it names the config file's line however many sources
/// it is copied into. Nullopt after reporting what is wrong.
std::optional<YamlNode> ReadSourceTemplate(Context& ctx, const YamlNode& node);

/// A source with the template's keys it does not set itself: where both hold a mapping under
/// the same key (`config`, `resources`, `http`, ...) they are merged key by key the same way;
/// anything else the source sets replaces the template's. A `source` that is not a mapping is
/// returned as it is, for ReadSource to report.
YamlNode ApplySourceTemplate(const YamlNode& source_template, const YamlNode& source);

/// Reads the directory named at `node` (relative to the config file's directory): every
/// regular file in it whose name ends in `.yaml` or `.yml` and does not start with a dot, in
/// the byte order of their names, not descending into subdirectories. A file holds one source
/// (a mapping with the keys of a `sources:` entry) or a list of them; its sources are
/// appended to config.sources after those already there.
///
/// With `source_template`, each of those sources is read as ApplySourceTemplate makes it.
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
    ConnectorResolver& resolver,
    const YamlNode* source_template
);

}  // namespace chatsync::config::detail
