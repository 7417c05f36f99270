#include "connectors/cursor.hpp"

#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/value.hpp>

#include "core/json.hpp"

namespace chatsync::connectors {
namespace {

std::optional<double> ParseNumber(std::string_view s) {
    double d = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc{} || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return d;
}

CursorValue FromEpoch(double value, double per_second) {
    const auto us = static_cast<std::int64_t>(std::llround(value / per_second * 1e6));
    return {true, SysTime{std::chrono::microseconds{us}}, 0};
}

std::optional<CursorValue>
FromText(std::string_view s, CursorFormat format, const std::string& pattern) {
    switch (format) {
        case CursorFormat::kIso8601:
            if (const auto t = ParseIso8601(s)) {
                return CursorValue{true, *t, 0};
            }
            return std::nullopt;
        case CursorFormat::kCustom:
            if (const auto t = ParseTime(s, pattern)) {
                return CursorValue{true, *t, 0};
            }
            if (const auto t = ParseIso8601(s)) {
                return CursorValue{true, *t, 0};
            }
            return std::nullopt;
        case CursorFormat::kUnixSeconds:
        case CursorFormat::kUnixMillis:
            if (const auto d = ParseNumber(s)) {
                return FromEpoch(*d, format == CursorFormat::kUnixMillis ? 1000.0 : 1.0);
            }
            if (const auto t = ParseIso8601(s)) {
                return CursorValue{true, *t, 0};
            }
            return std::nullopt;
        case CursorFormat::kNumber:
            if (const auto d = ParseNumber(s)) {
                return CursorValue{false, {}, *d};
            }
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

std::string CursorValue::Canonical() const {
    if (is_time) {
        return FormatIso8601(time);
    }
    if (number == std::floor(number) && std::fabs(number) < 9e15) {
        return std::to_string(static_cast<std::int64_t>(number));
    }
    std::array<char, 32> buf{};
    const auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), number);
    return {buf.data(), ptr};
}

std::optional<CursorValue>
ReadCursor(const boost::json::value& v, CursorFormat format, const std::string& pattern) {
    double d = 0;
    if (const auto big = BigIntegerText(v)) {
        // An integer beyond 64 bits: numeric cursors are doubles, as every other number is.
        const auto [ptr, ec] = std::from_chars(big->data(), big->data() + big->size(), d);
        if (ec != std::errc{} || ptr != big->data() + big->size()) {
            return std::nullopt;
        }
    } else if (const auto* s = v.if_string()) {
        return FromText(*s, format, pattern);
    } else if (!v.is_number()) {
        return std::nullopt;
    } else {
        d = v.to_number<double>();
    }
    switch (format) {
        case CursorFormat::kUnixSeconds:
            return FromEpoch(d, 1.0);
        case CursorFormat::kUnixMillis:
            return FromEpoch(d, 1000.0);
        case CursorFormat::kNumber:
            return CursorValue{false, {}, d};
        default:
            return std::nullopt;
    }
}

std::optional<CursorValue>
RecordCursor(const IncrementalSpec& spec, const boost::json::value& record) {
    const auto* v = FindPath(record, spec.cursor_field);
    if (v == nullptr || v->is_null()) {
        return std::nullopt;
    }
    return spec.record_format ? ReadCursor(*v, *spec.record_format, spec.record_format_pattern)
                              : ReadCursor(*v, spec.format, spec.format_pattern);
}

std::optional<CursorValue>
ParseCursorText(const std::string& text, CursorFormat format, const std::string& pattern) {
    // Stored cursors are canonical: ISO-8601 for every time format.
    if (format != CursorFormat::kNumber) {
        if (const auto t = ParseIso8601(text)) {
            return CursorValue{true, *t, 0};
        }
    }
    return FromText(text, format, pattern);
}

std::string FormatCursor(const CursorValue& c, CursorFormat format, const std::string& pattern) {
    if (!c.is_time) {
        return c.Canonical();
    }
    const auto us = c.time.time_since_epoch().count();
    switch (format) {
        case CursorFormat::kIso8601:
            return FormatIso8601(c.time);
        case CursorFormat::kUnixSeconds:
            return std::to_string(us / 1'000'000);
        case CursorFormat::kUnixMillis:
            return std::to_string(us / 1000);
        case CursorFormat::kCustom:
            return FormatTime(c.time, pattern);
        case CursorFormat::kNumber:
            return c.Canonical();
    }
    return c.Canonical();
}

std::optional<CursorValue>
WindowStart(const IncrementalSpec& spec, const std::optional<std::string>& committed) {
    if (committed) {
        if (auto c = ParseCursorText(*committed, spec.format, spec.format_pattern)) {
            if (c->is_time) {
                c->time -= std::chrono::duration_cast<std::chrono::microseconds>(spec.lookback);
            }
            return c;
        }
    }
    if (spec.initial_value.empty()) {
        return std::nullopt;
    }
    return ParseCursorText(spec.initial_value, spec.format, spec.format_pattern);
}

}  // namespace chatsync::connectors
