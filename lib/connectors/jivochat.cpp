// The JivoChat webhook strategy: Webhooks API, CRM webhooks and Chat API agent messages
// mapped to chats, messages, clients, agents, calls, offline_messages and crm_events.
//
// The tables and events the strategy knows are in jivochat_catalogue.cpp, and the readers
// that turn loosely typed fields into column text in jivochat_fields.cpp; this file maps
// each event to its rows.

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "connectors/detail/jivochat_catalogue.hpp"
#include "connectors/detail/jivochat_fields.hpp"
#include "connectors/webhook_strategy.hpp"
#include "core/json.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;
using detail::At;
using detail::Bool;
using detail::ChatStage;
using detail::Id;
using detail::Int;
using detail::JivoTables;
using detail::Json;
using detail::kRankClientCard;
using detail::kRankSideEvent;
using detail::kStageAccepted;
using detail::kStageFinished;
using detail::MetricEvent;
using detail::ScanString;
using detail::Str;
using detail::Text;
using detail::UnixTime;
using sink::EventRow;
using sink::EventTable;

/// Builds one EventRow.
class Row final {
public:
    explicit Row(std::string table) { row_.table = std::move(table); }

    Row& Set(std::string column, Text value) {
        row_.values.emplace_back(std::move(column), std::move(value));
        return *this;
    }

    EventRow Done() { return std::move(row_); }

private:
    EventRow row_;
};

/// Collects rows, each agent once per event (one statement may not touch a row twice).
class Rows final {
public:
    void Add(EventRow row) { rows_.push_back(std::move(row)); }

    void Agent(const json::value* agent, std::string_view id_key = "id") {
        if (agent == nullptr || !agent->is_object()) {
            return;
        }
        const auto id = Id(At(*agent, id_key));
        if (!id || !agents_.insert(*id).second) {
            return;
        }
        Add(Row("agents")
                .Set("agent_id", id)
                .Set("name", Str(At(*agent, "name")))
                .Set("email", Str(At(*agent, "email")))
                .Set("phone", Str(At(*agent, "phone")))
                .Done());
    }

    void AgentId(Text id) {
        if (!id || !agents_.insert(*id).second) {
            return;
        }
        Add(Row("agents").Set("agent_id", id).Done());
    }

    std::vector<EventRow> Take() { return std::move(rows_); }

private:
    std::vector<EventRow> rows_;
    std::set<std::string> agents_;
};

/// The visitor of a chat, call or offline message as a clients row, ranked by the event.
void VisitorClient(const json::value& e, int rank, Rows& rows) {
    const auto* visitor = At(e, "visitor");
    if (visitor == nullptr || !visitor->is_object()) {
        return;
    }
    const auto id = Id(At(*visitor, "number"));
    if (!id) {
        return;
    }
    rows.Add(Row("clients")
                 .Set("client_id", id)
                 .Set("rank", std::to_string(rank))
                 .Set("widget_id", Id(At(e, "widget_id")))
                 .Set("name", Str(At(*visitor, "name")))
                 .Set("email", Str(At(*visitor, "email")))
                 .Set("phone", Str(At(*visitor, "phone")))
                 .Set("description", Str(At(*visitor, "description")))
                 .Set("chats_count", Int(At(*visitor, "chats_count")))
                 .Set("social", Json(At(*visitor, "social")))
                 .Set("user_token", Str(At(e, "user_token")))
                 .Done());
}

void MapChat(
    const json::value& e,
    std::string_view name,
    const std::string& received_at,
    Rows& rows
) {
    const auto chat_id = Id(At(e, "chat_id"));
    if (!chat_id) {
        return;
    }
    const int stage = ChatStage(name);
    const auto client_id = Id(At(e, "visitor.number"));
    // Agents with their details first: a message names its agent by id only.
    rows.Agent(At(e, "agent"));
    rows.Agent(At(e, "assigned_agent"));
    if (const auto* agents = At(e, "agents"); agents != nullptr && agents->is_array()) {
        for (const auto& a : agents->get_array()) {
            rows.Agent(&a);
        }
    }
    Row chat("chats");
    chat.Set("chat_id", chat_id)
        .Set("widget_id", Id(At(e, "widget_id")))
        .Set("state", std::string(name.substr(5)))
        .Set("stage", std::to_string(stage))
        .Set("client_id", client_id)
        .Set("visitor_name", Str(At(e, "visitor.name")))
        .Set("visitor_email", Str(At(e, "visitor.email")))
        .Set("visitor_phone", Str(At(e, "visitor.phone")))
        .Set("user_token", Str(At(e, "user_token")))
        .Set("agent_id", Id(At(e, "agent.id")))
        .Set("agent_name", Str(At(e, "agent.name")))
        .Set("assigned_agent_id", Id(At(e, "assigned_agent.id")))
        .Set("department_id", Id(At(e, "department.id")))
        .Set("department_name", Str(At(e, "department.name")))
        .Set("topic_id", Id(At(e, "topic.topic_id")))
        .Set("topic_title", Str(At(e, "topic.title")))
        .Set("organization_id", Id(At(e, "organization.id")))
        .Set("organization_name", Str(At(e, "organization.name")))
        .Set("client_status", Str(At(e, "status.title")))
        .Set("page_url", Str(At(e, "page.url")))
        .Set("page_title", Str(At(e, "page.title")))
        .Set("country", Str(At(e, "session.geoip.country")))
        .Set("city", Str(At(e, "session.geoip.city")))
        .Set("ip_addr", Str(At(e, "session.ip_addr")))
        .Set("utm", Json(At(e, "session.utm_json")));
    // An empty tag list in chat_finished says nothing about the tags an earlier event named.
    if (const auto* tags = At(e, "tags");
        tags != nullptr && tags->is_array() && !tags->get_array().empty()) {
        chat.Set("tags", Json(tags));
    }
    if (stage == kStageAccepted) {
        chat.Set("accepted_received_at", received_at);
    }
    if (stage == kStageFinished) {
        chat.Set("finished_received_at", received_at)
            .Set("rate", Str(At(e, "chat.rate")))
            .Set("blacklisted", Bool(At(e, "chat.blacklisted")))
            .Set("invitation", Str(At(e, "chat.invitation")));
        const auto* messages = At(e, "chat.messages");
        if (messages != nullptr && messages->is_array()) {
            const auto& list = messages->get_array();
            Text first;
            Text last;
            for (std::size_t i = 0; i < list.size(); ++i) {
                const auto& m = list[i];
                const auto type = Str(At(m, "type"));
                Text direction;
                if (type == "visitor") {
                    direction = "inbound";
                } else if (type == "agent") {
                    direction = "outbound";
                }
                const auto sent_at = UnixTime(At(m, "timestamp"));
                if (sent_at && (!first || *sent_at < *first)) {
                    first = sent_at;
                }
                if (sent_at && (!last || *sent_at > *last)) {
                    last = sent_at;
                }
                const auto agent_id = Id(At(m, "agent_id"));
                rows.Add(Row("messages")
                             .Set("message_key", *chat_id + "/" + std::to_string(i))
                             .Set("chat_id", chat_id)
                             .Set("position", std::to_string(i))
                             .Set("client_id", client_id)
                             .Set("channel", "webhook")
                             .Set("direction", direction)
                             .Set("type", type)
                             .Set("agent_id", agent_id)
                             .Set("text", Str(At(m, "message")))
                             .Set("sent_at", sent_at)
                             .Done());
                rows.AgentId(agent_id);
            }
            chat.Set("message_count", std::to_string(list.size()))
                .Set("first_message_at", first)
                .Set("last_message_at", last);
        }
    }
    rows.Add(chat.Done());
    VisitorClient(e, stage, rows);
}

void MapCall(const json::value& e, const std::string& received_at, Rows& rows) {
    const auto chat_id = Id(At(e, "chat_id"));
    const auto status = Str(At(e, "call.status"));
    if (!chat_id || !status) {
        return;
    }
    rows.Add(Row("calls")
                 .Set("chat_id", chat_id)
                 .Set("status", status)
                 .Set("type", Str(At(e, "call.type")))
                 .Set("phone", Str(At(e, "call.phone")))
                 .Set("reason", Str(At(e, "call.reason")))
                 .Set("record_url", Str(At(e, "call.record_url")))
                 .Set("agent_id", Id(At(e, "agent.id")))
                 .Set("client_id", Id(At(e, "visitor.number")))
                 .Set("widget_id", Id(At(e, "widget_id")))
                 .Set("received_at", received_at)
                 .Done());
    rows.Agent(At(e, "agent"));
    VisitorClient(e, kRankSideEvent, rows);
}

void MapClientUpdated(const json::value& e, Rows& rows) {
    auto id = Id(At(e, "client_id"));
    if (!id) {
        id = Id(At(e, "visitor.number"));
    }
    if (!id) {
        return;
    }
    rows.Add(Row("clients")
                 .Set("client_id", id)
                 .Set("rank", std::to_string(kRankClientCard))
                 .Set("widget_id", Id(At(e, "widget_id")))
                 .Set("name", Str(At(e, "visitor.name")))
                 .Set("email", Str(At(e, "visitor.email")))
                 .Set("phone", Str(At(e, "visitor.phone")))
                 .Set("description", Str(At(e, "visitor.description")))
                 .Set("chats_count", Int(At(e, "visitor.chats_count")))
                 .Set("social", Json(At(e, "visitor.social")))
                 .Set("user_token", Str(At(e, "user_token")))
                 .Set("organization_id", Id(At(e, "organization.id")))
                 .Set("organization_name", Str(At(e, "organization.name")))
                 .Set("status_id", Id(At(e, "status.id")))
                 .Set("status_title", Str(At(e, "status.title")))
                 .Set("assigned_agent_id", Id(At(e, "assigned_agent.id")))
                 .Set("tags", Json(At(e, "tags")))
                 .Done());
    rows.Agent(At(e, "assigned_agent"));
}

void MapClientAttributes(const json::value& e, Rows& rows) {
    const auto id = Id(At(e, "client_id"));
    const auto* attributes = At(e, "attributes");
    if (!id || attributes == nullptr || attributes->is_null()) {
        return;
    }
    rows.Add(Row("clients")
                 .Set("client_id", id)
                 .Set("rank", std::to_string(kRankClientCard))
                 .Set("attributes", Json(attributes))
                 .Done());
}

void MapOffline(const json::value& e, const std::string& received_at, Rows& rows) {
    const auto id = Id(At(e, "offline_message_id"));
    if (!id) {
        return;
    }
    rows.Add(Row("offline_messages")
                 .Set("offline_message_id", id)
                 .Set("chat_id", Id(At(e, "chat_id")))
                 .Set("widget_id", Id(At(e, "widget_id")))
                 .Set("client_id", Id(At(e, "visitor.number")))
                 .Set("name", Str(At(e, "visitor.name")))
                 .Set("email", Str(At(e, "visitor.email")))
                 .Set("phone", Str(At(e, "visitor.phone")))
                 .Set("message", Str(At(e, "message")))
                 .Set("page_url", Str(At(e, "page.url")))
                 .Set("received_at", received_at)
                 .Done());
    VisitorClient(e, kRankSideEvent, rows);
}

/// The id of the thing a CRM event is about, by its category.
Text CrmEntity(const json::value& e, std::string_view type) {
    const auto first = [&e](std::initializer_list<std::string_view> paths) -> Text {
        for (const auto path : paths) {
            if (auto id = Id(At(e, path))) {
                return id;
            }
        }
        return std::nullopt;
    };
    if (type == "crm_pipeline") {
        return first({"pipeline_id"});
    }
    if (type == "crm_status") {
        return first({"status_id", "status.status_id", "new_status_id"});
    }
    if (type == "crm_client_tag") {
        return first({"tag_id", "tag.tag_id"});
    }
    if (type == "crm_deal") {
        return first({"deal_id"});
    }
    if (type == "crm_task") {
        return first({"task_id"});
    }
    if (type == "crm_organization") {
        return first({"organization_id"});
    }
    if (type == "crm_client") {
        return first({"client_id"});
    }
    return std::nullopt;
}

void MapCrm(
    const json::value& e,
    const std::string& type,
    const std::string& name,
    const std::string& event_key,
    const std::string& received_at,
    Rows& rows
) {
    Text client = Id(At(e, "client.client_id"));
    if (!client && type == "crm_client") {
        client = Id(At(e, "client_id"));
    }
    Text agent = Id(At(e, "agent.agent_id"));
    if (!agent) {
        agent = Id(At(e, "assigned_agent.assigned_agent_id"));
    }
    Text ts;
    for (const auto path : {"updated_ts", "created_ts", "closed_ts", "notify_ts"}) {
        ts = UnixTime(At(e, path));
        if (ts) {
            break;
        }
    }
    rows.Add(Row("crm_events")
                 .Set("event_key", event_key)
                 .Set("event_type", type)
                 .Set("event_name", name.empty() ? Text() : Text(name))
                 .Set("entity_id", CrmEntity(e, type))
                 .Set("client_id", client)
                 .Set("agent_id", agent)
                 .Set("title", Str(At(e, "title")))
                 .Set("event_ts", ts)
                 .Set("payload", SerializeJson(e))
                 .Set("received_at", received_at)
                 .Done());
}

/// A Chat API agent message: `sender` (the agent), `recipient` (the client) and `message`.
void MapChatApi(const json::value& e, const std::string& event_key, Rows& rows) {
    const auto* message = At(e, "message");
    if (message == nullptr || !message->is_object()) {
        return;
    }
    const auto id = Id(At(*message, "id"));
    const auto agent_id = Id(At(e, "sender.id"));
    rows.Add(Row("messages")
                 .Set("message_key", "chat_api/" + (id ? *id : event_key))
                 .Set("client_id", Id(At(e, "recipient.id")))
                 .Set("channel", "chat_api")
                 .Set("direction", "outbound")
                 .Set("type", Str(At(*message, "type")))
                 .Set("agent_id", agent_id)
                 .Set("text", Str(At(*message, "text")))
                 .Set("file", Str(At(*message, "file")))
                 .Set("file_name", Str(At(*message, "file_name")))
                 .Set("sent_at", UnixTime(At(*message, "timestamp")))
                 .Done());
    rows.Agent(At(e, "sender"));
}

class JivoChatStrategy final : public WebhookStrategy {
public:
    std::vector<EventTable> Tables() const override { return JivoTables(); }

    MappedEvent Map(
        WebhookChannel channel,
        std::string_view body,
        const std::string& event_key,
        const std::string& received_at
    ) const override {
        MappedEvent out;
        boost::system::error_code ec;
        const json::value e = ParseJson(body, ec, out.repairs);
        if (ec) {
            out.valid_json = false;
            out.event_name = ScanString(body, "event_name");
            out.event_type = ScanString(body, "event_type");
            out.metric_event = MetricEvent(out.event_name, out.event_type, channel);
            return out;
        }
        if (const auto name = Str(At(e, "event_name"))) {
            out.event_name = *name;
        }
        if (const auto type = Str(At(e, "event_type"))) {
            out.event_type = *type;
        }
        out.metric_event = MetricEvent(out.event_name, out.event_type, channel);
        if (!e.is_object()) {
            return out;
        }
        Rows rows;
        const auto& name = out.event_name;
        if (channel == WebhookChannel::kChatApi) {
            MapChatApi(e, event_key, rows);
        } else if (out.event_type.starts_with("crm_")) {
            MapCrm(e, out.event_type, name, event_key, received_at, rows);
        } else if (ChatStage(name) != 0) {
            MapChat(e, name, received_at, rows);
        } else if (name == "call_event") {
            MapCall(e, received_at, rows);
        } else if (name == "client_updated") {
            MapClientUpdated(e, rows);
        } else if (name == "client_attribute_updated") {
            MapClientAttributes(e, rows);
        } else if (name == "offline_message") {
            MapOffline(e, received_at, rows);
        }
        out.rows = rows.Take();
        return out;
    }
};

}  // namespace

std::string_view ChannelName(WebhookChannel channel) {
    return channel == WebhookChannel::kChatApi ? "chat_api" : "webhook";
}

std::unique_ptr<WebhookStrategy> MakeWebhookStrategy(std::string_view name) {
    if (name == "jivochat") {
        return std::make_unique<JivoChatStrategy>();
    }
    return nullptr;
}

}  // namespace chatsync::connectors
