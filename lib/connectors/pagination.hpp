#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/fwd.hpp>

#include "connectors/spec.hpp"
#include "http/message.hpp"

/// @file
/// Where a listing stands, and how the next position follows from a page.

namespace chatsync::connectors {

/// A pagination position; which fields matter depends on the PaginationKind.
struct PagePosition {
    std::int64_t number = 0;
    std::int64_t offset = 0;
    /// next_url / link_header: the absolute URL of the page (empty for the first page).
    std::string url;
    /// cursor: the token to send (empty for the first page).
    std::string token;
    /// Pages fetched so far in this listing (for max_pages).
    std::int64_t pages = 0;
    /// Offset listings: records requested again before the next one (the offset above is
    /// already that much earlier), whose key proves the listing did not move.
    std::int64_t overlap = 0;
    /// Keyset listings: the cursor value (canonical) the listing restarts from; the
    /// request's `cursor.start` is this value instead of the window's start.
    std::string keyset;

    bool operator==(const PagePosition&) const = default;

    boost::json::value ToJson() const;
    static PagePosition FromJson(const boost::json::value& v);
};

/// The record total a page reports at `total_path`, if the spec names one and it is there.
std::optional<std::int64_t>
ReportedTotal(const PaginationSpec& spec, const boost::json::value* body);

/// The first position of a listing.
PagePosition FirstPosition(const PaginationSpec& spec);

/// The position after a page with `record_count` records, or nullopt when the listing ends
/// (empty page, no next link or token, total or has-more reached, max_pages, short page).
/// `body` is the parsed page (may be nullptr for a non-JSON body); `request_url` the URL of
/// the page just fetched (to resolve relative next links).
std::optional<PagePosition> NextPosition(
    const PaginationSpec& spec,
    const PagePosition& current,
    const boost::json::value* body,
    const http::Response& response,
    std::size_t record_count,
    const std::string& request_url
);

/// Finds rel="next" in RFC 8288 Link header values.
std::optional<std::string> LinkNext(std::string_view link_header);

}  // namespace chatsync::connectors
