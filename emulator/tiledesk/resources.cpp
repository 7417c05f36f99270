// Tiledesk mode: bots, project members, leads and departments.
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
#include "emulator/tiledesk/mode.hpp"

namespace chatsync::emulator {

namespace json = boost::json;

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
    return JsonAnswer(200, out);
}

Response TiledeskMode::OneBot(const Request&, const PathParams& params) {
    for (const auto& b : bots_) {
        if (b.id == *params.Find("bot_id")) {
            return JsonAnswer(200, b.doc);
        }
    }
    tiledesk::FailMsg(404, "Object not found.");
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
        tiledesk::FailMsg(500, "Error getting object.");
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
    return JsonAnswer(200, out);
}

Response TiledeskMode::Leads(const Request& request, const PathParams&) {
    std::int64_t limit = 40;
    if (const auto l = tiledesk::ParseIntLoose(request.Param("limit"))) {
        limit = *l < 0 ? -*l : *l;
    }
    const std::int64_t page = tiledesk::ParseIntLoose(request.Param("page")).value_or(0);
    if (page < 0) {
        tiledesk::FailMsg(500, "Error getting object.");
    }
    int status = 100;
    if (const auto s = tiledesk::ParseIntLoose(request.Param("status"))) {
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
            const int c = tiledesk::CompareJson(a->doc.if_contains(sort), b->doc.if_contains(sort));
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
            return JsonAnswer(200, l.doc);
        }
    }
    tiledesk::FailMsg(404, "Object not found.");
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
    return JsonAnswer(200, out);
}

Response TiledeskMode::DepartmentsAllStatus(const Request&, const PathParams&) {
    json::array out;
    for (const auto& d : departments_) {
        if (d.doc.at("status").as_int64() >= 0) {
            out.push_back(d.doc);
        }
    }
    return JsonAnswer(200, out);
}

Response TiledeskMode::OneDepartment(const Request&, const PathParams& params) {
    for (const auto& d : departments_) {
        if (d.id == *params.Find("department_id")) {
            return JsonAnswer(200, d.doc);
        }
    }
    tiledesk::FailMsg(404, "Object not found.");
}

}  // namespace chatsync::emulator
