#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/detail/interpolate.hpp"
#include "config/detail/reader.hpp"
#include "connectors/spec.hpp"

/// @file
/// Finds a source's connector spec: a built-in by name, an inline mapping, or a spec file
/// (`connector_file`), and parses it once however many sources share it.

namespace chatsync::config::detail {

/// A resolved connector spec and whether it was free of errors (only then are the source's
/// references to it, such as resource overrides, checked against it).
struct ResolvedSpec {
    connectors::ConnectorSpec spec;
    bool ok = false;
};

class ConnectorResolver final {
public:
    /// Errors in spec files and built-in specs go to `errors` (each under its own file
    /// name); spec files interpolate `${...}` through `env`. Both outlive the resolver.
    ConnectorResolver(std::vector<ConfigError>& errors, const EnvLookup& env);

    /// `connector:` at `node`: a built-in name or an inline spec; `source_name` names an
    /// inline spec without a name. False when there is no spec to apply (reported).
    bool ResolveConnector(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        const std::string& source_name,
        ResolvedSpec& out,
        std::string& origin
    );

    /// `connector_file:` at `node`, relative to the config's directory.
    bool ResolveFileSpec(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        ResolvedSpec& out,
        std::string& origin
    );

private:
    ResolvedSpec ParseText(Context& ctx, const std::string& text, const std::string& default_name);

    std::vector<ConfigError>& errors_;
    const EnvLookup& env_;
    /// Specs already parsed ("builtin:<name>" or "file:<path>"), so that a spec shared by
    /// several sources is parsed, and its errors reported, once.
    std::map<std::string, ResolvedSpec> cache_;
};

}  // namespace chatsync::config::detail
