// The config loader on arbitrary text: LoadString (YAML, interpolation, validation, resolution
// of connectors) and the check-config summary of what it accepts. A bad config is refused with
// ConfigErrors by design; any other exception, a crash or a sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    try {
        // A directory that does not exist anchors relative paths: `*_file` keys and
        // connector_file name nothing the loader can read unless they are absolute.
        const auto config =
            chatsync::config::LoadString(yaml, "/nonexistent/chatsync-fuzz/chatsync.yaml");
        (void)chatsync::config::Summarize(config);
    } catch (const chatsync::config::ConfigErrors&) {
    } catch (const chatsync::config::ConfigError&) {
    }
    return 0;
}
