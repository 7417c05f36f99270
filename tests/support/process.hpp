#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace chatsync::test {

/// A child process with its output in a file, for end-to-end tests.
class Process final {
public:
    /// Starts `argv[0]` with `argv`; the environment is this process's plus `env`. Output
    /// (stdout and stderr) goes to `log_path`, or stderr to `err_path` when one is given.
    /// Throws std::runtime_error when fork fails.
    Process(
        std::vector<std::string> argv,
        std::map<std::string, std::string> env,
        std::string log_path,
        std::string err_path = {}
    );
    /// Kills the process (SIGKILL) if it still runs.
    ~Process();

    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    void Signal(int signo);

    /// Waits for the exit; returns the exit code (128+N for a signal), or nullopt on timeout.
    std::optional<int> Wait(std::chrono::milliseconds timeout);

    bool Running();

    /// The output so far.
    std::string Output() const;

    pid_t pid() const noexcept { return pid_; }

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

/// Runs a command to completion (at most `timeout`) and returns exit code and output.
struct Completed {
    int exit_code = -1;
    std::string output;
};

Completed RunProcess(
    std::vector<std::string> argv,
    std::map<std::string, std::string> env = {},
    std::chrono::milliseconds timeout = std::chrono::minutes(2)
);

/// What a command wrote to stdout and to stderr, apart.
struct CompletedApart {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// RunProcess with stdout and stderr kept apart.
CompletedApart RunProcessApart(
    std::vector<std::string> argv,
    std::map<std::string, std::string> env = {},
    std::chrono::milliseconds timeout = std::chrono::minutes(2)
);

/// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir final {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return path_; }

    /// Writes a file in the directory and returns its path.
    std::string Write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

}  // namespace chatsync::test
