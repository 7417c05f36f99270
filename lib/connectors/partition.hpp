#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "connectors/spec.hpp"

/// @file
/// Prefix partitions: listing an API that caps every answer and cannot page past the cap by
/// narrowing a key prefix until each answer fits (see PartitionSpec).
///
/// A listing is a queue of calls, the current one first, kept in the checkpoint. A full
/// answer for a prefix P is replaced by narrower calls: P itself (exact), and P followed by
/// each character that can come next. Probes keep that complete and cheap:
///  - a case probe asks for a seen key with its ASCII case swapped: a filter that folds case
///    needs only one case of each letter, one that does not needs both;
///  - an escape probe asks for a seen key holding a metacharacter, escaped: only a server
///    shown to honour escapes gets escaped patterns. Otherwise a metacharacter is never
///    escaped, and P followed by the single-character wildcard (the catch-all) stands for
///    what cannot be named: a superset, which costs calls, never records. The catch-all is
///    asked where some key seen in the listing continues P with such a character;
///  - global probes ask for "anything, c, anything" once for every printable symbol and every
///    character outside the alphabet that a key shows: below the cap, every key with c is
///    listed and no split names c; otherwise c is named in every split;
///  - exclusion probes, below a prefix whose keys all share their next character (a long
///    common prefix such as a phone number's country and carrier code), ask for "P, anything,
///    c, anything" for each character c: an answer below the cap holds every key under P that
///    contains c, so no call below P needs to name c again.
/// What stays out of reach: a key that continues a prefix holding 100 or more keys with a
/// character that cannot be named (a metacharacter on a server that ignores escapes, `*`, or
/// a non-ASCII character) when no key seen in the listing shows that continuation.

namespace chatsync::connectors {

/// What one entry of the queue asks.
enum class PartitionCall : std::uint8_t {
    kList,     ///< Every key that starts with `prefix`.
    kExact,    ///< The key `prefix` itself.
    kCase,     ///< Case probe: the key `probe` with its ASCII case swapped.
    kEscape,   ///< Escape probe: `probe` escaped, as a prefix.
    kExclude,  ///< Exclusion probe: keys under `prefix` that contain `probe` after it.
    kSplit,    ///< No call: replaces a full kList by narrower calls once the probes answered.
};

/// One entry of a partitioned listing's queue.
struct Partition {
    /// The prefix as it is sent (metacharacters escaped, or the single-character wildcard
    /// where a character could not be named), without the trailing wildcard. kExact and
    /// kCase: the whole filter.
    std::string pattern;
    PartitionCall call = PartitionCall::kList;
    /// kCase and kEscape: the seen key the probe looks for; kExclude: the character as sent.
    std::string probe;
    /// kExclude: the character probed.
    std::string character;
    /// Characters every key of which below `prefix` is already listed (exclusion probes).
    std::string skip;
    /// Exclusion probes were sent for this prefix or one it extends.
    bool probed = false;
    /// kSplit: the full answer held `prefix` itself as a key.
    bool exact_seen = false;
    /// kSplit: every key of the full answer under `prefix` continued with the same character.
    bool chained = false;
    /// kSplit: metacharacters seen right after `prefix` in the full answer.
    std::string evidence;
    /// kSplit: characters found after `prefix` in at least half of the answer's keys (an
    /// exclusion probe for them would come back full).
    std::string frequent;

    bool operator==(const Partition&) const = default;

    boost::json::object ToJson() const;
    /// Reads ToJson()'s form (and the older {prefix, exact}); a malformed value yields the
    /// root partition.
    static Partition FromJson(const boost::json::value& v);
};

/// What the probes found out about the server, for the whole listing.
struct PartitionNotes {
    enum class Finding : std::uint8_t { kUnknown, kYes, kNo };
    Finding folds_case = Finding::kUnknown;
    Finding honours_escapes = Finding::kUnknown;
    /// Characters outside the alphabet that splits name: seen in a key, or found in at least
    /// a full answer's worth of keys by a probe.
    std::string extra;
    /// Characters every key containing which is listed already: a probe for "anything, c,
    /// anything" came back below the cap, so no split needs to name them.
    std::string listed;
    /// Keys seen up to and including a character no pattern can name (a metacharacter the
    /// server may not let be escaped, or one never literal): evidence that a split of that
    /// prefix needs the catch-all call. At most kMaxUnnamed are kept.
    std::vector<std::string> unnamed;

    static constexpr std::size_t kMaxUnnamed = 20'000;

    bool operator==(const PartitionNotes&) const = default;

    boost::json::object ToJson() const;
    static PartitionNotes FromJson(const boost::json::value& v);
};

/// What a call sends for `p`.
std::string PartitionPattern(const PartitionSpec& spec, const Partition& p);

/// The `{{ partition.* }}` template context of `p`: `pattern` (what is sent) and `prefix`
/// (the same without the trailing wildcard).
boost::json::object PartitionContext(const PartitionSpec& spec, const Partition& p);

/// The queue of a listing that has not started.
std::vector<Partition> FirstPartitions(const PartitionSpec& spec);

/// What Advance saw, for the log.
struct PartitionStep {
    /// The call was full at the longest prefix: keys beyond the cap are not listed.
    bool too_deep = false;
    /// Calls added to the queue.
    std::size_t added = 0;
};

/// Removes the front call of `queue`, which answered `records`, and queues what follows from
/// the answer; then resolves every kSplit that reaches the front, so that the front (if any)
/// is a call to send.
PartitionStep Advance(
    const PartitionSpec& spec,
    PartitionNotes& notes,
    std::vector<Partition>& queue,
    const boost::json::array& records
);

boost::json::array EncodePartitions(const std::vector<Partition>& queue);
std::vector<Partition> DecodePartitions(const boost::json::array& stored);

}  // namespace chatsync::connectors
