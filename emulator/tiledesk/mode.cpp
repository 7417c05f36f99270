// Tiledesk mode: construction, routing, authentication and the public routes.
#include "emulator/tiledesk/mode.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_body.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/tiledesk/detail.hpp"

namespace chatsync::emulator {

namespace json = boost::json;

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
    if (!tiledesk::IsObjectId(options_.tiledesk_project)) {
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
    return rng_.Next();
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
        {"createdAt", IsoFromMs(tiledesk::kSeedBaseMs - 400 * tiledesk::kDayMs)},
        {"updatedAt", IsoFromMs(tiledesk::kSeedBaseMs - 10 * tiledesk::kDayMs)},
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
        {"presence",
         json::object{{"status", "offline"}, {"changedAt", IsoFromMs(tiledesk::kSeedBaseMs)}}},
        {"attributes", json::object{}},
        {"number_assigned_requests", 0},
        {"last_login_at", IsoFromMs(tiledesk::kSeedBaseMs - tiledesk::kDayMs)},
        {"tags", json::array{}},
        {"permissions", json::array{}},
        {"status", "active"},
        {"trashed", false},
        {"isAuthenticated", true},
        {"isBusy", false},
        {"createdBy", users_[0].id},
        {"createdAt", IsoFromMs(tiledesk::kSeedBaseMs - 300 * tiledesk::kDayMs)},
        {"updatedAt", IsoFromMs(tiledesk::kSeedBaseMs - 2 * tiledesk::kDayMs)},
        {"__v", 0},
    };
}

// --- Routing and the request pipeline --------------------------------------------------------

void TiledeskMode::AddRoutes(Router& router) {
    using Member = Response (TiledeskMode::*)(const Request&, const PathParams&);

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
    router.Add("POST", "/v3/auth/signin", Api(BindRoute(this, &TiledeskMode::SignIn), "", false));
    router.Add("POST", "/auth/signin", Api(BindRoute(this, &TiledeskMode::SignIn), "", false));
    for (const auto& prefix : prefixes) {
        router.Add(
            "GET",
            prefix + "/projects",
            Api(BindRoute(this, &TiledeskMode::Projects), "guest", false)
        );
        for (const auto& route : kRoutes) {
            router.Add(
                route.method,
                prefix + "/{projectid}" + std::string(route.suffix),
                Api(BindRoute(this, route.member), route.role, true)
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

    router.Add("POST", "/_admin/tiledesk/seed", BindRoute(this, &TiledeskMode::AdminSeed));
    router.Add("POST", "/_admin/tiledesk/update", BindRoute(this, &TiledeskMode::AdminUpdate));
    router.Add("POST", "/_admin/tiledesk/add", BindRoute(this, &TiledeskMode::AdminAdd));
    router.Add("POST", "/_admin/tiledesk/delete", BindRoute(this, &TiledeskMode::AdminDelete));
    router.Add("POST", "/_admin/tiledesk/tokens", BindRoute(this, &TiledeskMode::AdminTokens));
    router.Add("GET", "/_admin/tiledesk/clock", BindRoute(this, &TiledeskMode::AdminClock));
    router.Add("POST", "/_admin/tiledesk/clock", BindRoute(this, &TiledeskMode::AdminClock));
    router.Add(
        "POST", "/_admin/tiledesk/rate-limit", BindRoute(this, &TiledeskMode::AdminRateLimit)
    );
    router.Add("GET", "/_admin/tiledesk/dataset", BindRoute(this, &TiledeskMode::AdminDataset));
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
            const auto decoded = tiledesk::Base64Decode(rest);
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
                if (!tiledesk::IsObjectId(pid)) {
                    tiledesk::Fail(400, json::object{{"error", "Invalid project id: " + pid}});
                }
                if (pid != options_.tiledesk_project) {
                    tiledesk::Fail(
                        400, json::object{{"error", "Project not found with id: " + pid}}
                    );
                }
            }
            if (min_role.empty()) {
                return handler(request, params);
            }
            std::string failure;
            const User* user = Authenticate(request, failure);
            if (user == nullptr) {
                return tiledesk::Unauthorized();
            }
            const auto header = request.Header("Authorization");
            if (!header || Split(*header, ' ').size() != 2) {
                tiledesk::FailMsg(403, "Unauthorized.");
            }
            if (project_scoped) {
                if (user->role.empty()) {
                    tiledesk::FailMsg(403, "you dont belong to the project.");
                }
                if (tiledesk::RoleRank(user->role) < tiledesk::RoleRank(min_role)) {
                    tiledesk::FailMsg(403, "you dont have the required role.");
                }
            }
            PathParams with_user = params;
            with_user.Set("_user", user->id);
            return handler(request, with_user);
        } catch (const tiledesk::TdError& e) {
            return e.response;
        }
    };
}

// --- Public routes ---------------------------------------------------------------------------

Response TiledeskMode::SignIn(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
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
    // No error means that both fields are present; testing them as well says so to the reader
    // of the optionals (and to clang-tidy).
    if (!errors.empty() || !email || !password) {
        tiledesk::Fail(422, json::object{{"errors", std::move(errors)}});
    }
    const std::string wanted = ToLower(*email);
    for (std::size_t i = 0; i < users_.size(); ++i) {
        const User& u = users_[i];
        if (u.email != wanted) {
            continue;
        }
        if (u.password != *password) {
            tiledesk::FailMsg(401, "Authentication failed. Wrong password.");
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
        const std::string head = tiledesk::Base64Url(R"({"alg":"HS256","typ":"JWT"})");
        const std::string payload = tiledesk::Base64Url(ToJsonText(claims));
        std::string sig_bytes;
        for (int k = 0; k < 4; ++k) {
            const std::uint64_t r = Next();
            sig_bytes.append(reinterpret_cast<const char*>(&r), sizeof r);
        }
        std::string token = head;
        token.append(".").append(payload).append(".").append(tiledesk::Base64Url(sig_bytes));
        tokens_[token] = Token{i, now};
        return JsonAnswer(
            200, json::object{{"success", true}, {"token", "JWT " + token}, {"user", user}}
        );
    }
    tiledesk::FailMsg(401, "Authentication failed. User not found.");
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
                {"createdAt", IsoFromMs(tiledesk::kSeedBaseMs - 400 * tiledesk::kDayMs)},
                {"updatedAt", IsoFromMs(tiledesk::kSeedBaseMs - 1 * tiledesk::kDayMs)},
                {"__v", 0},
            };
            out.push_back(std::move(pu));
        }
    }
    return JsonAnswer(200, out);
}

}  // namespace chatsync::emulator
