#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/detail/pacing.hpp"
#include "config/detail/reader.hpp"

/// @file
/// A source's `schedule`, `rate_limit` and `resources` blocks, which override what its
/// connector spec says.

namespace chatsync::config::detail {

/// Source-level overrides as written, applied once the spec is known.
struct SourceOverrides {
    PartialSchedule schedule;
    PartialRateLimit rate_limit;
    /// Resource name -> where it was written.
    std::vector<std::pair<std::string, Mark>> resource_marks;
};

/// `resources: {name: {enabled, interval, jitter}}` into src.resources, and where each
/// name was written into ovr.resource_marks.
void ReadResourceOverrides(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    SourceConfig& src,
    SourceOverrides& ovr
);

/// The source's schedule, rate limit and per-resource settings win over the spec's, so
/// that consumers read the effective values from `connector` alone. A source schedule
/// replaces the spec's default schedule, not a schedule the spec gives one resource on
/// purpose; a per-resource override replaces either.
/// `check_names`: report overrides of resources the spec lacks (only for a spec free of
/// errors). A resource that needs a config value the source does not set is turned off.
void ApplyOverrides(
    Context& ctx,
    const std::string& resources_path,
    const SourceOverrides& ovr,
    bool check_names,
    SourceConfig& src
);

}  // namespace chatsync::config::detail
