#pragma once

#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/result.hpp"
#include "http/message.hpp"
#include "http/url.hpp"

/// @file
/// A Request as Beast writes it: method, target, headers (checked so that no value can
/// inject another header), Host, User-Agent and Content-Length.

namespace chatsync::http::detail {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

/// Moves the request's body into the result. Fails with invalid_argument on a method or a
/// header that is not a token, or a header value with CR, LF or NUL.
Result<BeastRequest>
BuildRequest(Request& request, const UrlParts& parts, const std::string& user_agent);

}  // namespace chatsync::http::detail
