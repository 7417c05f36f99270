#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/json/object.hpp>

#include "core/asio.hpp"
#include "emulator/jivochat/events.hpp"

/// @file
/// The JivoChat event emitter: a job POSTs a list of events to the receiver's URLs the way
/// Jivo does, and records what each delivery was answered.

namespace chatsync::http {
class Client;
}  // namespace chatsync::http

namespace chatsync::emulator {

/// When a delivery counts as acknowledged.
enum class JivoAck {
    /// Webhooks and CRM events: kResultOk; Chat API and Bot API events: k2xx.
    kAuto,
    /// 2xx and a JSON object body with "result": "ok" (the Webhooks API's expected answer).
    kResultOk,
    /// Any 2xx (the Chat API contract: "2xx: event accepted").
    k2xx,
};

/// What a job sends and how.
///
/// | field | default | meaning |
/// | --- | --- | --- |
/// | url / crm_url / chat_url / bot_url | - | target of webhook / CRM / Chat API / Bot API events |
/// | rate | 0 | deliveries started per second across the job; 0 = as fast as possible |
/// | concurrency | 1 | deliveries in flight at once (parallel connections) |
/// | replay | 0 | fraction of the events delivered a second time, later in the run |
/// | shuffle | false | deliver in a seeded random order instead of the list order |
/// | seed | 1 | seed of the replay choice and the shuffle |
/// | retries | 3 | resends after a 5xx, another non-2xx, or a transport failure |
/// | backoff | 100 ms | wait before each resend |
/// | timeout | 10 s | per attempt: connect, send and read the answer |
/// | ack | kAuto | see JivoAck |
/// | retry_4xx | false | also resend after a 4xx (the Chat API says not to) |
struct JivoJobSpec {
    std::string url;
    std::string crm_url;
    std::string chat_url;
    std::string bot_url;
    double rate = 0;
    std::size_t concurrency = 1;
    double replay = 0;
    bool shuffle = false;
    std::uint64_t seed = 1;
    std::int64_t retries = 3;
    std::chrono::milliseconds backoff{100};
    std::chrono::milliseconds timeout{10000};
    JivoAck ack = JivoAck::kAuto;
    bool retry_4xx = false;
};

/// One planned delivery: which event, and whether it is the second copy of it.
struct JivoDeliveryPlan {
    std::size_t event = 0;
    bool replay = false;
};

/// The delivery order for `events` events: each event once in list order, plus a second copy
/// of round(replay * events) seeded-chosen events placed at a seeded position after their
/// first copy; with `shuffle`, the whole list is then permuted (seeded). Pure.
std::vector<JivoDeliveryPlan>
PlanJivoDeliveries(std::size_t events, double replay, bool shuffle, std::uint64_t seed);

/// True when `body` is a JSON object whose "result" member is the string "ok".
bool IsJivoResultOk(std::string_view body);

/// One job: its events, plan, and the outcome of every delivery.
/// @par Thread Safety
/// Construct, start, cancel, read and destroy it on the executor's (single) thread.
/// @par Stopping
/// Cancel() stops starting deliveries and cancels the ones in flight (the HTTP exchange and
/// any backoff or rate wait); the job then reports "cancelled" once its workers are done.
/// Destroy the job only when Running() is false.
class JivoJob final {
public:
    JivoJob(std::string id, Executor executor, JivoJobSpec spec, std::vector<JivoEvent> events);
    ~JivoJob();
    JivoJob(const JivoJob&) = delete;
    JivoJob& operator=(const JivoJob&) = delete;

    const std::string& Id() const { return id_; }

    /// Spawns the workers on the executor. Call once.
    void Start();

    /// Idempotent; see the class comment.
    void Cancel();

    /// True from Start() until every worker has ended.
    bool Running() const { return workers_running_ > 0; }

    /// "running", "finished", "cancelled" or "failed" (a worker threw: a bug).
    std::string_view State() const;

    /// The job's status document (see the mode's GET /_admin/jivochat/jobs/{id}); without
    /// `deliveries` the per-delivery list is left out, with `bodies` each delivery carries the
    /// bytes it sent.
    boost::json::object Status(bool deliveries, bool bodies) const;

    /// Deliveries that ended acknowledged; for stats.
    std::int64_t Acknowledged() const;

private:
    /// The outcome of a delivery, final unless kPending.
    enum class Outcome {
        kPending,
        kAcknowledged,     ///< 2xx and the ack rule holds.
        kNotAcknowledged,  ///< 2xx, but the body is not {"result":"ok"} where that is required.
        kRejected,         ///< 4xx: not resent (unless retry_4xx).
        kFailed,           ///< Still 5xx / transport failure after every retry.
        kCancelled,        ///< Cancel() came first.
    };

    struct Attempt {
        unsigned status = 0;  ///< 0: no HTTP answer.
        std::string error;    ///< Transport failure kind ("connection_refused", "timeout"...).
        double latency_ms = 0;
    };

    struct Delivery {
        JivoDeliveryPlan plan;
        std::string url;
        std::vector<Attempt> attempts;
        std::string response;  ///< Body of the last answer, cut at 1 KiB.
        std::string response_type;
        Outcome outcome = Outcome::kPending;
    };

    /// Marks worker completion; the completion handler of every worker.
    struct WorkerDone {
        JivoJob* job;
        std::size_t worker;
        void operator()(const std::exception_ptr& error) const;
    };

    Task<void> Worker();
    Task<void> Deliver(std::size_t index);
    bool Acknowledges(const JivoEvent& event, unsigned status, std::string_view body) const;
    void OnWorkerDone(std::size_t worker, const std::exception_ptr& error);

    static std::string_view OutcomeName(Outcome outcome);

    std::string id_;
    Executor executor_;
    JivoJobSpec spec_;
    std::vector<JivoEvent> events_;
    std::vector<Delivery> deliveries_;  ///< In delivery order; never resized after Start().

    std::size_t next_ = 0;  ///< Next delivery a worker takes.
    std::size_t workers_running_ = 0;
    std::vector<bool> worker_alive_;
    bool started_ = false;
    bool cancelled_ = false;
    std::string failure_;  ///< What a worker threw.
    std::chrono::steady_clock::time_point started_steady_{};
    std::chrono::system_clock::time_point started_at_{};
    std::chrono::system_clock::time_point finished_at_{};
    // Last: the workers use everything above, and the client and signals must outlive them.
    std::unique_ptr<http::Client> client_;
    std::deque<net::cancellation_signal> signals_;  ///< One per worker; a deque never moves them.
};

}  // namespace chatsync::emulator
