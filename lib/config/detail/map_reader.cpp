#include "config/detail/map_reader.hpp"

#include <algorithm>
#include <map>

namespace chatsync::config::detail {

MapReader::MapReader(Context& ctx, const YamlNode& node, std::string path)
    : ctx_(ctx)
    , node_(node)
    , path_(std::move(path)) {
    valid_ = node.IsMapping() || node.IsNull();
    if (!valid_) {
        ctx_.Error(node.mark, path_, "expected a mapping, got " + std::string(KindName(node)));
    }
}

const YamlNode* MapReader::Get(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        known_.emplace_back(key);
    }
    const MapEntry* e = Find(key);
    return e == nullptr ? nullptr : &e->value;
}

const YamlNode* MapReader::KeyNode(std::string_view key) const {
    const MapEntry* e = Find(key);
    return e == nullptr ? nullptr : &e->key;
}

const YamlNode* MapReader::Required(std::string_view key) {
    const YamlNode* v = Get(key);
    if (!valid_) {
        return v;
    }
    if (v == nullptr) {
        ctx_.Error(node_.mark, PathOf(key), "required key is missing");
        return nullptr;
    }
    if (v->IsNull()) {
        ctx_.Error(v->mark, PathOf(key), "needs a value");
        return nullptr;
    }
    return v;
}

void MapReader::Allow(std::initializer_list<std::string_view> keys) {
    for (const auto k : keys) {
        if (std::find(known_.begin(), known_.end(), k) == known_.end()) {
            known_.emplace_back(k);
        }
    }
}

bool MapReader::Has(std::string_view key) const {
    const MapEntry* e = Find(key);
    return e != nullptr && !e->value.IsNull();
}

std::optional<std::string> MapReader::String(std::string_view key) {
    const YamlNode* n = Get(key);
    return n == nullptr ? std::nullopt : ReadString(ctx_, *n, PathOf(key));
}

std::optional<bool> MapReader::Bool(std::string_view key) {
    const YamlNode* n = Get(key);
    return n == nullptr ? std::nullopt : ReadBool(ctx_, *n, PathOf(key));
}

std::optional<std::int64_t>
MapReader::Integer(std::string_view key, std::int64_t min, std::int64_t max) {
    const YamlNode* n = Get(key);
    return n == nullptr ? std::nullopt : ReadInteger(ctx_, *n, PathOf(key), min, max);
}

std::optional<Millis> MapReader::Duration(std::string_view key, bool positive) {
    const YamlNode* n = Get(key);
    return n == nullptr ? std::nullopt : ReadDuration(ctx_, *n, PathOf(key), positive);
}

std::optional<std::uint64_t> MapReader::ByteSize(std::string_view key) {
    const YamlNode* n = Get(key);
    return n == nullptr ? std::nullopt : ReadByteSize(ctx_, *n, PathOf(key));
}

std::optional<std::uint64_t>
MapReader::PositiveByteSize(std::string_view key, std::string_view unit) {
    const auto v = ByteSize(key);
    if (v && *v == 0) {
        ctx_.Error(Get(key)->mark, PathOf(key), "must be greater than 0" + std::string(unit));
        return std::nullopt;
    }
    return v;
}

std::optional<std::size_t>
MapReader::Choice(std::string_view key, const std::vector<std::string>& names) {
    const YamlNode* n = Get(key);
    return n == nullptr ? std::nullopt : ReadChoice(ctx_, *n, PathOf(key), names);
}

const MapEntry* MapReader::Find(std::string_view key) const {
    if (!node_.IsMapping()) {
        return nullptr;
    }
    for (const auto& e : node_.entries) {
        if (e.key.IsScalar() && e.key.scalar == key) {
            return &e;
        }
    }
    return nullptr;
}

void MapReader::Finish() {
    if (!node_.IsMapping()) {
        return;
    }
    std::map<std::string, int, std::less<>> first_line;
    for (const auto& e : node_.entries) {
        if (!e.key.IsScalar()) {
            ctx_.Error(
                e.key.mark, path_, "expected a plain key, got " + std::string(KindName(e.key))
            );
            continue;
        }
        const std::string& key = e.key.scalar;
        const std::string key_path = PathOf(key);
        const auto [it, inserted] = first_line.emplace(key, e.key.mark.line);
        if (!inserted) {
            ctx_.Error(
                e.key.mark,
                key_path,
                "duplicate key '" + key + "' (first at line " + std::to_string(it->second) + ")"
            );
            continue;
        }
        if (std::find(known_.begin(), known_.end(), key) != known_.end()) {
            continue;
        }
        const std::string close = ClosestMatch(key, known_);
        if (!close.empty()) {
            std::string message = "unknown key '" + key;
            message += "' (did you mean '";
            message += close;
            message += "'?)";
            ctx_.Error(e.key.mark, key_path, message);
        } else {
            ctx_.Error(
                e.key.mark,
                key_path,
                "unknown key '" + key + "' (expected one of " + JoinNames(known_) + ")"
            );
        }
    }
}

void RejectInapplicable(
    MapReader& m,
    std::initializer_list<std::string_view> keys,
    const std::string& what
) {
    for (const auto key : keys) {
        if (const YamlNode* k = m.KeyNode(key)) {
            m.ctx().Error(
                k->mark, m.PathOf(key), "'" + std::string(key) + "' does not apply to " + what
            );
        }
    }
    m.Allow(keys);
}

}  // namespace chatsync::config::detail
