#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"

/// @file
/// Pure pagination helpers: page windows, opaque cursor tokens and RFC 8288 Link values.

namespace chatsync::emulator {

/// The position after which a keyset page starts.
struct CursorKey {
    SysTime updated_at{};
    std::int64_t id = 0;

    bool operator==(const CursorKey&) const = default;
};

/// An opaque token for the key: standard Base64 (with '+', '/' and '=' when they occur, so a
/// client must percent-encode it in a query).
std::string EncodeCursor(const CursorKey& key);

/// Reverses EncodeCursor. Also takes the URL-safe alphabet, missing padding, and spaces where
/// a form decoder turned an unencoded '+' into one. nullopt for anything else.
std::optional<CursorKey> DecodeCursor(std::string_view token);

/// An opaque token for a position in a listing (the index of the record a continuation starts
/// at): URL-safe Base64 of "o:<position>" without padding.
std::string EncodeOffsetCursor(std::size_t position);

/// Reverses EncodeOffsetCursor, with the same leniency as DecodeCursor. nullopt for anything
/// else, keyset tokens included.
std::optional<std::size_t> DecodeOffsetCursor(std::string_view token);

/// The [begin, end) indexes of a 1-based page over `total` items, and the page count.
/// Pages past the end are empty windows at `total`.
struct PageWindow {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::int64_t total_pages = 0;
};

PageWindow PageSlice(std::size_t total, std::int64_t page, std::int64_t per_page);

/// `<url>; rel="name", ...` (RFC 8288) from (url, rel) pairs in the given order.
std::string LinkHeader(const std::vector<std::pair<std::string, std::string>>& links);

/// Standard or URL-safe Base64, padding optional; nullopt on bad input.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace chatsync::emulator
