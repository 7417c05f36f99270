#include "core/redactor.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace chatsync {

void Redactor::Add(std::string_view secret) {
    if (secret.size() < 4) {
        return;
    }
    const std::lock_guard lock(mutex_);
    for (std::string form : {std::string(secret), UrlEncode(secret)}) {
        if (std::find(secrets_.begin(), secrets_.end(), form) == secrets_.end()) {
            secrets_.push_back(std::move(form));
        }
    }
    // Longer secrets first, so a secret that contains another is masked whole.
    std::sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) {
        return a.size() > b.size();
    });
}

std::string Redactor::Redact(std::string_view text) const {
    std::string out(text);
    const std::lock_guard lock(mutex_);
    for (const auto& secret : secrets_) {
        std::size_t pos = 0;
        while ((pos = out.find(secret, pos)) != std::string::npos) {
            out.replace(pos, secret.size(), kMask);
            pos += kMask.size();
        }
    }
    return out;
}

}  // namespace chatsync
