#include "connectors/partition.hpp"

#include <algorithm>

#include "core/json.hpp"

namespace chatsync::connectors {
namespace json = boost::json;

namespace {

/// The length of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
std::size_t SequenceLength(unsigned char lead) {
    if (lead >= 0xF0 && lead <= 0xF4) {
        return 4;
    }
    if (lead >= 0xE0) {
        return lead <= 0xEF ? 3 : 1;
    }
    if (lead >= 0xC2) {
        return 2;
    }
    return 1;
}

/// The characters (UTF-8 sequences) of `text`, in order.
std::vector<std::string> Characters(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n =
            std::min(SequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
        out.push_back(text.substr(i, n));
        i += n;
    }
    return out;
}

}  // namespace

json::object Partition::ToJson() const {
    return json::object{{"prefix", prefix}, {"exact", exact}};
}

Partition Partition::FromJson(const json::value& v) {
    Partition p;
    if (const auto* o = v.if_object()) {
        if (const auto* s = o->if_contains("prefix"); s != nullptr && s->is_string()) {
            p.prefix = std::string(s->get_string());
        }
        if (const auto* e = o->if_contains("exact"); e != nullptr && e->is_bool()) {
            p.exact = e->get_bool();
        }
    }
    return p;
}

std::string PartitionPattern(const PartitionSpec& spec, const Partition& p) {
    if (p.exact) {
        return p.prefix;
    }
    std::string out;
    for (const char c : p.prefix) {
        if (spec.escape_chars.find(c) != std::string::npos) {
            out += spec.escape;
        }
        out.push_back(c);
    }
    return out + spec.wildcard;
}

json::object PartitionContext(const PartitionSpec& spec, const Partition& p) {
    return json::object{{"prefix", p.prefix}, {"pattern", PartitionPattern(spec, p)}};
}

std::vector<Partition> SplitPartition(
    const PartitionSpec& spec,
    const Partition& p,
    const json::array& records,
    bool& too_deep
) {
    too_deep = false;
    if (p.exact || static_cast<std::int64_t>(records.size()) < spec.split_at) {
        return {};
    }
    if (p.prefix.size() >= spec.max_prefix) {
        too_deep = true;
        return {};
    }
    std::vector<std::string> next = Characters(spec.alphabet);
    // Characters outside the alphabet that the answer shows after the prefix: the alphabet
    // cannot foresee every address, but a character that occurs is never skipped.
    for (const auto& record : records) {
        const auto* v = FindPath(record, spec.field);
        if (v == nullptr || !v->is_string()) {
            continue;
        }
        const std::string key(v->get_string());
        if (key.size() <= p.prefix.size() || key.compare(0, p.prefix.size(), p.prefix) != 0) {
            continue;
        }
        const std::string c = Characters(key.substr(p.prefix.size())).front();
        if (std::find(next.begin(), next.end(), c) == next.end()) {
            next.push_back(c);
        }
    }
    std::vector<Partition> out;
    if (!p.prefix.empty()) {
        out.push_back({p.prefix, true});
    }
    for (const auto& c : next) {
        out.push_back({p.prefix + c, false});
    }
    return out;
}

}  // namespace chatsync::connectors
