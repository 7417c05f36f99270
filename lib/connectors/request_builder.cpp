#include "connectors/request_builder.hpp"

#include "connectors/template.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "http/url.hpp"

namespace chatsync::connectors {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

void AddAuth(
    const AuthSpec& auth,
    const boost::json::object& ctx,
    http::Request& req,
    Params& query,
    boost::json::object* body
) {
    switch (auth.kind) {
        case AuthKind::kNone:
            return;
        case AuthKind::kBearer:
            req.headers.emplace_back("Authorization", "Bearer " + Render(auth.token, ctx));
            return;
        case AuthKind::kBasic:
            req.headers.emplace_back(
                "Authorization",
                "Basic " +
                    Base64Encode(Render(auth.username, ctx) + ":" + Render(auth.password, ctx))
            );
            return;
        case AuthKind::kApiKey: {
            const auto value = Render(auth.key_value, ctx);
            switch (auth.placement) {
                case ApiKeyPlacement::kHeader:
                    req.headers.emplace_back(auth.key_name, value);
                    break;
                case ApiKeyPlacement::kQuery:
                    query.emplace_back(auth.key_name, value);
                    break;
                case ApiKeyPlacement::kBody:
                    if (body != nullptr) {
                        (*body)[auth.key_name] = value;
                    }
                    break;
                case ApiKeyPlacement::kPath:
                    break;
            }
            return;
        }
        case AuthKind::kLogin:
            req.headers.emplace_back(auth.header_name, Render(auth.header_value, ctx));
            return;
    }
}

bool HasQueryParam(std::string_view url, std::string_view name) {
    const auto q = url.find('?');
    if (q == std::string_view::npos) {
        return false;
    }
    for (const auto& part : Split(url.substr(q + 1), '&')) {
        if (std::string_view(part).substr(0, part.find('=')) == name) {
            return true;
        }
    }
    return false;
}

}  // namespace

boost::json::object PageContext(const PaginationSpec& pagination, const PagePosition& position) {
    boost::json::object page;
    page["number"] = position.number;
    page["offset"] = position.offset;
    page["limit"] = pagination.page_size;
    page["token"] = position.token;
    return page;
}

http::Request BuildRequest(
    const ConnectorSpec& connector,
    const RequestSpec& spec,
    const PaginationSpec& pagination,
    const PagePosition& position,
    const boost::json::object& context
) {
    http::Request req;
    req.method = spec.method;
    const bool follow_url = !position.url.empty();
    Params query;
    std::optional<boost::json::object> body;
    if (spec.body) {
        auto rendered = RenderJson(*spec.body, context);
        if (auto* obj = rendered.if_object()) {
            body = std::move(*obj);
        } else {
            // A non-object body is sent as it is; body injection needs an object.
            req.body = SerializeJson(rendered);
        }
    } else if (pagination.inject == Injection::kBody ||
               (connector.auth.kind == AuthKind::kApiKey &&
                connector.auth.placement == ApiKeyPlacement::kBody)) {
        body.emplace();
    }

    if (!follow_url) {
        for (const auto& [name, tmpl] : spec.query) {
            auto value = Render(tmpl, context);
            if (!value.empty()) {
                query.emplace_back(name, std::move(value));
            }
        }
        // Pagination parameters.
        Params page_params;
        switch (pagination.kind) {
            case PaginationKind::kPageNumber:
                page_params.emplace_back(pagination.page_param, std::to_string(position.number));
                if (pagination.send_page_size) {
                    page_params.emplace_back(
                        pagination.limit_param, std::to_string(pagination.page_size)
                    );
                }
                break;
            case PaginationKind::kOffset:
                page_params.emplace_back(pagination.offset_param, std::to_string(position.offset));
                page_params.emplace_back(
                    pagination.limit_param, std::to_string(pagination.page_size)
                );
                break;
            case PaginationKind::kCursor:
                if (!position.token.empty()) {
                    page_params.emplace_back(pagination.token_param, position.token);
                }
                break;
            default:
                break;
        }
        if (pagination.inject == Injection::kQuery) {
            query.insert(query.end(), page_params.begin(), page_params.end());
        } else if (pagination.inject == Injection::kBody && body) {
            for (const auto& [name, value] : page_params) {
                // Numbers stay numbers in a JSON body.
                if (name == pagination.token_param) {
                    (*body)[name] = value;
                } else {
                    (*body)[name] = std::stoll(value);
                }
            }
        }
    }

    for (const auto& [name, tmpl] : connector.headers) {
        req.headers.emplace_back(name, Render(tmpl, context));
    }
    for (const auto& [name, tmpl] : spec.headers) {
        req.headers.emplace_back(name, Render(tmpl, context));
    }
    AddAuth(connector.auth, context, req, query, body ? &*body : nullptr);

    if (follow_url) {
        // The next link carries the listing's parameters; only an API key in the query
        // has to be added again when the link lacks it.
        Params missing;
        for (auto& [name, value] : query) {
            if (!HasQueryParam(position.url, name)) {
                missing.emplace_back(std::move(name), std::move(value));
            }
        }
        req.url = http::AppendQuery(position.url, missing);
    } else {
        const auto base = Render(connector.base_url, context);
        req.url = http::AppendQuery(http::JoinPath(base, Render(spec.path, context)), query);
    }
    if (body) {
        // SerializeJson: a record's integer beyond 64 bits goes out as the number it came as.
        req.body = SerializeJson(*body);
    }
    if (!req.body.empty()) {
        req.headers.emplace_back("Content-Type", "application/json");
    }
    if (!http::FindHeader(req.headers, "Accept")) {
        req.headers.emplace_back("Accept", "application/json");
    }
    return req;
}

}  // namespace chatsync::connectors
