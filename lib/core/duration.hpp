#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace chatsync {

using Millis = std::chrono::milliseconds;

/// Parses a duration written with units: "250ms", "30s", "5m", "2h", "1d", or a sum such as
/// "1h30m". A bare "0" is zero. Returns nullopt for anything else (no unit, negative, junk).
std::optional<Millis> ParseDuration(std::string_view text);

/// Formats a duration in the largest units that keep it exact: "1h30m", "250ms", "0s".
std::string FormatDuration(Millis d);

/// Parses a byte size: "512", "64KiB", "16MiB", "1GiB" (also KB/MB/GB as powers of 1000).
std::optional<std::uint64_t> ParseByteSize(std::string_view text);

/// Seconds elapsed on the steady clock since `start`, for durations in metrics and reports.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace chatsync
