#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace chatsync {

using Millis = std::chrono::milliseconds;

/// The longest duration ParseDuration accepts: 36500 days. Any time point it is added to, on
/// the steady clock or the system clock in nanoseconds, then stays within range.
inline constexpr Millis kMaxDuration{36'500LL * 86'400'000LL};

/// Parses a duration written with units: "250ms", "30s", "5m", "2h", "1d", "1w", or a sum
/// such as "1h30m". A bare "0" is zero. Returns nullopt for anything else (no unit, negative,
/// junk, or longer than kMaxDuration).
std::optional<Millis> ParseDuration(std::string_view text);

/// Formats a duration in the largest units that keep it exact: "1h30m", "250ms", "0s".
std::string FormatDuration(Millis d);

/// Parses a byte size: "512", "64KiB", "16MiB", "1GiB" (also KB/MB/GB as powers of 1000).
/// Returns nullopt for anything else, or for a size beyond 64 bits.
std::optional<std::uint64_t> ParseByteSize(std::string_view text);

/// Seconds elapsed on the steady clock since `start`, for durations in metrics and reports.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace chatsync
