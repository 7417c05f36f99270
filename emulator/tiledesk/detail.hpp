#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_body.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/tiledesk/mode.hpp"

/// @file
/// Helpers shared by the Tiledesk mode's files: error answers, encodings, request-body
/// readers, comparison in MongoDB's type order and date parsing. Private to emulator/tiledesk/.

namespace chatsync::emulator::tiledesk {

namespace json = boost::json;

/// A finished response thrown from deep inside a handler; Tiledesk's error bodies differ per
/// layer, so the generic HttpError shape does not fit.
struct TdError {
    Response response;
};

[[noreturn]] inline void Fail(unsigned status, json::object body) {
    throw TdError{JsonResponse(status, ToJsonText(json::value(std::move(body))))};
}

[[noreturn]] inline void FailMsg(unsigned status, std::string_view msg) {
    Fail(status, json::object{{"success", false}, {"msg", msg}});
}

inline Response Unauthorized() {
    Response r;
    r.status = 401;
    r.content_type = "text/plain";
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Users\"");
    r.body = "Unauthorized";
    return r;
}

inline constexpr std::int64_t kDayMs = 86'400'000;
inline constexpr std::int64_t kSeedBaseMs = 1'709'251'200'000;  // 2024-03-01T00:00:00Z

inline int RoleRank(std::string_view role) {
    static constexpr std::array<std::string_view, 7> kRoles{
        "guest", "user", "teammate", "agent", "supervisor", "admin", "owner"};
    for (std::size_t i = 0; i < kRoles.size(); ++i) {
        if (kRoles[i] == role) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

inline bool IsObjectId(std::string_view s) {
    return s.size() == 24 && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
}

inline std::string Base64Url(std::string_view s) {
    std::string out = Base64Encode(s);
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    for (char& c : out) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    return out;
}

inline std::optional<std::string> Base64Decode(std::string_view s) {
    std::string out;
    std::uint32_t buf = 0;
    int bits = 0;
    for (char c : s) {
        int v = 0;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+' || c == '-') {
            v = 62;
        } else if (c == '/' || c == '_') {
            v = 63;
        } else if (c == '=') {
            break;
        } else {
            return std::nullopt;
        }
        buf = (buf << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xff));
        }
    }
    return out;
}

/// parseInt-like: leading digits (with sign); nullopt when there are none.
inline std::optional<std::int64_t> ParseIntLoose(const std::string* text) {
    if (text == nullptr) {
        return std::nullopt;
    }
    std::string_view s = Trim(*text);
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr == s.data()) {
        return std::nullopt;
    }
    return v;
}

/// Mongo's cross-type order for sorting: missing/null < numbers < strings < objects/bools.
inline int TypeRank(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return 0;
    }
    if (v->is_number()) {
        return 1;
    }
    if (v->is_string()) {
        return 2;
    }
    return 3;
}

inline int CompareJson(const json::value* a, const json::value* b) {
    const int ra = TypeRank(a);
    const int rb = TypeRank(b);
    if (ra != rb) {
        return ra < rb ? -1 : 1;
    }
    if (ra == 1) {
        const double x = a->to_number<double>();
        const double y = b->to_number<double>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (ra == 2) {
        const int c = a->get_string().compare(b->get_string());
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return 0;
}

/// The request body as a JSON object: Express reads form-encoded bodies as well as JSON.
inline json::object BodyFields(const Request& request) {
    const auto type = request.Header("Content-Type");
    if (type && ToLower(*type).find("application/x-www-form-urlencoded") != std::string::npos) {
        Request form;
        json::object out;
        if (SetTarget(form, "/?" + request.body)) {
            for (const auto& [k, v] : form.params) {
                out[k] = v;
            }
        }
        return out;
    }
    return BodyObject(request);
}

inline std::vector<std::string> BodyStrings(const json::object& body, std::string_view name) {
    std::vector<std::string> out;
    const auto* v = body.if_contains(name);
    if (v == nullptr) {
        return out;
    }
    if (!v->is_array()) {
        throw HttpError(400, std::string(name) + " must be an array of strings");
    }
    for (const auto& item : v->get_array()) {
        if (!item.is_string()) {
            throw HttpError(400, std::string(name) + " must be an array of strings");
        }
        out.emplace_back(item.get_string());
    }
    return out;
}

inline const std::array<std::string_view, 12> kTexts{
    "Ciao, ho bisogno di aiuto con il mio ordine 🙏",
    "Bonjour, où est ma commande ?",
    "Hello! Can't log in — the password reset e-mail never arrives.",
    "こんにちは、請求書について質問があります。",
    "Привет! Не проходит оплата картой.",
    "Hola, ¿pueden cambiar la dirección de envío?",
    "Γεια σας, χρειάζομαι τιμολόγιο.",
    "مرحبا، لدي مشكلة في الحساب",
    "Line one\nline two with \"quotes\" and a\ttab",
    "Grüße aus München – Rückerstattung bitte 💶",
    "ok",
    "Is there a discount for NGOs? 🤔 Thanks!!",
};
inline const std::array<std::string_view, 8> kNames{
    "Mario Rossi",
    "Zoë Dupont",
    "李雷",
    "Ólafur Arnalds",
    "guest#4f2a",
    "Анна Петрова",
    "José Ñúñez",
    "O'Brien, Pat"};

struct DateBound {
    std::int64_t ms = 0;
    bool has_time = false;
};

/// Parses DD/MM/YYYY[,] [HH:mm[:ss]] or the YYYY/MM/DD forms as local wall time, in seconds as
/// if UTC. nullopt when no format matches.
inline std::optional<std::pair<std::int64_t, bool>>
ParseLocalDate(std::string_view text, bool legacy) {
    std::string_view s = Trim(text);
    auto num = [&](std::size_t& pos, int digits, int& out) {
        if (pos + static_cast<std::size_t>(digits) > s.size()) {
            return false;
        }
        int v = 0;
        for (int i = 0; i < digits; ++i) {
            const char c = s[pos + static_cast<std::size_t>(i)];
            if (c < '0' || c > '9') {
                return false;
            }
            v = v * 10 + (c - '0');
        }
        pos += static_cast<std::size_t>(digits);
        out = v;
        return true;
    };
    auto lit = [&](std::size_t& pos, char c) {
        if (pos < s.size() && s[pos] == c) {
            ++pos;
            return true;
        }
        return false;
    };
    int y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0;
    std::size_t pos = 0;
    bool ok = false;
    {
        std::size_t p = 0;
        if (num(p, 2, d) && lit(p, '/') && num(p, 2, m) && lit(p, '/') && num(p, 4, y)) {
            ok = true;
            pos = p;
        }
    }
    if (!ok && !legacy) {
        std::size_t p = 0;
        if (num(p, 4, y) && lit(p, '/') && num(p, 2, m) && lit(p, '/') && num(p, 2, d)) {
            ok = true;
            pos = p;
        }
    }
    if (!ok || m < 1 || m > 12 || d < 1 || d > 31) {
        return std::nullopt;
    }
    bool has_time = false;
    if (pos < s.size()) {
        if (legacy) {
            // The old parser read the date only and ignored whatever followed.
            pos = s.size();
        } else {
            std::size_t p = pos;
            lit(p, ',');
            if (!lit(p, ' ') || !num(p, 2, hh) || !lit(p, ':') || !num(p, 2, mm)) {
                return std::nullopt;
            }
            if (lit(p, ':') && !num(p, 2, ss)) {
                return std::nullopt;
            }
            if (p != s.size() || hh > 23 || mm > 59 || ss > 59) {
                return std::nullopt;
            }
            has_time = true;
        }
    }
    const auto ymd = std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(m)} /
                     std::chrono::day{static_cast<unsigned>(d)};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
    const std::int64_t seconds =
        days * 86400 + std::int64_t{hh} * 3600 + std::int64_t{mm} * 60 + std::int64_t{ss};
    return std::pair{seconds, has_time};
}

inline const json::value* Field(const json::object& doc, std::string_view name) {
    return doc.if_contains(name);
}

}  // namespace chatsync::emulator::tiledesk
