#include "emulator/tiledesk/mode.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {
namespace {

namespace json = boost::json;

/// A finished response thrown from deep inside a handler; Tiledesk's error bodies differ per
/// layer, so the generic HttpError shape does not fit.
struct TdError {
    Response response;
};

[[noreturn]] void Fail(unsigned status, json::object body) {
    throw TdError{JsonResponse(status, ToJsonText(body))};
}

[[noreturn]] void FailMsg(unsigned status, std::string_view msg) {
    Fail(status, json::object{{"success", false}, {"msg", msg}});
}

Response Json(const json::value& v) {
    return JsonResponse(200, ToJsonText(v));
}

Response Unauthorized() {
    Response r;
    r.status = 401;
    r.content_type = "text/plain";
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Users\"");
    r.body = "Unauthorized";
    return r;
}

std::string Iso(std::int64_t ms) {
    return FormatIso8601(SysTime(std::chrono::milliseconds(ms)));
}

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kSeedBaseMs = 1'709'251'200'000;  // 2024-03-01T00:00:00Z

int RoleRank(std::string_view role) {
    static constexpr std::array<std::string_view, 7> kRoles{
        "guest", "user", "teammate", "agent", "supervisor", "admin", "owner"};
    for (std::size_t i = 0; i < kRoles.size(); ++i) {
        if (kRoles[i] == role) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool IsObjectId(std::string_view s) {
    return s.size() == 24 && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
}

std::string Base64Url(std::string_view s) {
    std::string out = Base64Encode(s);
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    for (char& c : out) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    return out;
}

std::optional<std::string> Base64Decode(std::string_view s) {
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
std::optional<std::int64_t> ParseIntLoose(const std::string* text) {
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
int TypeRank(const json::value* v) {
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

int CompareJson(const json::value* a, const json::value* b) {
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

json::object BodyObject(const Request& request) {
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
    if (Trim(request.body).empty()) {
        return {};
    }
    boost::system::error_code ec;
    auto body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
        throw HttpError(400, "body must be a JSON object");
    }
    return std::move(body.get_object());
}

std::int64_t BodyInt(const json::object& body, std::string_view name, std::int64_t fallback) {
    const auto* v = body.if_contains(name);
    if (v == nullptr || v->is_null()) {
        return fallback;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(v->get_uint64());
    }
    throw HttpError(400, std::string(name) + " must be an integer");
}

std::vector<std::string> BodyStrings(const json::object& body, std::string_view name) {
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

const std::array<std::string_view, 12> kTexts{
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
const std::array<std::string_view, 8> kNames{
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
std::optional<std::pair<std::int64_t, bool>> ParseLocalDate(std::string_view text, bool legacy) {
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
    return std::pair{days * 86400 + hh * 3600 + mm * 60 + ss, has_time};
}

const json::value* Field(const json::object& doc, std::string_view name) {
    return doc.if_contains(name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TiledeskMode::TiledeskMode(const ModeContext& context)
    : options_(context.options)
    , server_zone_(TimeZone::Load(context.options.tiledesk_timezone))
    , rate_limit_(context.options.tiledesk_rate_limit) {
    if (!server_zone_) {
        throw std::invalid_argument(
            "--tiledesk-timezone: unknown zone " + options_.tiledesk_timezone
        );
    }
    if (!TimeZone::Load(options_.tiledesk_default_timezone)) {
        throw std::invalid_argument(
            "--tiledesk-default-timezone: unknown zone " + options_.tiledesk_default_timezone
        );
    }
    if (!IsObjectId(options_.tiledesk_project)) {
        throw std::invalid_argument("--tiledesk-project: must be 24 hex characters");
    }
    users_ = {
        {"5aaa99024c3b110014b478f0",
         ToLower(options_.tiledesk_email),
         options_.tiledesk_password,
         "Owner",
         "Ownè",
         "owner"},
        {"5aaa99024c3b110014b478f1",
         "agent@tiledesk.test",
         "agent-password",
         "Agnese",
         "Agentì",
         "agent"},
        {"5aaa99024c3b110014b478f2",
         "outsider@tiledesk.test",
         "outsider-password",
         "Otto",
         "Outsider",
         ""},
    };
    Seed(options_.tiledesk_requests, options_.tiledesk_messages_per_request, options_.seed);
}

std::unique_ptr<Mode> CreateTiledeskMode(const ModeContext& context) {
    return std::make_unique<TiledeskMode>(context);
}

std::uint64_t TiledeskMode::Next() {
    // splitmix64: the same sequence on every platform, unlike std distributions.
    std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::string TiledeskMode::NewObjectId(std::int64_t ms) {
    char buf[32];
    std::snprintf(
        buf,
        sizeof buf,
        "%08x%016llx",
        static_cast<unsigned>(ms / 1000),
        static_cast<unsigned long long>(0x5f3a9c0000000000ULL + ++oid_counter_)
    );
    return buf;
}

std::int64_t TiledeskMode::NowMs() const {
    if (pinned_now_ms_) {
        return *pinned_now_ms_;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
           )
               .count() +
           clock_offset_ms_;
}

json::object TiledeskMode::UserJson(const User& user) const {
    return json::object{
        {"_id", user.id},
        {"email", user.email},
        {"firstname", user.firstname},
        {"lastname", user.lastname},
        {"emailverified", true},
        {"status", 100},
        {"attributes", json::object{}},
        {"createdAt", Iso(kSeedBaseMs - 400 * kDayMs)},
        {"updatedAt", Iso(kSeedBaseMs - 10 * kDayMs)},
        {"__v", 0},
    };
}

json::object TiledeskMode::MemberJson(const User& user) const {
    const std::string pu_id = "6" + user.id.substr(1);
    return json::object{
        {"_id", pu_id},
        {"id", pu_id},
        {"id_project", options_.tiledesk_project},
        {"id_user", UserJson(user)},
        {"role", user.role},
        {"roleType", 1},
        {"user_available", true},
        {"profileStatus", ""},
        {"presence", json::object{{"status", "offline"}, {"changedAt", Iso(kSeedBaseMs)}}},
        {"attributes", json::object{}},
        {"number_assigned_requests", 0},
        {"last_login_at", Iso(kSeedBaseMs - kDayMs)},
        {"tags", json::array{}},
        {"permissions", json::array{}},
        {"status", "active"},
        {"trashed", false},
        {"isAuthenticated", true},
        {"isBusy", false},
        {"createdBy", users_[0].id},
        {"createdAt", Iso(kSeedBaseMs - 300 * kDayMs)},
        {"updatedAt", Iso(kSeedBaseMs - 2 * kDayMs)},
        {"__v", 0},
    };
}

void TiledeskMode::Seed(std::int64_t requests, std::int64_t messages, std::uint64_t seed) {
    rng_ = seed * 0x2545F4914F6CDD1DULL + 1;
    oid_counter_ = 0;
    next_ticket_ = 1;
    update_cursor_ = 0;
    requests_.clear();
    by_request_id_.clear();
    messages_.clear();
    messages_by_request_.clear();
    messages_by_time_.clear();
    bots_.clear();
    members_.clear();
    guests_.clear();
    leads_.clear();
    departments_.clear();
    const std::string& pid = options_.tiledesk_project;
    const std::string owner = users_[0].id;

    // Departments: one default, one with a bot, one hidden from the widget, one from the
    // dashboard (only the status 1 ones are listed by GET /departments).
    struct Dept {
        const char* name;
        const char* routing;
        bool is_default;
        int status;
    };

    const std::array<Dept, 4> depts{{
        {"Default", "assigned", true, 1},
        {"Vendite ✨", "pooled", false, 1},
        {"Widget-hidden", "pooled", false, 0},
        {"Archivio", "assigned", false, -1},
    }};
    for (std::size_t i = 0; i < depts.size(); ++i) {
        const std::int64_t at = kSeedBaseMs - static_cast<std::int64_t>(200 - i) * kDayMs;
        TiledeskEntity e{NewObjectId(at), at, {}};
        e.doc = json::object{
            {"_id", e.id},
            {"id", e.id},
            {"routing", depts[i].routing},
            {"name", depts[i].name},
            {"id_project", pid},
            {"default", depts[i].is_default},
            {"status", depts[i].status},
            {"bot_only", false},
            {"createdBy", owner},
            {"createdAt", Iso(at)},
            {"updatedAt", Iso(at + kDayMs)},
            {"__v", 0},
            {"hasBot", false},
        };
        if (i == 1) {
            e.doc["description"] = "Pre-sales questions — risponde il bot";
            e.doc["online_msg"] = nullptr;
            e.doc["offline_msg"] = "Siamo offline 🌙";
        }
        departments_.push_back(std::move(e));
    }

    // Bots: a tilebot, an internal and an external bot, an identity bot (hidden unless
    // all=true) and a trashed one (never listed).
    struct Bot {
        const char* name;
        const char* type;
        const char* subtype;
        bool trashed;
    };

    const std::array<Bot, 5> bots{{
        {"Benvenuto Bot 🤖", "tilebot", "chatbot", false},
        {"FAQ interne", "internal", nullptr, false},
        {"External webhook bot", "external", "webhook", false},
        {"Identity", "identity", nullptr, false},
        {"Old bot", "internal", nullptr, true},
    }};
    for (std::size_t i = 0; i < bots.size(); ++i) {
        const std::int64_t at = kSeedBaseMs - static_cast<std::int64_t>(150 - i) * kDayMs;
        TiledeskEntity e{NewObjectId(at), at, {}};
        e.doc = json::object{
            {"_id", e.id},
            {"webhook_enabled", false},
            {"type", bots[i].type},
            {"language", i == 0 ? "it" : "en"},
            {"public", false},
            {"certified", false},
            {"intentsEngine", "none"},
            {"score", 0},
            {"trained", true},
            {"name", bots[i].name},
            {"id_project", pid},
            {"trashed", bots[i].trashed},
            {"createdBy", owner},
            {"attributes",
             i == 0 ? json::value(json::object{{"position", json::object{{"x", 10}, {"y", -3.5}}}})
                    : json::value(nullptr)},
            {"createdAt", Iso(at)},
            {"updatedAt", Iso(at + 3 * kDayMs)},
            {"__v", 0},
        };
        if (bots[i].subtype != nullptr) {
            e.doc["subtype"] = bots[i].subtype;
        }
        if (i == 2) {
            e.doc["url"] = "https://bot.example.com/hook";
            e.doc["webhook_url"] = "https://bot.example.com/hook";
        }
        if (i == 0) {
            e.doc["description"] = "Risponde alle domande frequenti";
            e.doc["slug"] = "benvenuto-bot";
        }
        if (bots[i].trashed) {
            e.doc["trashedAt"] = Iso(at + 5 * kDayMs);
        }
        bots_.push_back(std::move(e));
    }
    // Department 1 is routed to the tilebot.
    departments_[1].doc["id_bot"] = bots_[0].id;
    departments_[1].doc["hasBot"] = true;

    // Members: the owner and agent accounts, then seeded colleagues (one disabled, one
    // trashed, which the default listing hides).
    for (const User& user : users_) {
        if (!user.role.empty()) {
            json::object doc = MemberJson(user);
            members_.push_back({std::string(doc["_id"].as_string()), kSeedBaseMs, doc});
        }
    }

    struct Colleague {
        const char* first;
        const char* last;
        const char* role;
        const char* status;
        bool trashed;
    };

    const std::array<Colleague, 4> colleagues{{
        {"Sofía", "Gómez", "admin", "active", false},
        {"Kenji", "Watanabe", "supervisor", "active", false},
        {"Lars", "Øvergaard", "agent", "disabled", false},
        {"Ex", "Colleague", "agent", "active", true},
    }};
    for (std::size_t i = 0; i < colleagues.size(); ++i) {
        const std::int64_t at = kSeedBaseMs - static_cast<std::int64_t>(100 - i) * kDayMs;
        User u{
            NewObjectId(at),
            ToLower(std::string(colleagues[i].first)) + "@tiledesk.test",
            "",
            colleagues[i].first,
            colleagues[i].last,
            colleagues[i].role};
        json::object doc = MemberJson(u);
        const std::string pu = NewObjectId(at);
        doc["_id"] = pu;
        doc["id"] = pu;
        doc["status"] = colleagues[i].status;
        doc["trashed"] = colleagues[i].trashed;
        doc["max_assigned_chat"] = i == 0 ? json::value(5) : json::value(nullptr);
        doc["presence"].as_object()["status"] = i == 1 ? "online" : "offline";
        if (i == 1) {
            doc["tags"] = json::array{"night-shift"};
            doc["permissions"] = json::array{"request_read_all"};
        }
        members_.push_back({pu, at, std::move(doc)});
    }

    // Leads: shared by a few conversations each.
    const std::int64_t lead_count = std::max<std::int64_t>(1, (requests + 1) / 2);
    for (std::int64_t i = 0; i < lead_count; ++i) {
        const std::int64_t at = kSeedBaseMs + i * 60'000;
        TiledeskEntity e{NewObjectId(at), at, {}};
        const std::uint64_t r = Next();
        const std::string uuid = "8d0f" + NewObjectId(at).substr(8);
        const std::string name(kNames[r % kNames.size()]);
        e.doc = json::object{
            {"_id", e.id},
            {"lead_id", uuid},
            {"fullname", r % 7 == 0 ? "guest#" + uuid.substr(20) : name},
            {"id_project", pid},
            {"createdBy", users_[0].id},
            {"status", r % 23 == 0 ? 50 : 100},
            {"tags", r % 5 == 0 ? json::array{"vip", "ü-tag"} : json::array{}},
            {"createdAt", Iso(at)},
            {"updatedAt", Iso(at + static_cast<std::int64_t>(r % 1000) * 1000)},
            {"__v", 0},
        };
        if (r % 3 != 0) {
            e.doc["email"] = "lead" + std::to_string(i) + "@example.com";
        }
        if (r % 4 == 0) {
            e.doc["phone"] = nullptr;
        } else if (r % 4 == 1) {
            e.doc["phone"] = "+39 06 " + std::to_string(1000000 + r % 8999999);
        }
        if (r % 6 == 0) {
            e.doc["company"] = "Società Ürban S.p.A.";
            e.doc["city"] = "Roma";
            e.doc["country"] = "IT";
        }
        if (r % 2 == 0) {
            e.doc["attributes"] = json::object{
                {"userAgent", "Mozilla/5.0"},
                {"client", json::object{{"plan", r % 4 == 0 ? "pro" : "free"}, {"seats", 3}}},
            };
        }
        leads_.push_back(std::move(e));
    }

    for (std::int64_t i = 0; i < requests; ++i) {
        // Spread conversations over 90 days with jitter so that many days hold several.
        const std::int64_t span = 90 * kDayMs;
        const std::int64_t at = kSeedBaseMs + (requests > 0 ? span / requests * i : 0) +
                                static_cast<std::int64_t>(Next() % 3'600'000);
        AddRequest(at, messages, false);
    }
}

void TiledeskMode::InsertMessageOrdered(std::size_t index) {
    const std::int64_t at = messages_[index].created_ms;
    const auto it = std::upper_bound(
        messages_by_time_.begin(),
        messages_by_time_.end(),
        at,
        [this](std::int64_t t, std::size_t i) { return t < messages_[i].created_ms; }
    );
    messages_by_time_.insert(it, index);
}

void TiledeskMode::AddMessage(TiledeskRequest& r, std::int64_t at_ms, std::string text) {
    const std::uint64_t x = Next();
    TiledeskMessage m;
    m.id = NewObjectId(at_ms);
    m.recipient = r.request_id;
    m.created_ms = at_ms;
    const auto& msgs = messages_by_request_[r.request_id];
    const bool from_lead = msgs.empty() || x % 2 == 0 || r.participants.empty();
    std::string sender;
    std::string sender_name;
    if (from_lead) {
        const auto* lead = Field(r.doc, "lead_uuid");
        sender = lead != nullptr ? std::string(lead->as_string()) : "system";
        sender_name = "Guest";
        const auto* full = Field(r.doc, "lead_fullname");
        if (full != nullptr && x % 3 != 0) {
            sender_name = std::string(full->as_string());
        }
    } else {
        sender = r.participants.front();
        sender_name = sender.starts_with("bot_") ? "Benvenuto Bot 🤖" : "Owner Ownè";
    }
    m.doc = json::object{
        {"_id", m.id},
        {"senderFullname", sender_name},
        {"type", "text"},
        {"channel_type", "group"},
        {"status", x % 5 == 0 ? 300 : 200},
        {"sender", sender},
        {"recipient", r.request_id},
        {"text", std::move(text)},
        {"id_project", options_.tiledesk_project},
        {"createdBy", sender},
        {"channel", json::object{{"name", "chat21"}}},
        {"createdAt", Iso(at_ms)},
        {"updatedAt", Iso(at_ms)},
        {"__v", 0},
    };
    if (x % 4 == 0) {
        m.doc["language"] = "it";
    }
    if (x % 11 == 0) {
        m.doc["type"] = "image";
        m.doc["metadata"] = json::object{
            {"src", "https://cdn.example.com/img/" + m.id + ".png"},
            {"width", 640},
            {"height", 480},
            {"name", "screenshot 📷.png"},
        };
    }
    if (x % 13 == 0) {
        m.doc["attributes"] = json::object{
            {"subtype", "info"},
            {"messagelabel", json::object{{"key", "MEMBER_JOINED_GROUP"}}},
            {"updateconversation", false},
        };
        m.doc["sender"] = "system";
        m.doc["senderFullname"] = "System";
    }
    if (x % 17 == 0) {
        m.doc["recipientFullname"] = nullptr;
    }
    messages_.push_back(std::move(m));
    const std::size_t index = messages_.size() - 1;
    messages_by_request_[r.request_id].push_back(index);
    InsertMessageOrdered(index);
}

void TiledeskMode::AddRequest(std::int64_t created_ms, std::int64_t messages, bool live) {
    const std::uint64_t x = Next();
    TiledeskRequest r;
    r.id = NewObjectId(created_ms);
    const std::string uuid = NewObjectId(created_ms + 1) + "-" + std::to_string(x % 100000);
    r.request_id = "support-group-" + options_.tiledesk_project + "-" + uuid;
    r.created_ms = created_ms;
    const std::uint64_t s = x % 100;
    r.status = live     ? 100
               : s < 40 ? 1000
               : s < 65 ? 200
               : s < 80 ? 100
               : s < 90 ? 300
               : s < 95 ? 150
                        : 50;
    r.preflight = !live && x % 37 == 0;
    const TiledeskEntity& lead = leads_.empty() ? TiledeskEntity{} : leads_[x % leads_.size()];
    r.lead_id = lead.id;
    const std::size_t dept = x % 3 == 0 ? 1 : 0;
    r.department_id = departments_[dept].id;
    r.requester_id = NewObjectId(created_ms);
    const std::string agent_id = users_[x % 2].id;  // owner or the agent account
    if (r.status == 200 || r.status == 300 || r.status == 1000) {
        r.participants.push_back(x % 9 == 0 ? "bot_" + bots_[0].id : agent_id);
    }
    const std::string first_text(kTexts[x % kTexts.size()]);
    const json::value* lead_uuid = lead.doc.if_contains("lead_id");
    const json::value* lead_name = lead.doc.if_contains("fullname");
    json::array agents;
    json::array bots;
    for (const auto& p : r.participants) {
        if (p.starts_with("bot_")) {
            bots.emplace_back(p.substr(4));
        } else {
            agents.emplace_back(p);
        }
    }
    json::object snapshot_lead;
    if (!lead.id.empty()) {
        snapshot_lead = lead.doc;
    }
    r.doc = json::object{
        {"_id", r.id},
        {"id", r.id},
        {"request_id", r.request_id},
        {"ticket_id", next_ticket_++},
        {"first_text", first_text},
        {"status", r.status},
        {"preflight", r.preflight},
        {"hasBot", x % 9 == 0 || dept == 1},
        {"priority", x % 10 == 0 ? "high" : "medium"},
        {"participants", json::array(r.participants.begin(), r.participants.end())},
        {"participantsAgents", agents},
        {"participantsBots", bots},
        {"followers", json::array{}},
        {"tags", x % 6 == 0 ? json::array{json::object{
                                  {"tag", "urgente ⚡"}, {"color", "#f00"}, {"_id",
                                  NewObjectId(created_ms)}}}
                            : json::array{}},
        {"notes", json::array{}},
        {"department", r.department_id},
        {"lead", r.lead_id},
        {"requester", r.requester_id},
        {"requester_id", r.lead_id},
        {"snapshot",
         json::object{
             {"department", departments_[dept].doc},
             {"lead", snapshot_lead},
             {"requester", json::object{{"role", "guest"}, {"roleType", 2}}},
             {"availableAgentsCount", static_cast<std::int64_t>(x % 4)},
         }},
        {"channel", json::object{{"name", x % 8 == 0 ? "email" : x % 8 == 1 ? "form"
                                          : x % 8 == 2 ? "whatsapp" : "chat21"}}},
        {"channelOutbound", json::object{{"name", "chat21"}}},
        {"smartAssignment", x % 5 != 0},
        {"attributes", x % 2 == 0 ? json::object{{"sourcePage", "https://shop.example.com/ü"},
                                                  {"client", json::object{{"lang", "it"},
                                                                          {"depth", json::object{
                                                                               {"n", 2}}}}}}
                                  : json::object{}},
        {"id_project", options_.tiledesk_project},
        {"createdBy", lead_uuid != nullptr ? *lead_uuid : json::value(nullptr)},
        {"workingStatus", r.status == 1000 ? "closed" : r.status == 100 ? "new" : "open"},
        {"draft", false},
        {"__v", 0},
    };
    if (lead_uuid != nullptr) {
        r.doc["lead_uuid"] = *lead_uuid;
    }
    if (lead_name != nullptr) {
        r.doc["lead_fullname"] = *lead_name;
    }
    if (x % 3 == 0) {
        r.doc["sourcePage"] = "https://www.tiledesk.com/pricing?ref=ñ";
        r.doc["language"] = x % 2 == 0 ? "it" : "en-US";
        r.doc["userAgent"] = "Mozilla/5.0 (X11; Linux x86_64)";
    }
    if (x % 4 == 0) {
        r.doc["location"] = json::object{
            {"country", "IT"},
            {"city", "Reggio nell'Emilia"},
            {"ipAddress", "203.0.113." + std::to_string(x % 250)},
            {"geometry",
             json::object{{"type", "Point"}, {"coordinates", json::array{10.63, 44.7}}}},
        };
    }
    if (x % 7 == 0) {
        r.doc["subject"] = x % 2 == 0 ? json::value(nullptr) : json::value("Fattura n° 42");
    }
    if (!r.participants.empty()) {
        r.doc["assigned_at"] = Iso(created_ms + 5000);
        r.doc["assignee"] = r.participants.front();
    }
    if (r.status == 1000) {
        r.doc["rating"] =
            x % 3 == 0 ? json::value(static_cast<std::int64_t>(x % 5 + 1)) : json::value(nullptr);
        if (x % 3 == 0) {
            r.doc["rating_message"] = "Grazie mille! ⭐";
        }
    }
    guests_[r.requester_id] = json::object{
        {"_id", r.requester_id},
        {"id", r.requester_id},
        {"id_project", options_.tiledesk_project},
        {"uuid_user", lead_uuid != nullptr ? *lead_uuid : json::value("")},
        {"role", "guest"},
        {"roleType", 2},
        {"user_available", true},
        {"status", "active"},
        {"presence", json::object{{"status", "offline"}}},
        {"isAuthenticated", false},
        {"createdAt", Iso(created_ms)},
        {"updatedAt", Iso(created_ms)},
        {"__v", 0},
    };
    by_request_id_[r.request_id] = requests_.size();
    requests_.push_back(std::move(r));
    TiledeskRequest& req = requests_.back();

    std::int64_t at = created_ms;
    for (std::int64_t k = 0; k < messages; ++k) {
        std::string text = k == 0 ? first_text : std::string(kTexts[Next() % kTexts.size()]);
        AddMessage(req, at, std::move(text));
        if (k == 1 && req.doc.contains("assigned_at")) {
            req.doc["first_response_at"] = Iso(at);
            req.doc["waiting_time"] = at - created_ms;
        }
        at += live ? 1 : static_cast<std::int64_t>(30'000 + Next() % 570'000);
    }
    std::int64_t updated = messages > 0 ? at - (live ? 1 : 0) : created_ms;
    if (req.status == 1000) {
        updated += 60'000;
        req.doc["closed_at"] = Iso(updated);
        req.doc["closed_by"] = req.participants.empty() ? "system" : req.participants.front();
        req.doc["duration"] = updated - created_ms;
    }
    req.updated_ms = updated;
    req.doc["__v"] = messages;
}

json::value TiledeskMode::LeadRef(const std::string& id) const {
    for (const auto& lead : leads_) {
        if (lead.id == id) {
            return lead.doc;
        }
    }
    // Mongoose populates a dangling reference as null.
    return nullptr;
}

json::value TiledeskMode::DepartmentRef(const std::string& id) const {
    for (const auto& d : departments_) {
        if (d.id == id) {
            return d.doc;
        }
    }
    return nullptr;
}

json::object TiledeskMode::RequestJson(const TiledeskRequest& r, bool populate) const {
    json::object out = r.doc;
    out.erase("lead_uuid");
    out.erase("lead_fullname");
    out["createdAt"] = Iso(r.created_ms);
    out["updatedAt"] = Iso(r.updated_ms);
    if (!populate) {
        return out;
    }
    out["lead"] = LeadRef(r.lead_id);
    out["department"] = DepartmentRef(r.department_id);
    const auto g = guests_.find(r.requester_id);
    out["requester"] = g == guests_.end() ? json::value(nullptr) : json::value(g->second);
    json::array agents;
    json::array bots;
    for (const auto& p : r.participants) {
        if (p.starts_with("bot_")) {
            for (const auto& b : bots_) {
                if ("bot_" + b.id == p) {
                    bots.push_back(b.doc);
                }
            }
        } else {
            for (const auto& u : users_) {
                if (u.id == p) {
                    json::object a = UserJson(u);
                    agents.push_back(std::move(a));
                }
            }
        }
    }
    out["participatingAgents"] = std::move(agents);
    out["participatingBots"] = std::move(bots);
    return out;
}

// --- Routing and the request pipeline --------------------------------------------------------

void TiledeskMode::AddRoutes(Router& router) {
    using Member = Response (TiledeskMode::*)(const Request&, const PathParams&);
    const auto bind = [this](Member member) -> Handler {
        return [this, member](const Request& request, const PathParams& params) {
            return (this->*member)(request, params);
        };
    };

    struct Route {
        std::string_view method;
        std::string_view suffix;
        Member member;
        std::string_view role;  ///< "" = no authentication.
    };

    static constexpr std::array<Route, 14> kRoutes{{
        {"GET", "/requests", &TiledeskMode::Requests, "agent"},
        {"GET", "/requests/{request_id}", &TiledeskMode::OneRequest, "agent"},
        {"GET", "/requests/{request_id}/messages", &TiledeskMode::RequestMessages, "guest"},
        {"GET", "/requests/{request_id}/messages/{message_id}", &TiledeskMode::OneMessage, "guest"},
        {"GET", "/messages", &TiledeskMode::MessageFeed, "owner"},
        {"GET", "/faq_kb", &TiledeskMode::Bots, "agent"},
        {"GET", "/bots", &TiledeskMode::Bots, "agent"},
        {"GET", "/faq_kb/{bot_id}", &TiledeskMode::OneBot, "admin"},
        {"GET", "/project_users", &TiledeskMode::ProjectUsers, "agent"},
        {"GET", "/leads", &TiledeskMode::Leads, "agent"},
        {"GET", "/leads/{lead_id}", &TiledeskMode::OneLead, "agent"},
        {"GET", "/departments", &TiledeskMode::Departments, ""},
        {"GET", "/departments/allstatus", &TiledeskMode::DepartmentsAllStatus, "agent"},
        {"GET", "/departments/{department_id}", &TiledeskMode::OneDepartment, ""},
    }};
    std::vector<std::string> prefixes{"/v3"};
    if (options_.tiledesk_unversioned) {
        prefixes.emplace_back("");
    }
    // The server mounts /auth itself; no other mode uses the path, so it is always served.
    router.Add("POST", "/v3/auth/signin", Api(bind(&TiledeskMode::SignIn), "", false));
    router.Add("POST", "/auth/signin", Api(bind(&TiledeskMode::SignIn), "", false));
    for (const auto& prefix : prefixes) {
        router.Add("GET", prefix + "/projects", Api(bind(&TiledeskMode::Projects), "guest", false));
        for (const auto& route : kRoutes) {
            router.Add(
                route.method,
                prefix + "/{projectid}" + std::string(route.suffix),
                Api(bind(route.member), route.role, true)
            );
        }
    }
    // Express answers unknown paths with its HTML page; the router's JSON 404 would differ.
    std::string pattern = "/v3";
    for (int depth = 1; depth <= 6; ++depth) {
        pattern += "/{p" + std::to_string(depth) + "}";
        router.Add(
            "GET",
            pattern,
            Api(
                [](const Request& request, const PathParams&) {
                    Response r;
                    r.status = 404;
                    r.content_type = "text/html; charset=utf-8";
                    r.body =
                        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                        "<title>Error</title>\n</head>\n<body>\n<pre>Cannot GET " +
                        request.path + "</pre>\n</body>\n</html>\n";
                    return r;
                },
                "",
                false
            )
        );
    }

    router.Add("POST", "/_admin/tiledesk/seed", bind(&TiledeskMode::AdminSeed));
    router.Add("POST", "/_admin/tiledesk/update", bind(&TiledeskMode::AdminUpdate));
    router.Add("POST", "/_admin/tiledesk/add", bind(&TiledeskMode::AdminAdd));
    router.Add("POST", "/_admin/tiledesk/delete", bind(&TiledeskMode::AdminDelete));
    router.Add("POST", "/_admin/tiledesk/tokens", bind(&TiledeskMode::AdminTokens));
    router.Add("GET", "/_admin/tiledesk/clock", bind(&TiledeskMode::AdminClock));
    router.Add("POST", "/_admin/tiledesk/clock", bind(&TiledeskMode::AdminClock));
    router.Add("POST", "/_admin/tiledesk/rate-limit", bind(&TiledeskMode::AdminRateLimit));
    router.Add("GET", "/_admin/tiledesk/dataset", bind(&TiledeskMode::AdminDataset));
}

void TiledeskMode::AddStats(json::object& stats) const {
    stats["tiledesk"] = json::object{
        {"requests", static_cast<std::int64_t>(requests_.size())},
        {"messages", static_cast<std::int64_t>(messages_.size())},
        {"leads", static_cast<std::int64_t>(leads_.size())},
        {"bots", static_cast<std::int64_t>(bots_.size())},
        {"project_users", static_cast<std::int64_t>(members_.size())},
        {"tokens", static_cast<std::int64_t>(tokens_.size())},
        {"rate_limited", rejected_},
    };
}

const TiledeskMode::User* TiledeskMode::Authenticate(const Request& request, std::string& failure)
    const {
    const auto header = request.Header("Authorization");
    std::string jwt;
    if (header) {
        const std::string_view h = Trim(*header);
        const auto space = h.find(' ');
        const std::string_view scheme = h.substr(0, space);
        const std::string_view rest =
            space == std::string_view::npos ? std::string_view{} : Trim(h.substr(space + 1));
        if (IEquals(scheme, "basic")) {
            const auto decoded = Base64Decode(rest);
            if (decoded) {
                const auto colon = decoded->find(':');
                if (colon != std::string::npos) {
                    const std::string email = ToLower(decoded->substr(0, colon));
                    const std::string password = decoded->substr(colon + 1);
                    for (const auto& u : users_) {
                        if (u.email == email && u.password == password) {
                            return &u;
                        }
                    }
                }
            }
        } else if (IEquals(scheme, "jwt")) {
            jwt = std::string(rest);
        }
    }
    if (jwt.empty()) {
        if (const std::string* q = request.Param("secret_token")) {
            jwt = *q;
            if (jwt.size() > 4 && IEquals(jwt.substr(0, 4), "JWT ")) {
                jwt = jwt.substr(4);
            }
        }
    }
    if (jwt.empty()) {
        return nullptr;
    }
    const auto it = tokens_.find(jwt);
    if (it == tokens_.end()) {
        failure = "invalid token";
        return nullptr;
    }
    if (options_.tiledesk_token_ttl.count() > 0 &&
        NowMs() >= it->second.issued_ms + options_.tiledesk_token_ttl.count()) {
        failure = "jwt expired";
        return nullptr;
    }
    return &users_[it->second.user];
}

Handler TiledeskMode::Api(Handler handler, std::string_view min_role, bool project_scoped) {
    return [this, handler = std::move(handler), min_role = std::string(min_role), project_scoped](
               const Request& request, const PathParams& params
           ) -> Response {
        try {
            // The limit lives in front of the application (the server has none), so every
            // request counts, whatever its outcome.
            if (rate_limit_ > 0) {
                const auto now = std::chrono::steady_clock::now();
                if (window_count_ == 0 || now - window_start_ >= options_.tiledesk_rate_window) {
                    window_start_ = now;
                    window_count_ = 0;
                }
                if (++window_count_ > rate_limit_) {
                    ++rejected_;
                    Response r = JsonResponse(
                        429, ToJsonText(json::object{{"message", "Rate limit exceeded"}})
                    );
                    // Not documented for Tiledesk; a proxy in front of it might add one.
                    if (rate_retry_after_) {
                        const auto left = options_.tiledesk_rate_window - (now - window_start_);
                        const auto secs = std::chrono::ceil<std::chrono::seconds>(left).count();
                        r.headers.emplace_back(
                            "Retry-After", std::to_string(std::max<std::int64_t>(1, secs))
                        );
                    }
                    return r;
                }
            }
            if (project_scoped) {
                const std::string& pid = *params.Find("projectid");
                if (!IsObjectId(pid)) {
                    Fail(400, json::object{{"error", "Invalid project id: " + pid}});
                }
                if (pid != options_.tiledesk_project) {
                    Fail(400, json::object{{"error", "Project not found with id: " + pid}});
                }
            }
            if (min_role.empty()) {
                return handler(request, params);
            }
            std::string failure;
            const User* user = Authenticate(request, failure);
            if (user == nullptr) {
                return Unauthorized();
            }
            const auto header = request.Header("Authorization");
            if (!header || Split(*header, ' ').size() != 2) {
                FailMsg(403, "Unauthorized.");
            }
            if (project_scoped) {
                if (user->role.empty()) {
                    FailMsg(403, "you dont belong to the project.");
                }
                if (RoleRank(user->role) < RoleRank(min_role)) {
                    FailMsg(403, "you dont have the required role.");
                }
            }
            PathParams with_user = params;
            with_user.Set("_user", user->id);
            return handler(request, with_user);
        } catch (const TdError& e) {
            return e.response;
        }
    };
}

// --- Public routes ---------------------------------------------------------------------------

Response TiledeskMode::SignIn(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const auto str = [&](std::string_view k) -> std::optional<std::string> {
        const auto* v = body.if_contains(k);
        if (v == nullptr || !v->is_string()) {
            return std::nullopt;
        }
        return std::string(v->get_string());
    };
    const auto email = str("email");
    const auto password = str("password");
    json::array errors;
    const auto at = email ? email->find('@') : std::string::npos;
    if (!email || at == std::string::npos || at == 0 || email->find('.', at) == std::string::npos ||
        email->back() == '.') {
        errors.push_back(json::object{
            {"value", email ? json::value(*email) : json::value()},
            {"msg", "Invalid value"},
            {"param", "email"},
            {"location", "body"}});
        if (!email) {
            errors.back().as_object().erase("value");
        }
    }
    if (!password || password->empty()) {
        json::object e{{"msg", "Invalid value"}, {"param", "password"}, {"location", "body"}};
        if (password) {
            e["value"] = *password;
        }
        errors.push_back(std::move(e));
    }
    if (!errors.empty()) {
        Fail(422, json::object{{"errors", std::move(errors)}});
    }
    const std::string wanted = ToLower(*email);
    for (std::size_t i = 0; i < users_.size(); ++i) {
        const User& u = users_[i];
        if (u.email != wanted) {
            continue;
        }
        if (u.password != *password) {
            FailMsg(401, "Authentication failed. Wrong password.");
        }
        json::object user = UserJson(u);
        const std::int64_t now = NowMs();
        json::object claims = user;
        claims["iat"] = now / 1000;
        claims["aud"] = "https://tiledesk.com";
        claims["iss"] = "https://tiledesk.com";
        claims["sub"] = "user";
        claims["jti"] = NewObjectId(now) + "-" + std::to_string(Next() % 1000000);
        if (options_.tiledesk_token_ttl.count() > 0) {
            claims["exp"] = (now + options_.tiledesk_token_ttl.count()) / 1000;
        }
        const std::string head = Base64Url(R"({"alg":"HS256","typ":"JWT"})");
        const std::string payload = Base64Url(ToJsonText(claims));
        std::string sig_bytes;
        for (int k = 0; k < 4; ++k) {
            const std::uint64_t r = Next();
            sig_bytes.append(reinterpret_cast<const char*>(&r), sizeof r);
        }
        const std::string token = head + "." + payload + "." + Base64Url(sig_bytes);
        tokens_[token] = Token{i, now};
        return Json(json::object{{"success", true}, {"token", "JWT " + token}, {"user", user}});
    }
    FailMsg(401, "Authentication failed. User not found.");
}

Response TiledeskMode::Projects(const Request&, const PathParams& params) {
    const std::string& uid = *params.Find("_user");
    json::array out;
    for (const auto& u : users_) {
        if (u.id == uid && !u.role.empty()) {
            json::object pu = MemberJson(u);
            pu["id_user"] = u.id;
            pu["id_project"] = json::object{
                {"_id", options_.tiledesk_project},
                {"id", options_.tiledesk_project},
                {"name", "Emulated project ✓"},
                {"status", 100},
                {"activeOperatingHours", false},
                {"createdBy", users_[0].id},
                {"createdAt", Iso(kSeedBaseMs - 400 * kDayMs)},
                {"updatedAt", Iso(kSeedBaseMs - 1 * kDayMs)},
                {"__v", 0},
            };
            out.push_back(std::move(pu));
        }
    }
    return Json(out);
}

// --- Requests --------------------------------------------------------------------------------

Response TiledeskMode::Requests(const Request& request, const PathParams& params) {
    const std::string& uid = *params.Find("_user");
    const User* user = nullptr;
    for (const auto& u : users_) {
        if (u.id == uid) {
            user = &u;
        }
    }
    std::int64_t limit = 40;
    if (const auto l = ParseIntLoose(request.Param("limit"))) {
        limit = *l < 0 ? -*l : *l;
    }
    if (limit > 100) {
        limit = 40;
    }
    std::int64_t page = ParseIntLoose(request.Param("page")).value_or(0);
    if (page < 0) {
        Fail(
            500,
            json::object{
                {"success", false},
                {"msg", "Error getting requests."},
                {"err",
                 json::object{
                     {"name", "MongoError"}, {"message", "Skip value must be non-negative"}}}}
        );
    }

    // Status: open only unless asked otherwise.
    const std::string* status_param = request.Param("status");
    std::optional<std::vector<int>> status_in;
    const bool status_all = status_param != nullptr && *status_param == "all";
    if (status_param != nullptr && !status_all) {
        status_in.emplace();
        for (const auto& part : Split(*status_param, ',')) {
            const std::string t(Trim(part));
            int v = 0;
            const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (ec == std::errc{} && ptr == t.data() + t.size() && !t.empty()) {
                status_in->push_back(v);
            }
        }
    }
    const std::string* pre = request.Param("preflight");
    const bool with_preflight = pre != nullptr && (*pre == "true" || *pre == "1");

    // Date range.
    const std::string* start = request.Param("start_date") ? request.Param("start_date")
                                                           : request.Param("start_date_time");
    const std::string* end =
        request.Param("end_date") ? request.Param("end_date") : request.Param("end_date_time");
    std::string range_field = "createdAt";
    if (const std::string* f = request.Param("filterRangeField"); f != nullptr && !f->empty()) {
        range_field = *f;
    }
    std::optional<std::int64_t> from_ms;  // inclusive
    std::optional<std::int64_t> to_ms;
    bool to_inclusive = false;
    const auto bad_date = [](const std::string& text) {
        Fail(500, json::object{{"success", false}, {"error", "Invalid date format: " + text}});
    };
    if ((start != nullptr && !start->empty()) || (end != nullptr && !end->empty())) {
        const bool legacy = options_.tiledesk_legacy_dates;
        std::shared_ptr<const TimeZone> zone;
        if (legacy) {
            zone = server_zone_;
        } else {
            const std::string* tz = request.Param("timezone");
            const std::string name =
                tz != nullptr && !tz->empty() ? *tz : options_.tiledesk_default_timezone;
            zone = TimeZone::Load(name);
            if (!zone) {
                Fail(500, json::object{{"success", false}, {"error", "Invalid timezone: " + name}});
            }
        }
        if (start != nullptr && !start->empty()) {
            const auto p = ParseLocalDate(*start, legacy);
            if (!p) {
                bad_date(*start);
            }
            from_ms = zone->LocalToUtc(p->first) * 1000;
        }
        if (end != nullptr && !end->empty()) {
            const auto p = ParseLocalDate(*end, legacy);
            if (!p) {
                bad_date(*end);
            }
            if (p->second) {
                to_ms = zone->LocalToUtc(p->first) * 1000;
                to_inclusive = true;
            } else {
                // Date only: up to the next local midnight; the old parser included it.
                to_ms = zone->LocalToUtc(p->first + 86400) * 1000;
                to_inclusive = legacy;
            }
            if (legacy) {
                range_field = "createdAt";
            }
        }
    }
    const auto field_ms = [&](const TiledeskRequest& r) -> std::optional<std::int64_t> {
        if (range_field == "createdAt") {
            return r.created_ms;
        }
        if (range_field == "updatedAt") {
            return r.updated_ms;
        }
        const auto* v = r.doc.if_contains(range_field);
        if (v == nullptr || !v->is_string()) {
            return std::nullopt;
        }
        const auto t = ParseIso8601(v->get_string());
        if (!t) {
            return std::nullopt;
        }
        return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
    };

    // Equality filters that a sync might use.
    const std::string* dept = request.Param("dept_id");
    const std::string* lead = request.Param("lead");
    const std::string* participant = request.Param("participant");
    const std::string* ticket = request.Param("ticket_id");
    const std::string* priority = request.Param("priority");
    const std::string* channel = request.Param("channel");
    const std::string* hasbot = request.Param("hasbot");
    const bool restricted = user != nullptr && RoleRank(user->role) < RoleRank("supervisor");

    std::vector<const TiledeskRequest*> rows;
    rows.reserve(requests_.size());
    for (const auto& r : requests_) {
        if (status_in) {
            if (std::find(status_in->begin(), status_in->end(), r.status) == status_in->end()) {
                continue;
            }
        } else if (!status_all && (r.status >= 1000 || r.status == 50 || r.status == 150)) {
            continue;
        }
        if (r.preflight && !with_preflight) {
            continue;
        }
        if (from_ms || to_ms) {
            const auto t = field_ms(r);
            if (!t || (from_ms && *t < *from_ms) ||
                (to_ms && (to_inclusive ? *t > *to_ms : *t >= *to_ms))) {
                continue;
            }
        }
        if (dept != nullptr && r.department_id != *dept) {
            continue;
        }
        if (lead != nullptr && r.lead_id != *lead) {
            continue;
        }
        if (participant != nullptr &&
            std::find(r.participants.begin(), r.participants.end(), *participant) ==
                r.participants.end()) {
            continue;
        }
        if (ticket != nullptr && std::to_string(r.doc.at("ticket_id").as_int64()) != *ticket) {
            continue;
        }
        if (priority != nullptr && r.doc.at("priority").as_string() != *priority) {
            continue;
        }
        if (hasbot != nullptr && r.doc.at("hasBot").as_bool() != (*hasbot == "true")) {
            continue;
        }
        if (channel != nullptr) {
            const std::string_view name = r.doc.at("channel").at("name").as_string();
            const bool offline = name == "email" || name == "form";
            if (*channel == "offline"  ? !offline
                : *channel == "online" ? offline
                                       : name != *channel) {
                continue;
            }
        }
        // Agents without request_read_all see only their own conversations.
        if (restricted && std::find(r.participants.begin(), r.participants.end(), user->id) ==
                              r.participants.end()) {
            continue;
        }
        rows.push_back(&r);
    }

    std::string sort = "createdAt";
    const std::string* sort_param = request.Param("sort");
    if (sort_param == nullptr && options_.tiledesk_sortfield_alias) {
        sort_param = request.Param("sortField");
    }
    if (sort_param != nullptr && !sort_param->empty()) {
        sort = *sort_param;
    }
    const std::string* dir_param = request.Param("direction");
    const int direction = dir_param != nullptr && Trim(*dir_param) == "1" ? 1 : -1;
    std::stable_sort(
        rows.begin(),
        rows.end(),
        [&](const TiledeskRequest* a, const TiledeskRequest* b) {
            int c = 0;
            if (sort == "createdAt") {
                c = a->created_ms < b->created_ms ? -1 : a->created_ms > b->created_ms ? 1 : 0;
            } else if (sort == "updatedAt") {
                c = a->updated_ms < b->updated_ms ? -1 : a->updated_ms > b->updated_ms ? 1 : 0;
            } else {
                c = CompareJson(a->doc.if_contains(sort), b->doc.if_contains(sort));
            }
            return direction > 0 ? c < 0 : c > 0;
        }
    );

    const std::string* np = request.Param("no_populate");
    const bool populate = !(np != nullptr && *np == "true");
    const std::string* nc = request.Param("no_count");
    const bool no_count = nc != nullptr && *nc == "true";

    std::string body = "{\"perPage\":";
    AppendJsonInt(body, limit);
    body.append(",\"count\":");
    AppendJsonInt(body, no_count ? 0 : static_cast<std::int64_t>(rows.size()));
    body.append(",\"requests\":[");
    const std::size_t skip = static_cast<std::size_t>(page * limit);
    std::size_t end_index = limit == 0 ? rows.size() : skip + static_cast<std::size_t>(limit);
    end_index = std::min(end_index, rows.size());
    for (std::size_t i = skip; i < end_index; ++i) {
        if (i > skip) {
            body.push_back(',');
        }
        AppendJson(body, RequestJson(*rows[i], populate));
    }
    body.append("]}");
    return JsonResponse(200, std::move(body));
}

Response TiledeskMode::OneRequest(const Request&, const PathParams& params) {
    const auto it = by_request_id_.find(*params.Find("request_id"));
    if (it == by_request_id_.end()) {
        FailMsg(404, "Object not found.");
    }
    return Json(RequestJson(requests_[it->second], true));
}

Response TiledeskMode::RequestMessages(const Request&, const PathParams& params) {
    // A plain find by recipient: an unknown request_id is an empty list, not a 404.
    std::string body = "[";
    const auto it = messages_by_request_.find(*params.Find("request_id"));
    if (it != messages_by_request_.end()) {
        std::vector<std::size_t> order = it->second;
        std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
            return messages_[a].created_ms < messages_[b].created_ms;
        });
        for (std::size_t i = 0; i < order.size(); ++i) {
            if (i > 0) {
                body.push_back(',');
            }
            AppendJson(body, messages_[order[i]].doc);
        }
    }
    body.push_back(']');
    return JsonResponse(200, std::move(body));
}

Response TiledeskMode::OneMessage(const Request&, const PathParams& params) {
    const auto it = messages_by_request_.find(*params.Find("request_id"));
    if (it != messages_by_request_.end()) {
        for (const std::size_t i : it->second) {
            if (messages_[i].id == *params.Find("message_id")) {
                return Json(messages_[i].doc);
            }
        }
    }
    FailMsg(404, "Object not found.");
}

Response TiledeskMode::MessageFeed(const Request& request, const PathParams&) {
    std::int64_t limit = ParseIntLoose(request.Param("limit")).value_or(10);
    if (limit > 50 || limit <= 0) {
        limit = 10;
    }
    const std::int64_t page =
        std::max<std::int64_t>(0, ParseIntLoose(request.Param("page")).value_or(0));
    const std::string* pr = request.Param("populate_request");
    const bool populate_request = pr != nullptr && *pr == "true";
    std::string body = "[";
    const std::size_t n = messages_by_time_.size();
    const std::size_t skip = static_cast<std::size_t>(page * limit);
    for (std::size_t k = skip; k < n && k < skip + static_cast<std::size_t>(limit); ++k) {
        const TiledeskMessage& m = messages_[messages_by_time_[n - 1 - k]];
        if (k > skip) {
            body.push_back(',');
        }
        if (populate_request) {
            json::object doc = m.doc;
            const auto r = by_request_id_.find(m.recipient);
            doc["request"] = r == by_request_id_.end()
                                 ? json::value(nullptr)
                                 : json::value(RequestJson(requests_[r->second], false));
            AppendJson(body, doc);
        } else {
            AppendJson(body, m.doc);
        }
    }
    body.push_back(']');
    return JsonResponse(200, std::move(body));
}

// --- Bots, members, leads, departments -------------------------------------------------------

Response TiledeskMode::Bots(const Request& request, const PathParams& params) {
    const std::string* all = request.Param("all");
    const bool with_identity = all != nullptr && *all == "true";
    bool reduced = false;
    for (const auto& u : users_) {
        if (u.id == *params.Find("_user")) {
            reduced = u.role == "agent";
        }
    }
    json::array out;
    for (const auto& b : bots_) {
        const auto* trashed = b.doc.if_contains("trashed");
        if (trashed != nullptr && trashed->is_bool() && trashed->get_bool()) {
            continue;
        }
        if (!with_identity && b.doc.at("type").as_string() == "identity") {
            continue;
        }
        json::object doc = b.doc;
        if (reduced) {
            for (const char* k :
                 {"webhook_enabled",
                  "intentsEngine",
                  "score",
                  "url",
                  "attributes",
                  "trained",
                  "certifiedTags",
                  "createdBy",
                  "createdAt",
                  "updatedAt",
                  "__v"}) {
                doc.erase(k);
            }
        }
        out.push_back(std::move(doc));
    }
    return Json(out);
}

Response TiledeskMode::OneBot(const Request&, const PathParams& params) {
    for (const auto& b : bots_) {
        if (b.id == *params.Find("bot_id")) {
            return Json(b.doc);
        }
    }
    FailMsg(404, "Object not found.");
}

Response TiledeskMode::ProjectUsers(const Request& request, const PathParams&) {
    std::vector<std::string> roles;
    for (const auto& [k, v] : request.params) {
        if (k == "role" || k == "role[]") {
            roles.push_back(v);
        }
    }
    if (roles.size() == 1 && request.Param("role") != nullptr &&
        options_.tiledesk_single_role_error) {
        FailMsg(500, "Error getting object.");
    }
    const std::string* trashed_param = request.Param("trashed");
    const bool with_trashed = trashed_param != nullptr && *trashed_param == "true";
    const std::string* presence = request.Param("presencestatus");
    const std::string* status = request.Param("status");
    json::array out;
    for (const auto& m : members_) {
        if (m.doc.at("trashed").as_bool() && !with_trashed) {
            continue;
        }
        if (!roles.empty() &&
            std::find(roles.begin(), roles.end(), std::string(m.doc.at("role").as_string())) ==
                roles.end()) {
            continue;
        }
        if (presence != nullptr && m.doc.at("presence").at("status").as_string() != *presence) {
            continue;
        }
        if (status != nullptr && m.doc.at("status").as_string() != *status) {
            continue;
        }
        out.push_back(m.doc);
    }
    return Json(out);
}

Response TiledeskMode::Leads(const Request& request, const PathParams&) {
    std::int64_t limit = 40;
    if (const auto l = ParseIntLoose(request.Param("limit"))) {
        limit = *l < 0 ? -*l : *l;
    }
    const std::int64_t page = ParseIntLoose(request.Param("page")).value_or(0);
    if (page < 0) {
        FailMsg(500, "Error getting object.");
    }
    int status = 100;
    if (const auto s = ParseIntLoose(request.Param("status"))) {
        status = static_cast<int>(*s);
    }
    const std::string* email = request.Param("email");
    std::vector<const TiledeskEntity*> rows;
    for (const auto& l : leads_) {
        if (l.doc.at("status").as_int64() != status) {
            continue;
        }
        if (email != nullptr) {
            const auto* e = l.doc.if_contains("email");
            if (e == nullptr || !e->is_string() || e->get_string() != *email) {
                continue;
            }
        }
        rows.push_back(&l);
    }
    std::string sort = "createdAt";
    if (const std::string* s = request.Param("sort"); s != nullptr && !s->empty()) {
        sort = *s;
    }
    const std::string* dir_param = request.Param("direction");
    const int direction = dir_param != nullptr && Trim(*dir_param) == "1" ? 1 : -1;
    std::stable_sort(
        rows.begin(),
        rows.end(),
        [&](const TiledeskEntity* a, const TiledeskEntity* b) {
            const int c = CompareJson(a->doc.if_contains(sort), b->doc.if_contains(sort));
            return direction > 0 ? c < 0 : c > 0;
        }
    );
    std::string body = "{\"perPage\":";
    AppendJsonInt(body, limit);
    body.append(",\"count\":");
    AppendJsonInt(body, static_cast<std::int64_t>(rows.size()));
    body.append(",\"leads\":[");
    const std::size_t skip = static_cast<std::size_t>(page * limit);
    const std::size_t end_index =
        std::min(rows.size(), limit == 0 ? rows.size() : skip + static_cast<std::size_t>(limit));
    for (std::size_t i = skip; i < end_index; ++i) {
        if (i > skip) {
            body.push_back(',');
        }
        AppendJson(body, rows[i]->doc);
    }
    body.append("]}");
    return JsonResponse(200, std::move(body));
}

Response TiledeskMode::OneLead(const Request&, const PathParams& params) {
    for (const auto& l : leads_) {
        if (l.id == *params.Find("lead_id")) {
            return Json(l.doc);
        }
    }
    FailMsg(404, "Object not found.");
}

Response TiledeskMode::Departments(const Request& request, const PathParams&) {
    std::vector<const TiledeskEntity*> rows;
    for (const auto& d : departments_) {
        if (d.doc.at("status").as_int64() == 1) {
            rows.push_back(&d);
        }
    }
    if (request.Param("sort") != nullptr) {
        std::stable_sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
            return a->doc.at("name").as_string() < b->doc.at("name").as_string();
        });
    }
    json::array out;
    for (const auto* d : rows) {
        out.push_back(d->doc);
    }
    return Json(out);
}

Response TiledeskMode::DepartmentsAllStatus(const Request&, const PathParams&) {
    json::array out;
    for (const auto& d : departments_) {
        if (d.doc.at("status").as_int64() >= 0) {
            out.push_back(d.doc);
        }
    }
    return Json(out);
}

Response TiledeskMode::OneDepartment(const Request&, const PathParams& params) {
    for (const auto& d : departments_) {
        if (d.id == *params.Find("department_id")) {
            return Json(d.doc);
        }
    }
    FailMsg(404, "Object not found.");
}

// --- Admin -----------------------------------------------------------------------------------

Response TiledeskMode::AdminSeed(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const std::int64_t n = BodyInt(body, "requests", options_.tiledesk_requests);
    const std::int64_t m =
        BodyInt(body, "messages_per_request", options_.tiledesk_messages_per_request);
    const std::int64_t seed = BodyInt(body, "seed", static_cast<std::int64_t>(options_.seed));
    if (n < 0 || m < 0) {
        throw HttpError(400, "requests and messages_per_request must not be negative");
    }
    Seed(n, m, static_cast<std::uint64_t>(seed));
    return Json(json::object{
        {"requests", static_cast<std::int64_t>(requests_.size())},
        {"messages", static_cast<std::int64_t>(messages_.size())}});
}

Response TiledeskMode::AdminUpdate(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    std::vector<std::string> ids = BodyStrings(body, "request_ids");
    const std::int64_t count = BodyInt(body, "count", ids.empty() ? 1 : 0);
    const std::int64_t add_messages = BodyInt(body, "add_messages", 0);
    const std::int64_t new_status = BodyInt(body, "status", 0);
    if (count < 0 || add_messages < 0) {
        throw HttpError(400, "count and add_messages must not be negative");
    }
    // Spread picks over the whole list and move on each call, so that repeated updates
    // touch different conversations.
    for (std::int64_t k = 0; k < count && !requests_.empty(); ++k) {
        const std::size_t step =
            std::max<std::size_t>(1, requests_.size() / static_cast<std::size_t>(count));
        const std::size_t i =
            (update_cursor_ + static_cast<std::size_t>(k) * step) % requests_.size();
        ids.push_back(requests_[i].request_id);
    }
    update_cursor_ += 7;
    std::int64_t now = NowMs();
    json::array updated;
    for (const auto& rid : ids) {
        const auto it = by_request_id_.find(rid);
        if (it == by_request_id_.end()) {
            continue;
        }
        TiledeskRequest& r = requests_[it->second];
        std::int64_t stamp = now;
        for (std::int64_t k = 0; k < add_messages; ++k) {
            AddMessage(r, stamp, std::string(kTexts[Next() % kTexts.size()]) + " (upd)");
            if (k + 1 < add_messages) {
                ++stamp;
            }
        }
        if (new_status != 0) {
            r.status = static_cast<int>(new_status);
            r.doc["status"] = new_status;
            if (new_status == 1000) {
                r.doc["closed_at"] = Iso(stamp);
                r.doc["closed_by"] = users_[0].id;
                r.doc["workingStatus"] = "closed";
            }
        }
        r.updated_ms = stamp;
        r.doc["__v"] = r.doc.at("__v").as_int64() + 1;
        updated.push_back(json::object{
            {"request_id", r.request_id},
            {"_id", r.id},
            {"updatedAt", Iso(stamp)},
            {"status", r.status}});
    }
    return Json(json::object{{"updated", std::move(updated)}});
}

Response TiledeskMode::AdminAdd(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const std::int64_t count = BodyInt(body, "count", 1);
    const std::int64_t m =
        BodyInt(body, "messages_per_request", options_.tiledesk_messages_per_request);
    const std::int64_t status = BodyInt(body, "status", 100);
    if (count < 0 || m < 0) {
        throw HttpError(400, "count and messages_per_request must not be negative");
    }
    const std::int64_t bots = BodyInt(body, "bots", 0);
    if (bots < 0) {
        throw HttpError(400, "bots must not be negative");
    }
    json::array added;
    json::array added_bots;
    const std::int64_t now = NowMs();
    // Bots made in the dashboard: internal FAQ bots with the schema defaults.
    for (std::int64_t k = 0; k < bots; ++k) {
        TiledeskEntity e{NewObjectId(now), now, {}};
        e.doc = json::object{
            {"_id", e.id},
            {"webhook_enabled", false},
            {"type", "internal"},
            {"language", "en"},
            {"public", false},
            {"certified", false},
            {"intentsEngine", "none"},
            {"score", 0},
            {"trained", true},
            {"name", "FAQ bot " + std::to_string(bots_.size() + 1)},
            {"id_project", options_.tiledesk_project},
            {"trashed", false},
            {"createdBy", users_[0].id},
            {"createdAt", Iso(now)},
            {"updatedAt", Iso(now)},
            {"__v", 0},
        };
        added_bots.emplace_back(e.id);
        bots_.push_back(std::move(e));
    }
    for (std::int64_t k = 0; k < count; ++k) {
        AddRequest(now, m, true);
        TiledeskRequest& r = requests_.back();
        if (status != 100) {
            r.status = static_cast<int>(status);
            r.doc["status"] = status;
        }
        added.push_back(json::object{
            {"request_id", r.request_id},
            {"_id", r.id},
            {"createdAt", Iso(r.created_ms)},
            {"updatedAt", Iso(r.updated_ms)}});
    }
    return Json(json::object{{"added", std::move(added)}, {"bots", std::move(added_bots)}});
}

Response TiledeskMode::AdminDelete(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const auto* kind_v = body.if_contains("kind");
    if (kind_v == nullptr || !kind_v->is_string()) {
        throw HttpError(400, "kind must be bots, project_users or leads");
    }
    const std::string kind(kind_v->get_string());
    const std::vector<std::string> ids = BodyStrings(body, "ids");
    const auto* soft_v = body.if_contains("soft");
    const bool soft = soft_v != nullptr && soft_v->is_bool() && soft_v->get_bool();
    std::vector<TiledeskEntity>* list = kind == "bots"            ? &bots_
                                        : kind == "project_users" ? &members_
                                        : kind == "leads"         ? &leads_
                                                                  : nullptr;
    if (list == nullptr) {
        throw HttpError(400, "kind must be bots, project_users or leads");
    }
    json::array deleted;
    const std::string now = Iso(NowMs());
    for (const auto& id : ids) {
        const auto it = std::find_if(list->begin(), list->end(), [&](const TiledeskEntity& e) {
            return e.id == id;
        });
        if (it == list->end()) {
            continue;
        }
        deleted.emplace_back(id);
        if (!soft) {
            list->erase(it);
        } else if (kind == "leads") {
            it->doc["status"] = 1000;
            it->doc["updatedAt"] = now;
        } else {
            it->doc["trashed"] = true;
            it->doc["updatedAt"] = now;
            if (kind == "bots") {
                it->doc["trashedAt"] = now;
            }
        }
    }
    return Json(json::object{{"deleted", std::move(deleted)}});
}

Response TiledeskMode::AdminTokens(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const auto* token_v = body.if_contains("token");
    const auto* action_v = body.if_contains("action");
    const std::string action = action_v != nullptr && action_v->is_string()
                                   ? std::string(action_v->get_string())
                                   : "revoke";
    if (action != "revoke" && action != "expire") {
        throw HttpError(400, "action must be revoke or expire");
    }
    std::string wanted;
    if (token_v != nullptr && token_v->is_string()) {
        wanted = std::string(token_v->get_string());
        if (wanted.size() > 4 && IEquals(wanted.substr(0, 4), "JWT ")) {
            wanted = wanted.substr(4);
        }
    }
    // The server answers an expired and a revoked token alike (401), so both forget it.
    std::int64_t affected = 0;
    for (auto it = tokens_.begin(); it != tokens_.end();) {
        if (!wanted.empty() && it->first != wanted) {
            ++it;
            continue;
        }
        ++affected;
        it = tokens_.erase(it);
    }
    return Json(json::object{{action == "expire" ? "expired" : "revoked", affected}});
}

Response TiledeskMode::AdminClock(const Request& request, const PathParams&) {
    if (request.method == "POST") {
        const json::object body = BodyObject(request);
        if (const auto* now = body.if_contains("now"); now != nullptr && !now->is_null()) {
            if (!now->is_string()) {
                throw HttpError(400, "now must be an ISO-8601 string");
            }
            const auto t = ParseIso8601(now->get_string(), true);
            if (!t) {
                throw HttpError(400, "now must be an ISO-8601 date-time with a zone");
            }
            pinned_now_ms_ =
                std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch())
                    .count();
        } else {
            pinned_now_ms_.reset();
        }
        clock_offset_ms_ = BodyInt(body, "offset_ms", 0);
    }
    return Json(json::object{
        {"now", Iso(NowMs())},
        {"offset_ms", clock_offset_ms_},
        {"pinned", pinned_now_ms_.has_value()}});
}

Response TiledeskMode::AdminRateLimit(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    rate_limit_ = BodyInt(body, "limit", rate_limit_);
    if (rate_limit_ < 0) {
        rate_limit_ = 0;
    }
    if (const auto* ra = body.if_contains("retry_after"); ra != nullptr && ra->is_bool()) {
        rate_retry_after_ = ra->get_bool();
    }
    window_count_ = 0;
    return Json(json::object{
        {"limit", rate_limit_}, {"retry_after", rate_retry_after_}, {"rejected", rejected_}});
}

Response TiledeskMode::AdminDataset(const Request&, const PathParams&) {
    std::string body = "{\"project\":";
    AppendJsonString(body, options_.tiledesk_project);
    body.append(",\"requests\":[");
    for (std::size_t i = 0; i < requests_.size(); ++i) {
        if (i > 0) {
            body.push_back(',');
        }
        AppendJson(body, RequestJson(requests_[i], false));
    }
    body.append("],\"messages\":[");
    for (std::size_t i = 0; i < messages_by_time_.size(); ++i) {
        if (i > 0) {
            body.push_back(',');
        }
        AppendJson(body, messages_[messages_by_time_[i]].doc);
    }
    body.push_back(']');
    const auto list = [&](std::string_view name, const std::vector<TiledeskEntity>& items) {
        body.push_back(',');
        AppendJsonString(body, name);
        body.append(":[");
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i > 0) {
                body.push_back(',');
            }
            AppendJson(body, items[i].doc);
        }
        body.push_back(']');
    };
    list("bots", bots_);
    list("project_users", members_);
    list("leads", leads_);
    list("departments", departments_);
    body.push_back('}');
    return JsonResponse(200, std::move(body));
}

}  // namespace chatsync::emulator
