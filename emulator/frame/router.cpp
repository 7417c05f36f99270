#include "emulator/frame/router.hpp"

#include <exception>

#include "core/text.hpp"

namespace chatsync::emulator {

void PathParams::Set(std::string name, std::string value) {
    values_.emplace_back(std::move(name), std::move(value));
}

const std::string* PathParams::Find(std::string_view name) const {
    for (const auto& [key, value] : values_) {
        if (key == name) {
            return &value;
        }
    }
    return nullptr;
}

void Router::Add(std::string_view method, std::string_view pattern, Handler handler) {
    Route route;
    route.method = std::string(method);
    auto parts = Split(pattern, '/');
    // A leading '/' yields an empty first piece; request segments never include it.
    if (!parts.empty() && parts.front().empty()) {
        parts.erase(parts.begin());
    }
    route.segments = std::move(parts);
    route.handler = std::move(handler);
    routes_.push_back(std::move(route));
}

bool Router::Match(
    const Route& route,
    const std::vector<std::string>& segments,
    PathParams& params
) {
    if (route.segments.size() != segments.size()) {
        return false;
    }
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const std::string& want = route.segments[i];
        if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
            if (segments[i].empty()) {
                return false;
            }
            params.Set(want.substr(1, want.size() - 2), segments[i]);
        } else if (want != segments[i]) {
            return false;
        }
    }
    return true;
}

Response Router::Dispatch(const Request& request) const {
    bool path_matched = false;
    for (const auto& route : routes_) {
        PathParams params;
        if (!Match(route, request.segments, params)) {
            continue;
        }
        path_matched = true;
        const bool head_as_get = request.method == "HEAD" && route.method == "GET";
        if (route.method != request.method && !head_as_get) {
            continue;
        }
        try {
            return route.handler(request, params);
        } catch (const HttpError& e) {
            return ErrorResponse(e.Status(), e.what());
        } catch (const std::exception& e) {
            return ErrorResponse(500, e.what());
        }
    }
    if (path_matched) {
        return ErrorResponse(405, "method not allowed");
    }
    return ErrorResponse(404, "not found");
}

}  // namespace chatsync::emulator
