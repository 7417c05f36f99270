#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/detail/reader.hpp"

/// @file
/// The files a config is or names: reading them whole, refusing a config that is not UTF-8
/// text, and secret files (`*_file` keys).

namespace chatsync::config::detail {

/// Reads a whole file; on failure returns nullopt and says why (never what it holds).
std::optional<std::string> ReadTextFile(const std::filesystem::path& path, std::string& why);

/// An error at the first byte that makes `text` no UTF-8 text (a NUL, or an invalid
/// sequence), with its line, column and byte offset; never the bytes themselves.
std::optional<ConfigError> NotText(std::string_view text, const std::string& file);

/// Reads the file named at `node` (relative to the config's directory), without its trailing
/// newlines; reports a missing path or an unreadable file.
std::optional<std::string>
ReadSecretFile(Context& ctx, const YamlNode& node, const std::string& path);

}  // namespace chatsync::config::detail
