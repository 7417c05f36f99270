#include "emulator/jivochat/events.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {
namespace {

namespace json = boost::json;

/// Id-like members whose JSON type the doc's examples disagree on.
bool IsIdKey(std::string_view key) {
    static constexpr std::array<std::string_view, 9> kKeys{
        "id",
        "chat_id",
        "client_id",
        "agent_id",
        "number",
        "widget_id",
        "topic_id",
        "parent_id",
        "offline_message_id"};
    return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

void Flip(json::value& v) {
    if (v.is_array()) {
        for (auto& item : v.get_array()) {
            Flip(item);
        }
        return;
    }
    if (!v.is_object()) {
        return;
    }
    for (auto& member : v.get_object()) {
        json::value& value = member.value();
        if (!IsIdKey(member.key())) {
            Flip(value);
            continue;
        }
        if (value.is_int64()) {
            value = std::to_string(value.get_int64());
        } else if (value.is_string()) {
            const std::string_view s = value.get_string();
            std::int64_t n = 0;
            const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
            if (!s.empty() && s.size() < 19 && ec == std::errc{} && ptr == s.data() + s.size() &&
                s.front() != '-') {
                value = n;
            }
        } else {
            Flip(value);
        }
    }
}

}  // namespace

std::string_view JivoKindName(JivoKind kind) {
    switch (kind) {
        case JivoKind::kWebhook:
            return "webhook";
        case JivoKind::kCrm:
            return "crm";
        case JivoKind::kChatApi:
            return "chat_api";
        case JivoKind::kBot:
            return "bot";
    }
    return "webhook";
}

std::optional<JivoKind> ParseJivoKind(std::string_view name) {
    for (const JivoKind kind :
         {JivoKind::kWebhook, JivoKind::kCrm, JivoKind::kChatApi, JivoKind::kBot}) {
        if (JivoKindName(kind) == name) {
            return kind;
        }
    }
    return std::nullopt;
}

std::optional<std::string> FlipJivoIdTypes(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        return std::nullopt;
    }
    Flip(v);
    return ToJsonText(v);
}

}  // namespace chatsync::emulator
