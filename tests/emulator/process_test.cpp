// The binary as the e2e tests and the quickstart use it: start-up line, port file, SIGTERM.

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_client.hpp"

extern char** environ;

namespace chatsync::emulator::test {
namespace {

/// A child chatsync-emulator with its stdout on a pipe.
class Child final {
public:
    explicit Child(std::vector<std::string> args) {
        args.insert(args.begin(), CHATSYNC_EMULATOR_PATH);
        std::vector<char*> argv;
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        int fds[2];
        if (pipe(fds) != 0) {
            throw std::runtime_error("pipe failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        out_ = fds[0];
        if (rc != 0) {
            throw std::runtime_error("posix_spawn failed");
        }
    }

    ~Child() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        close(out_);
    }

    /// The first stdout line, or "" when none comes within the timeout.
    std::string ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd fd{out_, POLLIN, 0};
            if (poll(&fd, 1, 50) <= 0) {
                continue;
            }
            char c = 0;
            if (read(out_, &c, 1) != 1) {
                break;
            }
            if (c == '\n') {
                return line;
            }
            line.push_back(c);
        }
        return line;
    }

    /// Sends `signal` (if not 0) and returns the exit status, or -1 when the child does not
    /// exit within the timeout.
    int Finish(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        if (signal != 0) {
            kill(pid_, signal);
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

TEST(EmulatorProcess, StartsServesAndExitsCleanlyOnSigterm) {
    const auto port_file = std::filesystem::temp_directory_path() /
                           ("chatsync-emulator-port-" + std::to_string(getpid()));
    std::filesystem::remove(port_file);
    Child child(
        {"--listen",
         "127.0.0.1:0",
         "--port-file",
         port_file.string(),
         "--records",
         "10",
         "--fault",
         R"({"kind":"503","retry_after":3})"}
    );
    const std::string line = child.ReadLine();
    ASSERT_TRUE(line.starts_with("listening on 127.0.0.1:")) << line;
    const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    ASSERT_GT(port, 0);
    std::ifstream in(port_file);
    int written = 0;
    in >> written;
    EXPECT_EQ(written, port);

    TestClient client(port);
    const auto first = client.Get("/generic/page");
    EXPECT_EQ(first.status, 503u);
    EXPECT_EQ(first.Header("Retry-After"), "3");
    EXPECT_EQ(client.Get("/generic/page").Json().at("total").as_int64(), 10);
    // An idle keep-alive connection and a request held by a delay must not block shutdown.
    client.Post("/_admin/faults", R"({"kind":"delay","ms":60000})");
    std::thread waiting([port] {
        try {
            TestClient(port).Get("/generic/page");
        } catch (const std::exception&) {
            // Expected: the server closes the connection while stopping.
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(child.Finish(SIGTERM), 0);
    waiting.join();
    std::filesystem::remove(port_file);
}

TEST(EmulatorProcess, BadArgumentsExitWithUsage) {
    Child child({"--auth", "magic"});
    EXPECT_EQ(child.Finish(0), 2);
    Child help({"--help"});
    EXPECT_TRUE(help.ReadLine().starts_with("usage: chatsync-emulator"));
    EXPECT_EQ(help.Finish(0), 0);
}

}  // namespace
}  // namespace chatsync::emulator::test
