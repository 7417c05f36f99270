// The JivoChat webhook strategy: Webhooks API, CRM webhooks and Chat API agent messages
// mapped to chats, messages, clients, agents, calls, offline_messages and crm_events.
//
// Jivo's own examples disagree on the JSON type of ids (agent.id is a string, assigned_agent.id
// a number, visitor.number both, client_id both), so every id is read as "string or number"
// and stored as text: one column type whatever the event sent.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "connectors/webhook_strategy.hpp"
#include "core/time.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;
using sink::EventColumn;
using sink::EventRow;
using sink::EventTable;
using sink::MergePolicy;
using Text = std::optional<std::string>;

/// Stages of a chat, the rank of its row: the final state does not depend on the order in
/// which the events arrive (a late chat_accepted never overwrites a finished chat).
constexpr int kStageAccepted = 1;
constexpr int kStageAssigned = 2;
constexpr int kStageUpdated = 3;
constexpr int kStageFinished = 4;
/// The client card (client_updated, client_attribute_updated) outranks the visitor data a
/// chat event carries; calls and offline messages only fill what no chat event said.
constexpr int kRankClientCard = 10;
constexpr int kRankSideEvent = 0;

constexpr std::array<std::string_view, 8> kWebhookEvents{
    "call_event",
    "chat_accepted",
    "chat_assigned",
    "chat_finished",
    "chat_updated",
    "client_attribute_updated",
    "client_updated",
    "offline_message"};

constexpr std::array<std::string_view, 7> kCrmTypes{
    "crm_client",
    "crm_client_tag",
    "crm_deal",
    "crm_organization",
    "crm_pipeline",
    "crm_status",
    "crm_task"};

const json::value* At(const json::value& v, std::string_view path) {
    const json::value* cur = &v;
    while (!path.empty()) {
        const auto dot = path.find('.');
        const auto key = path.substr(0, dot);
        const auto* o = cur->if_object();
        if (o == nullptr) {
            return nullptr;
        }
        cur = o->if_contains(key);
        if (cur == nullptr) {
            return nullptr;
        }
        path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    return cur;
}

/// An id sent as a string or a number, as text; nullopt for null, "", objects and arrays.
Text Id(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto* s = v->if_string()) {
        return s->empty() ? Text() : Text(std::string(*s));
    }
    if (const auto* i = v->if_int64()) {
        return std::to_string(*i);
    }
    if (const auto* u = v->if_uint64()) {
        return std::to_string(*u);
    }
    if (const auto* d = v->if_double()) {
        if (std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9.0e15) {
            return std::to_string(static_cast<std::int64_t>(*d));
        }
        return json::serialize(*v);
    }
    return std::nullopt;
}

/// A scalar as text (strings as they are, numbers and booleans written out).
Text Str(const json::value* v) {
    if (v == nullptr || v->is_null() || v->is_object() || v->is_array()) {
        return std::nullopt;
    }
    if (const auto* s = v->if_string()) {
        return std::string(*s);
    }
    if (const auto* b = v->if_bool()) {
        return *b ? "true" : "false";
    }
    return Id(v);
}

/// An integer sent as a number or a string of digits.
Text Int(const json::value* v) {
    auto text = Id(v);
    if (!text) {
        return std::nullopt;
    }
    const bool digits =
        !text->empty() &&
        std::all_of(text->begin() + (text->front() == '-' ? 1 : 0), text->end(), [](char c) {
            return c >= '0' && c <= '9';
        });
    return digits && text->size() <= 18 ? text : Text();
}

/// A boolean sent as true/false or 0/1.
Text Bool(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto* b = v->if_bool()) {
        return *b ? "true" : "false";
    }
    if (auto i = Int(v); i && (*i == "0" || *i == "1")) {
        return *i == "1" ? "true" : "false";
    }
    return std::nullopt;
}

/// An object or array as JSON text.
Text Json(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return std::nullopt;
    }
    return json::serialize(*v);
}

/// Unix seconds (number or digits) as an ISO-8601 UTC time.
Text UnixTime(const json::value* v) {
    const auto i = Int(v);
    if (!i) {
        return std::nullopt;
    }
    const auto seconds = std::stoll(*i);
    // Years 1970 to 9999: anything else is not a time the column should hold.
    if (seconds < 0 || seconds > 253402300799LL) {
        return std::nullopt;
    }
    return FormatIso8601(SysTime(std::chrono::seconds(seconds)));
}

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

EventTable Table(
    std::string name,
    std::vector<EventColumn> columns,
    std::vector<std::string> key,
    MergePolicy merge,
    std::string rank = {}
) {
    return EventTable{
        .name = std::move(name),
        .columns = std::move(columns),
        .key = std::move(key),
        .merge = merge,
        .rank_column = std::move(rank)};
}

std::vector<EventTable> JivoTables() {
    std::vector<EventTable> out;
    out.push_back(Table(
        "chats",
        {{"chat_id", "text"},
         {"widget_id", "text"},
         {"state", "text"},
         {"stage", "smallint"},
         {"client_id", "text"},
         {"visitor_name", "text"},
         {"visitor_email", "text"},
         {"visitor_phone", "text"},
         {"user_token", "text"},
         {"agent_id", "text"},
         {"agent_name", "text"},
         {"assigned_agent_id", "text"},
         {"department_id", "text"},
         {"department_name", "text"},
         {"topic_id", "text"},
         {"topic_title", "text"},
         {"organization_id", "text"},
         {"organization_name", "text"},
         {"client_status", "text"},
         {"tags", "jsonb"},
         {"page_url", "text"},
         {"page_title", "text"},
         {"country", "text"},
         {"city", "text"},
         {"ip_addr", "text"},
         {"utm", "jsonb"},
         {"rate", "text"},
         {"blacklisted", "boolean"},
         {"invitation", "text"},
         {"message_count", "integer"},
         {"first_message_at", "timestamptz"},
         {"last_message_at", "timestamptz"},
         {"accepted_received_at", "timestamptz"},
         {"finished_received_at", "timestamptz"}},
        {"chat_id"},
        MergePolicy::kRanked,
        "stage"
    ));
    out.push_back(Table(
        "messages",
        {{"message_key", "text"},
         {"chat_id", "text"},
         {"position", "integer"},
         {"client_id", "text"},
         {"channel", "text"},
         {"direction", "text"},
         {"type", "text"},
         {"agent_id", "text"},
         {"text", "text"},
         {"file", "text"},
         {"file_name", "text"},
         {"sent_at", "timestamptz"}},
        {"message_key"},
        MergePolicy::kCoalesce
    ));
    out.push_back(Table(
        "clients",
        {{"client_id", "text"},
         {"rank", "smallint"},
         {"widget_id", "text"},
         {"name", "text"},
         {"email", "text"},
         {"phone", "text"},
         {"description", "text"},
         {"chats_count", "integer"},
         {"social", "jsonb"},
         {"user_token", "text"},
         {"organization_id", "text"},
         {"organization_name", "text"},
         {"status_id", "text"},
         {"status_title", "text"},
         {"assigned_agent_id", "text"},
         {"tags", "jsonb"},
         {"attributes", "jsonb"}},
        {"client_id"},
        MergePolicy::kRanked,
        "rank"
    ));
    out.push_back(Table(
        "agents",
        {{"agent_id", "text"}, {"name", "text"}, {"email", "text"}, {"phone", "text"}},
        {"agent_id"},
        MergePolicy::kCoalesce
    ));
    out.push_back(Table(
        "calls",
        {{"chat_id", "text"},
         {"status", "text"},
         {"type", "text"},
         {"phone", "text"},
         {"reason", "text"},
         {"record_url", "text"},
         {"agent_id", "text"},
         {"client_id", "text"},
         {"widget_id", "text"},
         {"received_at", "timestamptz"}},
        {"chat_id", "status"},
        MergePolicy::kCoalesce
    ));
    out.push_back(Table(
        "offline_messages",
        {{"offline_message_id", "text"},
         {"chat_id", "text"},
         {"widget_id", "text"},
         {"client_id", "text"},
         {"name", "text"},
         {"email", "text"},
         {"phone", "text"},
         {"message", "text"},
         {"page_url", "text"},
         {"received_at", "timestamptz"}},
        {"offline_message_id"},
        MergePolicy::kKeepFirst
    ));
    out.push_back(Table(
        "crm_events",
        {{"event_key", "text"},
         {"event_type", "text"},
         {"event_name", "text"},
         {"entity_id", "text"},
         {"client_id", "text"},
         {"agent_id", "text"},
         {"title", "text"},
         {"event_ts", "timestamptz"},
         {"payload", "jsonb"},
         {"received_at", "timestamptz"}},
        {"event_key"},
        MergePolicy::kKeepFirst
    ));
    return out;
}

int ChatStage(std::string_view name) {
    if (name == "chat_accepted") {
        return kStageAccepted;
    }
    if (name == "chat_assigned") {
        return kStageAssigned;
    }
    if (name == "chat_updated") {
        return kStageUpdated;
    }
    if (name == "chat_finished") {
        return kStageFinished;
    }
    return 0;
}

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
        if ((ts = UnixTime(At(e, path)))) {
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
                 .Set("payload", json::serialize(e))
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

/// `"key": "value"` in a body that is not JSON (the doc's own examples are not), for the
/// event name column and the metric label.
std::string ScanString(std::string_view body, std::string_view key) {
    const std::string quoted = "\"" + std::string(key) + "\"";
    const auto at = body.find(quoted);
    if (at == std::string_view::npos) {
        return {};
    }
    auto pos = body.find_first_not_of(" \t\r\n", at + quoted.size());
    if (pos == std::string_view::npos || body[pos] != ':') {
        return {};
    }
    pos = body.find_first_not_of(" \t\r\n", pos + 1);
    if (pos == std::string_view::npos || body[pos] != '"') {
        return {};
    }
    const auto end = body.find('"', pos + 1);
    if (end == std::string_view::npos || end - pos - 1 > 64) {
        return {};
    }
    return std::string(body.substr(pos + 1, end - pos - 1));
}

std::string MetricEvent(const std::string& name, const std::string& type, WebhookChannel channel) {
    if (channel == WebhookChannel::kChatApi) {
        return "chat_api_message";
    }
    if (std::find(kCrmTypes.begin(), kCrmTypes.end(), type) != kCrmTypes.end()) {
        return type;
    }
    if (std::find(kWebhookEvents.begin(), kWebhookEvents.end(), name) != kWebhookEvents.end()) {
        return name;
    }
    return "other";
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
        const json::value e = json::parse(body, ec);
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
