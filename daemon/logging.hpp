#pragma once

#include <string>

namespace chatsync {
class Redactor;
}  // namespace chatsync

namespace chatsync::daemon {

/// Installs the default logger: one line per event to stdout, as `time level message
/// key=value...` text or as JSON objects, with every registered secret masked by
/// `redactor` (which must outlive logging). Throws std::invalid_argument for an unknown
/// level or format.
void SetUpLogging(const std::string& level, const std::string& format, const Redactor& redactor);

}  // namespace chatsync::daemon
