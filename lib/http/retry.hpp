#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "core/duration.hpp"

/// @file
/// Pure retry arithmetic: Retry-After parsing and exponential backoff with full jitter.

namespace chatsync::http {

/// Parses a Retry-After value, either delay-seconds or an HTTP-date (RFC 9110 section 10.2.3,
/// IMF-fixdate and the two obsolete forms), relative to `now`. A date in the past gives zero.
/// Returns nullopt for a value that is neither.
std::optional<Millis>
ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now);

/// Backoff bounds, with the defaults the config documents.
struct BackoffPolicy {
    Millis initial = std::chrono::seconds(1);
    Millis max = std::chrono::seconds(60);
    std::uint32_t max_attempts = 5;
};

/// "Full jitter" exponential backoff: a uniform draw from [0, min(max, initial * 2^attempt)],
/// where attempt counts from 0 for the first retry.
Millis BackoffDelay(const BackoffPolicy& policy, std::uint32_t attempt, std::mt19937_64& rng);

}  // namespace chatsync::http
