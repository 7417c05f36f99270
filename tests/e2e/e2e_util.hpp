#pragma once

#include <string>

#include "support/e2e.hpp"

namespace chatsync::test {

inline constexpr const char* kToken = "t0k3n-e2e-secret";

/// A chatsyncd config for one source that uses the generic spec (or `connector_yaml`, an
/// inline spec indented under `connector:`), the test database, and no admin listener
/// unless `admin_listen` is given.
inline std::string E2eConfig(
    const std::string& dsn,
    const std::string& source,
    const std::string& base_url,
    const std::string& data_dir,
    const std::string& extra_source_yaml = "",
    const std::string& admin_listen = "",
    const std::string& connector_yaml = ""
) {
    std::string connector = connector_yaml.empty()
                                ? "    connector_file: " + SourceDir() + "/tests/e2e/specs/generic.yaml\n"
                                : "    connector:\n" + connector_yaml;
    return "data_dir: " + data_dir + "\n" +
           "database:\n  dsn: \"" + dsn + "\"\n" +
           "admin:\n  listen: \"" + admin_listen + "\"\n" +
           "log:\n  level: debug\n" +
           "limits:\n  shutdown_grace: 10s\n" +
           "sources:\n" +
           "  - name: " + source + "\n" + connector +
           "    config:\n      base_url: " + base_url + "\n      token: " + kToken + "\n" +
           "    retry: {max_attempts: 4, initial_backoff: 50ms, max_backoff: 500ms}\n" + extra_source_yaml;
}

}  // namespace chatsync::test
