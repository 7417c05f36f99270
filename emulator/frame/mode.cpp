#include "emulator/frame/mode.hpp"

namespace chatsync::emulator {

Task<void> Mode::Hold(std::string path) {
    (void)path;
    co_return;
}

}  // namespace chatsync::emulator
