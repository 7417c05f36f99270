#include "emulator/mode.hpp"

#include <array>

#include "emulator/generic_mode.hpp"
#include "emulator/jivochat_mode.hpp"
#include "emulator/mesibo_mode.hpp"
#include "emulator/tiledesk_mode.hpp"

namespace chatsync::emulator {

Task<void> Mode::Hold(std::string path) {
    (void)path;
    co_return;
}

std::span<const ModeInfo> BuiltinModes() {
    static constexpr std::array<ModeInfo, 4> kModes{{
        {"generic", &CreateGenericMode},
        {"tiledesk", &CreateTiledeskMode},
        {"jivochat", &CreateJivoChatMode},
        {"mesibo", &CreateMesiboMode},
    }};
    return kModes;
}

}  // namespace chatsync::emulator
