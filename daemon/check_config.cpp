#include <cstdio>
#include <string>
#include <vector>

#include "daemon/commands.hpp"

namespace chatsync::daemon {

/// Validates what loading could not: every enabled source must be one that start-up would
/// run on this host, or the config is refused with start-up's reason.
int CheckConfig(const config::Config& config) {
    std::vector<config::ConfigError> refused;
    for (const auto& source : config.sources) {
        if (!source.enabled) {
            continue;
        }
        if (const auto why = config::EgressRefusal(source)) {
            refused.emplace_back(
                source.place.file,
                0,
                0,
                source.place.key_path.empty() ? "http" : source.place.key_path + ".http",
                "source " + source.name + " refused: " + *why
            );
        }
    }
    if (!refused.empty()) {
        std::fprintf(stderr, "%s\n", config::ConfigErrors(std::move(refused)).what());
        return kExitConfig;
    }
    std::fputs(config::Summarize(config).c_str(), stdout);
    return kExitOk;
}

}  // namespace chatsync::daemon
