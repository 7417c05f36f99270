#include "normalize/convert.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "normalize/flatten.hpp"

namespace chatsync::normalize {
namespace {

namespace json = boost::json;

/// The whole of `s` as one number of type T; a leading '+' is allowed, as JSON's own
/// numbers never have one but people write it.
template <class T>
std::optional<T> ParseWhole(std::string_view s) {
    if (s.size() > 1 && s.front() == '+' && s[1] != '-') {
        s.remove_prefix(1);
    }
    T out{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return out;
}

/// Doubles below 2^63 in magnitude convert to int64 exactly when they have no fraction.
constexpr double kTwoTo63 = 9223372036854775808.0;

std::optional<Value> ToBoolean(const json::value& v) {
    const auto make = [](bool b) {
        return Value{b ? "true" : "false", ColumnType::kBoolean};
    };
    switch (v.kind()) {
        case json::kind::bool_:
            return make(v.get_bool());
        case json::kind::int64:
            if (v.get_int64() == 0 || v.get_int64() == 1) {
                return make(v.get_int64() == 1);
            }
            return std::nullopt;
        case json::kind::uint64:
            if (v.get_uint64() <= 1) {
                return make(v.get_uint64() == 1);
            }
            return std::nullopt;
        case json::kind::double_:
            if (v.get_double() == 0.0 || v.get_double() == 1.0) {
                return make(v.get_double() == 1.0);
            }
            return std::nullopt;
        case json::kind::string: {
            const std::string_view s = v.get_string();
            if (s == "1" || IEquals(s, "true")) {
                return make(true);
            }
            if (s == "0" || IEquals(s, "false")) {
                return make(false);
            }
            return std::nullopt;
        }
        default:
            return std::nullopt;
    }
}

std::optional<Value> ToBigint(const json::value& v) {
    const auto make = [](std::int64_t n) {
        return Value{std::to_string(n), ColumnType::kBigint};
    };
    switch (v.kind()) {
        case json::kind::int64:
            return make(v.get_int64());
        case json::kind::uint64:
            if (v.get_uint64() <=
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return make(static_cast<std::int64_t>(v.get_uint64()));
            }
            return std::nullopt;
        case json::kind::double_: {
            const double d = v.get_double();
            if (std::trunc(d) == d && d >= -kTwoTo63 && d < kTwoTo63) {
                return make(static_cast<std::int64_t>(d));
            }
            return std::nullopt;
        }
        case json::kind::string: {
            const std::string_view s = v.get_string();
            // Digits only (after the sign): from_chars alone would take "0x1" as 0 and stop.
            const std::size_t digits = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
            if (s.size() == digits ||
                s.find_first_not_of("0123456789", digits) != std::string_view::npos) {
                return std::nullopt;
            }
            if (const auto n = ParseWhole<std::int64_t>(s)) {
                return make(*n);
            }
            return std::nullopt;
        }
        default:
            return std::nullopt;
    }
}

std::optional<Value> ToDouble(const json::value& v) {
    if (const auto big = BigIntegerText(v)) {
        const auto d = ParseWhole<double>(*big);
        if (!d || !std::isfinite(*d)) {
            return std::nullopt;
        }
        Value out = ToValue(json::value(*d));
        out.type = ColumnType::kDouble;
        return out;
    }
    switch (v.kind()) {
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_: {
            Value out = ToValue(v);
            out.type = ColumnType::kDouble;
            return out;
        }
        case json::kind::string: {
            const std::string_view s = v.get_string();
            // from_chars also reads "inf", "nan" and hex floats; only decimal text is a
            // number here.
            if (s.find_first_not_of("0123456789+-.eE") != std::string_view::npos) {
                return std::nullopt;
            }
            const auto d = ParseWhole<double>(s);
            if (!d || !std::isfinite(*d)) {
                return std::nullopt;
            }
            Value out = ToValue(json::value(*d));
            out.type = ColumnType::kDouble;
            return out;
        }
        default:
            return std::nullopt;
    }
}

/// Any number, exactly as written (integers beyond 64 bits included); strings that hold a
/// finite decimal number.
std::optional<Value> ToNumeric(const json::value& v) {
    if (const auto big = BigIntegerText(v)) {
        return Value{std::string(*big), ColumnType::kNumeric};
    }
    if (v.is_string()) {
        if (!ToDouble(v)) {
            return std::nullopt;
        }
        return Value{std::string(v.get_string()), ColumnType::kNumeric};
    }
    auto out = ToDouble(v);
    if (out) {
        out->type = ColumnType::kNumeric;
    }
    return out;
}

std::optional<Value> ToTimestamptz(const json::value& v) {
    if (BigIntegerText(v) || !v.is_string()) {
        return std::nullopt;
    }
    if (const auto t = ParseIso8601(v.get_string())) {
        return Value{FormatIso8601(*t), ColumnType::kTimestamptz};
    }
    return std::nullopt;
}

}  // namespace

std::optional<Value> ConvertTo(const json::value& v, ColumnType type) {
    if (v.is_null()) {
        return std::nullopt;
    }
    switch (type) {
        case ColumnType::kBoolean:
            return ToBoolean(v);
        case ColumnType::kBigint:
            return ToBigint(v);
        case ColumnType::kDouble:
            return ToDouble(v);
        case ColumnType::kTimestamptz:
            return ToTimestamptz(v);
        case ColumnType::kText:
            if (v.is_string() && !BigIntegerText(v)) {
                return Value{std::string(v.get_string()), ColumnType::kText};
            }
            return Value{SerializeJson(v), ColumnType::kText};
        case ColumnType::kJsonb:
            return Value{SerializeJson(v), ColumnType::kJsonb};
        case ColumnType::kNumeric:
            return ToNumeric(v);
    }
    return std::nullopt;
}

std::string_view JsonTypeName(const json::value& v) noexcept {
    if (BigIntegerText(v)) {
        return "a number";
    }
    switch (v.kind()) {
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
        case json::kind::null:
            return "null";
    }
    return "a value";
}

}  // namespace chatsync::normalize
