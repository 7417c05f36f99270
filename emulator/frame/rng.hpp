#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

/// @file
/// The emulator's one random number generator.

namespace chatsync::emulator {

/// SplitMix64: tiny, fast, and the same sequence for a seed on every platform and standard
/// library (std::uniform_*_distribution is not), so a seed means the same records, events and
/// delivery plans everywhere.
class Rng final {
public:
    explicit Rng(std::uint64_t seed = 0)
        : state_(seed) {}

    /// The next 64 random bits.
    std::uint64_t Next() {
        state_ += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31U);
    }

    /// Uniform in [0, n); 0 for n = 0 (without drawing).
    std::size_t Below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(Next() % n); }

    /// Uniform in [lo, hi].
    std::int64_t Between(std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(Next() % static_cast<std::uint64_t>(hi - lo + 1));
    }

    /// True with probability percent / 100.
    bool Chance(std::uint64_t percent) { return Next() % 100 < percent; }

    /// Uniform in [lo, hi) rounded to `decimals` places.
    double Uniform(double lo, double hi, int decimals) {
        const double unit = static_cast<double>(Next() >> 11U) / 9007199254740992.0;
        const double scale = std::pow(10.0, decimals);
        return std::round((lo + unit * (hi - lo)) * scale) / scale;
    }

private:
    std::uint64_t state_;
};

}  // namespace chatsync::emulator
