#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

/// @file
/// Pure text helpers for the SQL the sink writes: identifiers, literals, COPY fields.

namespace chatsync::sink::detail {

/// PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names are silently truncated by
/// the server, which would merge distinct columns.
inline constexpr std::size_t kMaxIdentifierBytes = 63;

/// 32-bit FNV-1a: stable across platforms and releases, unlike std::hash, because the names
/// built from it are stored in the database.
std::uint32_t Fnv1a32(std::string_view text) noexcept;

/// A key for pg_advisory_xact_lock(bigint) derived from `text` (64-bit FNV-1a).
std::int64_t AdvisoryLockKey(std::string_view text) noexcept;

/// The longest prefix of `text` of at most `max_bytes` bytes that does not split a UTF-8
/// sequence.
std::string_view TruncateUtf8(std::string_view text, std::size_t max_bytes) noexcept;

/// `name` when it fits in 63 bytes; otherwise its prefix (cut on a UTF-8 boundary), '_' and
/// the 8 hex digits of Fnv1a32(`hash_source`), 63 bytes at most. `hash_source` is the full
/// source path, so two long names with a common prefix stay distinct.
std::string ShortIdentifier(std::string_view name, std::string_view hash_source);

/// `base` with "_<n>" appended, `base` shortened (on a UTF-8 boundary) so that the result
/// fits in 63 bytes.
std::string SuffixedIdentifier(std::string_view base, int n);

/// A double-quoted SQL identifier.
std::string QuoteIdent(std::string_view name);

/// `"schema"."table"`.
std::string QualifiedName(std::string_view schema, std::string_view table);

/// A single-quoted SQL string literal (standard_conforming_strings is on, so only quotes
/// double).
std::string QuoteLiteral(std::string_view text);

/// Appends `text` as one field of COPY's text format: backslash, tab, newline and carriage
/// return escaped. NUL bytes are dropped: PostgreSQL text cannot hold them.
void AppendCopyField(std::string& out, std::string_view text);

}  // namespace chatsync::sink::detail
