#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "emulator/frame/mode.hpp"
#include "emulator/frame/rng.hpp"
#include "emulator/mesibo/data.hpp"

/// @file
/// Mesibo: the server-side "backend API" (see /work/shared/apis/mesibo.md). Every request is
/// one op (`{"op": ..., "token": ...}`) POSTed to /backend/ (also /backend and the legacy
/// /api.php, which take form or query parameters too); every answer is HTTP 200 with
/// `result` true or false. One app, with the token from --mesibo-token.
///
/// Admin routes (JSON bodies; every field optional unless said otherwise):
/// - POST /_admin/mesibo/seed {users, groups, max_members, seed}: new dataset.
/// - GET /_admin/mesibo/dataset: every user, group and membership with numeric ids, plus
///   `clients` as GET /_admin/mesibo/clients.
/// - POST /_admin/mesibo/users/add {users: [{address (required), name, status, image, active,
///   pinned, online, flags, appid, lastonline, ipaddr, string_id}], count, prefix}
/// - POST /_admin/mesibo/users/update {users: [{uid or address, ...fields}]}; selected by uid,
///   `address` renames.
/// - POST /_admin/mesibo/users/delete {uids: [...], addresses: [...]}: memberships go too.
/// - POST /_admin/mesibo/groups/add {groups: [{name, flags, pinned, active, ats, expiry,
///   expiryext, type, sflags, profile_name, status, info, image, string_id, members: [address
///   or uid]}], count, prefix}
/// - POST /_admin/mesibo/groups/update {groups: [{gid (required), ...fields}]}
/// - POST /_admin/mesibo/groups/delete {gids: [...]}
/// - POST /_admin/mesibo/members/add|remove {gid, members: [address or uid], send, recv, pub,
///   sub, list, aflags}
/// - GET /_admin/mesibo/clients: {limit, disabled, trusted, breaches, trusted_violations,
///   slots: [{address, last_seen, count}], tokens: {token: [address, ...]}}
/// - POST /_admin/mesibo/breach {disabled}: set the TOKENBREACH state (default true): every
///   later request with the right token answers TOKENBREACH.
/// - POST /_admin/mesibo/breach/reset {keep_seen}: re-enable the app, free every slot, and
///   forget `first_breach_at_ms` and `after_breach`.
/// - GET|POST|DELETE /_admin/mesibo/barrier: the answer barrier. POST {requests (required,
///   >= 1), timeout_ms (10000; 0: none)} holds the next API requests unanswered until
///   `requests` of them wait, or `timeout_ms` have passed since the first arrived; then every
///   held request is answered and the barrier is gone (one use). DELETE answers the held
///   ones now. All answer {armed, requests, timeout_ms, waiting, releases, last_release:
///   {held, timed_out} or null}.
/// - GET|POST|DELETE /_admin/mesibo/errors, POST /_admin/mesibo/errors/clear: errors answered
///   instead of the next requests, {error (required), code, cause, action, properties, count
///   (1; -1 for ever), ops: [...], status (HTTP, 200)} or an array of them.
/// - GET|POST /_admin/mesibo/clock {now: ISO-8601 or Unix seconds or null, offset_ms,
///   advance_ms}
/// - POST /_admin/mesibo/appstats/reset: forget the last appstats call.
/// - GET|POST /_admin/mesibo/config {token, ip_limit, ip_ttl_ms, trusted, max_count,
///   appstats_interval_ms, ids, origin_check, collation, escapes, flags, counts,
///   case_insensitive (true: collation ci, false: binary), limited_ops, build}
///
/// GET /_admin/stats has a "mesibo" object: users, groups, members, requests (answered by the
/// API), received (arrived at the API paths, held ones included), ops {op: n}, write_ops,
/// errors {error: n}, disabled, breaches, trusted_violations, clients, held (waiting at the
/// barrier now), first_breach_at_ms (wall-clock Unix ms when the first TOKENBREACH answer was
/// handed to the transport, or null) and after_breach (requests that arrived after that).

namespace chatsync::emulator {

/// How uid and gid values are written (--mesibo-ids).
enum class MesiboIds {
    kNumber,  ///< `"uid":5302`, as current builds.
    kString,  ///< `"uid":"5302"`, as the old api.php documentation shows.
    kMixed,   ///< Per record: both forms in one answer.
};

/// What `active`, `pinned`, `online` and the members' `can*` are written as (--mesibo-flags).
enum class MesiboFlags {
    kInt,    ///< 0/1, as the 2023 build writes them.
    kBool,   ///< true/false.
    kMixed,  ///< Per record, either.
};

/// What `userscount`, `groupscount` and `mcount` carry (--mesibo-counts); `count` is always the
/// rows in the answer.
enum class MesiboCounts {
    kRows,   ///< The rows in the answer, as `count`.
    kTotal,  ///< Every matching row, before the cap.
};

/// The Mesibo backend of one app.
///
/// Options (initial values; POST /_admin/mesibo/config changes them at run time):
/// - --mesibo-max-count (100; the old docs say 20): rows a list op returns; no offset.
/// - --mesibo-ip-limit (5): distinct client addresses the token may come from; the next one
///   disables the app, and every request then answers TOKENBREACH until the admin API resets it.
/// - --mesibo-appstats-interval (1h): appstats answers RATELIMITED within this time of its last
///   success.
/// - --mesibo-ids (mixed): uid/gid as numbers, as strings, or per record both.
/// - --mesibo-origin-check (user-agent): BADORIGIN for "Android"/"Mobile" in the User-Agent.
/// - --mesibo-collation (binary): how address and name filters and lookups compare.
/// - --mesibo-escapes (honoured): whether a backslash escapes in LIKE patterns.
/// - --mesibo-flags (int), --mesibo-counts (rows): see MesiboFlags, MesiboCounts.
/// @par Thread Safety
/// As every mode: used on the serving thread only.
class MesiboMode final : public Mode {
public:
    /// Throws std::invalid_argument for bad --mesibo-* values.
    explicit MesiboMode(const ModeContext& context);

    std::string_view Name() const override { return "mesibo"; }

    void AddRoutes(Router& router) override;
    /// Counts the arrivals at the API paths and holds them at an armed barrier.
    Task<void> Hold(std::string path) override;
    void AddStats(boost::json::object& stats) const override;
    /// Answers every held request.
    void Stop() override;

    /// Replaces the dataset (users, groups, members); app state (breach, clients, appstats)
    /// stays.
    void Seed(const MesiboSeed& seed);

    /// Unix seconds as the backend sees them (pinned time or system clock plus offset).
    std::int64_t NowSeconds() const;
    /// The same time in milliseconds.
    std::int64_t NowMs() const;

    const MesiboDataset& Data() const { return data_; }

    /// An error answer in the making: `{"error", "code", "cause", "action", "properties"}`.
    struct Failure {
        std::string error;
        std::int64_t code = 400;
        std::string cause;
        std::string action;
        std::vector<std::string> properties;
    };

private:
    /// An error to answer instead of the next `count` requests whose op is in `ops` (all ops
    /// when empty).
    struct Injected {
        Failure failure;
        std::int64_t count = 1;  ///< -1: forever.
        std::vector<std::string> ops;
        unsigned status = 200;
    };

    /// Runtime-adjustable settings, initialised from the options.
    struct Config {
        std::string token;
        std::int64_t ip_limit = 5;
        std::chrono::milliseconds ip_ttl{0};
        bool trusted = false;
        std::int64_t max_count = 100;
        std::chrono::milliseconds appstats_interval = std::chrono::hours(1);
        MesiboIds ids = MesiboIds::kMixed;
        std::string origin_check = "user-agent";
        MesiboCollation collation = MesiboCollation::kBinary;
        MesiboEscapes escapes = MesiboEscapes::kHonoured;
        MesiboFlags flags = MesiboFlags::kInt;
        MesiboCounts counts = MesiboCounts::kRows;
        bool limited_ops = false;
        std::int64_t build = 0;  ///< 0: no `build` in error answers (the cloud).
    };

    /// One of the address slots that the TOKENBREACH rule counts.
    struct Slot {
        std::string address;
        std::int64_t last_seen = 0;  ///< Unix seconds.
        std::int64_t count = 0;
    };

    Response Backend(const Request& request);
    boost::json::object Dispatch(const std::string& op, const boost::json::object& body);
    void TrackClient(const std::string& address);

    boost::json::object UsersGet(const boost::json::object& body);
    boost::json::object GroupsGet(const boost::json::object& body);
    boost::json::object GroupGetMembers(const boost::json::object& body);
    boost::json::object AppStats();
    boost::json::object UserAdd(const boost::json::object& body);
    boost::json::object UserSet(const boost::json::object& body);
    boost::json::object UserToken(const boost::json::object& body);
    boost::json::object UserDel(const boost::json::object& body);
    boost::json::object GroupAdd(const boost::json::object& body, bool create);
    boost::json::object GroupDel(const boost::json::object& body);
    boost::json::object GroupEditMembers(const boost::json::object& body);
    boost::json::object Message(const boost::json::object& body);

    MesiboUser& SelectUser(const boost::json::object& user);
    void ApplyUserFields(MesiboUser& user, const boost::json::object& fields);
    /// Generates a token when `fields` has a `token` object; true when it did.
    bool ApplyToken(MesiboUser& user, const boost::json::object& fields);
    void ApplyGroupFields(MesiboGroup& group, const boost::json::object& fields);
    /// Adds (or with `remove`, removes) the members named in `members` ({m, permissions,
    /// admin}); unknown or inactive users are skipped, as the backend's INSERT … SELECT does.
    void EditMembers(MesiboGroup& group, const boost::json::object& members, bool remove);
    /// A user or group not stored yet, with the next id.
    MesiboUser NewUser(std::string address) const;
    MesiboGroup NewGroup() const;
    /// Stores a new or changed record. Ops change a copy and commit it once every field was
    /// accepted, so that a failing op changes nothing.
    MesiboUser& Commit(MesiboUser user);
    MesiboGroup& Commit(MesiboGroup group);
    std::string NewToken();
    std::int64_t Count(const boost::json::object& body) const;

    boost::json::value Id(std::int64_t id, bool string_id) const;
    /// A 0/1 flag as --mesibo-flags writes it; `record_bool` is the record's pick under mixed.
    boost::json::value Flag(bool on, bool record_bool) const;
    /// `<many>count` of a list answer: `rows`, or `total` under --mesibo-counts total.
    std::int64_t ListCount(std::size_t rows, std::size_t total) const;
    boost::json::object UserJson(const MesiboUser& user) const;
    boost::json::object GroupJson(const MesiboGroup& group) const;
    boost::json::object MemberJson(const MesiboGroup& group, const MesiboMember& member) const;
    /// `{uid, address, token}`: the user in the answers that hand out a new token.
    boost::json::object TokenJson(const MesiboUser& user) const;
    /// `{"group": {"gid"}}`: the answer of the group write ops.
    boost::json::object GidAnswer(const MesiboGroup& group) const;
    std::string
    FailureText(const Failure& failure, const std::string* op, const boost::json::value* id) const;

    Response AdminSeed(const Request& request, const PathParams& params);
    Response AdminDataset(const Request& request, const PathParams& params);
    Response AdminUsersAdd(const Request& request, const PathParams& params);
    Response AdminUsersUpdate(const Request& request, const PathParams& params);
    Response AdminUsersDelete(const Request& request, const PathParams& params);
    Response AdminGroupsAdd(const Request& request, const PathParams& params);
    Response AdminGroupsUpdate(const Request& request, const PathParams& params);
    Response AdminGroupsDelete(const Request& request, const PathParams& params);
    Response AdminMembers(const Request& request, const PathParams& params);
    Response AdminClients(const Request& request, const PathParams& params);
    Response AdminBreach(const Request& request, const PathParams& params);
    Response AdminBreachReset(const Request& request, const PathParams& params);
    Response AdminErrors(const Request& request, const PathParams& params);
    Response AdminClock(const Request& request, const PathParams& params);
    Response AdminAppStatsReset(const Request& request, const PathParams& params);
    Response AdminConfig(const Request& request, const PathParams& params);
    Response AdminBarrier(const Request& request, const PathParams& params);

    /// Ends the barrier and wakes every held request; `timed_out` is recorded for
    /// GET /_admin/mesibo/barrier.
    void ReleaseBarrier(bool timed_out);
    boost::json::object BarrierJson() const;

    boost::json::object ClientsJson() const;
    boost::json::object ConfigJson() const;
    MesiboUser* AdminFindUser(const boost::json::value& ref);

    Executor executor_;
    const Options& options_;
    Config config_;
    MesiboDataset data_;
    Rng rng_{1};  ///< Tokens and new-record choices.

    std::int64_t clock_offset_ms_ = 0;
    std::optional<std::int64_t> pinned_now_s_;

    bool disabled_ = false;  ///< TOKENBREACH: every request of the app fails.
    std::vector<Slot> slots_;
    /// Every distinct address that sent each token (right or wrong), in first-seen order.
    std::map<std::string, std::vector<std::string>> seen_;
    std::optional<std::int64_t> last_appstats_;  ///< Unix seconds of the last success.
    std::vector<Injected> injected_;
    std::int64_t next_mid_ = 1'387'628;

    std::map<std::string, std::int64_t> op_counts_;
    std::map<std::string, std::int64_t> error_counts_;
    std::int64_t requests_ = 0;
    std::int64_t breaches_ = 0;
    std::int64_t trusted_violations_ = 0;

    // Accounting of TOKENBREACH answers, for tests that a client stops after the first.
    std::int64_t received_ = 0;  ///< Arrivals at the API paths.
    std::optional<std::int64_t> first_breach_ms_;
    std::int64_t after_breach_ = 0;

    /// An armed answer barrier (POST /_admin/mesibo/barrier).
    struct Barrier {
        std::int64_t requests = 1;
        std::chrono::milliseconds timeout{10'000};
    };

    std::optional<Barrier> barrier_;
    /// When the held requests are let go without a full barrier: the first arrival plus the
    /// timeout.
    std::chrono::steady_clock::time_point barrier_deadline_;
    std::int64_t barrier_releases_ = 0;
    std::optional<std::pair<std::int64_t, bool>> last_release_;  ///< Held count, timed out.
    bool stopped_ = false;
    // Last: the timers of the held requests, in arrival order. Each belongs to a waiting
    // coroutine, which takes it off this list before it ends; ReleaseBarrier() cancels them.
    std::vector<boost::asio::steady_timer*> held_;
};

std::unique_ptr<Mode> CreateMesiboMode(const ModeContext& context);

/// "number", "string", "mixed"; nullopt for anything else.
std::optional<MesiboIds> ParseMesiboIds(std::string_view name);
std::string_view MesiboIdsName(MesiboIds ids);
/// "int", "bool", "mixed"; nullopt for anything else.
std::optional<MesiboFlags> ParseMesiboFlags(std::string_view name);
std::string_view MesiboFlagsName(MesiboFlags flags);
/// "rows", "total"; nullopt for anything else.
std::optional<MesiboCounts> ParseMesiboCounts(std::string_view name);
std::string_view MesiboCountsName(MesiboCounts counts);

}  // namespace chatsync::emulator
