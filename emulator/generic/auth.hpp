#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "emulator/frame/http_types.hpp"
#include "emulator/frame/options.hpp"

/// @file
/// Credential checks of the generic routes (--auth).

namespace chatsync::emulator {

/// A token issued by POST /auth/login.
struct IssuedToken {
    std::string token;
    std::int64_t expires_in = 0;  ///< Seconds.
};

/// Checks requests against the configured AuthMode and keeps login-issued tokens.
/// @par Thread Safety
/// Not synchronised; used from the serving thread only.
class GenericAuth final {
public:
    explicit GenericAuth(const Options& options);

    AuthMode Mode() const { return mode_; }

    /// True when the request carries the credential the mode asks for. `path_key` is the
    /// token segment when the route was reached through /key/<token>/..., else nullptr.
    bool Allows(const Request& request, const std::string* path_key) const;

    /// A fresh random token for the right credentials, nullopt for wrong ones.
    std::optional<IssuedToken> Login(std::string_view username, std::string_view password);

    /// Forgets every issued token; returns how many there were.
    std::size_t RevokeAll();

private:
    AuthMode mode_;
    std::string token_;
    std::string basic_credentials_;  ///< "Basic " + base64(user:password).
    std::string username_;
    std::string password_;
    std::chrono::milliseconds token_ttl_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> issued_;
};

}  // namespace chatsync::emulator
