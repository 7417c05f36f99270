// Mesibo mode: the /_admin/mesibo/ routes that seed and change the data.
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

// --- Admin -----------------------------------------------------------------------------------

Response MesiboMode::AdminSeed(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const MesiboSeed seed{
        .users = mesibo::AdminInt(body, "users", options_.mesibo_users),
        .groups = mesibo::AdminInt(body, "groups", options_.mesibo_groups),
        .max_members = mesibo::AdminInt(body, "max_members", options_.mesibo_max_members),
        .seed = static_cast<std::uint64_t>(
            mesibo::AdminInt(body, "seed", static_cast<std::int64_t>(options_.seed))
        ),
        .now = 0,
    };
    if (seed.users < 0 || seed.groups < 0 || seed.max_members < 0) {
        throw HttpError(400, "users, groups and max_members must not be negative");
    }
    Seed(seed);
    return JsonAnswer(
        200,
        json::object{
            {"users", static_cast<std::int64_t>(data_.users.size())},
            {"groups", static_cast<std::int64_t>(data_.groups.size())},
            {"members", static_cast<std::int64_t>(data_.MemberCount())},
        }
    );
}

Response MesiboMode::AdminDataset(const Request&, const PathParams&) {
    json::array users;
    for (const auto& [uid, u] : data_.users) {
        users.push_back(json::object{
            {"uid", u.uid},
            {"string_id", u.string_id},
            {"bool_flags", u.bool_flags},
            {"address", u.address},
            {"name", u.name},
            {"status", u.status},
            {"image", u.image},
            {"active", u.active},
            {"pinned", u.pinned},
            {"online", u.online},
            {"flags", u.flags},
            {"appid", u.appid},
            {"lastonline", u.lastonline},
            {"ipaddr", static_cast<std::int64_t>(u.ipaddr)},
            {"token", u.token},
        });
    }
    json::array groups;
    json::array members;
    for (const auto& [gid, g] : data_.groups) {
        groups.push_back(json::object{
            {"gid", g.gid},
            {"string_id", g.string_id},
            {"bool_flags", g.bool_flags},
            {"name", g.name},
            {"flags", g.flags},
            {"pinned", g.pinned},
            {"active", g.active},
            {"ats", g.ats},
            {"expiry", g.expiry},
            {"expiryext", g.expiryext},
            {"type", g.type},
            {"sflags", g.sflags},
            {"profile_name", g.profile_name},
            {"status", g.status},
            {"info", g.info},
            {"image", g.image},
            {"members", static_cast<std::int64_t>(g.members.size())},
        });
        for (const MesiboMember& m : g.members) {
            const auto it = data_.users.find(m.uid);
            members.push_back(json::object{
                {"gid", g.gid},
                {"uid", m.uid},
                {"address", it != data_.users.end() ? it->second.address : std::string()},
                {"send", m.send},
                {"recv", m.recv},
                {"pub", m.pub},
                {"sub", m.sub},
                {"list", m.list},
                {"aflags", static_cast<std::int64_t>(m.aflags)},
                {"bool_flags", m.bool_flags},
            });
        }
    }
    return JsonAnswer(
        200,
        json::object{
            {"now", NowSeconds()},
            {"ids", MesiboIdsName(config_.ids)},
            {"flags", MesiboFlagsName(config_.flags)},
            {"users", std::move(users)},
            {"groups", std::move(groups)},
            {"members", std::move(members)},
            {"clients", ClientsJson()},
        }
    );
}

MesiboUser* MesiboMode::AdminFindUser(const json::value& ref) {
    if (ref.is_string()) {
        return data_.FindAddress(ref.get_string(), config_.collation);
    }
    if (const auto uid = mesibo::ToInt(ref)) {
        return data_.FindUid(*uid);
    }
    throw HttpError(400, "users are named by address (string) or uid (integer)");
}

namespace {

/// The fields an admin may set on a user directly, bypassing the API's rules.
void AdminUserFields(MesiboUser& user, const json::object& f) {
    user.name = mesibo::StringField(f, "name").value_or(user.name);
    user.status = mesibo::StringField(f, "status").value_or(user.status);
    user.image = mesibo::StringField(f, "image").value_or(user.image);
    user.appid = mesibo::StringField(f, "appid").value_or(user.appid);
    user.active = mesibo::BoolField(f, "active").value_or(user.active);
    user.pinned = mesibo::BoolField(f, "pinned").value_or(user.pinned);
    user.online = mesibo::BoolField(f, "online").value_or(user.online);
    user.string_id = mesibo::BoolField(f, "string_id").value_or(user.string_id);
    user.flags = mesibo::IntField(f, "flags").value_or(user.flags);
    user.lastonline = mesibo::IntField(f, "lastonline").value_or(user.lastonline);
    if (const auto v = mesibo::IntField(f, "ipaddr")) {
        user.ipaddr = static_cast<std::uint32_t>(*v);
    }
}

void AdminGroupFields(MesiboGroup& group, const json::object& f) {
    group.name = mesibo::StringField(f, "name").value_or(group.name);
    group.profile_name = mesibo::StringField(f, "profile_name").value_or(group.profile_name);
    group.status = mesibo::StringField(f, "status").value_or(group.status);
    group.info = mesibo::StringField(f, "info").value_or(group.info);
    group.image = mesibo::StringField(f, "image").value_or(group.image);
    group.pinned = mesibo::BoolField(f, "pinned").value_or(group.pinned);
    group.active = mesibo::BoolField(f, "active").value_or(group.active);
    group.string_id = mesibo::BoolField(f, "string_id").value_or(group.string_id);
    group.flags = mesibo::IntField(f, "flags").value_or(group.flags);
    group.ats = mesibo::IntField(f, "ats").value_or(group.ats);
    group.expiry = mesibo::IntField(f, "expiry").value_or(group.expiry);
    group.expiryext = mesibo::IntField(f, "expiryext").value_or(group.expiryext);
    group.type = mesibo::IntField(f, "type").value_or(group.type);
    group.sflags = mesibo::IntField(f, "sflags").value_or(group.sflags);
}

}  // namespace

Response MesiboMode::AdminUsersAdd(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    json::array added;
    const auto add = [&](const std::string& address, const json::object& fields) {
        if (data_.FindAddress(address, config_.collation) != nullptr) {
            throw HttpError(400, "address exists: " + address);
        }
        MesiboUser& user = Commit(NewUser(address));
        user.active = true;
        AdminUserFields(user, fields);
        added.push_back(json::object{{"uid", user.uid}, {"address", user.address}});
    };
    if (const json::array* users = mesibo::AdminArray(body, "users"); users != nullptr) {
        for (const auto& item : *users) {
            const json::object& fields = mesibo::AdminObject(item, "users");
            const auto address = mesibo::StringField(fields, "address");
            if (!address || address->empty()) {
                throw HttpError(400, "every user needs an address");
            }
            add(*address, fields);
        }
    }
    const std::int64_t count = mesibo::AdminInt(body, "count", 0);
    const std::string prefix = mesibo::StringField(body, "prefix").value_or("added");
    const json::object none;
    for (std::int64_t k = 0, n = 0; k < count; ++n) {
        std::array<char, 24> digits{};
        std::snprintf(digits.data(), digits.size(), "%04lld", static_cast<long long>(n));
        const std::string address = prefix + digits.data() + "@example.com";
        if (data_.FindAddress(address, config_.collation) == nullptr) {
            add(address, none);
            ++k;
        }
    }
    return JsonAnswer(200, json::object{{"added", std::move(added)}});
}

Response MesiboMode::AdminUsersUpdate(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    json::array updated;
    json::array missing;
    if (const json::array* users = mesibo::AdminArray(body, "users"); users != nullptr) {
        for (const auto& item : *users) {
            const json::object& fields = mesibo::AdminObject(item, "users");
            const json::value* uid = mesibo::Field(fields, "uid");
            const json::value* address = mesibo::Field(fields, "address");
            if (uid == nullptr && address == nullptr) {
                throw HttpError(400, "every user needs a uid or an address");
            }
            MesiboUser* user = AdminFindUser(uid != nullptr ? *uid : *address);
            if (user == nullptr) {
                missing.push_back(uid != nullptr ? *uid : *address);
                continue;
            }
            // Selected by uid, `address` is the new address.
            if (uid != nullptr && address != nullptr) {
                user->address = mesibo::StringField(fields, "address").value_or(user->address);
            }
            AdminUserFields(*user, fields);
            updated.emplace_back(user->uid);
        }
    }
    return JsonAnswer(
        200, json::object{{"updated", std::move(updated)}, {"missing", std::move(missing)}}
    );
}

Response MesiboMode::AdminUsersDelete(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    json::array deleted;
    for (const std::string_view key : {"uids", "addresses"}) {
        if (const json::array* refs = mesibo::AdminArray(body, key); refs != nullptr) {
            for (const auto& ref : *refs) {
                if (const MesiboUser* user = AdminFindUser(ref); user != nullptr) {
                    const std::int64_t uid = user->uid;
                    data_.RemoveUser(uid);
                    deleted.emplace_back(uid);
                }
            }
        }
    }
    return JsonAnswer(200, json::object{{"deleted", std::move(deleted)}});
}

Response MesiboMode::AdminGroupsAdd(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    json::array added;
    const auto add = [&](const json::object& fields, const std::string& name) {
        MesiboGroup& group = Commit(NewGroup());
        group.name = name;
        AdminGroupFields(group, fields);
        if (const json::array* members = mesibo::AdminArray(fields, "members");
            members != nullptr) {
            for (const auto& ref : *members) {
                const MesiboUser* user = AdminFindUser(ref);
                if (user == nullptr) {
                    throw HttpError(400, "unknown member " + ToJsonText(ref));
                }
                if (mesibo::FindMember(group, user->uid) == group.members.end()) {
                    group.members.push_back(mesibo::NewMember(user->uid));
                }
            }
        }
        added.push_back(json::object{{"gid", group.gid}, {"name", group.name}});
    };
    if (const json::array* groups = mesibo::AdminArray(body, "groups"); groups != nullptr) {
        for (const auto& item : *groups) {
            add(mesibo::AdminObject(item, "groups"), "");
        }
    }
    const std::int64_t count = mesibo::AdminInt(body, "count", 0);
    const std::string prefix = mesibo::StringField(body, "prefix").value_or("Added group");
    const json::object none;
    for (std::int64_t k = 0; k < count; ++k) {
        add(none, prefix + " " + std::to_string(k));
    }
    return JsonAnswer(200, json::object{{"added", std::move(added)}});
}

Response MesiboMode::AdminGroupsUpdate(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    json::array updated;
    json::array missing;
    if (const json::array* groups = mesibo::AdminArray(body, "groups"); groups != nullptr) {
        for (const auto& item : *groups) {
            const json::object& fields = mesibo::AdminObject(item, "groups");
            const auto gid = mesibo::IntField(fields, "gid");
            if (!gid) {
                throw HttpError(400, "every group needs a gid");
            }
            MesiboGroup* group = data_.FindGid(*gid);
            if (group == nullptr) {
                missing.emplace_back(*gid);
                continue;
            }
            AdminGroupFields(*group, fields);
            updated.emplace_back(*gid);
        }
    }
    return JsonAnswer(
        200, json::object{{"updated", std::move(updated)}, {"missing", std::move(missing)}}
    );
}

Response MesiboMode::AdminGroupsDelete(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    json::array deleted;
    if (const json::array* gids = mesibo::AdminArray(body, "gids"); gids != nullptr) {
        for (const auto& ref : *gids) {
            const auto gid = mesibo::ToInt(ref);
            if (!gid) {
                throw HttpError(400, "gids must be integers");
            }
            if (data_.groups.erase(*gid) != 0) {
                deleted.emplace_back(*gid);
            }
        }
    }
    return JsonAnswer(200, json::object{{"deleted", std::move(deleted)}});
}

Response MesiboMode::AdminMembers(const Request& request, const PathParams& params) {
    const std::string action = *params.Find("action");
    if (action != "add" && action != "remove") {
        throw HttpError(404, "not found");
    }
    const json::object body = BodyObject(request);
    const auto gid = mesibo::IntField(body, "gid");
    MesiboGroup* group = gid ? data_.FindGid(*gid) : nullptr;
    if (group == nullptr) {
        throw HttpError(400, "gid must name a group");
    }
    json::array done;
    json::array skipped;
    if (const json::array* refs = mesibo::AdminArray(body, "members"); refs != nullptr) {
        for (const auto& ref : *refs) {
            const MesiboUser* user = AdminFindUser(ref);
            if (user == nullptr) {
                skipped.push_back(ref);
                continue;
            }
            auto it = mesibo::FindMember(*group, user->uid);
            if (action == "remove") {
                if (it != group->members.end()) {
                    group->members.erase(it);
                    done.emplace_back(user->uid);
                } else {
                    skipped.push_back(ref);
                }
                continue;
            }
            if (it == group->members.end()) {
                group->members.push_back(mesibo::NewMember(user->uid));
                it = std::prev(group->members.end());
            }
            mesibo::ApplyPermissions(*it, body);
            if (const auto aflags = mesibo::IntField(body, "aflags")) {
                it->aflags = static_cast<std::uint32_t>(*aflags);
            }
            done.emplace_back(user->uid);
        }
    }
    return JsonAnswer(
        200,
        json::object{
            {action == "add" ? "added" : "removed", std::move(done)},
            {"skipped", std::move(skipped)},
        }
    );
}

}  // namespace chatsync::emulator
