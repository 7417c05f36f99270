#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/local_address.hpp"

namespace chatsync::config {

std::optional<std::string> EgressRefusal(const SourceConfig& source) {
    const auto& address = source.http.local_address;
    if (address.empty()) {
        if (source.connector.egress_guard && !source.http.stable_egress) {
            return "connector " + source.connector.name +
                   " must send from one address: set http.local_address to a pinned egress "
                   "address, or http.stable_egress: true if this host has exactly one";
        }
        return std::nullopt;
    }
    // Sending from another address than the pinned one could cost a platform's trust in the
    // token, so a pin the host cannot honour stops the source instead.
    if (auto ok = CheckLocalAddress(address); !ok) {
        return "pinned egress address " + address + " is not on this host (" +
               ok.error().message() + "); no request is sent from another address";
    }
    return std::nullopt;
}

}  // namespace chatsync::config
