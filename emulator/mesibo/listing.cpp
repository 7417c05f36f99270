// Mesibo mode: the listing ops and the JSON of users, groups and members.
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
#include "emulator/mesibo/mode.hpp"

namespace chatsync::emulator {

namespace json = boost::json;

// --- Listing ---------------------------------------------------------------------------------

json::object MesiboMode::UsersGet(const json::object& body) {
    const std::int64_t count = Count(body);
    std::optional<mesibo::TextFilter> address;
    std::optional<std::int64_t> uid;
    if (const json::object* user = mesibo::ObjectField(body, "user"); user != nullptr) {
        address = mesibo::MakeFilter(mesibo::StringField(*user, "address", "addr"), "address");
        uid = mesibo::IntField(*user, "uid");
    }
    std::vector<const MesiboUser*> rows;
    for (const auto& [id, user] : data_.users) {
        if ((uid && user.uid != *uid) ||
            (address && !address->Matches(user.address, config_.collation, config_.escapes))) {
            continue;
        }
        rows.push_back(&user);
    }
    // order by pinned desc, regaddr desc, uid asc; the map already holds uid order.
    std::stable_sort(rows.begin(), rows.end(), [](const MesiboUser* a, const MesiboUser* b) {
        return std::pair(a->pinned, a->online) > std::pair(b->pinned, b->online);
    });
    return mesibo::ListAnswer(
        std::move(rows),
        count,
        "user",
        "users",
        [this](const MesiboUser& user) { return UserJson(user); },
        [this](std::size_t n, std::size_t total) { return ListCount(n, total); }
    );
}

json::object MesiboMode::GroupsGet(const json::object& body) {
    const std::int64_t count = Count(body);
    std::optional<mesibo::TextFilter> name;
    std::optional<std::int64_t> gid;
    if (const json::object* group = mesibo::ObjectField(body, "group"); group != nullptr) {
        name = mesibo::MakeFilter(mesibo::StringField(*group, "name"), "name");
        gid = mesibo::IntField(*group, "gid");
    }
    std::vector<const MesiboGroup*> rows;
    for (const auto& [id, group] : data_.groups) {
        if ((gid && group.gid != *gid) ||
            (name && !name->Matches(group.name, config_.collation, config_.escapes))) {
            continue;
        }
        rows.push_back(&group);
    }
    const MesiboCollation collation = config_.collation;
    // order by pinned desc, g.name asc, g.gid desc
    std::sort(rows.begin(), rows.end(), [collation](const MesiboGroup* a, const MesiboGroup* b) {
        if (a->pinned != b->pinned) {
            return a->pinned;
        }
        if (const int c = CollatedCompare(a->name, b->name, collation); c != 0) {
            return c < 0;
        }
        return a->gid > b->gid;
    });
    return mesibo::ListAnswer(
        std::move(rows),
        count,
        "group",
        "groups",
        [this](const MesiboGroup& group) { return GroupJson(group); },
        [this](std::size_t n, std::size_t total) { return ListCount(n, total); }
    );
}

json::object MesiboMode::GroupGetMembers(const json::object& body) {
    const std::int64_t count = Count(body);
    const MesiboGroup& group =
        mesibo::ExistingGroup(data_, mesibo::RequiredGid(mesibo::ObjectField(body, "group")));
    // No ORDER BY: rows come in table order, capped, and a group larger than the cap cannot be
    // listed in full.
    const std::size_t n = std::min(group.members.size(), static_cast<std::size_t>(count));
    json::array members;
    for (std::size_t i = 0; i < n; ++i) {
        members.push_back(MemberJson(group, group.members[i]));
    }
    json::object out;
    out["mcount"] = ListCount(n, group.members.size());
    out["count"] = static_cast<std::int64_t>(n);
    out["gid"] = Id(group.gid, group.string_id);
    out["members"] = std::move(members);
    return out;
}

json::object MesiboMode::AppStats() {
    const std::int64_t now_ms = NowMs();
    if (config_.appstats_interval.count() > 0 && last_appstats_ &&
        now_ms - *last_appstats_ < config_.appstats_interval.count()) {
        mesibo::Fail(mesibo::KnownFailure("RATELIMITED"));
    }
    last_appstats_ = now_ms;
    std::int64_t active = 0;
    std::int64_t online = 0;
    for (const auto& [uid, user] : data_.users) {
        active += user.active ? 1 : 0;
        online += user.online ? 1 : 0;
    }
    // The notes give no success shape for appstats; these counts are the emulator's own.
    return json::object{
        {"stats",
         json::object{
             {"users", static_cast<std::int64_t>(data_.users.size())},
             {"active", active},
             {"online", online},
             {"groups", static_cast<std::int64_t>(data_.groups.size())},
             {"members", static_cast<std::int64_t>(data_.MemberCount())},
         }}};
}

json::value MesiboMode::Id(std::int64_t id, bool string_id) const {
    const bool as_string =
        config_.ids == MesiboIds::kString || (config_.ids == MesiboIds::kMixed && string_id);
    return as_string ? json::value(std::to_string(id)) : json::value(id);
}

json::value MesiboMode::Flag(bool on, bool record_bool) const {
    const bool as_bool = config_.flags == MesiboFlags::kBool ||
                         (config_.flags == MesiboFlags::kMixed && record_bool);
    return as_bool ? json::value(on) : json::value(std::int64_t{on ? 1 : 0});
}

std::int64_t MesiboMode::ListCount(std::size_t rows, std::size_t total) const {
    return static_cast<std::int64_t>(config_.counts == MesiboCounts::kTotal ? total : rows);
}

json::object MesiboMode::UserJson(const MesiboUser& user) const {
    json::object profile;
    mesibo::PutIfNotEmpty(profile, "name", user.name);
    mesibo::PutIfNotEmpty(profile, "status", user.status);
    mesibo::PutIfNotEmpty(profile, "image", user.image);
    return json::object{
        {"uid", Id(user.uid, user.string_id)},
        {"address", user.address},
        {"ipaddr", static_cast<std::int64_t>(user.ipaddr)},
        {"lastonline", std::max<std::int64_t>(0, NowSeconds() - user.lastonline)},
        {"active", Flag(user.active, user.bool_flags)},
        {"pinned", Flag(user.pinned, user.bool_flags)},
        {"online", Flag(user.online, user.bool_flags)},
        {"flag", user.flags},
        {"flags", user.flags},
        // Always empty in usersget; `cts` is written only with a token, so never here.
        {"token", ""},
        {"appid", user.appid},
        {"profile", std::move(profile)},
    };
}

json::object MesiboMode::GroupJson(const MesiboGroup& group) const {
    json::object profile;
    mesibo::PutIfNotEmpty(profile, "name", group.profile_name);
    mesibo::PutIfNotEmpty(profile, "status", group.status);
    mesibo::PutIfNotEmpty(profile, "info", group.info);
    mesibo::PutIfNotEmpty(profile, "image", group.image);
    return json::object{
        {"gid", Id(group.gid, group.string_id)},
        {"name", group.name},
        {"ats", group.ats},
        {"ets", std::max<std::int64_t>(0, group.ats + group.expiry - NowSeconds())},
        {"expiryext", group.expiryext},
        {"type", group.type},
        {"flag", group.flags},
        {"sflags", group.sflags},
        {"pinned", Flag(group.pinned, group.bool_flags)},
        {"profile", std::move(profile)},
    };
}

json::object MesiboMode::TokenJson(const MesiboUser& user) const {
    return json::object{
        {"uid", Id(user.uid, user.string_id)},
        {"address", user.address},
        {"token", user.token},
    };
}

json::object MesiboMode::GidAnswer(const MesiboGroup& group) const {
    return json::object{{"group", json::object{{"gid", Id(group.gid, group.string_id)}}}};
}

json::object MesiboMode::MemberJson(const MesiboGroup& group, const MesiboMember& member) const {
    const auto it = data_.users.find(member.uid);
    const bool string_id = it != data_.users.end() && it->second.string_id;
    json::object out{
        {"gid", Id(group.gid, group.string_id)},
        {"uid", Id(member.uid, string_id)},
        {"address", it != data_.users.end() ? it->second.address : std::string()},
        {"cansend", Flag(member.send, member.bool_flags)},
        {"canrecv", Flag(member.recv, member.bool_flags)},
        {"canpub", Flag(member.pub, member.bool_flags)},
        {"cansub", Flag(member.sub, member.bool_flags)},
        {"canlist", Flag(member.list, member.bool_flags)},
        {"permissions",
         json::object{
             {"send", member.send},
             {"recv", member.recv},
             {"pub", member.pub},
             {"sub", member.sub},
             {"list", member.list},
         }},
    };
    if (member.aflags != 0) {
        const auto bit = [&member](MesiboAdminBit b) {
            return (member.aflags & AdminMask(b)) != 0;
        };
        out["admin"] = json::object{
            {"owner", bit(MesiboAdminBit::kOwner)},
            {"modify", bit(MesiboAdminBit::kModify)},
            {"remove", bit(MesiboAdminBit::kRemove)},
            {"adduser", bit(MesiboAdminBit::kAddUser)},
            {"remuser", bit(MesiboAdminBit::kRemUser)},
            {"addadmin", bit(MesiboAdminBit::kAddAdmin)},
            {"remadmin", bit(MesiboAdminBit::kRemAdmin)},
            {"remowner", bit(MesiboAdminBit::kRemOwner)},
        };
    }
    return out;
}

}  // namespace chatsync::emulator
