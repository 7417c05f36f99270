#include "http/detail/request_builder.hpp"

#include <cstdint>
#include <string_view>
#include <utility>

#include "http/detail/header_rules.hpp"

namespace chatsync::http::detail {

namespace {

namespace bhttp = boost::beast::http;

std::string HostHeader(const UrlParts& parts) {
    const bool ipv6 = parts.host.find(':') != std::string::npos;
    std::string host = ipv6 ? "[" + parts.host + "]" : parts.host;
    const std::uint16_t default_port = parts.scheme == "https" ? 443 : 80;
    if (parts.port != default_port) {
        host += ":" + std::to_string(parts.port);
    }
    return host;
}

}  // namespace

Result<BeastRequest>
BuildRequest(Request& request, const UrlParts& parts, const std::string& user_agent) {
    BeastRequest req;
    const std::string_view method =
        request.method.empty() ? std::string_view("GET") : request.method;
    if (!IsToken(method)) {
        return make_error_code(boost::system::errc::invalid_argument);
    }
    const auto verb = bhttp::string_to_verb(method);
    if (verb == bhttp::verb::unknown) {
        req.method_string(method);
    } else {
        req.method(verb);
    }
    req.target(parts.target);
    req.version(11);
    for (const auto& [name, value] : request.headers) {
        if (!IsToken(name) || !IsSafeHeaderValue(value)) {
            return make_error_code(boost::system::errc::invalid_argument);
        }
        req.insert(name, value);
    }
    if (req.find(bhttp::field::host) == req.end()) {
        req.set(bhttp::field::host, HostHeader(parts));
    }
    if (req.find(bhttp::field::user_agent) == req.end() && !user_agent.empty()) {
        req.set(bhttp::field::user_agent, user_agent);
    }
    req.body() = std::move(request.body);
    // Sets Content-Length for a body (and for POST/PUT/PATCH without one, as servers expect).
    req.prepare_payload();
    return req;
}

}  // namespace chatsync::http::detail
