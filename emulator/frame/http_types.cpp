#include "emulator/frame/http_types.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "core/text.hpp"
#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {

const std::string* Request::Param(std::string_view name) const {
    for (const auto& [key, value] : params) {
        if (key == name) {
            return &value;
        }
    }
    return nullptr;
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (IEquals(key, name)) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

std::string Request::Authority() const {
    const auto host = Header("Host");
    if (host && !host->empty()) {
        return std::string(*host);
    }
    return local;
}

bool SetTarget(Request& request, std::string_view target) {
    request.target = std::string(target);
    const auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        return false;
    }
    const boost::urls::url_view& url = *parsed;
    request.path = url.path();
    request.segments.clear();
    for (const auto& segment : url.segments()) {
        request.segments.push_back(segment);
    }
    request.query = std::string(url.encoded_query());
    request.params.clear();
    for (const auto& param : url.params()) {
        request.params.emplace_back(param.key, param.value);
    }
    return true;
}

Response JsonResponse(unsigned status, std::string body) {
    Response response;
    response.status = status;
    response.body = std::move(body);
    return response;
}

Response ErrorResponse(unsigned status, std::string_view message) {
    std::string body = "{\"error\":";
    AppendJsonString(body, message);
    body.push_back('}');
    return JsonResponse(status, std::move(body));
}

std::string SerializeHead(const Response& response, std::size_t content_length, bool keep_alive) {
    std::string head = "HTTP/1.1 ";
    head.append(std::to_string(response.status));
    head.push_back(' ');
    head.append(ReasonPhrase(response.status));
    head.append("\r\nServer: chatsync-emulator\r\n");
    if (!response.content_type.empty()) {
        head.append("Content-Type: ").append(response.content_type).append("\r\n");
    }
    head.append("Content-Length: ").append(std::to_string(content_length)).append("\r\n");
    head.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    for (const auto& [name, value] : response.headers) {
        head.append(name).append(": ").append(value).append("\r\n");
    }
    head.append("\r\n");
    return head;
}

Reply SerializeResponse(const Response& response, bool keep_alive) {
    Reply reply;
    reply.bytes = SerializeHead(response, response.body.size(), keep_alive);
    reply.bytes.append(response.body);
    reply.close = !keep_alive;
    return reply;
}

std::string_view ReasonPhrase(unsigned status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 413:
            return "Payload Too Large";
        case 422:
            return "Unprocessable Entity";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "Unknown";
    }
}

}  // namespace chatsync::emulator
