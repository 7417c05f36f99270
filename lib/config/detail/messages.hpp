#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

/// @file
/// How config errors name their place and what they suggest: key paths, "did you mean",
/// lists of names, and the order errors are reported in.

namespace chatsync::config::detail {

/// `base.key`, or `key` at the top.
std::string JoinPath(std::string_view base, std::string_view key);

/// `base[i]`.
std::string IndexPath(std::string_view base, std::size_t i);

/// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

/// " (did you mean 'x'?)" when a name of `names` is close to `word`, else the whole list:
/// " (<label>: a, b, c)".
std::string
DidYouMean(std::string_view word, const std::vector<std::string>& names, std::string_view label);

/// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

/// Orders errors for reading: by file (in order of first appearance), then line and column.
void SortByPosition(std::vector<ConfigError>& errors);

}  // namespace chatsync::config::detail
