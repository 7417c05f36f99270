#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "emulator/frame/http_types.hpp"

/// @file
/// Method + path-pattern routing. Handlers are synchronous: all emulator state lives on the one
/// io_context thread, so a handler runs to completion without interleaving with another.

namespace chatsync::emulator {

/// Values of the "{name}" segments of the matched pattern.
class PathParams final {
public:
    void Set(std::string name, std::string value);
    /// The value of "{name}", or nullptr when the pattern has no such segment.
    const std::string* Find(std::string_view name) const;

private:
    std::vector<std::pair<std::string, std::string>> values_;
};

/// Thrown by a handler to answer a client error with `{"error": message}`. Handlers parse many
/// parameters; a throw keeps each check to one line, and Router::Dispatch is the one place that
/// turns it into a response, so nothing escapes the router.
class HttpError : public std::runtime_error {
public:
    HttpError(unsigned status, const std::string& message)
        : std::runtime_error(message)
        , status_(status) {}

    unsigned Status() const { return status_; }

private:
    unsigned status_;
};

using Handler = std::function<Response(const Request&, const PathParams&)>;

/// A Handler that calls `member` on `owner`: how a mode routes to its own methods. The owner
/// must outlive the router (a mode outlives the routes it adds).
template <class Owner>
Handler BindRoute(Owner* owner, Response (Owner::*member)(const Request&, const PathParams&)) {
    return [owner, member](const Request& request, const PathParams& params) {
        return (owner->*member)(request, params);
    };
}

/// A list of routes tried in the order they were added.
/// @par Thread Safety
/// Add routes before serving; Dispatch is then const and may be called from the serving thread.
class Router final {
public:
    /// `pattern` is an absolute path whose segments are literals or "{name}" (one non-empty
    /// segment). A route added later with the same method and pattern is never reached.
    void Add(std::string_view method, std::string_view pattern, Handler handler);

    /// Runs the first matching route; HEAD runs the GET route. 404 `{"error":"not found"}` when no
    /// pattern matches, 405 when only the method differs, 400 for HttpError(400), 500 for other
    /// exceptions.
    Response Dispatch(const Request& request) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;
        Handler handler;
    };

    static bool
    Match(const Route& route, const std::vector<std::string>& segments, PathParams& params);

    std::vector<Route> routes_;
};

}  // namespace chatsync::emulator
