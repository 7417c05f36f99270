#pragma once

#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "connectors/spec.hpp"

/// @file
/// Prefix partitions: listing an API that caps every answer and cannot page past the cap by
/// narrowing a key prefix until each answer fits (see PartitionSpec).

namespace chatsync::connectors {

/// One call of a partitioned listing: every record whose key starts with `prefix`, or (exact)
/// the record whose key is `prefix`.
struct Partition {
    std::string prefix;
    bool exact = false;

    bool operator==(const Partition&) const = default;

    boost::json::object ToJson() const;
    /// Reads ToJson()'s form; a malformed value yields the root partition.
    static Partition FromJson(const boost::json::value& v);
};

/// What a call sends for `p`: the prefix with its metacharacters escaped and the wildcard
/// appended, or the bare prefix for an exact call.
std::string PartitionPattern(const PartitionSpec& spec, const Partition& p);

/// The `{{ partition.* }}` template context of `p`.
boost::json::object PartitionContext(const PartitionSpec& spec, const Partition& p);

/// The partitions that replace `p` after it answered `records`: none when the answer was not
/// full (fewer than split_at records) or `p` is exact; otherwise the exact prefix (unless it
/// is empty) and the prefix extended by each alphabet character, then by each other character
/// that the answer shows right after the prefix. `too_deep` is set, and nothing returned, when
/// the prefix has reached max_prefix.
std::vector<Partition> SplitPartition(
    const PartitionSpec& spec,
    const Partition& p,
    const boost::json::array& records,
    bool& too_deep
);

}  // namespace chatsync::connectors
