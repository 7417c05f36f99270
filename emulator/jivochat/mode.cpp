// JivoChat mode: construction, routing, the Chat API channel and its admin routes.
#include "emulator/jivochat/mode.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/jivochat/fields.hpp"

namespace chatsync::emulator {

namespace json = boost::json;

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
    // The channel URL is https://wh.jivosite.com/<random string>/<public id>; the first
    // segment is fixed per provider, so a literal here keeps the route from shadowing other
    // modes' paths.
    const std::string channel = "/" + options_.jivochat_key + "/{public_id}";
    router.Add("GET", channel + "/status", BindRoute(this, &JivoChatMode::Status));
    router.Add("POST", channel, BindRoute(this, &JivoChatMode::ClientEvent));

    router.Add("GET", "/_admin/jivochat/catalogue", BindRoute(this, &JivoChatMode::AdminCatalogue));
    router.Add("GET", "/_admin/jivochat/generated", BindRoute(this, &JivoChatMode::AdminGenerated));
    router.Add("POST", "/_admin/jivochat/jobs", BindRoute(this, &JivoChatMode::AdminStartJob));
    router.Add("GET", "/_admin/jivochat/jobs", BindRoute(this, &JivoChatMode::AdminJobs));
    router.Add(
        "POST", "/_admin/jivochat/jobs/clear", BindRoute(this, &JivoChatMode::AdminClearJobs)
    );
    router.Add("GET", "/_admin/jivochat/jobs/{id}", BindRoute(this, &JivoChatMode::AdminJob));
    router.Add(
        "POST", "/_admin/jivochat/jobs/{id}/cancel", BindRoute(this, &JivoChatMode::AdminCancelJob)
    );
    router.Add("GET", "/_admin/jivochat/channels", BindRoute(this, &JivoChatMode::AdminChannels));
    router.Add(
        "POST", "/_admin/jivochat/channels", BindRoute(this, &JivoChatMode::AdminPutChannel)
    );
    router.Add(
        "POST",
        "/_admin/jivochat/channels/{public_id}/status",
        BindRoute(this, &JivoChatMode::AdminChannelStatus)
    );
    router.Add(
        "DELETE",
        "/_admin/jivochat/channels/{public_id}",
        BindRoute(this, &JivoChatMode::AdminDeleteChannel)
    );
    router.Add(
        "GET",
        "/_admin/jivochat/channels/{public_id}/messages",
        BindRoute(this, &JivoChatMode::AdminChannelMessages)
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
        return jivochat::Text(404, "Channel not found");
    }
    // "the body is an integer": no JSON, no newline.
    return jivochat::Text(200, it->second.status == 1 ? "1" : "0");
}

Response JivoChatMode::ClientEvent(const Request& request, const PathParams& params) {
    const auto it = channels_.find(*params.Find("public_id"));
    if (it == channels_.end()) {
        return jivochat::Text(404, "Channel not found");
    }
    boost::system::error_code ec;
    const json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
        return jivochat::Text(400, "Invalid JSON");
    }
    std::vector<std::string>& messages = it->second.messages;
    if (messages.size() >= jivochat::kMaxChannelMessages) {
        messages.erase(messages.begin());
    }
    messages.push_back(request.body);
    ++client_events_;
    return jivochat::Text(200, "");
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
    return JsonAnswer(
        200, json::object{{"key", options_.jivochat_key}, {"channels", std::move(list)}}
    );
}

Response JivoChatMode::AdminPutChannel(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const std::string id = jivochat::StringField(body, "public_id", "");
    if (id.empty() || id.find('/') != std::string::npos) {
        throw HttpError(400, "public_id must be a non-empty path segment");
    }
    const int status = jivochat::ParseChannelStatus(jivochat::Field(body, "status"));
    const bool created = channels_.find(id) == channels_.end();
    channels_[id].status = status;
    json::object out = ChannelJson(id, &request);
    out["created"] = created;
    return JsonAnswer(created ? 201 : 200, out);
}

Response JivoChatMode::AdminChannelStatus(const Request& request, const PathParams& params) {
    const std::string& id = *params.Find("public_id");
    const auto it = channels_.find(id);
    if (it == channels_.end()) {
        throw HttpError(404, "no channel " + id);
    }
    const json::object body = BodyObject(request);
    const json::value* status = jivochat::Field(body, "status");
    if (status == nullptr) {
        throw HttpError(400, "status (0 or 1) is required");
    }
    it->second.status = jivochat::ParseChannelStatus(status);
    return JsonAnswer(200, ChannelJson(id, &request));
}

Response JivoChatMode::AdminDeleteChannel(const Request&, const PathParams& params) {
    const std::string& id = *params.Find("public_id");
    if (channels_.erase(id) == 0) {
        throw HttpError(404, "no channel " + id);
    }
    return JsonAnswer(200, json::object{{"deleted", id}});
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
    return JsonAnswer(200, json::object{{"public_id", id}, {"messages", std::move(bodies)}});
}

std::unique_ptr<Mode> CreateJivoChatMode(const ModeContext& context) {
    return std::make_unique<JivoChatMode>(context);
}

}  // namespace chatsync::emulator
