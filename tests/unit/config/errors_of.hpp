#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace chatsync::config {

/// The errors LoadString reports for `yaml`, read as `test.yaml`; none when it loads.
inline std::vector<ConfigError> ErrorsOf(const std::string& yaml) {
    try {
        LoadString(yaml, "test.yaml");
    } catch (const ConfigErrors& e) {
        return e.errors();
    }
    return {};
}

}  // namespace chatsync::config
