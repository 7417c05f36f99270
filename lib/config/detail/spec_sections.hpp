#pragma once

#include <string>
#include <vector>

#include "config/detail/reader.hpp"
#include "config/detail/yaml_tree.hpp"
#include "connectors/spec.hpp"

/// @file
/// The sections of a connector spec, each read and checked in a file of its own:
/// spec_request.cpp, spec_error_rules.cpp, spec_auth.cpp, spec_pagination.cpp,
/// spec_partition.cpp, spec_incremental.cpp and spec_resource.cpp. ParseSpec
/// (spec_parser.cpp) puts them together. Errors go to `ctx` at key paths under `path`.

namespace chatsync::config::detail {

/// `{method, path, query, headers, body}`.
connectors::RequestSpec ReadRequest(Context& ctx, const YamlNode& node, const std::string& path);

/// A mapping of names to template values (query, headers): any scalar as text, null as "".
std::vector<connectors::TemplatePair>
ReadPairs(Context& ctx, const YamlNode& node, const std::string& path);

/// A list of `{when: {status, body_contains, body_path, equals}, action, message}`.
std::vector<connectors::ErrorRule>
ReadErrorRules(Context& ctx, const YamlNode& node, const std::string& path);

/// `auth:`, into spec.auth, or its `one_of` alternatives into spec.auth_options.
void ReadAuthBlock(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    connectors::ConnectorSpec& spec
);

/// A resource's `pagination:` (null: none).
connectors::PaginationSpec
ReadPagination(Context& ctx, const YamlNode& node, const std::string& path);

/// A resource's `partition:` (listing by prefixes of a field).
connectors::PartitionSpec
ReadPartition(Context& ctx, const YamlNode& node, const std::string& path);

/// A resource's `incremental:` (its cursor, format and lookback).
connectors::IncrementalSpec
ReadIncremental(Context& ctx, const YamlNode& node, const std::string& path);

/// Where a parent reference was written, for the checks that need every resource.
struct ParentRef {
    Mark mark;
    std::string path;
};

/// One entry of `resources:`, starting from the connector's schedule `defaults`; where its
/// parent is named goes to `parent_ref`, for CheckParents.
connectors::ResourceSpec ReadResource(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const connectors::ScheduleSpec& defaults,
    ParentRef& parent_ref
);

/// Reports parents that are unknown, the resource itself, or part of a cycle. `refs` holds
/// one entry per resource, in the same order.
void CheckParents(
    Context& ctx,
    const std::vector<connectors::ResourceSpec>& resources,
    const std::vector<ParentRef>& refs
);

}  // namespace chatsync::config::detail
