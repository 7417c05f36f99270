#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "emulator/frame/server.hpp"
#include "emulator/jivochat/emitter.hpp"
#include "emulator/jivochat/events.hpp"
#include "emulator_fixture.hpp"

/// @file
/// Helpers of the JivoChat mode tests: a receiver that records what the emitter delivers and
/// answers by a policy, and the job routes of the admin API.

namespace chatsync::emulator::test {

namespace json = boost::json;
using std::chrono::milliseconds;

inline constexpr std::string_view kOk = R"({"result":"ok"})";

/// What the receiver answers: a response, or nullopt to drop the connection unanswered.
/// `seen` counts earlier requests with the same body.
using Policy = std::function<std::optional<Response>(const Request& request, int seen)>;

inline Response OkResponse() {
    return JsonResponse(200, std::string(kOk));
}

/// A provider's receiver: a second in-process server that records every request and answers
/// as its policy says, optionally after a delay.
class Receiver final {
public:
    explicit Receiver(Policy policy = {}, milliseconds delay = milliseconds(0))
        : policy_(std::move(policy))
        , delay_(delay) {
        server_ = std::make_unique<Server>(
            ioc_.get_executor(),
            Server::Options{},
            [this](Request request) { return Handle(std::move(request)); }
        );
        server_->Start();
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~Receiver() {
        boost::asio::post(ioc_, [this] {
            stopping_ = true;
            server_->Stop();
            for (auto* timer : timers_) {
                timer->cancel();
            }
        });
        thread_.join();
    }

    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    std::string Url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(server_->Port()) + std::string(path);
    }

    std::vector<Request> Requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }

    int MaxInFlight() const {
        const std::lock_guard lock(mutex_);
        return max_in_flight_;
    }

private:
    Task<Reply> Handle(Request request) {
        int seen = 0;
        {
            const std::lock_guard lock(mutex_);
            requests_.push_back(request);
            seen = seen_[request.body]++;
            max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
        }
        if (delay_.count() > 0 && !stopping_) {
            net::steady_timer timer(ioc_.get_executor(), delay_);
            timers_.insert(&timer);
            auto [ec] = co_await timer.async_wait(kAsTuple);
            // Cancelled only when the receiver stops; the answer then goes nowhere.
            (void)ec;
            timers_.erase(&timer);
        }
        {
            const std::lock_guard lock(mutex_);
            --in_flight_;
        }
        const std::optional<Response> response = policy_ ? policy_(request, seen) : OkResponse();
        if (!response) {
            co_return Reply{.bytes = {}, .close = true};
        }
        co_return SerializeResponse(*response, request.keep_alive);
    }

    Policy policy_;
    milliseconds delay_;
    boost::asio::io_context ioc_{1};
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
    std::map<std::string, int> seen_;
    int in_flight_ = 0;
    int max_in_flight_ = 0;
    bool stopping_ = false;
    std::set<net::steady_timer*> timers_;  ///< Serving thread only.
    std::unique_ptr<Server> server_;
    std::thread thread_;
};

inline Options JivoOptions() {
    Options options;
    options.modes = {"jivochat"};
    return options;
}

/// POSTs a job and returns its id.
inline std::string StartJob(TestClient& client, const json::object& spec) {
    const HttpResult r = client.Post("/_admin/jivochat/jobs", json::serialize(spec));
    EXPECT_EQ(r.status, 201u) << r.body;
    return std::string(r.Json().at("id").as_string());
}

/// Polls the job until it is no longer running and returns its status.
inline json::object
WaitForJob(TestClient& client, const std::string& id, std::string_view query = "") {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        const HttpResult r = client.Get("/_admin/jivochat/jobs/" + id + std::string(query));
        EXPECT_EQ(r.status, 200u) << r.body;
        json::object status = r.Json().as_object();
        if (status.at("state") != "running") {
            return status;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "job " << id << " still running: " << r.body;
            return status;
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
}

inline std::int64_t Total(const json::object& status, std::string_view name) {
    return status.at("totals").at(name).as_int64();
}

/// A port nothing listens on: bound once, then closed.
inline std::uint16_t ClosedPort() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(
        ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)
    );
    return acceptor.local_endpoint().port();
}

inline std::string BodyOf(std::string_view id) {
    const JivoEvent* e = FindJivoCatalogueEvent(id);
    EXPECT_NE(e, nullptr) << id;
    return e == nullptr ? "" : e->body;
}

}  // namespace chatsync::emulator::test
