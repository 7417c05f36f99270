#include "emulator/frame/emulator.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/time.hpp"
#include "emulator/frame/admin.hpp"
#include "emulator/frame/server.hpp"

namespace chatsync::emulator {
namespace {

std::int64_t UnixMicros(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

Emulator::Emulator(Executor executor, Options options)
    : executor_(std::move(executor))
    , options_(std::move(options))
    , delays_(executor_) {
    const ModeContext context{executor_, options_};
    for (const ModeInfo& info : BuiltinModes()) {
        const bool wanted = options_.modes.empty() ||
                            std::find(options_.modes.begin(), options_.modes.end(), info.name) !=
                                options_.modes.end();
        if (wanted) {
            modes_.push_back(info.create(context));
        }
    }
    for (const std::string& name : options_.modes) {
        if (FindMode(name) == nullptr) {
            std::string message = "--mode: unknown mode " + name + " (";
            const char* separator = "";
            for (const ModeInfo& info : BuiltinModes()) {
                message.append(separator).append(info.name);
                separator = ", ";
            }
            message += ")";
            throw std::invalid_argument(message);
        }
    }
    for (const std::string& text : options_.faults) {
        boost::system::error_code ec;
        const auto json = boost::json::parse(text, ec);
        if (ec) {
            throw std::invalid_argument("--fault: not JSON: " + text);
        }
        auto parsed = ParseFaults(json);
        if (!parsed) {
            throw std::invalid_argument("--fault: " + parsed.error().message());
        }
        faults_.Append(std::move(*parsed));
    }
    AddAdminRoutes(router_, log_, faults_, modes_);
    for (const auto& mode : modes_) {
        mode->AddRoutes(router_);
    }
    server_ = std::make_unique<Server>(
        executor_,
        Server::Options{.host = options_.listen_host, .port = options_.listen_port},
        [this](Request request) { return Handle(std::move(request)); }
    );
}

Emulator::~Emulator() = default;

void Emulator::Start() {
    server_->Start();
}

std::uint16_t Emulator::Port() const {
    return server_->Port();
}

std::string Emulator::Address() const {
    const std::string& host = options_.listen_host;
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(Port());
}

void Emulator::Stop() {
    stopping_ = true;
    server_->Stop();
    delays_.Stop();
    for (const auto& mode : modes_) {
        mode->Stop();
    }
}

Mode* Emulator::FindMode(std::string_view name) const {
    for (const auto& mode : modes_) {
        if (mode->Name() == name) {
            return mode.get();
        }
    }
    return nullptr;
}

Task<Reply> Emulator::Handle(Request request) {
    if (IsAdminPath(request.path)) {
        Reply reply = SerializeResponse(router_.Dispatch(request), request.keep_alive);
        if (request.method == "HEAD") {
            reply.bytes.resize(reply.bytes.find("\r\n\r\n") + 4);
        }
        co_return reply;
    }
    const RequestLog::Id log_id = log_.Add(LogEntry{
        .t_us = UnixMicros(request.received_at),
        .method = request.method,
        .path = request.path,
        .query = request.query,
        .remote = request.remote,
        .status = 0,
        .fault = {},
    });
    for (const auto& mode : modes_) {
        if (stopping_) {
            break;
        }
        co_await mode->Hold(request.path);
    }
    const std::optional<Fault> fault = faults_.Take(request);
    if (fault && fault->kind == FaultKind::kDelay && !stopping_) {
        // Ended early only by Stop(); the answer is then built anyway and the closed
        // connection discards it.
        co_await delays_.SleepFor(std::chrono::duration_cast<Millis>(fault->delay));
    }
    unsigned status = 0;
    Reply reply = Answer(request, fault, status);
    // A HEAD answer is the GET head alone (RFC 9110 9.3.2); a body would be read as the start
    // of the next response on the connection.
    if (request.method == "HEAD" && !reply.bytes.empty()) {
        reply.bytes.resize(reply.bytes.find("\r\n\r\n") + 4);
    }
    const std::string_view fault_name = fault ? FaultKindName(fault->kind) : std::string_view();
    log_.Finish(log_id, status, fault_name);
    if (options_.log_requests) {
        const std::string when = FormatIso8601(
            std::chrono::time_point_cast<std::chrono::microseconds>(request.received_at)
        );
        std::fprintf(
            stderr,
            "%s %s %s %s -> %u%s%s\n",
            when.c_str(),
            request.remote.c_str(),
            request.method.c_str(),
            request.target.c_str(),
            status,
            fault ? " fault=" : "",
            std::string(fault_name).c_str()
        );
    }
    co_return reply;
}

Reply Emulator::Answer(
    const Request& request,
    const std::optional<Fault>& fault,
    unsigned& status
) {
    const auto now = std::chrono::system_clock::now();
    if (fault && IsStatusFault(fault->kind)) {
        const Response response = StatusFaultResponse(*fault, now);
        status = response.status;
        return SerializeResponse(response, request.keep_alive);
    }
    if (fault && fault->kind == FaultKind::kDrop) {
        status = 0;
        return Reply{.bytes = {}, .close = true};
    }
    Response response = router_.Dispatch(request);
    if (fault && fault->kind == FaultKind::kTruncate) {
        status = response.status;
        Reply reply{.bytes = SerializeHead(response, response.body.size(), false), .close = true};
        reply.bytes.append(response.body, 0, response.body.size() / 2);
        return reply;
    }
    if (fault && fault->kind == FaultKind::kMalformed) {
        // Cut inside the JSON so that no parser accepts it; a body too short to cut gets a
        // lone '{'.
        std::string body =
            response.body.size() >= 2 ? response.body.substr(0, response.body.size() / 2) : "{";
        response = JsonResponse(200, std::move(body));
    }
    status = response.status;
    return SerializeResponse(response, request.keep_alive);
}

}  // namespace chatsync::emulator
