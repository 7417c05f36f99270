#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

/// @file
/// Parsing of upstream JSON that keeps every value storable, dotted-path access into Boost.JSON
/// values, and JSON string quoting for hand-built text.

namespace chatsync {

/// The deepest nesting of arrays and objects ParseJson accepts. Flattening stops at a
/// resource's max_nesting (at most 64), but a page wraps its records in an envelope and a
/// record may hold deeper data as jsonb; the ceiling is a guard against exhausting the stack
/// in the code that walks a parsed tree recursively.
inline constexpr std::size_t kMaxJsonDepth = 256;

/// Nesting beyond this many levels is accepted, but counted (ParseRepairs::deep), since it is
/// where JSON parsers commonly stop by default.
inline constexpr std::size_t kDeepJsonDepth = 32;

/// What ParseJson changed or noticed so that every value of a document can be stored.
struct ParseRepairs {
    /// \u0000 escapes in strings and keys, replaced by U+FFFD: PostgreSQL's text and jsonb
    /// cannot hold NUL.
    std::size_t nul = 0;
    /// \uD800-\uDFFF escapes that are not a well-formed surrogate pair, replaced by U+FFFD.
    std::size_t surrogate = 0;
    /// Integers outside int64 and uint64, kept as their exact digits (see BigIntegerText).
    std::size_t big_integer = 0;
    /// 1 when the document nests deeper than kDeepJsonDepth levels.
    std::size_t deep = 0;

    bool empty() const noexcept { return nul + surrogate + big_integer + deep == 0; }
};

/// Parses `text` like boost::json::parse, but so that no value is lost or refused by the
/// database later:
/// - a NUL (\u0000) in a string or key becomes U+FFFD;
/// - a lone UTF-16 surrogate escape becomes U+FFFD (Boost.JSON would refuse the document);
/// - an integer beyond 64 bits, which Boost.JSON would round to a double, is kept exactly: it
///   is held in the tree as a string that starts with a NUL byte (which no parsed string can
///   have any more) followed by its digits. Read it with BigIntegerText and write trees with
///   SerializeJson, which prints it as the number it was;
/// - nesting is accepted up to kMaxJsonDepth levels (error::too_deep beyond).
/// Each change is counted in `repairs`. On error `ec` is set and the value is null.
boost::json::value ParseJson(
    std::string_view text,
    boost::system::error_code& ec,
    ParseRepairs& repairs,
    boost::json::storage_ptr sp = {}
);

/// Parses `text` like ParseJson, except that a NUL (\u0000) stays a NUL byte in its string or
/// key, so that SerializeJson gives back the text's values exactly. (A string value that
/// starts with a NUL is held with one more leading NUL, so that it never reads as a kept
/// integer; SerializeJson writes it as it was.) For keeping what was sent beside the
/// repaired tree: such a tree cannot be stored in PostgreSQL as it is.
boost::json::value ParseJsonKeepingNul(
    std::string_view text,
    boost::system::error_code& ec,
    boost::json::storage_ptr sp = {}
);

/// The exact digits (with a leading '-' when negative) of an integer ParseJson kept beyond
/// 64 bits, or nullopt for any other value.
std::optional<std::string_view> BigIntegerText(const boost::json::value& v) noexcept;

/// `v` as compact JSON text, like boost::json::serialize, except that integers ParseJson
/// kept beyond 64 bits are written as the numbers they were.
std::string SerializeJson(const boost::json::value& v);

/// Follows a dotted path ("data.items", "a.0.b": numeric components index arrays). An empty
/// path is the value itself. Returns nullptr where the path does not lead anywhere.
const boost::json::value* FindPath(const boost::json::value& root, std::string_view path);

/// The value as text for templates and keys: strings unquoted, numbers and booleans as JSON
/// writes them, null as "", objects and arrays serialised.
std::string ScalarText(const boost::json::value& v);

/// Appends `s` as a quoted JSON string: `"` and `\` escaped, newline, carriage return and tab
/// as their short escapes, other control characters as \u00XX; UTF-8 passes through.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace chatsync
