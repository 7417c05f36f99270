// Tiledesk mode: requests and their messages.
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
    if (const auto l = tiledesk::ParseIntLoose(request.Param("limit"))) {
        limit = *l < 0 ? -*l : *l;
    }
    if (limit > 100) {
        limit = 40;
    }
    std::int64_t page = tiledesk::ParseIntLoose(request.Param("page")).value_or(0);
    if (page < 0) {
        tiledesk::Fail(
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
        tiledesk::Fail(
            500, json::object{{"success", false}, {"error", "Invalid date format: " + text}}
        );
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
                tiledesk::Fail(
                    500, json::object{{"success", false}, {"error", "Invalid timezone: " + name}}
                );
            }
        }
        if (start != nullptr && !start->empty()) {
            const auto p = tiledesk::ParseLocalDate(*start, legacy);
            if (!p) {
                bad_date(*start);
            }
            from_ms = zone->LocalToUtc(p->first) * 1000;
        }
        if (end != nullptr && !end->empty()) {
            const auto p = tiledesk::ParseLocalDate(*end, legacy);
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
    const bool restricted =
        user != nullptr && tiledesk::RoleRank(user->role) < tiledesk::RoleRank("supervisor");

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
                c = tiledesk::CompareJson(a->doc.if_contains(sort), b->doc.if_contains(sort));
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
        tiledesk::FailMsg(404, "Object not found.");
    }
    return JsonAnswer(200, RequestJson(requests_[it->second], true));
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
                return JsonAnswer(200, messages_[i].doc);
            }
        }
    }
    tiledesk::FailMsg(404, "Object not found.");
}

Response TiledeskMode::MessageFeed(const Request& request, const PathParams&) {
    std::int64_t limit = tiledesk::ParseIntLoose(request.Param("limit")).value_or(10);
    if (limit > 50 || limit <= 0) {
        limit = 10;
    }
    const std::int64_t page =
        std::max<std::int64_t>(0, tiledesk::ParseIntLoose(request.Param("page")).value_or(0));
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

}  // namespace chatsync::emulator
