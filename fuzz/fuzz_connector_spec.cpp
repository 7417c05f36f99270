// The connector spec parser on arbitrary text, as for a connector_file or an inline spec. A
// bad spec is refused with ConfigErrors by design; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    try {
        (void)chatsync::config::ParseConnectorSpec(yaml, "fuzz.yaml");
    } catch (const chatsync::config::ConfigErrors&) {
    } catch (const chatsync::config::ConfigError&) {
    }
    return 0;
}
