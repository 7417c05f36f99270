#include "emulator_fixture.hpp"

#include <numeric>

#include <gtest/gtest.h>

namespace chatsync::emulator::test {

RunningEmulator::RunningEmulator(Options options) {
    options.listen_host = "127.0.0.1";
    options.listen_port = 0;
    emulator_ = std::make_unique<Emulator>(ioc_.get_executor(), std::move(options));
    emulator_->Start();
    port_ = emulator_->Port();
    thread_ = std::thread([this] { ioc_.run(); });
}

RunningEmulator::~RunningEmulator() {
    boost::asio::post(ioc_, [this] { emulator_->Stop(); });
    thread_.join();
    emulator_.reset();
}

std::vector<std::int64_t> Ids(const boost::json::value& array) {
    std::vector<std::int64_t> ids;
    for (const auto& item : array.as_array()) {
        ids.push_back(item.is_object() ? item.at("id").as_int64() : item.as_int64());
    }
    return ids;
}

Options SmallOptions(std::int64_t records) {
    Options options;
    options.records = records;
    return options;
}

std::vector<std::int64_t> WalkPages(
    TestClient& client,
    std::string target,
    const std::function<boost::json::value(const HttpResult&)>& items,
    const std::function<std::string(const HttpResult&)>& next,
    int max_requests
) {
    std::vector<std::int64_t> ids;
    for (int i = 0; !target.empty(); ++i) {
        if (i >= max_requests) {
            ADD_FAILURE() << "pagination did not end after " << max_requests << " requests";
            break;
        }
        const HttpResult result = client.Get(target);
        if (result.status != 200) {
            ADD_FAILURE() << target << " answered " << result.status << ": " << result.body;
            break;
        }
        for (const auto id : Ids(items(result))) {
            ids.push_back(id);
        }
        target = next(result);
    }
    return ids;
}

std::vector<std::int64_t> Range(std::int64_t first, std::int64_t last) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(last - first + 1));
    std::iota(ids.begin(), ids.end(), first);
    return ids;
}

}  // namespace chatsync::emulator::test
