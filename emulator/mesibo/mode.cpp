// Mesibo mode: settings, construction, routing, the answer barrier and the request pipeline.
#include "emulator/mesibo/mode.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/mesibo/failures.hpp"
#include "emulator/mesibo/fields.hpp"

namespace chatsync::emulator {

namespace json = boost::json;

std::optional<MesiboIds> ParseMesiboIds(std::string_view name) {
    if (name == "number") {
        return MesiboIds::kNumber;
    }
    if (name == "string") {
        return MesiboIds::kString;
    }
    if (name == "mixed") {
        return MesiboIds::kMixed;
    }
    return std::nullopt;
}

std::optional<MesiboFlags> ParseMesiboFlags(std::string_view name) {
    if (name == "int") {
        return MesiboFlags::kInt;
    }
    if (name == "bool") {
        return MesiboFlags::kBool;
    }
    if (name == "mixed") {
        return MesiboFlags::kMixed;
    }
    return std::nullopt;
}

std::string_view MesiboFlagsName(MesiboFlags flags) {
    switch (flags) {
        case MesiboFlags::kBool:
            return "bool";
        case MesiboFlags::kMixed:
            return "mixed";
        case MesiboFlags::kInt:
            break;
    }
    return "int";
}

std::optional<MesiboCounts> ParseMesiboCounts(std::string_view name) {
    if (name == "rows") {
        return MesiboCounts::kRows;
    }
    if (name == "total") {
        return MesiboCounts::kTotal;
    }
    return std::nullopt;
}

std::string_view MesiboCountsName(MesiboCounts counts) {
    return counts == MesiboCounts::kTotal ? "total" : "rows";
}

std::string_view MesiboIdsName(MesiboIds ids) {
    switch (ids) {
        case MesiboIds::kNumber:
            return "number";
        case MesiboIds::kString:
            return "string";
        case MesiboIds::kMixed:
            break;
    }
    return "mixed";
}

MesiboMode::MesiboMode(const ModeContext& context)
    : executor_(context.executor)
    , options_(context.options) {
    const auto ids = ParseMesiboIds(options_.mesibo_ids);
    if (!ids) {
        throw std::invalid_argument("--mesibo-ids: number, string or mixed");
    }
    const auto collation = ParseMesiboCollation(options_.mesibo_collation);
    if (!collation) {
        throw std::invalid_argument("--mesibo-collation: binary, ci or ai_ci");
    }
    const auto escapes = ParseMesiboEscapes(options_.mesibo_escapes);
    if (!escapes) {
        throw std::invalid_argument("--mesibo-escapes: honoured or ignored");
    }
    const auto flags = ParseMesiboFlags(options_.mesibo_flags);
    if (!flags) {
        throw std::invalid_argument("--mesibo-flags: int, bool or mixed");
    }
    const auto counts = ParseMesiboCounts(options_.mesibo_counts);
    if (!counts) {
        throw std::invalid_argument("--mesibo-counts: rows or total");
    }
    const std::string& origin = options_.mesibo_origin_check;
    if (origin != "user-agent" && origin != "any-header" && origin != "off") {
        throw std::invalid_argument("--mesibo-origin-check: user-agent, any-header or off");
    }
    config_ = Config{
        .token = options_.mesibo_token,
        .ip_limit = options_.mesibo_ip_limit,
        .ip_ttl = options_.mesibo_ip_ttl,
        .trusted = options_.mesibo_trusted,
        .max_count = options_.mesibo_max_count,
        .appstats_interval = options_.mesibo_appstats_interval,
        .ids = *ids,
        .origin_check = origin,
        .collation = *collation,
        .escapes = *escapes,
        .flags = *flags,
        .counts = *counts,
        .limited_ops = options_.mesibo_limited_ops,
        .build = options_.mesibo_build,
    };
    Seed(MesiboSeed{
        .users = options_.mesibo_users,
        .groups = options_.mesibo_groups,
        .max_members = options_.mesibo_max_members,
        .seed = options_.seed,
        .now = 0,
    });
}

std::unique_ptr<Mode> CreateMesiboMode(const ModeContext& context) {
    return std::make_unique<MesiboMode>(context);
}

void MesiboMode::Seed(const MesiboSeed& seed) {
    MesiboSeed s = seed;
    s.now = NowSeconds();
    data_ = SeedMesiboDataset(s);
    rng_ = Rng(seed.seed ^ 0x6d65736962ULL);
}

std::int64_t MesiboMode::NowMs() const {
    return pinned_now_s_ ? *pinned_now_s_ * 1000 : mesibo::SystemMs() + clock_offset_ms_;
}

std::int64_t MesiboMode::NowSeconds() const {
    return NowMs() / 1000;
}

// --- Routing ---------------------------------------------------------------------------------

void MesiboMode::AddRoutes(Router& router) {
    const Handler api = [this](const Request& request, const PathParams&) {
        return Backend(request);
    };
    for (const std::string_view path : {"/backend/", "/backend", "/api.php"}) {
        for (const std::string_view method : {"POST", "GET", "OPTIONS"}) {
            router.Add(method, path, api);
        }
    }
    using Member = Response (MesiboMode::*)(const Request&, const PathParams&);
    // Admin handlers reuse the API's field readers; their failures become plain 400s here.
    const auto admin = [this](Member member) -> Handler {
        return
            [handler = BindRoute(this, member)](const Request& request, const PathParams& params) {
                try {
                    return handler(request, params);
                } catch (const mesibo::MesiboFailure& e) {
                    std::string props;
                    for (const auto& p : e.Get().properties) {
                        props += (props.empty() ? "" : ",") + p;
                    }
                    throw HttpError(400, e.Get().error + ": " + props);
                }
            };
    };
    const std::string prefix = "/_admin/mesibo";
    router.Add("POST", prefix + "/seed", admin(&MesiboMode::AdminSeed));
    router.Add("GET", prefix + "/dataset", admin(&MesiboMode::AdminDataset));
    router.Add("POST", prefix + "/users/add", admin(&MesiboMode::AdminUsersAdd));
    router.Add("POST", prefix + "/users/update", admin(&MesiboMode::AdminUsersUpdate));
    router.Add("POST", prefix + "/users/delete", admin(&MesiboMode::AdminUsersDelete));
    router.Add("POST", prefix + "/groups/add", admin(&MesiboMode::AdminGroupsAdd));
    router.Add("POST", prefix + "/groups/update", admin(&MesiboMode::AdminGroupsUpdate));
    router.Add("POST", prefix + "/groups/delete", admin(&MesiboMode::AdminGroupsDelete));
    router.Add("POST", prefix + "/members/{action}", admin(&MesiboMode::AdminMembers));
    router.Add("GET", prefix + "/clients", admin(&MesiboMode::AdminClients));
    router.Add("POST", prefix + "/breach", admin(&MesiboMode::AdminBreach));
    router.Add("POST", prefix + "/breach/reset", admin(&MesiboMode::AdminBreachReset));
    router.Add("GET", prefix + "/errors", admin(&MesiboMode::AdminErrors));
    router.Add("POST", prefix + "/errors", admin(&MesiboMode::AdminErrors));
    router.Add("DELETE", prefix + "/errors", admin(&MesiboMode::AdminErrors));
    router.Add("POST", prefix + "/errors/clear", admin(&MesiboMode::AdminErrors));
    router.Add("GET", prefix + "/clock", admin(&MesiboMode::AdminClock));
    router.Add("POST", prefix + "/clock", admin(&MesiboMode::AdminClock));
    router.Add("POST", prefix + "/appstats/reset", admin(&MesiboMode::AdminAppStatsReset));
    router.Add("GET", prefix + "/config", admin(&MesiboMode::AdminConfig));
    router.Add("POST", prefix + "/config", admin(&MesiboMode::AdminConfig));
    for (const std::string_view method : {"GET", "POST", "DELETE"}) {
        router.Add(method, prefix + "/barrier", admin(&MesiboMode::AdminBarrier));
    }
}

Task<void> MesiboMode::Hold(std::string path) {
    if (path != "/backend/" && path != "/backend" && path != "/api.php") {
        co_return;
    }
    ++received_;
    if (first_breach_ms_) {
        ++after_breach_;
    }
    if (!barrier_ || stopped_) {
        co_return;
    }
    if (held_.empty()) {
        barrier_deadline_ = barrier_->timeout.count() > 0
                                ? std::chrono::steady_clock::now() + barrier_->timeout
                                : std::chrono::steady_clock::time_point::max();
    }
    const std::int64_t round = barrier_releases_;
    net::steady_timer timer(executor_, barrier_deadline_);
    held_.push_back(&timer);

    // The list must never point at a timer whose coroutine has ended.
    struct Unlist {
        std::vector<net::steady_timer*>& list;
        net::steady_timer* timer;

        ~Unlist() { std::erase(list, timer); }
    } unlist{held_, &timer};

    if (static_cast<std::int64_t>(held_.size()) >= barrier_->requests) {
        ReleaseBarrier(false);
        // The others resume in arrival order, as their cancelled waits were queued; queueing
        // behind them answers the last arrival last.
        co_await net::post(executor_, net::use_awaitable);
        co_return;
    }
    auto [ec] = co_await timer.async_wait(kAsTuple);
    // operation_aborted: released by a full barrier, the admin API or Stop(). Success: the
    // deadline passed first, and the first waiter to see it lets every held request go.
    if (!ec && barrier_releases_ == round) {
        ReleaseBarrier(true);
    }
}

void MesiboMode::ReleaseBarrier(bool timed_out) {
    if (!barrier_ && held_.empty()) {
        return;
    }
    barrier_.reset();
    ++barrier_releases_;
    last_release_ = std::pair(static_cast<std::int64_t>(held_.size()), timed_out);
    const std::vector<net::steady_timer*> held = std::move(held_);
    held_.clear();
    for (net::steady_timer* timer : held) {
        timer->cancel();
    }
}

void MesiboMode::Stop() {
    stopped_ = true;
    ReleaseBarrier(false);
}

void MesiboMode::AddStats(json::object& stats) const {
    json::object ops;
    std::int64_t writes = 0;
    for (const auto& [op, n] : op_counts_) {
        ops[op] = n;
        if (mesibo::In(mesibo::kWriteOps, op)) {
            writes += n;
        }
    }
    json::object errors;
    for (const auto& [error, n] : error_counts_) {
        errors[error] = n;
    }
    stats["mesibo"] = json::object{
        {"users", static_cast<std::int64_t>(data_.users.size())},
        {"groups", static_cast<std::int64_t>(data_.groups.size())},
        {"members", static_cast<std::int64_t>(data_.MemberCount())},
        {"requests", requests_},
        {"ops", std::move(ops)},
        {"write_ops", writes},
        {"errors", std::move(errors)},
        {"disabled", disabled_},
        {"breaches", breaches_},
        {"trusted_violations", trusted_violations_},
        {"clients", static_cast<std::int64_t>(slots_.size())},
        {"received", received_},
        {"held", static_cast<std::int64_t>(held_.size())},
        {"first_breach_at_ms",
         first_breach_ms_ ? json::value(*first_breach_ms_) : json::value(nullptr)},
        {"after_breach", after_breach_},
    };
}

// --- The request pipeline --------------------------------------------------------------------

Response MesiboMode::Backend(const Request& request) {
    ++requests_;
    Response response;
    // The FastCGI program writes these on every answer and no Status line, so HTTP is 200
    // even for failures (mesibo.md 1).
    response.headers = {
        {"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Headers", "Content-Type, Authorization"},
        {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
    };
    if (request.method == "OPTIONS") {
        return response;
    }
    std::optional<std::string> op;
    std::optional<json::value> id;
    try {
        const json::object body = mesibo::Envelope(request);
        if (const json::value* v = mesibo::Field(body, "op"); v != nullptr && v->is_string()) {
            op = std::string(v->get_string());
            ++op_counts_[*op];
        }
        // `id` is "any random integer"; it is echoed only when it reads as one.
        if (const json::value* v = mesibo::Field(body, "id"); v != nullptr) {
            if (const auto n = mesibo::ToInt(*v)) {
                id = *n;
            }
        }
        const auto token = mesibo::StringField(body, "token");
        if (token && !token->empty()) {
            auto& addresses = seen_[*token];
            if (std::find(addresses.begin(), addresses.end(), request.remote) == addresses.end()) {
                addresses.push_back(request.remote);
            }
        }
        // The backend checks the token, then the origin, then the op, then its parameters
        // (mesibo.md 6). Injected errors come first so that they can stand in for any of them.
        for (auto it = injected_.begin(); it != injected_.end(); ++it) {
            const bool matches =
                it->ops.empty() ||
                (op && std::find(it->ops.begin(), it->ops.end(), *op) != it->ops.end());
            if (!matches) {
                continue;
            }
            const mesibo::Failure failure = it->failure;
            response.status = it->status;
            if (it->count > 0) {
                --it->count;
                if (it->count == 0) {
                    injected_.erase(it);
                }
            }
            mesibo::Fail(failure);
        }
        if (!token || *token != config_.token) {
            mesibo::Fail(mesibo::KnownFailure("AUTHFAIL"));
        }
        if (disabled_) {
            mesibo::Fail(mesibo::TokenBreach());
        }
        TrackClient(request.remote);
        static constexpr std::array<std::string_view, 4> kOriginExempt{
            "login", "signup", "activate", "resetpassword"};
        if (config_.origin_check != "off" && !(op && mesibo::In(kOriginExempt, *op))) {
            const auto mobile = [](std::string_view value) {
                const std::string v = ToLower(value);
                return v.find("android") != std::string::npos ||
                       v.find("mobile") != std::string::npos;
            };
            bool bad = false;
            if (config_.origin_check == "user-agent") {
                const auto agent = request.Header("User-Agent");
                bad = agent && mobile(*agent);
            } else {
                for (const auto& [name, value] : request.headers) {
                    bad = bad || mobile(value);
                }
            }
            if (bad) {
                mesibo::Fail(mesibo::KnownFailure("BADORIGIN"));
            }
        }
        if (!op || op->empty()) {
            mesibo::MissingParams({"op"});
        }
        json::object answer = Dispatch(*op, body);
        answer["op"] = *op;
        if (id) {
            answer["id"] = *id;
        }
        answer["result"] = true;
        response.body = ToJsonText(answer);
    } catch (const mesibo::MesiboFailure& e) {
        ++error_counts_[e.Get().error.empty() ? "FAIL" : e.Get().error];
        // Nothing else runs on this thread before the transport starts writing this answer,
        // so a request counted in after_breach arrived after the answer was on its way.
        if (e.Get().error == "TOKENBREACH" && !first_breach_ms_) {
            first_breach_ms_ = mesibo::SystemMs();
        }
        response.body = FailureText(e.Get(), op ? &*op : nullptr, id ? &*id : nullptr);
    }
    return response;
}

std::string MesiboMode::FailureText(
    const mesibo::Failure& failure,
    const std::string* op,
    const json::value* id
) const {
    // Field order of the real writer: error, code, [cause], [action], properties, [build],
    // then the common tail op, [id], result.
    json::object out;
    out["error"] = failure.error.empty() ? "FAIL" : failure.error;
    out["code"] = failure.code;
    if (!failure.cause.empty()) {
        out["cause"] = failure.cause;
    }
    if (!failure.action.empty()) {
        out["action"] = failure.action;
    }
    out["properties"] = mesibo::StringArray(failure.properties);
    if (config_.build != 0) {
        out["build"] = config_.build;
    }
    if (op != nullptr) {
        out["op"] = *op;
    }
    if (id != nullptr) {
        out["id"] = *id;
    }
    out["result"] = false;
    return ToJsonText(out);
}

void MesiboMode::TrackClient(const std::string& address) {
    if (mesibo::In(mesibo::kExemptAddresses, address)) {
        return;
    }
    const std::int64_t now = NowSeconds();
    if (config_.ip_ttl.count() > 0) {
        const std::int64_t ttl = std::max<std::int64_t>(
            1, std::chrono::duration_cast<std::chrono::seconds>(config_.ip_ttl).count()
        );
        std::erase_if(slots_, [&](const Slot& s) { return now - s.last_seen >= ttl; });
    }
    for (Slot& slot : slots_) {
        if (slot.address == address) {
            slot.last_seen = now;
            ++slot.count;
            return;
        }
    }
    if (config_.ip_limit <= 0 || static_cast<std::int64_t>(slots_.size()) < config_.ip_limit) {
        slots_.push_back(Slot{address, now, 1});
        return;
    }
    // No free slot. A trusted app is only logged by the real backend; any other is disabled
    // for good, and this request already fails.
    if (config_.trusted) {
        ++trusted_violations_;
        return;
    }
    disabled_ = true;
    ++breaches_;
    mesibo::Fail(mesibo::TokenBreach());
}

json::object MesiboMode::Dispatch(const std::string& op, const json::object& body) {
    if (config_.limited_ops && !mesibo::In(mesibo::kLimitedOps, op)) {
        mesibo::BadOp();
    }
    if (op == "usersget") {
        return UsersGet(body);
    }
    if (op == "groupsget") {
        return GroupsGet(body);
    }
    if (op == "groupgetmembers" || op == "groupmembersget") {
        return GroupGetMembers(body);
    }
    if (op == "appstats") {
        return AppStats();
    }
    if (op == "useradd") {
        return UserAdd(body);
    }
    if (op == "userset") {
        return UserSet(body);
    }
    if (op == "usertoken") {
        return UserToken(body);
    }
    if (op == "userdel") {
        return UserDel(body);
    }
    if (op == "groupadd" || op == "groupset") {
        return GroupAdd(body, op == "groupadd");
    }
    if (op == "groupdel") {
        return GroupDel(body);
    }
    if (op == "groupeditmembers" || op == "groupmembers") {
        return GroupEditMembers(body);
    }
    if (op == "message") {
        return Message(body);
    }
    if (op == "version") {
        const json::object part{{"date", "Jun  9 2023"}, {"build", 230609}};
        return json::object{{"backend", part}, {"realtime", part}, {"aid", 100001}};
    }
    // In the op table but outside what a sync or its tests touch: accepted, nothing changes.
    static constexpr std::array<std::string_view, 7> kQuietOps{
        "usersync", "otp", "appadd", "appset", "appget", "ignore", "onpiid"};
    if (mesibo::In(kQuietOps, op)) {
        return {};
    }
    mesibo::BadOp();
}

std::int64_t MesiboMode::Count(const json::object& body) const {
    const std::int64_t count = mesibo::IntField(body, "count").value_or(0);
    return count <= 0 || count > config_.max_count ? config_.max_count : count;
}

}  // namespace chatsync::emulator
