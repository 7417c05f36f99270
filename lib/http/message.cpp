#include "http/message.hpp"

#include "core/text.hpp"

namespace chatsync::http {

std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
    for (const auto& [key, value] : headers) {
        if (IEquals(key, name)) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

}  // namespace chatsync::http
