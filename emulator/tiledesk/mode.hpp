#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "emulator/frame/mode.hpp"
#include "emulator/frame/rng.hpp"
#include "emulator/tiledesk/tz.hpp"

/// @file
/// Tiledesk: the REST API of tiledesk-server as served under https://api.tiledesk.com/v3
/// (see /work/shared/apis/tiledesk.md). One project, three accounts (owner from the flags,
/// agent@tiledesk.test / agent-password with role agent, outsider@tiledesk.test /
/// outsider-password who belongs to no project).

namespace chatsync::emulator {

/// A conversation. Typed fields drive filters and sorting; `doc` holds the rest of the
/// Mongoose document with references as ids.
struct TiledeskRequest {
    std::string id;  ///< _id
    std::string request_id;
    int status = 100;
    bool preflight = false;
    std::int64_t created_ms = 0;
    std::int64_t updated_ms = 0;
    std::string lead_id;
    std::string department_id;
    std::string requester_id;
    std::vector<std::string> participants;
    boost::json::object doc;
};

struct TiledeskMessage {
    std::string id;
    std::string recipient;  ///< request_id
    std::int64_t created_ms = 0;
    boost::json::object doc;
};

/// A project entity listed by a plain route (bots, members, leads, departments).
struct TiledeskEntity {
    std::string id;
    std::int64_t created_ms = 0;
    boost::json::object doc;
};

class TiledeskMode final : public Mode {
public:
    explicit TiledeskMode(const ModeContext& context);

    std::string_view Name() const override { return "tiledesk"; }

    void AddRoutes(Router& router) override;
    void AddStats(boost::json::object& stats) const override;

    /// Replaces the data with `requests` conversations of `messages` messages each.
    void Seed(std::int64_t requests, std::int64_t messages, std::uint64_t seed);

    /// Milliseconds since the epoch as the server sees them (clock offset or pinned time).
    std::int64_t NowMs() const;

    /// A user as the mode knows it.
    struct User {
        std::string id;
        std::string email;
        std::string password;
        std::string firstname;
        std::string lastname;
        std::string role;  ///< Project role; empty: not a member.
    };

private:
    struct Token {
        std::size_t user = 0;
        std::int64_t issued_ms = 0;
    };

    Handler Api(Handler handler, std::string_view min_role, bool project_scoped);
    const User* Authenticate(const Request& request, std::string& failure) const;

    Response SignIn(const Request& request, const PathParams& params);
    Response Projects(const Request& request, const PathParams& params);
    Response Requests(const Request& request, const PathParams& params);
    Response OneRequest(const Request& request, const PathParams& params);
    Response RequestMessages(const Request& request, const PathParams& params);
    Response OneMessage(const Request& request, const PathParams& params);
    Response MessageFeed(const Request& request, const PathParams& params);
    Response Bots(const Request& request, const PathParams& params);
    Response OneBot(const Request& request, const PathParams& params);
    Response ProjectUsers(const Request& request, const PathParams& params);
    Response Leads(const Request& request, const PathParams& params);
    Response OneLead(const Request& request, const PathParams& params);
    Response Departments(const Request& request, const PathParams& params);
    Response DepartmentsAllStatus(const Request& request, const PathParams& params);
    Response OneDepartment(const Request& request, const PathParams& params);

    Response AdminSeed(const Request& request, const PathParams& params);
    Response AdminUpdate(const Request& request, const PathParams& params);
    Response AdminAdd(const Request& request, const PathParams& params);
    Response AdminDelete(const Request& request, const PathParams& params);
    Response AdminTokens(const Request& request, const PathParams& params);
    Response AdminClock(const Request& request, const PathParams& params);
    Response AdminRateLimit(const Request& request, const PathParams& params);
    Response AdminDataset(const Request& request, const PathParams& params);

    boost::json::object RequestJson(const TiledeskRequest& r, bool populate) const;
    boost::json::value LeadRef(const std::string& id) const;
    boost::json::value DepartmentRef(const std::string& id) const;
    boost::json::object UserJson(const User& user) const;
    boost::json::object MemberJson(const User& user) const;

    void AddRequest(std::int64_t created_ms, std::int64_t messages, bool live);
    void AddMessage(TiledeskRequest& r, std::int64_t at_ms, std::string text);
    void InsertMessageOrdered(std::size_t index);
    std::string NewObjectId(std::int64_t ms);
    std::uint64_t Next();

    const Options& options_;
    std::shared_ptr<const TimeZone> server_zone_;
    std::vector<User> users_;

    Rng rng_{1};
    std::uint64_t oid_counter_ = 0;
    std::int64_t next_ticket_ = 1;
    std::vector<TiledeskRequest> requests_;                       ///< In creation order.
    std::unordered_map<std::string, std::size_t> by_request_id_;  ///< request_id -> index.
    std::vector<TiledeskMessage> messages_;
    std::unordered_map<std::string, std::vector<std::size_t>> messages_by_request_;
    std::vector<std::size_t> messages_by_time_;  ///< Ascending createdAt.
    std::vector<TiledeskEntity> bots_;
    std::vector<TiledeskEntity> members_;  ///< Agents (roleType 1); the users_ come first.
    std::unordered_map<std::string, boost::json::object> guests_;  ///< Requesters, by _id.
    std::vector<TiledeskEntity> leads_;
    std::vector<TiledeskEntity> departments_;
    std::size_t update_cursor_ = 0;

    std::unordered_map<std::string, Token> tokens_;  ///< Keyed by the token after "JWT ".
    std::int64_t clock_offset_ms_ = 0;
    std::optional<std::int64_t> pinned_now_ms_;

    std::int64_t rate_limit_ = 0;
    std::chrono::steady_clock::time_point window_start_{};
    std::int64_t window_count_ = 0;
    std::int64_t rejected_ = 0;
    bool rate_retry_after_ = false;  ///< 429s carry Retry-After (seconds left in the window).
};

std::unique_ptr<Mode> CreateTiledeskMode(const ModeContext& context);

}  // namespace chatsync::emulator
