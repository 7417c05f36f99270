#include "support/e2e.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <pqxx/pqxx>
#include <signal.h>
#include <unistd.h>

#include "http/client.hpp"
#include "support/run_async.hpp"

namespace chatsync::test {

std::optional<std::string> TestDsn() {
    const char* dsn = std::getenv("CHATSYNC_TEST_PG_DSN");
    if (dsn == nullptr || *dsn == '\0') {
        return std::nullopt;
    }
    return std::string(dsn);
}

bool PgRequired() {
    const char* r = std::getenv("CHATSYNC_REQUIRE_PG");
    return r != nullptr && std::string(r) == "1";
}

std::size_t Occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

std::string UniqueName(const std::string& prefix) {
    static std::atomic<int> counter{0};
    std::random_device rd;
    return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000) + "_" +
           std::to_string(counter++);
}

http::Response HttpCall(
    const std::string& method,
    const std::string& url,
    const std::string& body,
    http::Headers headers
) {
    net::io_context ioc;
    http::Client client(ioc.get_executor(), {});
    http::Request req;
    req.method = method;
    req.url = url;
    req.body = body;
    req.headers = std::move(headers);
    if (!body.empty()) {
        req.headers.emplace_back("Content-Type", "application/json");
    }
    auto result = RunAsync(ioc, client.Send(std::move(req)), std::chrono::seconds(30));
    client.Stop();
    if (!result) {
        throw std::runtime_error(method + " " + url + " failed: " + result.error().message());
    }
    return std::move(*result);
}

Emulator::Emulator(std::vector<std::string> args) {
    const auto port_file = dir_.path() + "/port";
    std::vector<std::string> argv{
        CHATSYNC_EMULATOR_PATH, "--listen", "127.0.0.1:0", "--port-file", port_file};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Process>(
        argv, std::map<std::string, std::string>{}, dir_.path() + "/emulator.log"
    );
    const bool up = WaitFor(
        [&] {
            std::ifstream in(port_file);
            int p = 0;
            if (in >> p && p > 0) {
                port_ = static_cast<std::uint16_t>(p);
                return true;
            }
            return false;
        },
        std::chrono::seconds(10)
    );
    if (!up) {
        throw std::runtime_error("emulator did not start: " + process_->Output());
    }
    url_ = "http://127.0.0.1:" + std::to_string(port_);
}

Emulator::~Emulator() {
    process_->Signal(SIGTERM);
    process_->Wait(std::chrono::seconds(5));
}

boost::json::value
Emulator::Admin(const std::string& method, const std::string& path, const std::string& body) {
    const auto r = HttpCall(method, url_ + path, body);
    if (r.status < 200 || r.status >= 300) {
        throw std::runtime_error(
            method + " " + path + " answered " + std::to_string(r.status) + ": " + r.body
        );
    }
    if (r.body.empty()) {
        return nullptr;
    }
    return boost::json::parse(r.body);
}

boost::json::array Emulator::Requests() {
    return Admin("GET", "/_admin/requests").as_array();
}

std::vector<std::vector<std::string>> Query(const std::string& dsn, const std::string& sql) {
    pqxx::connection conn(dsn);
    pqxx::nontransaction tx(conn);
    const auto result = tx.exec(sql);
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : result) {
        auto& out = rows.emplace_back();
        for (const auto& field : row) {
            out.push_back(field.is_null() ? "\\N" : field.c_str());
        }
    }
    return rows;
}

std::string Scalar(const std::string& dsn, const std::string& sql) {
    const auto rows = Query(dsn, sql);
    if (rows.empty() || rows.front().empty()) {
        throw std::runtime_error("no rows from: " + sql);
    }
    return rows.front().front();
}

Completed RunChatsyncd(
    std::vector<std::string> args,
    std::map<std::string, std::string> env,
    std::chrono::milliseconds timeout
) {
    args.insert(args.begin(), CHATSYNCD_PATH);
    return RunProcess(std::move(args), std::move(env), timeout);
}

CompletedApart RunChatsyncdApart(
    std::vector<std::string> args,
    std::map<std::string, std::string> env,
    std::chrono::milliseconds timeout
) {
    args.insert(args.begin(), CHATSYNCD_PATH);
    return RunProcessApart(std::move(args), std::move(env), timeout);
}

std::unique_ptr<Process> StartChatsyncd(
    std::vector<std::string> args,
    const std::string& log_path,
    std::map<std::string, std::string> env
) {
    args.insert(args.begin(), CHATSYNCD_PATH);
    return std::make_unique<Process>(std::move(args), std::move(env), log_path);
}

std::string SourceDir() {
    return CHATSYNC_SOURCE_DIR;
}

}  // namespace chatsync::test
