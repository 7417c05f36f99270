#include "connectors/builtin.hpp"

#include <string>
#include <utility>

namespace chatsync::connectors {
namespace detail {
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedSpecs();
}  // namespace detail

namespace {
std::string_view StemOf(std::string_view file) {
    return file.substr(0, file.rfind('.'));
}
}  // namespace

std::optional<std::string_view> BuiltinSpec(std::string_view name) {
    for (const auto& [file, text] : detail::EmbeddedSpecs()) {
        if (StemOf(file) == name) {
            return text;
        }
    }
    return std::nullopt;
}

std::vector<std::string_view> BuiltinSpecNames() {
    std::vector<std::string_view> names;
    for (const auto& [file, text] : detail::EmbeddedSpecs()) {
        names.push_back(StemOf(file));
    }
    return names;
}

}  // namespace chatsync::connectors
