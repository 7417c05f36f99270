#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.hpp"
#include "config/detail/interpolate.hpp"
#include "config/detail/messages.hpp"
#include "config/detail/yaml_tree.hpp"
#include "core/duration.hpp"

/// @file
/// Typed, error-collecting reads from a YamlNode tree. Every reader reports what is wrong at
/// the node's mark and key path and carries on, so one pass finds as many errors as it can;
/// a failed read returns nullopt and leaves the caller's default in place.

namespace chatsync::config::detail {

/// Where errors go and how scalars are read for one file.
class Context final {
public:
    /// `env` null: scalars are taken as written (built-in specs); otherwise `${...}` is
    /// interpolated through it. `base_dir` anchors relative paths.
    Context(
        std::string file,
        std::vector<ConfigError>& errors,
        const EnvLookup* env,
        std::filesystem::path base_dir
    );

    void Error(const Mark& mark, const std::string& path, std::string message);

    const std::string& file() const noexcept { return file_; }

    const std::filesystem::path& base_dir() const noexcept { return base_dir_; }

    const EnvLookup* env() const noexcept { return env_; }

    /// Errors recorded so far in the shared list (all files).
    std::size_t error_count() const noexcept { return errors_.size(); }

    /// `p` when absolute, else relative to base_dir.
    std::filesystem::path Resolve(const std::filesystem::path& p) const;

private:
    std::string file_;
    std::vector<ConfigError>& errors_;
    const EnvLookup* env_;
    std::filesystem::path base_dir_;
};

/// A scalar after interpolation.
struct Scalar {
    std::string text;
    /// Written without quotes or tag, so YAML typing (numbers, booleans) applies.
    bool plain = false;
    /// Some of the text came from the environment.
    bool from_env = false;
    Mark mark;

    /// " (got 'text')" for a message, or "" when echoing could reveal an environment value.
    std::string Got() const;
};

/// The scalar at `node`, interpolated. Reports a collection (expected `what`) or a bad
/// `${...}`; returns nullopt for those and, silently, for null.
std::optional<Scalar> ReadScalar(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    std::string_view what = "a string"
);

std::optional<std::string> ReadString(Context& ctx, const YamlNode& node, const std::string& path);

std::optional<bool> ReadBool(Context& ctx, const YamlNode& node, const std::string& path);

std::optional<std::int64_t> ReadInteger(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    std::int64_t min,
    std::int64_t max
);

/// A number (integer or decimal) greater than zero.
std::optional<double>
ReadPositiveNumber(Context& ctx, const YamlNode& node, const std::string& path);

/// A duration with units; `positive` rejects zero.
std::optional<Millis>
ReadDuration(Context& ctx, const YamlNode& node, const std::string& path, bool positive);

std::optional<std::uint64_t>
ReadByteSize(Context& ctx, const YamlNode& node, const std::string& path);

/// One of `names`, matched exactly; returns its index.
std::optional<std::size_t> ReadChoice(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const std::vector<std::string>& names
);

/// Any YAML as JSON: plain scalars typed by the YAML core schema (integers to int64, decimals
/// to double, true/false, null and ~), quoted scalars and `!!str` kept as strings.
std::optional<boost::json::value>
ReadJson(Context& ctx, const YamlNode& node, const std::string& path);

/// The items of a list (null: none). Reports anything else.
const std::vector<YamlNode>* ReadList(Context& ctx, const YamlNode& node, const std::string& path);

/// A mapping entry with a plain scalar key.
struct Entry {
    std::string key;
    const YamlNode* key_node;
    const YamlNode* value;
};

/// The entries of a mapping whose keys are free names (headers, query, config values).
/// Reports a non-mapping, non-scalar keys and duplicates (dropping the later ones).
std::vector<Entry> ReadEntries(Context& ctx, const YamlNode& node, const std::string& path);

/// A table of the names an enum is written as in YAML.
template <class E, std::size_t N>
using NameTable = std::array<std::pair<std::string_view, E>, N>;

template <class E, std::size_t N>
std::vector<std::string> NamesOf(const NameTable<E, N>& table) {
    std::vector<std::string> names;
    names.reserve(N);
    for (const auto& entry : table) {
        names.emplace_back(entry.first);
    }
    return names;
}

/// The name `value` is written as, or "" when the table lacks it.
template <class E, std::size_t N>
std::string_view NameOf(const NameTable<E, N>& table, E value) {
    for (const auto& entry : table) {
        if (entry.second == value) {
            return entry.first;
        }
    }
    return {};
}

/// An enum value written as one of the table's names.
template <class E, std::size_t N>
std::optional<E> ReadEnum(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const NameTable<E, N>& table
) {
    const auto index = ReadChoice(ctx, node, path, NamesOf(table));
    if (!index) {
        return std::nullopt;
    }
    return table[*index].second;
}

}  // namespace chatsync::config::detail
