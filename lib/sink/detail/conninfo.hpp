#pragma once

#include <string>
#include <string_view>
#include <vector>

/// @file
/// libpq connection strings, which hold a secret (the password) and come in two forms: URIs
/// (`postgresql://user:pw@host/db?k=v`) and `key=value` lists.

namespace chatsync::sink::detail {

/// Settings the sink adds to the user's DSN unless it names them already.
struct ConnSettings {
    long connect_timeout_seconds = 10;
    std::string application_name = "chatsync";
};

/// The DSN with connect_timeout, application_name and TCP keepalives added where the DSN
/// does not set them itself, in the DSN's own form.
std::string BuildConninfo(std::string_view dsn, const ConnSettings& settings);

/// The texts that must never appear in an error message: the DSN itself and its password,
/// raw and percent-decoded.
std::vector<std::string> DsnSecrets(std::string_view dsn);

/// `host=... port=...` value quoting: single quotes, backslash-escaped.
std::string ConninfoValue(std::string_view value);

}  // namespace chatsync::sink::detail
