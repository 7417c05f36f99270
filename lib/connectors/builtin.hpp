#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace chatsync::connectors {

/// The YAML text of a built-in connector spec (lib/connectors/builtin/<name>.yaml, compiled
/// in), or nullopt.
std::optional<std::string_view> BuiltinSpec(std::string_view name);

/// The names of every built-in spec, sorted.
std::vector<std::string_view> BuiltinSpecNames();

}  // namespace chatsync::connectors
