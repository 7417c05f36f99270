#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/value.hpp>

#include "emulator/frame/emulator.hpp"
#include "test_client.hpp"

/// @file
/// An emulator running in-process on its own thread, for the self-tests.

namespace chatsync::emulator::test {

/// Starts an emulator on 127.0.0.1:0 with its own io_context thread; stops and joins it on
/// destruction. Tests talk to it over HTTP only, or through Call() on the serving thread.
class RunningEmulator final {
public:
    explicit RunningEmulator(Options options = {});
    ~RunningEmulator();
    RunningEmulator(const RunningEmulator&) = delete;
    RunningEmulator& operator=(const RunningEmulator&) = delete;

    std::uint16_t Port() const { return port_; }

    TestClient Client() const { return TestClient(port_); }

    /// Runs `f(emulator)` on the serving thread and returns its result.
    template <class F>
    auto Call(F f) {
        std::packaged_task<decltype(f(*emulator_))()> task([&] { return f(*emulator_); });
        auto result = task.get_future();
        boost::asio::post(ioc_, [&task] { task(); });
        return result.get();
    }

private:
    boost::asio::io_context ioc_{1};
    std::unique_ptr<Emulator> emulator_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

/// The integers of a JSON array of records' "id" fields (or of plain integers).
std::vector<std::int64_t> Ids(const boost::json::value& array);

/// The ids first..last, in order.
std::vector<std::int64_t> Range(std::int64_t first, std::int64_t last);

/// Options with a small dataset, for tests that do not need the default 1000 records.
Options SmallOptions(std::int64_t records = 50);

/// Walks GET pages by following `next(target, result)` until it returns an empty target,
/// collecting the ids `items(result)` yields. Fails the test past `max_requests` requests.
std::vector<std::int64_t> WalkPages(
    TestClient& client,
    std::string first_target,
    const std::function<boost::json::value(const HttpResult&)>& items,
    const std::function<std::string(const HttpResult&)>& next,
    int max_requests = 10000
);

}  // namespace chatsync::emulator::test
