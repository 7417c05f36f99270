#pragma once

#include <string_view>

/// @file
/// What may stand in a header name and value (RFC 9110 section 5), checked on what both the
/// client and the server write: header values are often built from templates, upstream data
/// or request data, and a CR or LF in one would let that data inject headers or a whole
/// second message.

namespace chatsync::http::detail {

/// A `tchar` of RFC 9110: a letter, a digit or one of !#$%&'*+-.^_`|~.
bool IsTokenChar(char c);

/// A non-empty run of token characters: a method or a header name.
bool IsToken(std::string_view s);

/// A header value without CR, LF or NUL.
bool IsSafeHeaderValue(std::string_view s);

}  // namespace chatsync::http::detail
