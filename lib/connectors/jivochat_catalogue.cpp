// The JivoChat catalogue: the tables the strategy writes, the chat stages and the documented
// webhook events and CRM types that metric labels may name.

#include "connectors/detail/jivochat_catalogue.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace chatsync::connectors::detail {
namespace {

using sink::EventColumn;
using sink::EventTable;
using sink::MergePolicy;

/// The Webhooks API events: a metric label names one of these or says "other".
constexpr std::array<std::string_view, 8> kWebhookEvents{
    "call_event",
    "chat_accepted",
    "chat_assigned",
    "chat_finished",
    "chat_updated",
    "client_attribute_updated",
    "client_updated",
    "offline_message"};

/// The CRM webhooks' event types, labelled by type.
constexpr std::array<std::string_view, 7> kCrmTypes{
    "crm_client",
    "crm_client_tag",
    "crm_deal",
    "crm_organization",
    "crm_pipeline",
    "crm_status",
    "crm_task"};

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

}  // namespace

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

}  // namespace chatsync::connectors::detail
