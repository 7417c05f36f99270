#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// @file
/// The events the JivoChat mode sends: a fixed catalogue (every example of the Jivo docs, as
/// the docs print it, plus the documented type variants; catalogue.cpp builds it from the data
/// files in examples/) and a seeded generator of realistic event streams (generator.cpp). Pure
/// data, no I/O. See /work/shared/apis/jivochat.md.

namespace chatsync::emulator {

/// Which Jivo API an event belongs to; it decides the target URL of a job.
enum class JivoKind {
    kWebhook,  ///< Webhooks API: POSTed to the channel's webhook URL.
    kCrm,      ///< CRM Webhooks: POSTed to the URL of "CRM settings -> CRM Webhooks".
    kChatApi,  ///< Chat API (custom channel): agent events POSTed to the provider's URL.
    kBot,      ///< Bot API: events POSTed to the bot provider's URL.
};

/// "webhook", "crm", "chat_api", "bot".
std::string_view JivoKindName(JivoKind kind);

/// Parses JivoKindName(); nullopt for anything else.
std::optional<JivoKind> ParseJivoKind(std::string_view name);

/// One event with its exact bytes on the wire.
struct JivoEvent {
    /// Unique within a job: the catalogue name, or "gen-<seed>-<n>" for generated events.
    std::string id;
    /// The event_name / event field as sent ("" when the body has none or is not JSON).
    std::string name;
    JivoKind kind = JivoKind::kWebhook;
    std::string body;        ///< Sent as is, byte for byte.
    bool valid_json = true;  ///< False for the doc examples that are not JSON.
    /// Where it comes from: "JR-WH" (jivo.ru webhooks doc, verbatim), "EN-WH", "EN-BOT",
    /// "inferred" (shape from the doc's tables/prose), "generated".
    std::string source;
};

/// Every catalogue event, in a stable order. Names:
/// - Webhooks API: `call_event`, `call_event.en`, `call_event.start`, `call_event.error`,
///   `chat_accepted`, `chat_accepted.user_token`, `chat_updated`, `client_updated`,
///   `client_attribute_updated.doc` (the doc's non-JSON example, verbatim),
///   `client_attribute_updated` (the inferred object form), `chat_finished`,
///   `chat_finished.rated`, `offline_message`, `chat_assigned` (legacy), and for each of the
///   seven documented events a `<name>.flipped` variant whose ids have the other JSON type
///   (strings where the example has numbers and vice versa); unknown events `unknown.event_name`
///   and `unknown.no_event_name`.
/// - CRM Webhooks: `crm.<event_name>` for every documented event_name (single objects with
///   `event_type`, as the prose describes), the doc's spellings `crm.merged_tag`,
///   `crm.created_client_tag.cyrillic`, `crm.completed_task.space`, and the doc's own examples,
///   wrapped in an extra `{ }` and so not JSON, verbatim as `crm.<example>.doc`.
/// - Chat API: `chat_api.text`, `chat_api.photo`, `chat_api.document` (inferred agent messages).
/// - Bot API: `bot.CLIENT_MESSAGE` (verbatim), `bot.AGENT_UNAVAILABLE`, `bot.CHAT_CLOSED`.
const std::vector<JivoEvent>& JivoCatalogue();

/// The catalogue event with this id, or nullptr.
const JivoEvent* FindJivoCatalogueEvent(std::string_view id);

/// Catalogue ids of a group: "catalogue" (everything), "webhooks", "crm", "chat_api", "bot",
/// "doc" (the verbatim doc examples only), "invalid" (the non-JSON ones). Empty for an unknown
/// group name.
std::vector<std::string> JivoCatalogueGroup(std::string_view group);

/// `count` events of many interleaved chats, the same for the same (count, seed): per chat
/// chat_accepted, sometimes chat_updated / chat_assigned / a call (call_event start + end),
/// then chat_finished with the transcript; between chats client_updated (+
/// client_attribute_updated), offline_message, CRM events and events with an unknown name.
/// Events of one chat keep their causal order. Ids are "gen-<seed>-<n>", n from 0; chat ids
/// are 1000000 * (1 + seed % 1000) + chat number, so different seeds rarely collide.
std::vector<JivoEvent> GenerateJivoEvents(std::int64_t count, std::uint64_t seed);

/// `body` with every id-like member flipped between a JSON number and a string of digits;
/// nullopt when `body` is not JSON. Used for the `.flipped` catalogue variants.
std::optional<std::string> FlipJivoIdTypes(std::string_view body);

}  // namespace chatsync::emulator
