#pragma once

#include <set>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/detail/map_reader.hpp"
#include "connectors/spec.hpp"

/// @file
/// A source's `config:` values checked against its connector spec: which keys exist, values
/// read from `<key>_file`, defaults and required keys, secrets, the choice among the spec's
/// auth alternatives, and a webhook token fit for a URL.

namespace chatsync::config::detail {

/// `<key>_file` holds the path of a file with the value of `<key>`.
inline constexpr std::string_view kFileSuffix = "_file";

/// The source's `config:` values. `spec` (null when it could not be resolved) declares
/// which keys exist.
/// `given` receives the keys the source set, even where reading the value failed.
void ReadValues(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const connectors::ConnectorSpec* spec,
    SourceConfig& src,
    std::set<std::string>& given
);

/// Fills the spec's defaults for keys not `given`, reports required keys that are missing,
/// and lists the spec's secret params among the source's secret keys. `m` is the source's
/// mapping.
void FillDefaultsAndRequired(
    Context& ctx,
    MapReader& m,
    const connectors::ConnectorSpec& spec,
    const std::set<std::string>& given,
    SourceConfig& src
);

/// A spec with auth alternatives: the first whose conditions the config values meet
/// becomes the auth, and every config value it uses must be set.
void ChooseAuth(
    Context& ctx,
    MapReader& m,
    connectors::ConnectorSpec& spec,
    const SourceConfig& src
);

/// A source that receives webhooks needs the listener and a token fit for a URL that
/// must not be guessed.
void CheckWebhook(
    Context& ctx,
    MapReader& m,
    const connectors::ConnectorSpec& spec,
    const Config& config,
    const SourceConfig& src
);

}  // namespace chatsync::config::detail
