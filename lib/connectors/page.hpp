#pragma once

#include <span>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/system/error_code.hpp>

#include "connectors/spec.hpp"
#include "core/result.hpp"
#include "core/run_outcome.hpp"
#include "core/table.hpp"

/// @file
/// What the runner does with one page's body: find its records, take them out, flatten them.

namespace chatsync::connectors::detail {

/// Appends the records of a page to a batch, with the parent's fields; checks the key. A record
/// that is not an object, lacks a key or holds a value its declared type cannot take fails
/// with Errc::kUpstreamBadPayload and a message naming the record and field (never a value).
Result<void> AppendRecords(
    RowBatch& batch,
    std::span<const boost::json::value> records,
    const ResourceSpec& resource,
    const boost::json::value* parent
);

/// Where a page's records are: the value at the records path (or at a fallback path); nullptr
/// when an optional path is absent. The body keeps them until TakeRecords. A missing required
/// path, or one holding a scalar the resource does not expect, fails with
/// Errc::kUpstreamBadPayload and a message naming the path.
Result<boost::json::value*> FindRecords(boost::json::value& body, const ResourceSpec& resource);

/// The member that AttachOriginals adds to a record, and the column it lands in.
inline constexpr std::string_view kOriginalField = "_chatsync_original";

/// For a page whose text held NUL characters, which `body` (from ParseJson) holds as U+FFFD:
/// gives each record that held one the member kOriginalField, a string with the record's
/// exact JSON text (NULs as \u0000), so that its row keeps what was sent. Records are paired
/// with those of `text` by position; records given as scalars are left as they are.
void AttachOriginals(boost::json::value& body, std::string_view text, const ResourceSpec& resource);

/// How many records TakeRecords makes of what FindRecords found.
std::size_t RecordCount(const boost::json::value* v);

/// Moves the records out of the body (no copy: they share the page's memory): an array as it
/// is, one object as a one-record page, a scalar as the record {scalar_field: value}.
boost::json::array TakeRecords(boost::json::value* v, const ResourceSpec& resource);

/// The enabled children of a resource.
std::vector<const ResourceSpec*> ChildrenOf(const ConnectorSpec& spec, const std::string& parent);

/// The parent records as their children read them, for the checkpoint: only the top-level
/// fields that the children's templates and parent fields name, not whole records.
boost::json::array
ParentKeys(const ConnectorSpec& spec, const std::string& parent, const boost::json::array& records);

/// The run outcome a failed fetch ends in.
RunOutcome OutcomeOf(boost::system::error_code ec);

}  // namespace chatsync::connectors::detail
