#include "connectors/error_rules.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "connectors/template.hpp"
#include "core/json.hpp"

namespace chatsync::connectors {
namespace {

bool Matches(
    const ErrorRule& rule,
    const http::Response& response,
    const boost::json::value* body
) {
    if (!rule.status.empty() &&
        std::find(rule.status.begin(), rule.status.end(), response.status) == rule.status.end()) {
        return false;
    }
    if (!rule.body_contains.empty() &&
        response.body.find(rule.body_contains) == std::string::npos) {
        return false;
    }
    if (!rule.body_path.empty()) {
        if (body == nullptr) {
            return false;
        }
        const auto* v = FindPath(*body, rule.body_path);
        if (v == nullptr) {
            return false;
        }
        if (rule.body_equals && *v != *rule.body_equals) {
            return false;
        }
    }
    return true;
}

std::string DefaultMessage(const http::Response& response) {
    std::string msg = "HTTP " + std::to_string(response.status);
    // A short excerpt of the body names the problem in most APIs; bodies can be large.
    constexpr std::size_t kExcerpt = 200;
    if (!response.body.empty()) {
        msg += ": ";
        msg += response.body.substr(0, kExcerpt);
        if (response.body.size() > kExcerpt) {
            msg += "...";
        }
    }
    return msg;
}

}  // namespace

std::string_view ActionName(ErrorAction action) {
    switch (action) {
        case ErrorAction::kSuccess:
            return "success";
        case ErrorAction::kIgnore:
            return "ignore";
        case ErrorAction::kRetry:
            return "retry";
        case ErrorAction::kRateLimited:
            return "rate_limited";
        case ErrorAction::kAuthFailed:
            return "auth_failed";
        case ErrorAction::kFatal:
            return "fatal";
        case ErrorAction::kLatch:
            return "latch";
        case ErrorAction::kHold:
            return "hold";
    }
    return "fatal";
}

void BindSource(ConnectorSpec& spec, std::string_view source) {
    boost::json::object ctx;
    ctx["source"] = boost::json::object{{"name", source}};
    const auto bind = [&ctx](std::vector<ErrorRule>& rules) {
        for (auto& rule : rules) {
            rule.message = RenderOnly(rule.message, "source", ctx);
        }
    };
    bind(spec.error_rules);
    for (auto& resource : spec.resources) {
        bind(resource.error_rules);
    }
}

Verdict Classify(
    const std::vector<const ErrorRule*>& rules,
    const http::Response& response,
    const boost::json::value* body
) {
    for (const auto* rule : rules) {
        if (Matches(*rule, response, body)) {
            std::string message = DefaultMessage(response);
            if (!rule->message.empty()) {
                boost::json::object ctx;
                ctx["status"] = response.status;
                if (body != nullptr) {
                    ctx["body"] = *body;
                }
                message = Render(rule->message, ctx);
            }
            return {rule->action, std::move(message)};
        }
    }
    const auto status = response.status;
    if (status >= 200 && status < 300) {
        return {ErrorAction::kSuccess, {}};
    }
    if (status == 429 || (status == 503 && response.Header("Retry-After"))) {
        return {ErrorAction::kRateLimited, DefaultMessage(response)};
    }
    if (status == 408 || status == 500 || status == 502 || status == 503 || status == 504) {
        return {ErrorAction::kRetry, DefaultMessage(response)};
    }
    if (status == 401) {
        return {ErrorAction::kAuthFailed, DefaultMessage(response)};
    }
    return {ErrorAction::kFatal, DefaultMessage(response)};
}

}  // namespace chatsync::connectors
