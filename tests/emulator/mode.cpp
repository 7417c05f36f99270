#include "emulator/mode.hpp"

#include <array>

#include "emulator/generic_mode.hpp"
#include "emulator/tiledesk_mode.hpp"

namespace chatsync::emulator {

std::span<const ModeInfo> BuiltinModes() {
    static constexpr std::array<ModeInfo, 2> kModes{{
        {"generic", &CreateGenericMode},
        {"tiledesk", &CreateTiledeskMode},
    }};
    return kModes;
}

}  // namespace chatsync::emulator
