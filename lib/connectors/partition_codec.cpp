#include <algorithm>

#include "connectors/detail/partition_rules.hpp"
#include "connectors/partition.hpp"

/// @file
/// The stored form of a partitioned listing's queue and notes, kept in the checkpoint.

namespace chatsync::connectors {
namespace json = boost::json;

namespace {

using detail::Finding;

constexpr std::pair<PartitionCall, std::string_view> kCallNames[] = {
    {PartitionCall::kList, "list"},
    {PartitionCall::kExact, "exact"},
    {PartitionCall::kCase, "case"},
    {PartitionCall::kEscape, "escape"},
    {PartitionCall::kExclude, "exclude"},
    {PartitionCall::kSplit, "split"},
};

std::string_view Findings(Finding f) {
    switch (f) {
        case Finding::kYes:
            return "yes";
        case Finding::kNo:
            return "no";
        case Finding::kUnknown:
            break;
    }
    return "unknown";
}

Finding ReadFinding(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        if (v->get_string() == "yes") {
            return Finding::kYes;
        }
        if (v->get_string() == "no") {
            return Finding::kNo;
        }
    }
    return Finding::kUnknown;
}

std::string ReadString(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->get_string());
    }
    return {};
}

bool ReadBool(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->get_bool();
}

}  // namespace

json::object Partition::ToJson() const {
    json::object o{{"pattern", pattern}};
    if (call != PartitionCall::kList) {
        for (const auto& [c, name] : kCallNames) {
            if (c == call) {
                o["call"] = name;
            }
        }
    }
    if (!probe.empty()) {
        o["probe"] = probe;
    }
    if (!character.empty()) {
        o["character"] = character;
    }
    if (!skip.empty()) {
        o["skip"] = skip;
    }
    if (probed) {
        o["probed"] = true;
    }
    if (exact_seen) {
        o["exact_seen"] = true;
    }
    if (chained) {
        o["chained"] = true;
    }
    if (!evidence.empty()) {
        o["evidence"] = evidence;
    }
    if (!frequent.empty()) {
        o["frequent"] = frequent;
    }
    return o;
}

Partition Partition::FromJson(const json::value& v) {
    Partition p;
    const auto* o = v.if_object();
    if (o == nullptr) {
        return p;
    }
    if (o->contains("pattern")) {
        p.pattern = ReadString(*o, "pattern");
        const auto name = ReadString(*o, "call");
        for (const auto& [c, n] : kCallNames) {
            if (n == name) {
                p.call = c;
            }
        }
        p.probe = ReadString(*o, "probe");
        p.character = ReadString(*o, "character");
        p.skip = ReadString(*o, "skip");
        p.probed = ReadBool(*o, "probed");
        p.exact_seen = ReadBool(*o, "exact_seen");
        p.chained = ReadBool(*o, "chained");
        p.evidence = ReadString(*o, "evidence");
        p.frequent = ReadString(*o, "frequent");
        return p;
    }
    // The older form: a literal prefix, listed or exact. Sent unescaped now, its
    // metacharacters match a superset of it, which loses nothing.
    p.pattern = ReadString(*o, "prefix");
    p.call = ReadBool(*o, "exact") ? PartitionCall::kExact : PartitionCall::kList;
    return p;
}

json::object PartitionNotes::ToJson() const {
    json::object o{
        {"folds_case", Findings(folds_case)}, {"honours_escapes", Findings(honours_escapes)}};
    if (!extra.empty()) {
        o["extra"] = extra;
    }
    if (!listed.empty()) {
        o["listed"] = listed;
    }
    if (!unnamed.empty()) {
        json::array a;
        for (const auto& u : unnamed) {
            a.emplace_back(u);
        }
        o["unnamed"] = std::move(a);
    }
    return o;
}

PartitionNotes PartitionNotes::FromJson(const json::value& v) {
    PartitionNotes n;
    if (const auto* o = v.if_object()) {
        n.folds_case = ReadFinding(*o, "folds_case");
        n.honours_escapes = ReadFinding(*o, "honours_escapes");
        n.extra = ReadString(*o, "extra");
        n.listed = ReadString(*o, "listed");
        if (const auto* a = o->if_contains("unnamed"); a != nullptr && a->is_array()) {
            for (const auto& u : a->get_array()) {
                if (u.is_string()) {
                    n.unnamed.emplace_back(u.get_string());
                }
            }
            std::sort(n.unnamed.begin(), n.unnamed.end());
        }
    }
    return n;
}

json::array EncodePartitions(const std::vector<Partition>& queue) {
    json::array out;
    out.reserve(queue.size());
    for (const auto& p : queue) {
        out.push_back(p.ToJson());
    }
    return out;
}

std::vector<Partition> DecodePartitions(const json::array& stored) {
    std::vector<Partition> out;
    out.reserve(stored.size());
    for (const auto& v : stored) {
        out.push_back(Partition::FromJson(v));
    }
    return out;
}

}  // namespace chatsync::connectors
