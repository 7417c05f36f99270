// The JivoChat catalogue: every example of the Jivo docs, as the docs print it, plus the
// documented type variants. The examples are data files (examples/, embedded at build time);
// this file names them and builds the catalogue from them.
#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "emulator/frame/json_writer.hpp"
#include "emulator/jivochat/events.hpp"
#include "emulator/jivochat/examples.hpp"

namespace chatsync::emulator {
namespace detail {

/// (file name, content) of every file in emulator/jivochat/examples/ (generated).
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedJivoExamples();

}  // namespace detail

namespace jivochat {

std::string_view Example(std::string_view file) {
    static const auto kFiles = detail::EmbeddedJivoExamples();
    for (const auto& [name, content] : kFiles) {
        if (name == file) {
            return content.ends_with('\n') ? content.substr(0, content.size() - 1) : content;
        }
    }
    throw std::logic_error("no JivoChat example file " + std::string(file));
}

}  // namespace jivochat

namespace {

namespace json = boost::json;

// --- Webhooks API examples (JR-WH https://www.jivo.ru/docs/webhooks/, whitespace compacted) ---
// The examples are in examples/<event>.json. The doc's examples that are not JSON are there
// byte for byte as examples/doc_<event>.txt: client_attribute_updated prints `attributes` as
// an array of key: value pairs with "...", and every CRM example wraps the object in an extra
// `{ }` (some also list alternative event names separated by "/"). A receiver gets exactly
// these bytes.

/// Shared parts of the examples, spliced in where an example says {{NAME}}.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kPieces{{
    {"{{TOPIC}}", "piece_topic.json"},
    {"{{PAGE}}", "piece_page.json"},
    {"{{SESSION}}", "piece_session.json"},
    {"{{CALL_VISITOR}}", "piece_call_visitor.json"},
    {"{{AGENT}}", "piece_agent.json"},
}};

// --- CRM Webhooks as single objects -----------------------------------------------------------
// The prose says the category travels in `event_type` and the action in `event_name`; the
// examples show neither the type nor a single object. examples/crm_*_fields.json hold the
// examples' fields as one object each; event_type and event_name come first.

struct CrmEvent {
    std::string_view id;          ///< Catalogue id after "crm.".
    std::string_view event_type;  ///< Category.
    std::string_view event_name;  ///< As sent.
    std::string_view fields;      ///< File of the rest of the object.
};

// Every event_name the CRM tables list, plus the doc's other spellings of three of them.
constexpr std::array<CrmEvent, 33> kCrmEvents{{
    {"created_pipeline", "crm_pipeline", "created_pipeline", "crm_pipeline_fields.json"},
    {"updated_pipeline", "crm_pipeline", "updated_pipeline", "crm_pipeline_fields.json"},
    {"deleted_pipeline", "crm_pipeline", "deleted_pipeline", "crm_pipeline_fields.json"},
    {"created_status", "crm_status", "created_status", "crm_status_fields.json"},
    {"updated_status", "crm_status", "updated_status", "crm_status_fields.json"},
    {"deleted_status", "crm_status", "deleted_status", "crm_status_fields.json"},
    {"reordered_status", "crm_status", "reordered_status", "crm_status_fields.json"},
    {"assigned_status", "crm_status", "assigned_status", "crm_assigned_status_fields.json"},
    {"changed_require_update_of_status",
     "crm_status",
     "changed_require_update_of_status",
     "crm_enabled_fields.json"},
    {"created_client_tag", "crm_client_tag", "created_client_tag", "crm_tag_fields.json"},
    // The doc's list spells it with a Cyrillic "с" (U+0441).
    {"created_client_tag.cyrillic",
     "crm_client_tag",
     "\xD1\x81reated_client_tag",
     "crm_tag_fields.json"},
    {"updated_client_tag", "crm_client_tag", "updated_client_tag", "crm_tag_fields.json"},
    {"deleted_client_tag", "crm_client_tag", "deleted_client_tag", "crm_tag_fields.json"},
    {"merged_client_tag", "crm_client_tag", "merged_client_tag", "crm_merged_tag_fields.json"},
    // The doc's example names it merged_tag.
    {"merged_tag", "crm_client_tag", "merged_tag", "crm_merged_tag_fields.json"},
    {"changed_administrator_only_client_tag",
     "crm_client_tag",
     "changed_administrator_only_client_tag",
     "crm_enabled_fields.json"},
    {"created_deal", "crm_deal", "created_deal", "crm_deal_fields.json"},
    {"updated_deal", "crm_deal", "updated_deal", "crm_deal_fields.json"},
    {"deleted_deal", "crm_deal", "deleted_deal", "crm_deal_fields.json"},
    {"created_task", "crm_task", "created_task", "crm_task_fields.json"},
    {"deleted_task", "crm_task", "deleted_task", "crm_task_fields.json"},
    {"updated_task", "crm_task", "updated_task", "crm_task_fields.json"},
    {"completed_task", "crm_task", "completed_task", "crm_task_fields.json"},
    // The doc's example lists it as "completed task".
    {"completed_task.space", "crm_task", "completed task", "crm_task_fields.json"},
    {"fired_task", "crm_task", "fired_task", "crm_task_fields.json"},
    {"created_organization",
     "crm_organization",
     "created_organization",
     "crm_organization_fields.json"},
    {"assigned_agent_to_client",
     "crm_client",
     "assigned_agent_to_client",
     "crm_client_fields.json"},
    {"created_client", "crm_client", "created_client", "crm_client_fields.json"},
    {"deleted_client", "crm_client", "deleted_client", "crm_client_fields.json"},
    {"updated_client", "crm_client", "updated_client", "crm_client_fields.json"},
    {"changed_client_company", "crm_client", "changed_client_company", "crm_client_fields.json"},
    {"changed_client_blacklist",
     "crm_client",
     "changed_client_blacklist",
     "crm_client_fields.json"},
    {"updated_client_contacts", "crm_client", "updated_client_contacts", "crm_client_fields.json"},
}};

struct DocCrmExample {
    std::string_view id;    ///< Catalogue id after "crm." (before ".doc").
    std::string_view name;  ///< The first event_name in the text.
    std::string_view file;  ///< The example, verbatim.
};

constexpr std::array<DocCrmExample, 10> kDocCrmExamples{{
    {"created_pipeline", "created_pipeline", "doc_created_pipeline.txt"},
    {"assigned_status", "assigned_status", "doc_assigned_status.txt"},
    {"status", "created_status", "doc_status.txt"},
    {"created_client_tag", "created_client_tag", "doc_created_client_tag.txt"},
    {"merged_tag", "merged_tag", "doc_merged_tag.txt"},
    {"changed_administrator_only_client_tag",
     "changed_administrator_only_client_tag",
     "doc_administrator_only_tag.txt"},
    {"deal", "created_deal", "doc_deal.txt"},
    {"task", "created_task", "doc_task.txt"},
    {"created_organization", "created_organization", "doc_created_organization.txt"},
    {"assigned_agent_to_client", "assigned_agent_to_client", "doc_assigned_agent_to_client.txt"},
}};

// --- Chat API and Bot API ---------------------------------------------------------------------
// examples/chat_api_*.json: agent -> provider events of a custom channel. The doc could not
// retrieve their body; these are the client -> Jivo envelope (`sender`, `message`) with
// `recipient` naming the client, as the public clients model it.
// examples/bot_client_message.json is EN-BOT, verbatim (whitespace compacted).

// --- Building the catalogue -------------------------------------------------------------------

std::string Expand(std::string_view file) {
    std::string out(jivochat::Example(file));
    for (const auto& [marker, piece_file] : kPieces) {
        const std::string_view piece = jivochat::Example(piece_file);
        for (auto at = out.find(marker); at != std::string::npos; at = out.find(marker, at)) {
            out.replace(at, marker.size(), piece);
            at += piece.size();
        }
    }
    return out;
}

/// The event_name (or Bot API `event`) of a JSON body, "" when there is none.
std::string NameOf(std::string_view body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        return {};
    }
    for (const std::string_view key : {"event_name", "event"}) {
        if (const auto* name = v.get_object().if_contains(key); name && name->is_string()) {
            return std::string(name->get_string());
        }
    }
    return {};
}

bool IsJson(std::string_view body) {
    boost::system::error_code ec;
    (void)json::parse(body, ec);
    return !ec;
}

std::vector<JivoEvent> BuildCatalogue() {
    std::vector<JivoEvent> out;
    const auto add =
        [&out](std::string id, JivoKind kind, std::string body, std::string source) -> JivoEvent& {
        JivoEvent e;
        e.id = std::move(id);
        e.kind = kind;
        e.valid_json = IsJson(body);
        e.name = NameOf(body);
        e.body = std::move(body);
        e.source = std::move(source);
        return out.emplace_back(std::move(e));
    };
    const auto webhook = [&add](std::string_view id, std::string_view file, const char* source) {
        add(std::string(id), JivoKind::kWebhook, Expand(file), source);
    };
    webhook("call_event", "call_event.json", "JR-WH");
    webhook("call_event.en", "call_event_en.json", "EN-WH");
    webhook("call_event.start", "call_event_start.json", "inferred");
    webhook("call_event.error", "call_event_error.json", "inferred");
    webhook("chat_accepted", "chat_accepted.json", "JR-WH");
    webhook("chat_accepted.user_token", "chat_accepted_user_token.json", "inferred");
    webhook("chat_updated", "chat_updated.json", "JR-WH");
    webhook("client_updated", "client_updated.json", "JR-WH");
    add("client_attribute_updated.doc",
        JivoKind::kWebhook,
        std::string(jivochat::Example("doc_client_attribute_updated.txt")),
        "JR-WH")
        .name = "client_attribute_updated";
    webhook("client_attribute_updated", "client_attribute_updated.json", "inferred");
    webhook("chat_finished", "chat_finished.json", "JR-WH");
    webhook("chat_finished.rated", "chat_finished_rated.json", "inferred");
    webhook("offline_message", "offline_message.json", "JR-WH");
    webhook("chat_assigned", "chat_assigned.json", "inferred");
    // The doc's id types disagree between examples and with its own tables; each documented
    // event also comes with every id in the other type, so both spellings reach a receiver.
    for (const std::string_view id :
         {"call_event",
          "chat_accepted",
          "chat_updated",
          "client_updated",
          "client_attribute_updated",
          "chat_finished",
          "offline_message"}) {
        const auto it =
            std::find_if(out.begin(), out.end(), [id](const JivoEvent& e) { return e.id == id; });
        if (it == out.end()) {
            throw std::logic_error("no JivoChat event " + std::string(id) + " to flip");
        }
        auto flipped = FlipJivoIdTypes(it->body);
        if (!flipped) {
            throw std::logic_error("JivoChat event " + std::string(id) + " has no ids to flip");
        }
        add(std::string(id) + ".flipped", JivoKind::kWebhook, std::move(*flipped), "inferred");
    }
    webhook("unknown.event_name", "unknown_event_name.json", "inferred");
    webhook("unknown.no_event_name", "no_event_name.json", "inferred");

    for (const CrmEvent& crm : kCrmEvents) {
        json::object object;
        object["event_type"] = crm.event_type;
        object["event_name"] = crm.event_name;
        const json::value fields = json::parse(jivochat::Example(crm.fields));
        for (const auto& member : fields.as_object()) {
            object[member.key()] = member.value();
        }
        add("crm." + std::string(crm.id), JivoKind::kCrm, ToJsonText(object), "inferred");
    }
    for (const DocCrmExample& doc : kDocCrmExamples) {
        // Not JSON, so the name is the first one the text shows.
        add("crm." + std::string(doc.id) + ".doc",
            JivoKind::kCrm,
            std::string(jivochat::Example(doc.file)),
            "JR-WH")
            .name = std::string(doc.name);
    }

    add("chat_api.text",
        JivoKind::kChatApi,
        std::string(jivochat::Example("chat_api_text.json")),
        "inferred");
    add("chat_api.photo",
        JivoKind::kChatApi,
        std::string(jivochat::Example("chat_api_photo.json")),
        "inferred");
    add("chat_api.document",
        JivoKind::kChatApi,
        std::string(jivochat::Example("chat_api_document.json")),
        "inferred");
    add("bot.CLIENT_MESSAGE",
        JivoKind::kBot,
        std::string(jivochat::Example("bot_client_message.json")),
        "EN-BOT");
    add("bot.AGENT_UNAVAILABLE",
        JivoKind::kBot,
        std::string(jivochat::Example("bot_agent_unavailable.json")),
        "inferred");
    add("bot.CHAT_CLOSED",
        JivoKind::kBot,
        std::string(jivochat::Example("bot_chat_closed.json")),
        "inferred");
    return out;
}

}  // namespace

std::optional<jivochat::CrmExample> jivochat::FindCrmExample(std::string_view id) {
    for (const CrmEvent& crm : kCrmEvents) {
        if (crm.id == id) {
            return CrmExample{crm.event_type, Example(crm.fields)};
        }
    }
    return std::nullopt;
}

const std::vector<JivoEvent>& JivoCatalogue() {
    static const std::vector<JivoEvent> kCatalogue = BuildCatalogue();
    return kCatalogue;
}

const JivoEvent* FindJivoCatalogueEvent(std::string_view id) {
    for (const JivoEvent& e : JivoCatalogue()) {
        if (e.id == id) {
            return &e;
        }
    }
    return nullptr;
}

std::vector<std::string> JivoCatalogueGroup(std::string_view group) {
    std::vector<std::string> ids;
    for (const JivoEvent& e : JivoCatalogue()) {
        bool in = false;
        if (group == "catalogue") {
            in = true;
        } else if (group == "webhooks") {
            in = e.kind == JivoKind::kWebhook;
        } else if (group == "crm" || group == "chat_api" || group == "bot") {
            in = JivoKindName(e.kind) == group;
        } else if (group == "doc") {
            in = e.source != "inferred";
        } else if (group == "invalid") {
            in = !e.valid_json;
        }
        if (in) {
            ids.push_back(e.id);
        }
    }
    return ids;
}

}  // namespace chatsync::emulator
