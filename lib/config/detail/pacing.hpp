#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/detail/reader.hpp"
#include "core/duration.hpp"

/// @file
/// The `schedule` and `rate_limit` blocks, read the same way in a connector spec and in a
/// source (whose blocks override the spec's): only what is written, so that the caller
/// decides what it overrides.

namespace chatsync::config::detail {

/// A schedule as written, before inheritance fills the gaps.
struct PartialSchedule {
    std::optional<Millis> interval;
    std::optional<Millis> jitter;
};

/// `{interval, jitter}`: the interval must be positive.
PartialSchedule ReadSchedule(Context& ctx, const YamlNode& node, const std::string& path);

/// A rate limit as written.
struct PartialRateLimit {
    std::optional<std::uint32_t> requests_per_minute;
    std::optional<std::uint32_t> burst;
    std::optional<std::uint32_t> concurrency;
};

/// `{requests_per_minute, burst, concurrency}`: requests_per_minute may be 0 (no limit), the
/// others at least 1.
PartialRateLimit ReadRateLimit(Context& ctx, const YamlNode& node, const std::string& path);

}  // namespace chatsync::config::detail
