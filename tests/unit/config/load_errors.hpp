#pragma once

#include <string>

#include "config/config.hpp"

namespace chatsync::config {

/// The message LoadString gives for `yaml` (as file "test.yaml"), or "" when it loads.
inline std::string Errors(const std::string& yaml) {
    try {
        LoadString(yaml, "test.yaml");
    } catch (const ConfigErrors& e) {
        return e.what();
    }
    return "";
}

}  // namespace chatsync::config
