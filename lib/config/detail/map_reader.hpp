#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/detail/reader.hpp"

/// @file
/// MapReader: a mapping's keys read one by one, and every key nobody asked for reported.

namespace chatsync::config::detail {

/// Reads a mapping with a fixed set of keys. Each key asked for becomes known; Finish()
/// reports every other key as unknown (with the closest known key as a suggestion) and
/// every duplicate key.
class MapReader final {
public:
    /// Reports when `node` is neither a mapping nor null (null reads as empty).
    MapReader(Context& ctx, const YamlNode& node, std::string path);

    MapReader(const MapReader&) = delete;
    MapReader& operator=(const MapReader&) = delete;

    /// The node was a mapping (or null).
    bool valid() const noexcept { return valid_; }

    const Mark& mark() const noexcept { return node_.mark; }

    const std::string& path() const noexcept { return path_; }

    std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }

    Context& ctx() noexcept { return ctx_; }

    /// The value at `key` (null values included), or nullptr when the key is absent.
    const YamlNode* Get(std::string_view key);

    /// The key node for `key`, for messages about the key itself; nullptr when absent.
    const YamlNode* KeyNode(std::string_view key) const;

    /// Like Get, but null or absent is reported as missing.
    const YamlNode* Required(std::string_view key);

    /// Makes keys known without reading them.
    void Allow(std::initializer_list<std::string_view> keys);

    /// Whether `key` is present with a non-null value.
    bool Has(std::string_view key) const;

    std::optional<std::string> String(std::string_view key);
    std::optional<bool> Bool(std::string_view key);
    std::optional<std::int64_t> Integer(std::string_view key, std::int64_t min, std::int64_t max);
    std::optional<Millis> Duration(std::string_view key, bool positive = false);
    std::optional<std::uint64_t> ByteSize(std::string_view key);
    /// A byte size greater than 0; 0 is reported ("must be greater than 0" and `unit`, such
    /// as " (bytes per second)") and reads as nullopt.
    std::optional<std::uint64_t> PositiveByteSize(std::string_view key, std::string_view unit = "");
    std::optional<std::size_t> Choice(std::string_view key, const std::vector<std::string>& names);

    /// Reports unknown and duplicate keys. Call once, after every Get.
    void Finish();

private:
    /// The entry whose plain key is `key`, or nullptr (also when the node is no mapping).
    const MapEntry* Find(std::string_view key) const;

    Context& ctx_;
    const YamlNode& node_;
    std::string path_;
    bool valid_ = false;
    std::vector<std::string> known_;
};

/// ReadEnum for `key` of a mapping (absent: nullopt, no error).
template <class E, std::size_t N>
std::optional<E> ReadEnum(MapReader& map, std::string_view key, const NameTable<E, N>& table) {
    const YamlNode* node = map.Get(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    return ReadEnum(map.ctx(), *node, map.PathOf(key), table);
}

/// Reports keys of `m` that are present but belong to another variant (another auth type,
/// another pagination type), and makes them known so Finish() does not call them unknown.
void RejectInapplicable(
    MapReader& m,
    std::initializer_list<std::string_view> keys,
    const std::string& what
);

}  // namespace chatsync::config::detail
