#include "sink/embedded.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <pqxx/pqxx>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.hpp"
#include "sink/detail/conninfo.hpp"
#include "sink/detail/identifier.hpp"

namespace chatsync::sink {
namespace {

namespace fs = std::filesystem;

/// The cluster's superuser; the DSN logs in as it (trust on the private socket).
constexpr std::string_view kSuperuser = "postgres";

/// With no TCP port the socket still needs a number in its file name.
constexpr std::uint16_t kSocketOnlyPort = 5432;

/// sockaddr_un.sun_path holds 108 bytes, the terminating NUL included.
constexpr std::size_t kMaxSocketPath = 107;

/// Is the database there yet?
constexpr std::string_view kDatabaseExistsSql = "SELECT 1 FROM pg_database WHERE datname = $1";

/// Who the server processes run as (PostgreSQL refuses root).
struct RunAs {
    bool active = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

/// Runs `argv` to completion, stdout and stderr appended to `log`, as `run_as` when active.
/// Returns the exit status, or an error saying why the program could not run or finish.
Result<int>
RunProgram(const std::vector<std::string>& argv, const fs::path& log, const RunAs& run_as) {
    const auto failed = [](std::string why) {
        return Result<int>(
            boost::system::in_place_error, make_error_code(Errc::kSinkPermanent), std::move(why)
        );
    };
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        return failed("cannot open " + log.string() + ": " + std::strerror(errno));
    }
    if (run_as.active && ::fchown(log_fd, run_as.uid, run_as.gid) != 0) {
        ::close(log_fd);
        return failed("cannot chown " + log.string() + ": " + std::strerror(errno));
    }
    // Everything the child needs is prepared before fork(): between fork and exec only
    // async-signal-safe calls are allowed in a multi-threaded process.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str())
        );  // NOLINT(cppcoreguidelines-pro-type-const-cast): execv's signature
    }
    args.push_back(nullptr);
    std::array<int, 2> report{};  // the child writes errno here when it fails before exec
    if (::pipe2(report.data(), O_CLOEXEC) != 0) {
        ::close(log_fd);
        return failed(std::string("pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log_fd);
        ::close(report[0]);
        ::close(report[1]);
        return failed(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) {
            ::dup2(null_fd, 0);
        }
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        // The server must not inherit a working directory its user cannot read.
        if (::chdir("/") != 0) {
            // Ignored: the programs are given absolute paths.
        }
        if (run_as.active) {
            if (::setgroups(run_as.groups.size(), run_as.groups.data()) != 0 ||
                ::setgid(run_as.gid) != 0 || ::setuid(run_as.uid) != 0) {
                const int e = errno;
                [[maybe_unused]] const auto n = ::write(report[1], &e, sizeof e);
                ::_exit(127);
            }
        }
        ::execv(args[0], args.data());
        const int e = errno;
        [[maybe_unused]] const auto n = ::write(report[1], &e, sizeof e);
        ::_exit(127);
    }
    ::close(log_fd);
    ::close(report[1]);
    int child_errno = 0;
    ssize_t got = 0;
    do {
        got = ::read(report[0], &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    ::close(report[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return failed(std::string("waitpid: ") + std::strerror(errno));
        }
    }
    if (got == static_cast<ssize_t>(sizeof child_errno)) {
        return failed("cannot run " + argv[0] + ": " + std::strerror(child_errno));
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return failed(argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status)));
}

/// Line `n` (1-based) of a file, or empty.
std::string FileLine(const fs::path& path, int n) {
    std::ifstream in(path);
    std::string line;
    for (int i = 0; i < n && std::getline(in, line); ++i) {
        if (i == n - 1) {
            return line;
        }
    }
    return {};
}

/// The last lines of a log, for an error message that says why without opening the file.
std::string LogTail(const fs::path& path, std::size_t lines) {
    std::ifstream in(path);
    std::vector<std::string> tail;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        tail.push_back(line);
        if (tail.size() > lines) {
            tail.erase(tail.begin());
        }
    }
    std::string out;
    for (const auto& l : tail) {
        out += (out.empty() ? "" : " | ") + l;
    }
    return out;
}

/// A conninfo value, quoted only when it needs to be.
std::string DsnValue(std::string_view value) {
    if (!value.empty() && value.find_first_of(" '\\\t") == std::string_view::npos) {
        return std::string(value);
    }
    return detail::ConninfoValue(value);
}

std::string ExitText(const Result<int>& status) {
    return status ? "exit status " + std::to_string(*status) : status.error().message();
}

}  // namespace

EmbeddedPostgres::EmbeddedPostgres(Options options)
    : options_(std::move(options)) {}

EmbeddedPostgres::~EmbeddedPostgres() {
    // A failed stop is left to the server's own shutdown: the owner that cares calls Stop()
    // first and reads its error.
    (void)Stop();
}

Result<std::string> EmbeddedPostgres::Start() {
    const auto fail = [](std::string message) {
        return Result<std::string>(
            boost::system::in_place_error, make_error_code(Errc::kSinkPermanent), std::move(message)
        );
    };
    if (options_.dir.empty()) {
        return fail("embedded PostgreSQL: no directory given");
    }
    std::error_code ec;
    const fs::path dir = fs::absolute(options_.dir, ec).lexically_normal();
    const fs::path pgdata = dir / "pgdata";
    const fs::path run = dir / "run";
    const fs::path server_log = dir / "postgres.log";
    const fs::path setup_log = dir / "setup.log";
    const fs::path bin = options_.bin_dir;
    const std::uint16_t port = options_.port != 0 ? options_.port : kSocketOnlyPort;

    // pg_ctl hands -o to a shell, so the socket path is single-quoted there.
    if (run.string().find('\'') != std::string::npos) {
        return fail("embedded PostgreSQL: the directory " + dir.string() + " contains a quote");
    }
    if ((run / (".s.PGSQL." + std::to_string(port))).string().size() > kMaxSocketPath) {
        return fail(
            "embedded PostgreSQL: the directory " + dir.string() +
            " is too long for a Unix socket path (107 bytes)"
        );
    }

    RunAs run_as;
    if (::geteuid() == 0) {
        const passwd* pw = ::getpwnam(options_.run_as_user.c_str());
        if (pw == nullptr) {
            return fail(
                "embedded PostgreSQL: user '" + options_.run_as_user +
                "' does not exist (PostgreSQL refuses to run as root; create the user or set "
                "run_as_user)"
            );
        }
        run_as.active = true;
        run_as.uid = pw->pw_uid;
        run_as.gid = pw->pw_gid;
        int count = 32;
        run_as.groups.resize(static_cast<std::size_t>(count));
        if (::getgrouplist(pw->pw_name, pw->pw_gid, run_as.groups.data(), &count) < 0) {
            run_as.groups.resize(static_cast<std::size_t>(count));
            ::getgrouplist(pw->pw_name, pw->pw_gid, run_as.groups.data(), &count);
        }
        run_as.groups.resize(static_cast<std::size_t>(std::max(count, 0)));
    }

    for (const fs::path& d : {dir, run}) {
        fs::create_directories(d, ec);
        if (ec) {
            return fail("embedded PostgreSQL: cannot create " + d.string() + ": " + ec.message());
        }
        if (run_as.active && ::chown(d.c_str(), run_as.uid, run_as.gid) != 0) {
            return fail(
                "embedded PostgreSQL: cannot give " + d.string() + " to " + options_.run_as_user +
                ": " + std::strerror(errno)
            );
        }
        // The socket is trusted without a password: only the owner may reach it.
        ::chmod(d.c_str(), 0700);
    }

    if (!fs::exists(pgdata / "PG_VERSION")) {
        const Result<int> status = RunProgram(
            {(bin / "initdb").string(),
             "-D",
             pgdata.string(),
             "-U",
             std::string(kSuperuser),
             "-E",
             "UTF8",
             "--locale=C.UTF-8",
             "--auth-local=trust",
             "--auth-host=scram-sha-256"},
            setup_log,
            run_as
        );
        if (!status || *status != 0) {
            return fail(
                "embedded PostgreSQL: initdb of " + pgdata.string() + " failed (" +
                ExitText(status) + "); see " + setup_log.string()
            );
        }
    }

    std::uint16_t actual_port = port;
    bool running = false;
    if (fs::exists(pgdata / "postmaster.pid")) {
        const Result<int> status = RunProgram(
            {(bin / "pg_ctl").string(), "status", "-D", pgdata.string()}, setup_log, run_as
        );
        running = status && *status == 0;
        if (running) {
            // A server left running (by an earlier daemon) keeps its own port.
            const std::string line = FileLine(pgdata / "postmaster.pid", 4);
            try {
                actual_port = static_cast<std::uint16_t>(std::stoi(line));
            } catch (const std::exception&) {
                actual_port = port;
            }
        }
    }
    if (!running) {
        std::string server_options =
            "-k '" + run.string() + "' -p " + std::to_string(port) +
            " -c listen_addresses=" + (options_.port != 0 ? "127.0.0.1" : "''");
        const Result<int> status = RunProgram(
            {(bin / "pg_ctl").string(),
             "start",
             "-w",
             "-t",
             "60",
             "-D",
             pgdata.string(),
             "-l",
             server_log.string(),
             "-o",
             server_options},
            setup_log,
            run_as
        );
        if (!status || *status != 0) {
            const std::string tail = LogTail(server_log, 3);
            return fail(
                "embedded PostgreSQL: pg_ctl start failed (" + ExitText(status) + "); see " +
                server_log.string() + (tail.empty() ? "" : ": " + tail)
            );
        }
        started_by_us_ = true;
    }

    const std::string base = "host=" + DsnValue(run.string()) +
                             " port=" + std::to_string(actual_port) +
                             " user=" + std::string(kSuperuser);
    try {
        pqxx::connection conn(base + " dbname=postgres connect_timeout=10");
        pqxx::nontransaction tx(conn);
        if (tx.exec_params(std::string(kDatabaseExistsSql), options_.database).empty()) {
            tx.exec("CREATE DATABASE " + detail::QuoteIdent(options_.database));
        }
    } catch (const std::exception& e) {
        return fail(
            "embedded PostgreSQL: creating database '" + options_.database +
            "' failed: " + e.what() + " (see " + server_log.string() + ")"
        );
    }
    return base + " dbname=" + DsnValue(options_.database);
}

Result<void> EmbeddedPostgres::Stop() {
    if (!started_by_us_) {
        return {};
    }
    started_by_us_ = false;
    RunAs run_as;
    if (::geteuid() == 0) {
        if (const passwd* pw = ::getpwnam(options_.run_as_user.c_str()); pw != nullptr) {
            run_as.active = true;
            run_as.uid = pw->pw_uid;
            run_as.gid = pw->pw_gid;
        }
    }
    std::error_code ec;
    const std::filesystem::path dir =
        std::filesystem::absolute(options_.dir, ec).lexically_normal();
    const Result<int> status = RunProgram(
        {(options_.bin_dir / "pg_ctl").string(),
         "stop",
         "-D",
         (dir / "pgdata").string(),
         "-m",
         "fast",
         "-w",
         "-t",
         "60"},
        dir / "setup.log",
        run_as
    );
    if (!status || *status != 0) {
        return Result<void>(
            boost::system::in_place_error,
            make_error_code(Errc::kSinkPermanent),
            "embedded PostgreSQL: pg_ctl stop failed (" + ExitText(status) + "); see " +
                (dir / "postgres.log").string()
        );
    }
    return {};
}

}  // namespace chatsync::sink
