#include "core/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

namespace chatsync {

std::optional<Millis> ParseDuration(std::string_view text) {
    if (text == "0") {
        return Millis{0};
    }
    if (text.empty()) {
        return std::nullopt;
    }
    static constexpr std::array<std::pair<std::string_view, std::int64_t>, 6> kUnits{{
        {"ms", 1},
        {"s", 1000},
        {"m", 60'000},
        {"h", 3'600'000},
        {"d", 86'400'000},
        {"w", 604'800'000},
    }};
    std::int64_t total = 0;
    while (!text.empty()) {
        std::int64_t n = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{} || n < 0 || ptr == text.data()) {
            return std::nullopt;
        }
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
        std::int64_t scale = 0;
        for (const auto& [unit, ms] : kUnits) {
            // "ms" must win over "m": it is listed first and needs the whole prefix to match.
            if (text.starts_with(unit) && (unit != "m" || !text.starts_with("ms"))) {
                scale = ms;
                text.remove_prefix(unit.size());
                break;
            }
        }
        if (scale == 0) {
            return std::nullopt;
        }
        // Checked before it is computed: a product beyond 64 bits would be undefined.
        if (n > (kMaxDuration.count() - total) / scale) {
            return std::nullopt;
        }
        total += n * scale;
    }
    return Millis{total};
}

std::string FormatDuration(Millis d) {
    auto ms = d.count();
    if (ms == 0) {
        return "0s";
    }
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits{{
        {"d", 86'400'000},
        {"h", 3'600'000},
        {"m", 60'000},
        {"s", 1000},
        {"ms", 1},
    }};
    for (const auto& [unit, scale] : kUnits) {
        if (ms >= scale) {
            out += std::to_string(ms / scale);
            out += unit;
            ms %= scale;
        }
    }
    return out;
}

std::optional<std::uint64_t> ParseByteSize(std::string_view text) {
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || ptr == text.data()) {
        return std::nullopt;
    }
    const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
    static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 9> kUnits{{
        {"", 1},
        {"B", 1},
        {"KiB", 1ULL << 10},
        {"MiB", 1ULL << 20},
        {"GiB", 1ULL << 30},
        {"KB", 1000},
        {"MB", 1000 * 1000},
        {"GB", 1000 * 1000 * 1000},
        {"k", 1000},
    }};
    for (const auto& [name, scale] : kUnits) {
        if (unit == name) {
            if (n > std::numeric_limits<std::uint64_t>::max() / scale) {
                return std::nullopt;
            }
            return n * scale;
        }
    }
    return std::nullopt;
}

}  // namespace chatsync
