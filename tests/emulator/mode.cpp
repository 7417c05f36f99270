#include "emulator/mode.hpp"

#include <array>

#include "emulator/generic_mode.hpp"

namespace chatsync::emulator {

std::span<const ModeInfo> BuiltinModes() {
    static constexpr std::array<ModeInfo, 1> kModes{{
        {"generic", &CreateGenericMode},
    }};
    return kModes;
}

}  // namespace chatsync::emulator
