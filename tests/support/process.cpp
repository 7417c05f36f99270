#include "support/process.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace chatsync::test {

Process::Process(
    std::vector<std::string> argv,
    std::map<std::string, std::string> env,
    std::string log_path,
    std::string err_path
)
    : log_path_(std::move(log_path)) {
    pid_ = fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        if (!err_path.empty()) {
            const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (err >= 0) {
                dup2(err, STDERR_FILENO);
                close(err);
            }
        }
        const int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            close(null);
        }
        for (const auto& [k, v] : env) {
            setenv(k.c_str(), v.c_str(), 1);
        }
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
}

Process::~Process() {
    if (Running()) {
        Signal(SIGKILL);
        Wait(std::chrono::seconds(5));
    }
}

void Process::Signal(int signo) {
    if (pid_ > 0 && !status_) {
        kill(pid_, signo);
    }
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
}

bool Process::Running() {
    if (status_ || pid_ <= 0) {
        return false;
    }
    return !Wait(std::chrono::milliseconds(0)).has_value();
}

std::string Process::Output() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Completed RunProcess(
    std::vector<std::string> argv,
    std::map<std::string, std::string> env,
    std::chrono::milliseconds timeout
) {
    TempDir dir;
    Process p(std::move(argv), std::move(env), dir.path() + "/out.log");
    Completed c;
    const auto code = p.Wait(timeout);
    if (!code) {
        p.Signal(SIGKILL);
        p.Wait(std::chrono::seconds(5));
        c.output = p.Output() + "\n[timed out]";
        return c;
    }
    c.exit_code = *code;
    c.output = p.Output();
    return c;
}

CompletedApart RunProcessApart(
    std::vector<std::string> argv,
    std::map<std::string, std::string> env,
    std::chrono::milliseconds timeout
) {
    TempDir dir;
    const std::string err_path = dir.path() + "/err.log";
    Process p(std::move(argv), std::move(env), dir.path() + "/out.log", err_path);
    CompletedApart c;
    const auto code = p.Wait(timeout);
    if (!code) {
        p.Signal(SIGKILL);
        p.Wait(std::chrono::seconds(5));
    } else {
        c.exit_code = *code;
    }
    c.out = p.Output();
    std::ifstream in(err_path);
    std::stringstream ss;
    ss << in.rdbuf();
    c.err = ss.str();
    return c;
}

TempDir::TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/chatsync-test.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
    const auto p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
}

}  // namespace chatsync::test
