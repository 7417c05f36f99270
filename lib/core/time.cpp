#include "core/time.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace chatsync {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

/// Reads exactly `n` digits.
bool Digits(std::string_view& s, int n, int& out) {
    if (static_cast<int>(s.size()) < n) {
        return false;
    }
    int v = 0;
    for (int i = 0; i < n; ++i) {
        const char c = s[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    out = v;
    s.remove_prefix(static_cast<std::size_t>(n));
    return true;
}

bool Eat(std::string_view& s, char c) {
    if (!s.empty() && s.front() == c) {
        s.remove_prefix(1);
        return true;
    }
    return false;
}

std::optional<SysTime> MakeTime(int y, int mo, int d, int h, int mi, int sec, std::int64_t us) {
    const std::chrono::year_month_day ymd{
        std::chrono::year{y},
        std::chrono::month{static_cast<unsigned>(mo)},
        std::chrono::day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) {
        return std::nullopt;
    }
    return SysTime{std::chrono::sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} +
           microseconds{us};
}

/// Reads a fraction of a second ("123", "123456789") as microseconds.
std::int64_t Fraction(std::string_view& s) {
    std::int64_t us = 0;
    int digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
        if (digits < 6) {
            us = us * 10 + (s.front() - '0');
        }
        ++digits;
        s.remove_prefix(1);
    }
    for (; digits < 6; ++digits) {
        us *= 10;
    }
    return us;
}

struct Civil {
    std::chrono::year_month_day ymd;
    std::chrono::hh_mm_ss<microseconds> tod;
};

Civil ToCivil(SysTime t) {
    const auto day = std::chrono::floor<days>(t);
    return {std::chrono::year_month_day{day}, std::chrono::hh_mm_ss<microseconds>{t - day}};
}

void Pad(std::string& out, std::int64_t v, int width) {
    std::array<char, 24> buf{};
    auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v < 0 ? -v : v);
    const auto len = static_cast<int>(ptr - buf.data());
    if (v < 0) {
        out.push_back('-');
    }
    for (int i = len; i < width; ++i) {
        out.push_back('0');
    }
    out.append(buf.data(), ptr);
}

constexpr std::array<std::string_view, 12>
    kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::optional<SysTime> ParseIso8601(std::string_view s, bool require_zone) {
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int sec = 0;
    if (!Digits(s, 4, y) || !Eat(s, '-') || !Digits(s, 2, mo) || !Eat(s, '-') || !Digits(s, 2, d)) {
        return std::nullopt;
    }
    if (!Eat(s, 'T') && !Eat(s, 't') && !Eat(s, ' ')) {
        return std::nullopt;
    }
    if (!Digits(s, 2, h) || !Eat(s, ':') || !Digits(s, 2, mi)) {
        return std::nullopt;
    }
    if (Eat(s, ':') && !Digits(s, 2, sec)) {
        return std::nullopt;
    }
    std::int64_t us = 0;
    if (Eat(s, '.') || Eat(s, ',')) {
        if (s.empty() || s.front() < '0' || s.front() > '9') {
            return std::nullopt;
        }
        us = Fraction(s);
    }
    minutes offset{0};
    if (Eat(s, 'Z') || Eat(s, 'z')) {
        // UTC
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        const bool neg = s.front() == '-';
        s.remove_prefix(1);
        int oh = 0;
        int om = 0;
        if (!Digits(s, 2, oh)) {
            return std::nullopt;
        }
        Eat(s, ':');
        if (!s.empty() && !Digits(s, 2, om)) {
            return std::nullopt;
        }
        offset = minutes{(oh * 60 + om) * (neg ? -1 : 1)};
    } else if (require_zone) {
        return std::nullopt;
    }
    if (!s.empty()) {
        return std::nullopt;
    }
    auto t = MakeTime(y, mo, d, h, mi, sec, us);
    if (!t) {
        return std::nullopt;
    }
    return *t - offset;
}

std::string FormatIso8601(SysTime t) {
    const auto us = (t.time_since_epoch() % seconds{1}).count();
    return FormatTime(t, (us % 1000 == 0) ? "%Y-%m-%dT%H:%M:%S.%3NZ" : "%Y-%m-%dT%H:%M:%S.%6NZ");
}

std::string FormatTime(SysTime t, std::string_view pattern) {
    const auto c = ToCivil(t);
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '%' || i + 1 == pattern.size()) {
            out.push_back(pattern[i]);
            continue;
        }
        const char f = pattern[++i];
        const auto sub_us = c.tod.subseconds().count();
        switch (f) {
            case 'Y':
                Pad(out, static_cast<int>(c.ymd.year()), 4);
                break;
            case 'y':
                Pad(out, static_cast<int>(c.ymd.year()) % 100, 2);
                break;
            case 'm':
                Pad(out, static_cast<unsigned>(c.ymd.month()), 2);
                break;
            case 'd':
                Pad(out, static_cast<unsigned>(c.ymd.day()), 2);
                break;
            case 'e':
                Pad(out, static_cast<unsigned>(c.ymd.day()), 1);
                break;
            case 'b':
                out += kMonths[static_cast<unsigned>(c.ymd.month()) - 1];
                break;
            case 'H':
                Pad(out, c.tod.hours().count(), 2);
                break;
            case 'M':
                Pad(out, c.tod.minutes().count(), 2);
                break;
            case 'S':
                Pad(out, c.tod.seconds().count(), 2);
                break;
            case 'j': {
                const auto jan1 = std::chrono::sys_days{c.ymd.year() / 1 / 1};
                const auto day = std::chrono::floor<days>(t);
                Pad(out, (day - jan1).count() + 1, 3);
                break;
            }
            case 'F':
                out += FormatTime(t, "%Y-%m-%d");
                break;
            case 'T':
                out += FormatTime(t, "%H:%M:%S");
                break;
            case 's':
                Pad(out, std::chrono::floor<seconds>(t).time_since_epoch().count(), 1);
                break;
            case 'z':
                out += "+0000";
                break;
            case '%':
                out.push_back('%');
                break;
            case '3':
            case '6':
                if (i + 1 < pattern.size() && pattern[i + 1] == 'N') {
                    ++i;
                    if (f == '3') {
                        Pad(out, sub_us / 1000, 3);
                    } else {
                        Pad(out, sub_us, 6);
                    }
                    break;
                }
                [[fallthrough]];
            default:
                out.push_back('%');
                out.push_back(f);
        }
    }
    return out;
}

std::optional<SysTime> ParseTime(std::string_view s, std::string_view pattern) {
    int y = 1970;
    int mo = 1;
    int d = 1;
    int h = 0;
    int mi = 0;
    int sec = 0;
    std::int64_t us = 0;
    std::optional<std::int64_t> epoch;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '%' || i + 1 == pattern.size()) {
            if (!Eat(s, pattern[i])) {
                return std::nullopt;
            }
            continue;
        }
        const char f = pattern[++i];
        bool ok = true;
        switch (f) {
            case 'Y':
                ok = Digits(s, 4, y);
                break;
            case 'y':
                ok = Digits(s, 2, y);
                y += 2000;
                break;
            case 'm':
                ok = Digits(s, 2, mo);
                break;
            case 'd':
                ok = Digits(s, 2, d);
                break;
            case 'H':
                ok = Digits(s, 2, h);
                break;
            case 'M':
                ok = Digits(s, 2, mi);
                break;
            case 'S':
                ok = Digits(s, 2, sec);
                break;
            case 'F':
                ok = Digits(s, 4, y) && Eat(s, '-') && Digits(s, 2, mo) && Eat(s, '-') &&
                     Digits(s, 2, d);
                break;
            case 'T':
                ok = Digits(s, 2, h) && Eat(s, ':') && Digits(s, 2, mi) && Eat(s, ':') &&
                     Digits(s, 2, sec);
                break;
            case 's': {
                std::int64_t v = 0;
                const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
                ok = ec == std::errc{};
                if (ok) {
                    s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
                    epoch = v;
                }
                break;
            }
            case 'z':
                ok = s.starts_with("+0000") || s.starts_with("Z");
                s.remove_prefix(s.starts_with("Z") ? 1 : (ok ? 5 : 0));
                break;
            case '%':
                ok = Eat(s, '%');
                break;
            case '3':
            case '6':
                if (i + 1 < pattern.size() && pattern[i + 1] == 'N') {
                    ++i;
                    us = Fraction(s);
                    break;
                }
                ok = false;
                break;
            default:
                ok = false;
        }
        if (!ok) {
            return std::nullopt;
        }
    }
    if (!s.empty()) {
        return std::nullopt;
    }
    if (epoch) {
        return SysTime{seconds{*epoch}} + microseconds{us};
    }
    return MakeTime(y, mo, d, h, mi, sec, us);
}

}  // namespace chatsync
