// The modes --mode can name. The frame declares BuiltinModes() and every mode's folder
// provides its factory; this file is the one place that knows them all.
#include <array>

#include "emulator/frame/mode.hpp"
#include "emulator/generic/mode.hpp"
#include "emulator/jivochat/mode.hpp"
#include "emulator/mesibo/mode.hpp"
#include "emulator/tiledesk/mode.hpp"

namespace chatsync::emulator {

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
