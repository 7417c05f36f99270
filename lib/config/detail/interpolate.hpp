#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

/// @file
/// `${NAME}` interpolation of config values (no I/O besides the lookup it is given).

namespace chatsync::config::detail {

/// Looks up an environment variable; nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvLookup ProcessEnvironment();

struct Interpolated {
    std::string text;
    /// At least one `${...}` reference was replaced.
    bool used_env = false;
    /// Empty on success; otherwise what is wrong (it names variables, never values).
    std::string error;
};

/// Replaces `${NAME}` with the variable's value and `${NAME:-default}` with the value, or with
/// `default` when the variable is unset or empty (as the shell does). `$${` stands for a
/// literal `${`; any other `$` is kept as written. NAME is `[A-Za-z_][A-Za-z0-9_]*`; the
/// default runs to the first `}` and is not itself interpolated.
Interpolated Interpolate(std::string_view text, const EnvLookup& lookup);

}  // namespace chatsync::config::detail
