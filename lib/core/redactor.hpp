#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chatsync {

/// Remembers every secret the daemon holds (tokens, passwords, DSN passwords) and removes them
/// from text before it reaches a log line, an error message or a table.
///
/// @par Thread Safety
/// All methods may be called from any thread.
class Redactor final {
public:
    /// The text that stands in for a secret.
    static constexpr std::string_view kMask = "***";

    /// Registers a secret. Values shorter than 4 bytes are ignored: masking them would
    /// garble ordinary text, and they are not meaningful secrets.
    void Add(std::string_view secret);

    /// Returns `text` with every registered secret, and its URL-encoded form (how secrets
    /// travel in query strings), replaced by kMask.
    std::string Redact(std::string_view text) const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> secrets_;
};

}  // namespace chatsync
