#include "emulator/generic/auth.hpp"

#include <random>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "emulator/frame/rng.hpp"

namespace chatsync::emulator {
namespace {

/// The credential after an "<scheme> " prefix (scheme case-insensitive, RFC 9110 11.1).
std::optional<std::string_view>
SchemeValue(std::optional<std::string_view> header, std::string_view scheme) {
    if (!header || header->size() <= scheme.size() ||
        !IEquals(header->substr(0, scheme.size()), scheme) || (*header)[scheme.size()] != ' ') {
        return std::nullopt;
    }
    return Trim(header->substr(scheme.size() + 1));
}

std::string RandomToken() {
    // Fresh per process and independent of --seed: a client must never be able to reuse a
    // token from an earlier run.
    static Rng engine{(std::uint64_t{std::random_device{}()} << 32U) | std::random_device{}()};
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string token;
    for (int i = 0; i < 2; ++i) {
        auto v = engine.Next();
        for (int j = 0; j < 16; ++j) {
            token.push_back(kHex[v & 0xFU]);
            v >>= 4U;
        }
    }
    return token;
}

}  // namespace

GenericAuth::GenericAuth(const Options& options)
    : mode_(options.auth)
    , token_(options.token)
    , basic_credentials_(Base64Encode(options.username + ":" + options.password))
    , username_(options.username)
    , password_(options.password)
    , token_ttl_(options.token_ttl) {}

bool GenericAuth::Allows(const Request& request, const std::string* path_key) const {
    switch (mode_) {
        case AuthMode::kNone:
            return true;
        case AuthMode::kBearer: {
            const auto value = SchemeValue(request.Header("Authorization"), "Bearer");
            return value && *value == token_;
        }
        case AuthMode::kBasic: {
            const auto value = SchemeValue(request.Header("Authorization"), "Basic");
            return value && *value == basic_credentials_;
        }
        case AuthMode::kHeader: {
            const auto value = request.Header("X-API-Key");
            return value && *value == token_;
        }
        case AuthMode::kQuery: {
            const std::string* value = request.Param("api_key");
            return value != nullptr && *value == token_;
        }
        case AuthMode::kBody: {
            if (request.method != "POST") {
                return false;
            }
            boost::system::error_code ec;
            const auto body = boost::json::parse(request.body, ec);
            if (ec || !body.is_object()) {
                return false;
            }
            const auto* key = body.get_object().if_contains("api_key");
            return key != nullptr && key->is_string() && key->get_string() == token_;
        }
        case AuthMode::kPath:
            return path_key != nullptr && *path_key == token_;
        case AuthMode::kLogin: {
            const auto value = SchemeValue(request.Header("Authorization"), "Bearer");
            if (!value) {
                return false;
            }
            const auto it = issued_.find(std::string(*value));
            return it != issued_.end() && std::chrono::steady_clock::now() < it->second;
        }
    }
    return false;
}

std::optional<IssuedToken>
GenericAuth::Login(std::string_view username, std::string_view password) {
    if (username != username_ || password != password_) {
        return std::nullopt;
    }
    IssuedToken issued;
    issued.token = RandomToken();
    issued.expires_in = std::chrono::duration_cast<std::chrono::seconds>(token_ttl_).count();
    issued_[issued.token] = std::chrono::steady_clock::now() + token_ttl_;
    return issued;
}

std::size_t GenericAuth::RevokeAll() {
    const std::size_t count = issued_.size();
    issued_.clear();
    return count;
}

}  // namespace chatsync::emulator
