// JivoChat mode: the catalogue, generated events and the emitter's jobs (/_admin/jivochat/).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/jivochat/fields.hpp"
#include "emulator/jivochat/mode.hpp"

namespace chatsync::emulator {

namespace json = boost::json;

// --- Admin ------------------------------------------------------------------------------------

Response JivoChatMode::AdminCatalogue(const Request& request, const PathParams&) {
    const bool bodies = jivochat::QueryFlag(request, "bodies", false);
    json::array events;
    for (const JivoEvent& e : JivoCatalogue()) {
        events.push_back(jivochat::EventJson(e, bodies));
    }
    json::object groups;
    for (const std::string_view group :
         {"catalogue", "webhooks", "crm", "chat_api", "bot", "doc", "invalid"}) {
        json::array ids;
        for (std::string& id : JivoCatalogueGroup(group)) {
            ids.emplace_back(std::move(id));
        }
        groups[group] = std::move(ids);
    }
    return JsonAnswer(
        200, json::object{{"events", std::move(events)}, {"groups", std::move(groups)}}
    );
}

Response JivoChatMode::AdminGenerated(const Request& request, const PathParams&) {
    const std::int64_t count = jivochat::QueryInt(request, "count", options_.jivochat_count);
    const std::int64_t seed =
        jivochat::QueryInt(request, "seed", static_cast<std::int64_t>(options_.jivochat_seed));
    if (count < 0 || count > jivochat::kMaxGenerated) {
        throw HttpError(400, "count must be between 0 and 1000000");
    }
    json::array events;
    for (const JivoEvent& e : GenerateJivoEvents(count, static_cast<std::uint64_t>(seed))) {
        events.push_back(jivochat::EventJson(e, jivochat::QueryFlag(request, "bodies", true)));
    }
    return JsonAnswer(200, json::object{{"events", std::move(events)}});
}

JivoJob& JivoChatMode::StartJob(const json::object& body) {
    if (stopping_) {
        throw HttpError(503, "the emulator is stopping");
    }
    JivoJobSpec spec;
    spec.url = jivochat::StringField(body, "url", options_.jivochat_url);
    spec.crm_url = jivochat::StringField(
        body, "crm_url", options_.jivochat_crm_url.empty() ? spec.url : options_.jivochat_crm_url
    );
    spec.chat_url = jivochat::StringField(body, "chat_url", options_.jivochat_chat_url);
    spec.bot_url = jivochat::StringField(body, "bot_url", options_.jivochat_bot_url);
    spec.rate = jivochat::NumberField(body, "rate", options_.jivochat_rate);
    if (!(spec.rate >= 0) || !std::isfinite(spec.rate)) {
        throw HttpError(400, "rate must be a non-negative number");
    }
    spec.concurrency = static_cast<std::size_t>(
        jivochat::IntField(body, "concurrency", options_.jivochat_concurrency, 1, 256)
    );
    spec.replay = jivochat::NumberField(body, "replay", options_.jivochat_replay);
    if (!(spec.replay >= 0 && spec.replay <= 1)) {
        throw HttpError(400, "replay must be between 0 and 1");
    }
    spec.shuffle = jivochat::BoolField(body, "shuffle", options_.jivochat_shuffle);
    spec.seed = static_cast<std::uint64_t>(jivochat::IntField(
        body,
        "seed",
        static_cast<std::int64_t>(options_.jivochat_seed),
        0,
        std::numeric_limits<std::int64_t>::max()
    ));
    spec.retries = jivochat::IntField(body, "retries", options_.jivochat_retries, 0, 10);
    spec.backoff = std::chrono::milliseconds(
        jivochat::IntField(body, "backoff_ms", options_.jivochat_backoff.count(), 0, 600'000)
    );
    spec.timeout = std::chrono::milliseconds(
        jivochat::IntField(body, "timeout_ms", options_.jivochat_timeout.count(), 1, 600'000)
    );
    const std::string ack = jivochat::StringField(body, "ack", "auto");
    if (ack == "auto") {
        spec.ack = JivoAck::kAuto;
    } else if (ack == "result_ok") {
        spec.ack = JivoAck::kResultOk;
    } else if (ack == "2xx") {
        spec.ack = JivoAck::k2xx;
    } else {
        throw HttpError(400, "ack must be auto, result_ok or 2xx");
    }
    spec.retry_4xx = jivochat::BoolField(body, "retry_4xx", false);
    const std::int64_t count =
        jivochat::IntField(body, "count", options_.jivochat_count, 0, jivochat::kMaxGenerated);

    json::array names;
    if (const json::value* events = jivochat::Field(body, "events"); events == nullptr) {
        names = {"webhooks", "crm"};
    } else if (events->is_string()) {
        names.push_back(*events);
    } else if (events->is_array()) {
        names = events->get_array();
    } else {
        throw HttpError(400, "events must be a name or an array of names and event objects");
    }
    std::vector<JivoEvent> events;
    std::set<std::string> ids;
    const auto add = [&events, &ids](const JivoEvent& e) {
        if (ids.insert(e.id).second) {
            events.push_back(e);
        }
    };
    for (const json::value& item : names) {
        if (item.is_object()) {
            // A test's own event: exact bytes ("body") or a JSON value to serialize ("json").
            const json::object& o = item.get_object();
            JivoEvent e;
            e.id = jivochat::StringField(o, "id", "");
            if (e.id.empty()) {
                throw HttpError(400, "an event object needs an id");
            }
            if (const json::value* raw = jivochat::Field(o, "json"); raw != nullptr) {
                e.body = ToJsonText(*raw);
            } else {
                e.body = jivochat::StringField(o, "body", "");
            }
            const auto kind = ParseJivoKind(jivochat::StringField(o, "kind", "webhook"));
            if (!kind) {
                throw HttpError(400, "kind must be webhook, crm, chat_api or bot");
            }
            e.kind = *kind;
            e.name = jivochat::StringField(o, "name", "");
            e.source = "custom";
            boost::system::error_code ec;
            (void)json::parse(e.body, ec);
            e.valid_json = !ec;
            if (!ids.insert(e.id).second) {
                throw HttpError(400, "duplicate event id " + e.id);
            }
            events.push_back(std::move(e));
            continue;
        }
        if (!item.is_string()) {
            throw HttpError(400, "events must be names or event objects");
        }
        const std::string name(item.get_string());
        if (name == "generated") {
            for (const JivoEvent& e : GenerateJivoEvents(count, spec.seed)) {
                add(e);
            }
        } else if (const auto group = JivoCatalogueGroup(name); !group.empty()) {
            for (const std::string& id : group) {
                add(*FindJivoCatalogueEvent(id));
            }
        } else if (const JivoEvent* e = FindJivoCatalogueEvent(name); e != nullptr) {
            add(*e);
        } else {
            throw HttpError(400, "unknown event " + name + " (see GET /_admin/jivochat/catalogue)");
        }
    }

    struct Target {
        JivoKind kind;
        const char* field;
        const std::string* url;
    };

    for (const Target& t :
         {Target{JivoKind::kWebhook, "url", &spec.url},
          Target{JivoKind::kCrm, "crm_url", &spec.crm_url},
          Target{JivoKind::kChatApi, "chat_url", &spec.chat_url},
          Target{JivoKind::kBot, "bot_url", &spec.bot_url}}) {
        const bool used = std::any_of(events.begin(), events.end(), [&t](const JivoEvent& e) {
            return e.kind == t.kind;
        });
        if (used && !jivochat::IsHttpUrl(*t.url)) {
            throw HttpError(
                400,
                std::string(t.field) + " (an http:// or https:// URL) is required for " +
                    std::string(JivoKindName(t.kind)) + " events"
            );
        }
    }
    const std::int64_t number = next_job_++;
    auto job = std::make_unique<JivoJob>(
        std::to_string(number), executor_, std::move(spec), std::move(events)
    );
    JivoJob& started = *job;
    jobs_.emplace(number, std::move(job));
    started.Start();
    return started;
}

Response JivoChatMode::AdminStartJob(const Request& request, const PathParams&) {
    const JivoJob& job = StartJob(BodyObject(request));
    const json::object status = job.Status(false, false);
    json::object out;
    out["id"] = job.Id();
    out["state"] = job.State();
    out["events"] = status.at("totals").at("events");
    out["deliveries"] = status.at("totals").at("deliveries");
    out["status_url"] = "/_admin/jivochat/jobs/" + job.Id();
    return JsonAnswer(201, out);
}

Response JivoChatMode::AdminJobs(const Request&, const PathParams&) {
    json::array list;
    for (const auto& [number, job] : jobs_) {
        json::object status = job->Status(false, false);
        list.push_back(json::object{
            {"id", job->Id()},
            {"state", job->State()},
            {"totals", status.at("totals")},
            {"started_at", status.at("started_at")},
            {"finished_at", status.at("finished_at")},
        });
    }
    return JsonAnswer(200, json::object{{"jobs", std::move(list)}});
}

Response JivoChatMode::AdminJob(const Request& request, const PathParams& params) {
    const std::string& id = *params.Find("id");
    for (const auto& [number, job] : jobs_) {
        if (job->Id() == id) {
            return JsonAnswer(
                200,
                job->Status(
                    jivochat::QueryFlag(request, "deliveries", true),
                    jivochat::QueryFlag(request, "bodies", false)
                )
            );
        }
    }
    throw HttpError(404, "no job " + id);
}

Response JivoChatMode::AdminCancelJob(const Request&, const PathParams& params) {
    const std::string& id = *params.Find("id");
    for (const auto& [number, job] : jobs_) {
        if (job->Id() == id) {
            job->Cancel();
            // Workers end on their next turn of the io_context; the state follows.
            return JsonAnswer(200, json::object{{"id", id}, {"state", job->State()}});
        }
    }
    throw HttpError(404, "no job " + id);
}

Response JivoChatMode::AdminClearJobs(const Request&, const PathParams&) {
    std::int64_t cleared = 0;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        if (it->second->Running()) {
            ++it;
        } else {
            it = jobs_.erase(it);
            ++cleared;
        }
    }
    return JsonAnswer(200, json::object{{"cleared", cleared}});
}

}  // namespace chatsync::emulator
