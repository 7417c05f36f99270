#include "emulator/jivochat/mode.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxChannelMessages = 1000;
constexpr std::int64_t kMaxGenerated = 1'000'000;

Response Json(unsigned status, const json::value& v) {
    return JsonResponse(status, ToJsonText(v));
}

/// Jivo's Chat API answers errors as text/plain with a description (EN-CHAT).
Response Text(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
}

json::object BodyObject(const Request& request) {
    if (Trim(request.body).empty()) {
        return {};
    }
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
        throw HttpError(400, "body must be a JSON object");
    }
    return std::move(body.get_object());
}

const json::value* Field(const json::object& body, std::string_view name) {
    const json::value* v = body.if_contains(name);
    return v == nullptr || v->is_null() ? nullptr : v;
}

std::string StringField(const json::object& body, std::string_view name, std::string fallback) {
    const json::value* v = Field(body, name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_string()) {
        throw HttpError(400, std::string(name) + " must be a string");
    }
    return std::string(v->get_string());
}

double NumberField(const json::object& body, std::string_view name, double fallback) {
    const json::value* v = Field(body, name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_number()) {
        throw HttpError(400, std::string(name) + " must be a number");
    }
    return v->to_number<double>();
}

std::int64_t IntField(
    const json::object& body,
    std::string_view name,
    std::int64_t fallback,
    std::int64_t min,
    std::int64_t max
) {
    const json::value* v = Field(body, name);
    std::int64_t n = fallback;
    if (v != nullptr) {
        boost::system::error_code ec;
        n = v->to_number<std::int64_t>(ec);
        if (ec) {
            throw HttpError(400, std::string(name) + " must be an integer");
        }
    }
    if (n < min || n > max) {
        throw HttpError(
            400,
            std::string(name) + " must be between " + std::to_string(min) + " and " +
                std::to_string(max)
        );
    }
    return n;
}

bool BoolField(const json::object& body, std::string_view name, bool fallback) {
    const json::value* v = Field(body, name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_bool()) {
        throw HttpError(400, std::string(name) + " must be a boolean");
    }
    return v->get_bool();
}

/// A query flag: absent -> fallback; "0"/"false"/"no" -> false; anything else -> true.
bool QueryFlag(const Request& request, std::string_view name, bool fallback) {
    const std::string* v = request.Param(name);
    if (v == nullptr) {
        return fallback;
    }
    const std::string lower = ToLower(*v);
    return !(lower == "0" || lower == "false" || lower == "no");
}

std::int64_t QueryInt(const Request& request, std::string_view name, std::int64_t fallback) {
    const std::string* v = request.Param(name);
    if (v == nullptr) {
        return fallback;
    }
    try {
        std::size_t used = 0;
        const std::int64_t n = std::stoll(*v, &used);
        if (used == v->size()) {
            return n;
        }
    } catch (const std::exception&) {
        // Reported below.
    }
    throw HttpError(400, std::string(name) + " must be an integer");
}

bool IsHttpUrl(std::string_view url) {
    return url.starts_with("http://") || url.starts_with("https://");
}

int ParseChannelStatus(const json::value* v) {
    if (v == nullptr) {
        return 1;
    }
    if (v->is_bool()) {
        return v->get_bool() ? 1 : 0;
    }
    if (v->is_int64() && (v->get_int64() == 0 || v->get_int64() == 1)) {
        return static_cast<int>(v->get_int64());
    }
    if (v->is_uint64() && v->get_uint64() <= 1) {
        return static_cast<int>(v->get_uint64());
    }
    throw HttpError(400, "status must be 0 or 1");
}

json::object EventJson(const JivoEvent& e, bool body) {
    json::object out;
    out["id"] = e.id;
    out["name"] = e.name;
    out["kind"] = JivoKindName(e.kind);
    out["valid_json"] = e.valid_json;
    out["source"] = e.source;
    if (body) {
        out["body"] = e.body;
    }
    return out;
}

}  // namespace

JivoChatMode::JivoChatMode(const ModeContext& context)
    : executor_(context.executor)
    , options_(context.options) {
    for (const std::string& text : options_.jivochat_channels) {
        const auto eq = text.find('=');
        const std::string id = text.substr(0, eq);
        const std::string status = eq == std::string::npos ? "1" : text.substr(eq + 1);
        if (id.empty() || id.find('/') != std::string::npos || (status != "0" && status != "1")) {
            throw std::invalid_argument(
                "--jivochat-channel: expected PUBLIC_ID or PUBLIC_ID=0|1, got " + text
            );
        }
        channels_[id].status = status == "1" ? 1 : 0;
    }
    if (options_.jivochat_channels.empty()) {
        channels_["EmuChan001"].status = 1;
    }
    if (!options_.jivochat_send.empty()) {
        json::array events;
        for (const std::string& name : Split(options_.jivochat_send, ',')) {
            if (!Trim(name).empty()) {
                events.emplace_back(Trim(name));
            }
        }
        try {
            StartJob(json::object{{"events", std::move(events)}});
        } catch (const HttpError& e) {
            throw std::invalid_argument(std::string("--jivochat-send: ") + e.what());
        }
    }
}

JivoChatMode::~JivoChatMode() = default;

void JivoChatMode::AddRoutes(Router& router) {
    using Member = Response (JivoChatMode::*)(const Request&, const PathParams&);
    const auto bind = [this](Member member) -> Handler {
        return [this, member](const Request& request, const PathParams& params) {
            return (this->*member)(request, params);
        };
    };
    // The channel URL is https://wh.jivosite.com/<random string>/<public id>; the first
    // segment is fixed per provider, so a literal here keeps the route from shadowing other
    // modes' paths.
    const std::string channel = "/" + options_.jivochat_key + "/{public_id}";
    router.Add("GET", channel + "/status", bind(&JivoChatMode::Status));
    router.Add("POST", channel, bind(&JivoChatMode::ClientEvent));

    router.Add("GET", "/_admin/jivochat/catalogue", bind(&JivoChatMode::AdminCatalogue));
    router.Add("GET", "/_admin/jivochat/generated", bind(&JivoChatMode::AdminGenerated));
    router.Add("POST", "/_admin/jivochat/jobs", bind(&JivoChatMode::AdminStartJob));
    router.Add("GET", "/_admin/jivochat/jobs", bind(&JivoChatMode::AdminJobs));
    router.Add("POST", "/_admin/jivochat/jobs/clear", bind(&JivoChatMode::AdminClearJobs));
    router.Add("GET", "/_admin/jivochat/jobs/{id}", bind(&JivoChatMode::AdminJob));
    router.Add("POST", "/_admin/jivochat/jobs/{id}/cancel", bind(&JivoChatMode::AdminCancelJob));
    router.Add("GET", "/_admin/jivochat/channels", bind(&JivoChatMode::AdminChannels));
    router.Add("POST", "/_admin/jivochat/channels", bind(&JivoChatMode::AdminPutChannel));
    router.Add(
        "POST",
        "/_admin/jivochat/channels/{public_id}/status",
        bind(&JivoChatMode::AdminChannelStatus)
    );
    router.Add(
        "DELETE", "/_admin/jivochat/channels/{public_id}", bind(&JivoChatMode::AdminDeleteChannel)
    );
    router.Add(
        "GET",
        "/_admin/jivochat/channels/{public_id}/messages",
        bind(&JivoChatMode::AdminChannelMessages)
    );
}

void JivoChatMode::AddStats(json::object& stats) const {
    std::int64_t running = 0;
    std::int64_t acknowledged = 0;
    for (const auto& [id, job] : jobs_) {
        running += job->Running() ? 1 : 0;
        acknowledged += job->Acknowledged();
    }
    stats["jivochat"] = json::object{
        {"channels", static_cast<std::int64_t>(channels_.size())},
        {"client_events", client_events_},
        {"jobs", static_cast<std::int64_t>(jobs_.size())},
        {"jobs_running", running},
        {"acknowledged", acknowledged},
    };
}

void JivoChatMode::Stop() {
    stopping_ = true;
    for (const auto& [id, job] : jobs_) {
        job->Cancel();
    }
}

// --- The Chat API channel ---------------------------------------------------------------------

Response JivoChatMode::Status(const Request&, const PathParams& params) {
    const auto it = channels_.find(*params.Find("public_id"));
    if (it == channels_.end()) {
        return Text(404, "Channel not found");
    }
    // "the body is an integer": no JSON, no newline.
    return Text(200, it->second.status == 1 ? "1" : "0");
}

Response JivoChatMode::ClientEvent(const Request& request, const PathParams& params) {
    const auto it = channels_.find(*params.Find("public_id"));
    if (it == channels_.end()) {
        return Text(404, "Channel not found");
    }
    boost::system::error_code ec;
    const json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
        return Text(400, "Invalid JSON");
    }
    std::vector<std::string>& messages = it->second.messages;
    if (messages.size() >= kMaxChannelMessages) {
        messages.erase(messages.begin());
    }
    messages.push_back(request.body);
    ++client_events_;
    return Text(200, "");
}

// --- Admin ------------------------------------------------------------------------------------

Response JivoChatMode::AdminCatalogue(const Request& request, const PathParams&) {
    const bool bodies = QueryFlag(request, "bodies", false);
    json::array events;
    for (const JivoEvent& e : JivoCatalogue()) {
        events.push_back(EventJson(e, bodies));
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
    return Json(200, json::object{{"events", std::move(events)}, {"groups", std::move(groups)}});
}

Response JivoChatMode::AdminGenerated(const Request& request, const PathParams&) {
    const std::int64_t count = QueryInt(request, "count", options_.jivochat_count);
    const std::int64_t seed =
        QueryInt(request, "seed", static_cast<std::int64_t>(options_.jivochat_seed));
    if (count < 0 || count > kMaxGenerated) {
        throw HttpError(400, "count must be between 0 and 1000000");
    }
    json::array events;
    for (const JivoEvent& e : GenerateJivoEvents(count, static_cast<std::uint64_t>(seed))) {
        events.push_back(EventJson(e, QueryFlag(request, "bodies", true)));
    }
    return Json(200, json::object{{"events", std::move(events)}});
}

JivoJob& JivoChatMode::StartJob(const json::object& body) {
    if (stopping_) {
        throw HttpError(503, "the emulator is stopping");
    }
    JivoJobSpec spec;
    spec.url = StringField(body, "url", options_.jivochat_url);
    spec.crm_url = StringField(
        body, "crm_url", options_.jivochat_crm_url.empty() ? spec.url : options_.jivochat_crm_url
    );
    spec.chat_url = StringField(body, "chat_url", options_.jivochat_chat_url);
    spec.bot_url = StringField(body, "bot_url", options_.jivochat_bot_url);
    spec.rate = NumberField(body, "rate", options_.jivochat_rate);
    if (!(spec.rate >= 0) || !std::isfinite(spec.rate)) {
        throw HttpError(400, "rate must be a non-negative number");
    }
    spec.concurrency = static_cast<std::size_t>(
        IntField(body, "concurrency", options_.jivochat_concurrency, 1, 256)
    );
    spec.replay = NumberField(body, "replay", options_.jivochat_replay);
    if (!(spec.replay >= 0 && spec.replay <= 1)) {
        throw HttpError(400, "replay must be between 0 and 1");
    }
    spec.shuffle = BoolField(body, "shuffle", options_.jivochat_shuffle);
    spec.seed = static_cast<std::uint64_t>(IntField(
        body,
        "seed",
        static_cast<std::int64_t>(options_.jivochat_seed),
        0,
        std::numeric_limits<std::int64_t>::max()
    ));
    spec.retries = IntField(body, "retries", options_.jivochat_retries, 0, 10);
    spec.backoff = std::chrono::milliseconds(
        IntField(body, "backoff_ms", options_.jivochat_backoff.count(), 0, 600'000)
    );
    spec.timeout = std::chrono::milliseconds(
        IntField(body, "timeout_ms", options_.jivochat_timeout.count(), 1, 600'000)
    );
    const std::string ack = StringField(body, "ack", "auto");
    if (ack == "auto") {
        spec.ack = JivoAck::kAuto;
    } else if (ack == "result_ok") {
        spec.ack = JivoAck::kResultOk;
    } else if (ack == "2xx") {
        spec.ack = JivoAck::k2xx;
    } else {
        throw HttpError(400, "ack must be auto, result_ok or 2xx");
    }
    spec.retry_4xx = BoolField(body, "retry_4xx", false);
    const std::int64_t count = IntField(body, "count", options_.jivochat_count, 0, kMaxGenerated);

    json::array names;
    if (const json::value* events = Field(body, "events"); events == nullptr) {
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
            e.id = StringField(o, "id", "");
            if (e.id.empty()) {
                throw HttpError(400, "an event object needs an id");
            }
            if (const json::value* raw = Field(o, "json"); raw != nullptr) {
                e.body = ToJsonText(*raw);
            } else {
                e.body = StringField(o, "body", "");
            }
            const auto kind = ParseJivoKind(StringField(o, "kind", "webhook"));
            if (!kind) {
                throw HttpError(400, "kind must be webhook, crm, chat_api or bot");
            }
            e.kind = *kind;
            e.name = StringField(o, "name", "");
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
        if (used && !IsHttpUrl(*t.url)) {
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
    return Json(201, out);
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
    return Json(200, json::object{{"jobs", std::move(list)}});
}

Response JivoChatMode::AdminJob(const Request& request, const PathParams& params) {
    const std::string& id = *params.Find("id");
    for (const auto& [number, job] : jobs_) {
        if (job->Id() == id) {
            return Json(
                200,
                job->Status(
                    QueryFlag(request, "deliveries", true), QueryFlag(request, "bodies", false)
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
            return Json(200, json::object{{"id", id}, {"state", job->State()}});
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
    return Json(200, json::object{{"cleared", cleared}});
}

json::object JivoChatMode::ChannelJson(const std::string& public_id, const Request* request) const {
    const Channel& c = channels_.at(public_id);
    json::object out;
    out["public_id"] = public_id;
    out["status"] = c.status;
    out["path"] = "/" + options_.jivochat_key + "/" + public_id;
    if (request != nullptr) {
        const std::string url =
            "http://" + request->Authority() + "/" + options_.jivochat_key + "/" + public_id;
        out["url"] = url;
        out["status_url"] = url + "/status";
    }
    out["messages"] = static_cast<std::int64_t>(c.messages.size());
    return out;
}

Response JivoChatMode::AdminChannels(const Request& request, const PathParams&) {
    json::array list;
    for (const auto& [id, channel] : channels_) {
        list.push_back(ChannelJson(id, &request));
    }
    return Json(200, json::object{{"key", options_.jivochat_key}, {"channels", std::move(list)}});
}

Response JivoChatMode::AdminPutChannel(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const std::string id = StringField(body, "public_id", "");
    if (id.empty() || id.find('/') != std::string::npos) {
        throw HttpError(400, "public_id must be a non-empty path segment");
    }
    const int status = ParseChannelStatus(Field(body, "status"));
    const bool created = channels_.find(id) == channels_.end();
    channels_[id].status = status;
    json::object out = ChannelJson(id, &request);
    out["created"] = created;
    return Json(created ? 201 : 200, out);
}

Response JivoChatMode::AdminChannelStatus(const Request& request, const PathParams& params) {
    const std::string& id = *params.Find("public_id");
    const auto it = channels_.find(id);
    if (it == channels_.end()) {
        throw HttpError(404, "no channel " + id);
    }
    const json::object body = BodyObject(request);
    const json::value* status = Field(body, "status");
    if (status == nullptr) {
        throw HttpError(400, "status (0 or 1) is required");
    }
    it->second.status = ParseChannelStatus(status);
    return Json(200, ChannelJson(id, &request));
}

Response JivoChatMode::AdminDeleteChannel(const Request&, const PathParams& params) {
    const std::string& id = *params.Find("public_id");
    if (channels_.erase(id) == 0) {
        throw HttpError(404, "no channel " + id);
    }
    return Json(200, json::object{{"deleted", id}});
}

Response JivoChatMode::AdminChannelMessages(const Request&, const PathParams& params) {
    const std::string& id = *params.Find("public_id");
    const auto it = channels_.find(id);
    if (it == channels_.end()) {
        throw HttpError(404, "no channel " + id);
    }
    json::array bodies;
    for (const std::string& body : it->second.messages) {
        bodies.emplace_back(body);
    }
    return Json(200, json::object{{"public_id", id}, {"messages", std::move(bodies)}});
}

std::unique_ptr<Mode> CreateJivoChatMode(const ModeContext& context) {
    return std::make_unique<JivoChatMode>(context);
}

}  // namespace chatsync::emulator
