#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "connectors/pagination.hpp"
#include "connectors/spec.hpp"
#include "http/message.hpp"

/// @file
/// Turning a request spec, a pagination position and the template context into a request.

namespace chatsync::connectors {

/// Builds the HTTP request for `spec` at `position`. `context` holds config, cursor, parent,
/// page and auth values. For next_url/link_header pages after the first, `position.url` is
/// the request URL and query templates are not added again. Auth is applied as the
/// connector's AuthSpec says (login auth uses `auth.token` from the context).
http::Request BuildRequest(
    const ConnectorSpec& connector,
    const RequestSpec& spec,
    const PaginationSpec& pagination,
    const PagePosition& position,
    const boost::json::object& context
);

/// The template context's `page` object for a position.
boost::json::object PageContext(const PaginationSpec& pagination, const PagePosition& position);

}  // namespace chatsync::connectors
