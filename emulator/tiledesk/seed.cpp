// Tiledesk mode: the seeded dataset and the documents built from it.
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

void TiledeskMode::Seed(std::int64_t requests, std::int64_t messages, std::uint64_t seed) {
    rng_ = Rng(seed * 0x2545F4914F6CDD1DULL + 1);
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
        const std::int64_t at =
            tiledesk::kSeedBaseMs - static_cast<std::int64_t>(200 - i) * tiledesk::kDayMs;
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
            {"createdAt", IsoFromMs(at)},
            {"updatedAt", IsoFromMs(at + tiledesk::kDayMs)},
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
        const std::int64_t at =
            tiledesk::kSeedBaseMs - static_cast<std::int64_t>(150 - i) * tiledesk::kDayMs;
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
            {"createdAt", IsoFromMs(at)},
            {"updatedAt", IsoFromMs(at + 3 * tiledesk::kDayMs)},
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
            e.doc["trashedAt"] = IsoFromMs(at + 5 * tiledesk::kDayMs);
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
            members_.push_back({std::string(doc["_id"].as_string()), tiledesk::kSeedBaseMs, doc});
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
        const std::int64_t at =
            tiledesk::kSeedBaseMs - static_cast<std::int64_t>(100 - i) * tiledesk::kDayMs;
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
        const std::int64_t at = tiledesk::kSeedBaseMs + i * 60'000;
        TiledeskEntity e{NewObjectId(at), at, {}};
        const std::uint64_t r = Next();
        const std::string uuid = "8d0f" + NewObjectId(at).substr(8);
        const std::string name(tiledesk::kNames[r % tiledesk::kNames.size()]);
        e.doc = json::object{
            {"_id", e.id},
            {"lead_id", uuid},
            {"fullname", r % 7 == 0 ? "guest#" + uuid.substr(20) : name},
            {"id_project", pid},
            {"createdBy", users_[0].id},
            {"status", r % 23 == 0 ? 50 : 100},
            {"tags", r % 5 == 0 ? json::array{"vip", "ü-tag"} : json::array{}},
            {"createdAt", IsoFromMs(at)},
            {"updatedAt", IsoFromMs(at + static_cast<std::int64_t>(r % 1000) * 1000)},
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
        const std::int64_t span = 90 * tiledesk::kDayMs;
        const std::int64_t at = tiledesk::kSeedBaseMs + (requests > 0 ? span / requests * i : 0) +
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
        const auto* lead = tiledesk::Field(r.doc, "lead_uuid");
        sender = lead != nullptr ? std::string(lead->as_string()) : "system";
        sender_name = "Guest";
        const auto* full = tiledesk::Field(r.doc, "lead_fullname");
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
        {"createdAt", IsoFromMs(at_ms)},
        {"updatedAt", IsoFromMs(at_ms)},
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
    const std::string first_text(tiledesk::kTexts[x % tiledesk::kTexts.size()]);
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
        r.doc["assigned_at"] = IsoFromMs(created_ms + 5000);
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
        {"createdAt", IsoFromMs(created_ms)},
        {"updatedAt", IsoFromMs(created_ms)},
        {"__v", 0},
    };
    by_request_id_[r.request_id] = requests_.size();
    requests_.push_back(std::move(r));
    TiledeskRequest& req = requests_.back();

    std::int64_t at = created_ms;
    for (std::int64_t k = 0; k < messages; ++k) {
        std::string text =
            k == 0 ? first_text : std::string(tiledesk::kTexts[Next() % tiledesk::kTexts.size()]);
        AddMessage(req, at, std::move(text));
        if (k == 1 && req.doc.contains("assigned_at")) {
            req.doc["first_response_at"] = IsoFromMs(at);
            req.doc["waiting_time"] = at - created_ms;
        }
        at += live ? 1 : static_cast<std::int64_t>(30'000 + Next() % 570'000);
    }
    std::int64_t updated = messages > 0 ? at - (live ? 1 : 0) : created_ms;
    if (req.status == 1000) {
        updated += 60'000;
        req.doc["closed_at"] = IsoFromMs(updated);
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
    out["createdAt"] = IsoFromMs(r.created_ms);
    out["updatedAt"] = IsoFromMs(r.updated_ms);
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

}  // namespace chatsync::emulator
