#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "connectors/webhook_strategy.hpp"
#include "sink/sink.hpp"

/// @file
/// What the JivoChat strategy knows about the platform: the tables its rows go to, the ranks
/// that order rows of the ranked tables, and the documented events. Internal to the strategy.

namespace chatsync::connectors::detail {

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

/// The tables: chats, messages, clients, agents, calls, offline_messages and crm_events, with
/// their columns, keys and merge policies.
std::vector<sink::EventTable> JivoTables();

/// The stage of a chat event by its name (kStageAccepted...kStageFinished), 0 for any other.
int ChatStage(std::string_view name);

/// The metric label of an event: "chat_api_message" for the Chat API, else the CRM type or
/// webhook event name when documented, else "other".
std::string MetricEvent(const std::string& name, const std::string& type, WebhookChannel channel);

}  // namespace chatsync::connectors::detail
