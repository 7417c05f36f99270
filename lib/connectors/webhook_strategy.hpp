#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "sink/sink.hpp"

/// @file
/// Webhook strategies: how the events one platform pushes become rows. A strategy is pure
/// (no I/O): the webhook listener hands it each body, and stores the body and the rows it
/// returns in one transaction.

namespace chatsync::connectors {

/// What a strategy makes of one body.
struct MappedEvent {
    /// The event's name as sent ("" when the body names none), and a category when the
    /// platform has one (JivoChat's CRM webhooks: `event_type`).
    std::string event_name;
    std::string event_type;
    /// The name for metric labels: a documented event name or "other", so that bodies from
    /// the internet cannot grow the label set.
    std::string metric_event;
    bool valid_json = true;
    /// Rows for the strategy's tables; empty for malformed bodies and unknown events.
    std::vector<sink::EventRow> rows;
    /// What parsing changed so that the rows could be stored (NULs and lone surrogates
    /// replaced, big integers kept exactly); the body itself is stored as received.
    ParseRepairs repairs;
};

/// The URL a body came in through.
enum class WebhookChannel {
    /// The platform's webhooks (JivoChat: Webhooks API and CRM webhooks).
    kWebhook,
    /// JivoChat's Chat API: agent messages of a custom channel.
    kChatApi,
};

/// "webhook" or "chat_api": the value of chatsync.webhook_events.channel.
std::string_view ChannelName(WebhookChannel channel);

/// Maps one platform's events to rows.
///
/// @par Thread Safety
/// Map() is const and may be called from any thread.
class WebhookStrategy {
public:
    virtual ~WebhookStrategy() = default;

    /// The tables the rows go to, created in the source's schema when the source starts.
    virtual std::vector<sink::EventTable> Tables() const = 0;

    /// Maps a body. `event_key` is the body's storage key (rows that keep one event each,
    /// such as CRM events, are keyed by it); `received_at` is an ISO-8601 UTC time.
    virtual MappedEvent Map(
        WebhookChannel channel,
        std::string_view body,
        const std::string& event_key,
        const std::string& received_at
    ) const = 0;
};

/// The strategy of this name ("jivochat"), or nullptr.
std::unique_ptr<WebhookStrategy> MakeWebhookStrategy(std::string_view name);

}  // namespace chatsync::connectors
