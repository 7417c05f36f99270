#pragma once

#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "connectors/spec.hpp"
#include "http/message.hpp"

/// @file
/// Mapping responses to actions through the spec's error rules and the built-in defaults.

namespace chatsync::connectors {

struct Verdict {
    ErrorAction action = ErrorAction::kSuccess;
    /// The rendered rule message, or a default naming the status.
    std::string message;
};

/// Classifies a response: the first matching rule of `rules` wins (resource rules, then
/// source rules, as the caller orders them), then the defaults: 2xx success; 429 rate
/// limited; 503 rate limited when it carries Retry-After, else retry; 408, 500, 502, 504
/// retry; 401 auth failed; every other status fatal. `body` is the parsed JSON body or
/// nullptr when it is not JSON. A matching rule's message is rendered with `{{ status }}` and
/// `{{ body.<path> }}` (after BindSource has placed the source's name).
Verdict Classify(
    const std::vector<const ErrorRule*>& rules,
    const http::Response& response,
    const boost::json::value* body
);

/// Places the source's name in the message of every error rule of `spec`, the source's and
/// each resource's, wherever it says `{{ source.name }}`. The name is fixed for the source's
/// life, so this is done once, when the source is set up; the placeholders of the response
/// (`{{ status }}`, `{{ body.<path> }}`) are left for Classify.
void BindSource(ConnectorSpec& spec, std::string_view source);

/// The action's name as config and logs spell it ("rate_limited").
std::string_view ActionName(ErrorAction action);

}  // namespace chatsync::connectors
