#include "http/retry.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "core/text.hpp"

namespace chatsync::http {
namespace {

using std::chrono::system_clock;

/// RFC 9111 section 1.2.2: a delta-seconds value too large to represent is taken as 2^31.
constexpr std::int64_t kMaxDelaySeconds = std::int64_t{1} << 31U;

constexpr std::array<std::string_view, 12> kMonths =
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};

constexpr std::array<std::string_view, 7> kShortDays =
    {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

constexpr std::array<std::string_view, 7> kLongDays =
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

/// A forward-only reader over the date text. Every method consumes input only on success.
class Cursor {
public:
    explicit Cursor(std::string_view text)
        : rest_(text) {}

    bool AtEnd() const noexcept { return rest_.empty(); }

    bool Peek(char c) const noexcept { return !rest_.empty() && rest_.front() == c; }

    bool Char(char c) noexcept {
        if (!Peek(c)) {
            return false;
        }
        rest_.remove_prefix(1);
        return true;
    }

    std::string_view Letters() noexcept {
        std::size_t n = 0;
        while (n < rest_.size() && IsAlpha(rest_[n])) {
            ++n;
        }
        const auto word = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return word;
    }

    /// Reads between `min` and `max` decimal digits.
    bool Number(std::size_t min, std::size_t max, int& out) noexcept {
        std::size_t n = 0;
        int value = 0;
        while (n < max && n < rest_.size() && rest_[n] >= '0' && rest_[n] <= '9') {
            value = value * 10 + (rest_[n] - '0');
            ++n;
        }
        if (n < min) {
            return false;
        }
        rest_.remove_prefix(n);
        out = value;
        return true;
    }

private:
    static bool IsAlpha(char c) noexcept {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    std::string_view rest_;
};

template <std::size_t N>
int IndexOf(const std::array<std::string_view, N>& names, std::string_view word) {
    int index = 0;
    for (const auto name : names) {
        if (IEquals(name, word)) {
            return index;
        }
        ++index;
    }
    return -1;
}

bool IsDayName(std::string_view word) {
    return IndexOf(kShortDays, word) >= 0 || IndexOf(kLongDays, word) >= 0;
}

struct DateParts {
    int year = 0;
    int month = 0;  // 1..12
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

bool ReadMonth(Cursor& cursor, DateParts& parts) {
    const int index = IndexOf(kMonths, cursor.Letters());
    if (index < 0) {
        return false;
    }
    parts.month = index + 1;
    return true;
}

bool ReadTime(Cursor& cursor, DateParts& parts) {
    return cursor.Number(2, 2, parts.hour) && cursor.Char(':') &&
           cursor.Number(2, 2, parts.minute) && cursor.Char(':') &&
           cursor.Number(2, 2, parts.second);
}

/// RFC 9110 section 5.6.7: a two-digit year that would be more than 50 years in the future
/// is the most recent past year with the same last two digits.
int ExpandTwoDigitYear(int yy, system_clock::time_point now) {
    const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
    const int current = static_cast<int>(today.year());
    int year = current / 100 * 100 + yy;
    if (year > current + 50) {
        year -= 100;
    }
    return year;
}

/// Parses the three HTTP-date forms of RFC 9110 section 5.6.7:
///   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
///   rfc850-date  "Sunday, 06-Nov-94 08:49:37 GMT"
///   asctime-date "Sun Nov  6 08:49:37 1994"
/// In seconds: a four-digit year may lie centuries away, beyond what system_clock's
/// nanoseconds hold (about 1678 to 2262).
std::optional<std::chrono::sys_seconds>
ParseHttpDate(std::string_view text, system_clock::time_point now) {
    Cursor cursor(text);
    if (!IsDayName(cursor.Letters())) {
        return std::nullopt;
    }
    DateParts parts;
    if (cursor.Char(',')) {
        if (!cursor.Char(' ') || !cursor.Number(1, 2, parts.day)) {
            return std::nullopt;
        }
        if (cursor.Char('-')) {
            int yy = 0;
            if (!ReadMonth(cursor, parts) || !cursor.Char('-') || !cursor.Number(2, 2, yy)) {
                return std::nullopt;
            }
            parts.year = ExpandTwoDigitYear(yy, now);
        } else if (!cursor.Char(' ') || !ReadMonth(cursor, parts) || !cursor.Char(' ') ||
                   !cursor.Number(4, 4, parts.year)) {
            return std::nullopt;
        }
        if (!cursor.Char(' ') || !ReadTime(cursor, parts) || !cursor.Char(' ') ||
            !IEquals(cursor.Letters(), "GMT")) {
            return std::nullopt;
        }
    } else {
        if (!cursor.Char(' ') || !ReadMonth(cursor, parts) || !cursor.Char(' ')) {
            return std::nullopt;
        }
        // The day is space-padded: "Nov  6".
        cursor.Char(' ');
        if (!cursor.Number(1, 2, parts.day) || !cursor.Char(' ') || !ReadTime(cursor, parts) ||
            !cursor.Char(' ') || !cursor.Number(4, 4, parts.year)) {
            return std::nullopt;
        }
    }
    if (!cursor.AtEnd()) {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{
        std::chrono::year{parts.year},
        std::chrono::month{static_cast<unsigned>(parts.month)},
        std::chrono::day{static_cast<unsigned>(parts.day)}};
    // Second 60 is a leap second, which the format allows.
    if (!date.ok() || parts.hour > 23 || parts.minute > 59 || parts.second > 60) {
        return std::nullopt;
    }
    return std::chrono::sys_days{date} + std::chrono::hours{parts.hour} +
           std::chrono::minutes{parts.minute} + std::chrono::seconds{parts.second};
}

std::optional<Millis> ParseDelaySeconds(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t seconds = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        seconds = std::min(seconds * 10 + (c - '0'), kMaxDelaySeconds);
    }
    return std::chrono::duration_cast<Millis>(std::chrono::seconds{seconds});
}

}  // namespace

std::optional<Millis> ParseRetryAfter(std::string_view value, system_clock::time_point now) {
    const std::string_view text = Trim(value);
    if (auto delay = ParseDelaySeconds(text)) {
        return delay;
    }
    const auto date = ParseHttpDate(text, now);
    if (!date) {
        return std::nullopt;
    }
    const auto now_seconds = std::chrono::floor<std::chrono::seconds>(now);
    if (*date <= now_seconds) {
        return Millis{0};
    }
    // Like a delta-seconds value, a date too far ahead is taken as 2^31 seconds. Within that,
    // the difference is small enough to take with `now`'s own precision.
    if (*date - now_seconds >= std::chrono::seconds{kMaxDelaySeconds}) {
        return std::chrono::duration_cast<Millis>(std::chrono::seconds{kMaxDelaySeconds});
    }
    // Rounded up: waiting a fraction less than the named instant would send too early.
    return std::chrono::ceil<Millis>(*date - now);
}

Millis BackoffDelay(const BackoffPolicy& policy, std::uint32_t attempt, std::mt19937_64& rng) {
    const std::int64_t max = std::max<std::int64_t>(policy.max.count(), 0);
    std::int64_t cap = std::max<std::int64_t>(policy.initial.count(), 0);
    for (std::uint32_t i = 0; i < attempt && cap > 0 && cap < max; ++i) {
        cap = cap > max / 2 ? max : cap * 2;
    }
    cap = std::min(cap, max);
    std::uniform_int_distribution<std::int64_t> draw(0, cap);
    return Millis{draw(rng)};
}

}  // namespace chatsync::http
