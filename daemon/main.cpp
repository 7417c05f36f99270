#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <malloc.h>

#include "config/config.hpp"
#include "daemon/app.hpp"
#include "daemon/cli.hpp"

using chatsync::daemon::ExitCode;

int main(int argc, char** argv) {
    // Response bodies and the arenas their pages are parsed into are large and short-lived.
    // From this size on they are mapped and unmapped on their own, so memory goes back to the
    // system when a page is done. Left to itself, glibc raises this threshold after the first
    // such free and puts later pages on the heap, which then grows to hold the worst
    // interleaving of them all.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        chatsync::daemon::Arguments parsed;
        try {
            parsed = chatsync::daemon::ParseArguments(args);
        } catch (const std::invalid_argument& e) {
            std::fprintf(
                stderr, "chatsyncd: %s\n\n%s", e.what(), chatsync::daemon::Usage().c_str()
            );
            return ExitCode::kExitUsage;
        }
        if (parsed.command == chatsync::daemon::Command::kHelp) {
            std::fputs(chatsync::daemon::Usage().c_str(), stdout);
            return ExitCode::kExitOk;
        }
        if (parsed.command == chatsync::daemon::Command::kVersion) {
            std::printf("chatsyncd %s\n", CHATSYNC_VERSION);
            return ExitCode::kExitOk;
        }
        chatsync::config::Config config;
        try {
            config = chatsync::config::LoadFile(parsed.config_path);
        } catch (const chatsync::config::ConfigErrors& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return ExitCode::kExitConfig;
        }
        return chatsync::daemon::Execute(parsed, std::move(config));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chatsyncd: %s\n", e.what());
        return ExitCode::kExitFailure;
    }
}
