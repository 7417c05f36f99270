#pragma once

#include <string>

#include "core/result.hpp"

/// @file
/// Whether this host can send from a given address.

namespace chatsync {

/// Checks that `address` (an IP literal) is one of this host's own, by binding a UDP socket
/// to it: the check a pinned egress address (http.local_address) must pass before a request
/// is sent from it. invalid_argument when it is not an IP address.
Result<void> CheckLocalAddress(const std::string& address);

}  // namespace chatsync
