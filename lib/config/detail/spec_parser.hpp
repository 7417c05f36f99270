#pragma once

#include <set>
#include <string>
#include <string_view>

#include "config/detail/reader.hpp"
#include "config/detail/yaml_tree.hpp"
#include "connectors/spec.hpp"

/// @file
/// Connector spec YAML to connectors::ConnectorSpec, validated (shared by built-in, file and
/// inline specs).

namespace chatsync::config::detail {

/// Parses the spec mapping at `node`; errors go to `ctx` with key paths under `path`.
/// `default_name` names the spec when it has no `name` key.
connectors::ConnectorSpec ParseSpec(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const std::string& default_name
);

/// The keys used as `{{ config.<key> }}` in the spec's templates.
std::set<std::string> ConfigReferences(const connectors::ConnectorSpec& spec);

/// The config keys an auth uses: in its templates and in its `when` conditions.
std::set<std::string> AuthReferences(const connectors::AuthSpec& auth);

/// How enum values are written in YAML, for summaries.
std::string_view AuthKindName(connectors::AuthKind kind);
std::string_view PaginationKindName(connectors::PaginationKind kind);
std::string_view InjectionName(connectors::Injection inject);
std::string_view ErrorActionName(connectors::ErrorAction action);
std::string CursorFormatName(connectors::CursorFormat format, const std::string& pattern);

}  // namespace chatsync::config::detail
