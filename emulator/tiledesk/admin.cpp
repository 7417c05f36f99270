// Tiledesk mode: the /_admin/tiledesk/ routes.
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

// --- Admin -----------------------------------------------------------------------------------

Response TiledeskMode::AdminSeed(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
    const std::int64_t n = BodyInt(body, "requests", options_.tiledesk_requests);
    const std::int64_t m =
        BodyInt(body, "messages_per_request", options_.tiledesk_messages_per_request);
    const std::int64_t seed = BodyInt(body, "seed", static_cast<std::int64_t>(options_.seed));
    if (n < 0 || m < 0) {
        throw HttpError(400, "requests and messages_per_request must not be negative");
    }
    Seed(n, m, static_cast<std::uint64_t>(seed));
    return JsonAnswer(
        200,
        json::object{
            {"requests", static_cast<std::int64_t>(requests_.size())},
            {"messages", static_cast<std::int64_t>(messages_.size())}}
    );
}

Response TiledeskMode::AdminUpdate(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
    std::vector<std::string> ids = tiledesk::BodyStrings(body, "request_ids");
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
            AddMessage(
                r, stamp, std::string(tiledesk::kTexts[Next() % tiledesk::kTexts.size()]) + " (upd)"
            );
            if (k + 1 < add_messages) {
                ++stamp;
            }
        }
        if (new_status != 0) {
            r.status = static_cast<int>(new_status);
            r.doc["status"] = new_status;
            if (new_status == 1000) {
                r.doc["closed_at"] = IsoFromMs(stamp);
                r.doc["closed_by"] = users_[0].id;
                r.doc["workingStatus"] = "closed";
            }
        }
        r.updated_ms = stamp;
        r.doc["__v"] = r.doc.at("__v").as_int64() + 1;
        updated.push_back(json::object{
            {"request_id", r.request_id},
            {"_id", r.id},
            {"updatedAt", IsoFromMs(stamp)},
            {"status", r.status}});
    }
    return JsonAnswer(200, json::object{{"updated", std::move(updated)}});
}

Response TiledeskMode::AdminAdd(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
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
            {"createdAt", IsoFromMs(now)},
            {"updatedAt", IsoFromMs(now)},
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
            {"createdAt", IsoFromMs(r.created_ms)},
            {"updatedAt", IsoFromMs(r.updated_ms)}});
    }
    return JsonAnswer(
        200, json::object{{"added", std::move(added)}, {"bots", std::move(added_bots)}}
    );
}

Response TiledeskMode::AdminDelete(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
    const auto* kind_v = body.if_contains("kind");
    if (kind_v == nullptr || !kind_v->is_string()) {
        throw HttpError(400, "kind must be bots, project_users or leads");
    }
    const std::string kind(kind_v->get_string());
    const std::vector<std::string> ids = tiledesk::BodyStrings(body, "ids");
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
    const std::string now = IsoFromMs(NowMs());
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
    return JsonAnswer(200, json::object{{"deleted", std::move(deleted)}});
}

Response TiledeskMode::AdminTokens(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
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
    return JsonAnswer(200, json::object{{action == "expire" ? "expired" : "revoked", affected}});
}

Response TiledeskMode::AdminClock(const Request& request, const PathParams&) {
    if (request.method == "POST") {
        const json::object body = tiledesk::BodyFields(request);
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
    return JsonAnswer(
        200,
        json::object{
            {"now", IsoFromMs(NowMs())},
            {"offset_ms", clock_offset_ms_},
            {"pinned", pinned_now_ms_.has_value()}}
    );
}

Response TiledeskMode::AdminRateLimit(const Request& request, const PathParams&) {
    const json::object body = tiledesk::BodyFields(request);
    rate_limit_ = BodyInt(body, "limit", rate_limit_);
    if (rate_limit_ < 0) {
        rate_limit_ = 0;
    }
    if (const auto* ra = body.if_contains("retry_after"); ra != nullptr && ra->is_bool()) {
        rate_retry_after_ = ra->get_bool();
    }
    window_count_ = 0;
    return JsonAnswer(
        200,
        json::object{
            {"limit", rate_limit_}, {"retry_after", rate_retry_after_}, {"rejected", rejected_}}
    );
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
