#include <cstdio>
#include <string>
#include <vector>

#include "daemon/commands.hpp"

namespace chatsync::daemon {

/// Validates what loading could not: every enabled source must be one that start-up would
/// run on this host, or the config is refused with start-up's reason.
int CheckConfig(const config::Config& config) {
    std::vector<config::ConfigError> refused;
    for (std::size_t i = 0; i < config.sources.size(); ++i) {
        const auto& source = config.sources[i];
        if (!source.enabled) {
            continue;
        }
        if (const auto why = config::EgressRefusal(source)) {
            refused.emplace_back(
                config.path.string(),
                0,
                0,
                "sources[" + std::to_string(i) + "].http",
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
