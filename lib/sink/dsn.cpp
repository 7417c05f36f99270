#include "sink/dsn.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "core/redactor.hpp"
#include "sink/detail/conninfo.hpp"

namespace chatsync::sink {
namespace {

/// Values libpq accepts for its enumerated options (PostgreSQL 15's libpq-connect docs).
constexpr std::array<std::string_view, 6>
    kSslModes{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
constexpr std::array<std::string_view, 3> kGssEncModes{"disable", "prefer", "require"};
constexpr std::array<std::string_view, 6>
    kTargetSessionAttrs{"any", "read-write", "read-only", "primary", "standby", "prefer-standby"};

bool IsDigits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <std::size_t N>
std::string OneOf(const std::array<std::string_view, N>& values) {
    std::string out;
    for (const auto v : values) {
        out += (out.empty() ? "" : ", ") + std::string(v);
    }
    return out;
}

/// libpq's parse message with every quoted fragment longer than one character masked: libpq
/// quotes the token it stumbled on, or the whole URI, which may be (or hold) the password.
/// An unknown option's name is kept: libpq read it as a key, and keys are not secret.
std::string MaskQuoted(std::string message) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
    }
    if (message.starts_with("invalid connection option \"")) {
        return message;
    }
    std::string out;
    std::size_t pos = 0;
    while (pos < message.size()) {
        const auto open = message.find('"', pos);
        const auto close = open == std::string::npos ? open : message.find('"', open + 1);
        if (close == std::string::npos) {
            out += message.substr(pos);
            break;
        }
        out += message.substr(pos, open - pos);
        const auto inner = message.substr(open + 1, close - open - 1);
        out += '"';
        out += inner.size() <= 1 ? inner : std::string(Redactor::kMask);
        out += '"';
        pos = close + 1;
    }
    return out;
}

/// `text` with every secret replaced by the mask (the short ones too: this text is ours).
std::string Masked(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets) {
        if (secret.empty()) {
            continue;
        }
        std::size_t pos = 0;
        while ((pos = text.find(secret, pos)) != std::string::npos) {
            text.replace(pos, secret.size(), Redactor::kMask);
            pos += Redactor::kMask.size();
        }
    }
    return text;
}

std::optional<std::string> OptionProblem(std::string_view key, std::string_view value) {
    if (key == "port") {
        // A list, one per host; an empty entry means the default port.
        std::size_t from = 0;
        while (from <= value.size()) {
            const auto comma = value.find(',', from);
            const auto port =
                value.substr(from, comma == std::string_view::npos ? comma : comma - from);
            if (!port.empty() &&
                (!IsDigits(port) || port.size() > 5 || std::stoul(std::string(port)) == 0 ||
                 std::stoul(std::string(port)) > 65535)) {
                return "port '" + std::string(port) + "' is not a port number (1 to 65535)";
            }
            if (comma == std::string_view::npos) {
                break;
            }
            from = comma + 1;
        }
    } else if (key == "connect_timeout") {
        const auto v = value.starts_with('-') ? value.substr(1) : value;
        if (!value.empty() && !IsDigits(v)) {
            return "connect_timeout '" + std::string(value) + "' is not a number of seconds";
        }
    } else if (key == "sslmode") {
        if (std::find(kSslModes.begin(), kSslModes.end(), value) == kSslModes.end()) {
            return "sslmode '" + std::string(value) + "' is not one of " + OneOf(kSslModes);
        }
    } else if (key == "gssencmode") {
        if (std::find(kGssEncModes.begin(), kGssEncModes.end(), value) == kGssEncModes.end()) {
            return "gssencmode '" + std::string(value) + "' is not one of " + OneOf(kGssEncModes);
        }
    } else if (key == "target_session_attrs") {
        if (std::find(kTargetSessionAttrs.begin(), kTargetSessionAttrs.end(), value) ==
            kTargetSessionAttrs.end()) {
            return "target_session_attrs '" + std::string(value) + "' is not one of " +
                   OneOf(kTargetSessionAttrs);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> DsnProblem(std::string_view dsn) {
    std::vector<std::string> secrets = detail::DsnSecrets(dsn);
    const std::string text(dsn);
    char* error = nullptr;
    const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(text.c_str(), &error), &PQconninfoFree
    );
    if (!options) {
        // Null also when libpq ran out of memory, and then without a message.
        std::string message = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        return Masked("cannot be parsed: " + MaskQuoted(std::move(message)), secrets);
    }
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val != nullptr && std::string_view(o->keyword) == "password") {
            secrets.emplace_back(o->val);
        }
    }
    // Longest first, so that a password is not half masked through a shorter secret.
    std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) {
        return a.size() > b.size();
    });
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr) {
            continue;
        }
        if (auto problem = OptionProblem(o->keyword, o->val)) {
            return Masked(std::move(*problem), secrets);
        }
    }
    return std::nullopt;
}

}  // namespace chatsync::sink
