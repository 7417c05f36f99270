// chatsync-emulator: imitates upstream REST APIs on loopback for tests and the quickstart.

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "emulator/frame/emulator.hpp"

namespace {

/// Written to a temporary name and renamed, so a test polling the file never reads a partial
/// number.
void WritePortFile(const std::string& path, std::uint16_t port) {
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << port << '\n';
        if (!out) {
            throw std::runtime_error("cannot write " + temporary);
        }
    }
    std::filesystem::rename(temporary, path);
}

}  // namespace

int main(int argc, char** argv) {
    namespace emu = chatsync::emulator;
    emu::CommandLine command_line;
    try {
        command_line = emu::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chatsync-emulator: %s\n%s", e.what(), emu::Usage().c_str());
        return 2;
    }
    if (command_line.help) {
        std::fputs(emu::Usage().c_str(), stdout);
        return 0;
    }
    try {
        boost::asio::io_context ioc(1);
        emu::Emulator emulator(ioc.get_executor(), command_line.options);
        emulator.Start();
        if (!command_line.options.port_file.empty()) {
            WritePortFile(command_line.options.port_file, emulator.Port());
        }
        std::printf("listening on %s\n", emulator.Address().c_str());
        std::fflush(stdout);
        boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
        signals.async_wait([&emulator](const boost::system::error_code&, int) { emulator.Stop(); });
        ioc.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chatsync-emulator: %s\n", e.what());
        return 1;
    }
    return 0;
}
