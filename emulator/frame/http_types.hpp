#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// @file
/// Transport-independent request and response types shared by the server, the router and the
/// modes. Nothing here names Beast, so most of the emulator compiles without it.

namespace chatsync::emulator {

/// One HTTP request as received. Header names keep their spelling; lookups ignore case.
struct Request {
    std::string method;                                        ///< As sent: "GET", "POST".
    std::string target;                                        ///< Raw request target.
    std::string path;                                          ///< Percent-decoded path.
    std::vector<std::string> segments;                         ///< Decoded path segments.
    std::string query;                                         ///< Raw query, without '?'.
    std::vector<std::pair<std::string, std::string>> params;   ///< Decoded query parameters.
    std::vector<std::pair<std::string, std::string>> headers;  ///< In arrival order.
    std::string body;
    std::string remote;  ///< Peer IP address.
    std::string local;   ///< "host:port" the connection was accepted on.
    bool keep_alive = true;
    /// When the request headers were fully read.
    std::chrono::system_clock::time_point received_at{};

    /// The first query parameter with this name, or nullptr.
    const std::string* Param(std::string_view name) const;
    /// The first header with this name (case-insensitive).
    std::optional<std::string_view> Header(std::string_view name) const;
    /// The Host header, or `local` when the client sent none; used to build absolute URLs.
    std::string Authority() const;
};

/// Fills path, segments, query and params from an origin-form target ("/a/b?x=1"). Returns
/// false when the target cannot be parsed; the request is then left with the raw target only.
bool SetTarget(Request& request, std::string_view target);

/// A response before it is put on the wire.
struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// A JSON response whose body is already JSON text.
Response JsonResponse(unsigned status, std::string body);

/// `{"error": message}` with the given status.
Response ErrorResponse(unsigned status, std::string_view message);

/// The bytes the transport writes for one request, and whether it closes the connection
/// afterwards. Empty bytes with `close` set drop the connection without an answer.
struct Reply {
    std::string bytes;
    bool close = false;
};

/// Status line and header block (ending with the empty line), with `content_length` as given
/// so that a fault can announce more body than it sends.
std::string SerializeHead(const Response& response, std::size_t content_length, bool keep_alive);

/// Head and body of a well-formed response.
Reply SerializeResponse(const Response& response, bool keep_alive);

/// "OK", "Not Found", ...; "Unknown" for codes without a phrase here.
std::string_view ReasonPhrase(unsigned status);

}  // namespace chatsync::emulator
