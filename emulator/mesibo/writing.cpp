// Mesibo mode: the ops that write users, groups, members and messages.
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

// --- Writing ---------------------------------------------------------------------------------

std::string MesiboMode::NewToken() {
    std::string token;
    while (token.size() < 49) {
        std::array<char, 17> buf{};
        std::snprintf(
            buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(rng_.Next())
        );
        token += buf.data();
    }
    token.resize(49);
    return token;
}

MesiboUser MesiboMode::NewUser(std::string address) const {
    MesiboUser user;
    user.uid = data_.next_uid;
    user.address = std::move(address);
    // New records take both id forms too, so that a later listing still mixes them.
    user.string_id = user.uid % 3 == 0;
    user.bool_flags = user.uid % 2 == 0;
    user.lastonline = NowSeconds();
    return user;
}

MesiboGroup MesiboMode::NewGroup() const {
    MesiboGroup group;
    group.gid = data_.next_gid;
    group.ats = NowSeconds();
    group.string_id = group.gid % 3 == 0;
    group.bool_flags = group.gid % 2 == 0;
    return group;
}

MesiboUser& MesiboMode::Commit(MesiboUser user) {
    data_.next_uid = std::max(data_.next_uid, user.uid + 1);
    const std::int64_t uid = user.uid;
    return data_.users[uid] = std::move(user);
}

MesiboGroup& MesiboMode::Commit(MesiboGroup group) {
    data_.next_gid = std::max(data_.next_gid, group.gid + 1);
    const std::int64_t gid = group.gid;
    return data_.groups[gid] = std::move(group);
}

MesiboUser& MesiboMode::SelectUser(const json::object& user) {
    const mesibo::UserRef ref = mesibo::ReadUserRef(user);
    MesiboUser* found =
        ref.address ? data_.FindAddress(*ref.address, config_.collation) : data_.FindUid(ref.uid);
    if (found == nullptr) {
        mesibo::InvalidValue({ref.address ? "address" : "uid"});
    }
    return *found;
}

void MesiboMode::ApplyUserFields(MesiboUser& user, const json::object& fields) {
    user.name = mesibo::StringField(fields, "name").value_or(user.name);
    user.active = mesibo::BoolField(fields, "active").value_or(user.active);
    user.pinned = mesibo::BoolField(fields, "pinned").value_or(user.pinned);
    user.flags = mesibo::FlagsField(fields).value_or(user.flags);
    if (const json::object* profile = mesibo::ObjectField(fields, "profile"); profile != nullptr) {
        user.name = mesibo::StringField(*profile, "name").value_or(user.name);
        user.status = mesibo::StringField(*profile, "status").value_or(user.status);
        user.image = mesibo::StringField(*profile, "image").value_or(user.image);
    }
}

bool MesiboMode::ApplyToken(MesiboUser& user, const json::object& fields) {
    const json::object* token = mesibo::ObjectField(fields, "token");
    if (token == nullptr) {
        return false;
    }
    if (mesibo::BoolField(*token, "remove").value_or(false)) {
        user.token.clear();
        user.token_cts = 0;
        return false;
    }
    user.appid = mesibo::StringField(*token, "appid").value_or(user.appid);
    user.token = NewToken();
    user.token_cts = NowSeconds();
    user.token_expiry =
        mesibo::IntField(*token, "expiry").value_or(mesibo::kDefaultTokenExpiryMinutes);
    return true;
}

json::object MesiboMode::UserAdd(const json::object& body) {
    const json::object& fields = mesibo::UserFields(body);
    const mesibo::UserRef ref = mesibo::ReadUserRef(fields);
    if (ref.address) {
        mesibo::CheckAddress(*ref.address);
    }
    mesibo::CheckToken(fields);
    MesiboUser draft;
    if (ref.address) {
        const MesiboUser* found = data_.FindAddress(*ref.address, config_.collation);
        draft = found != nullptr ? *found : NewUser(*ref.address);
    } else {
        const MesiboUser* found = data_.FindUid(ref.uid);
        if (found == nullptr) {
            mesibo::InvalidValue({"uid"});
        }
        draft = *found;
    }
    ApplyUserFields(draft, fields);
    ApplyToken(draft, fields);
    return json::object{{"user", TokenJson(Commit(std::move(draft)))}};
}

json::object MesiboMode::UserSet(const json::object& body) {
    const json::object& fields = mesibo::UserFields(body);
    MesiboUser draft = SelectUser(fields);
    mesibo::CheckToken(fields);
    ApplyUserFields(draft, fields);
    const bool generated = ApplyToken(draft, fields);
    const MesiboUser& user = Commit(std::move(draft));
    json::object out;
    if (generated) {
        out["user"] = TokenJson(user);
    }
    return out;
}

json::object MesiboMode::UserToken(const json::object& body) {
    const json::object& fields = mesibo::UserFields(body);
    MesiboUser& user = SelectUser(fields);
    if (mesibo::ObjectField(fields, "token") == nullptr) {
        mesibo::MissingParams({"appid"});
    }
    mesibo::CheckToken(fields);
    ApplyToken(user, fields);
    return json::object{
        {"user",
         json::object{
             {"uid", Id(user.uid, user.string_id)},
             {"appid", user.appid},
             {"token", user.token},
         }}};
}

json::object MesiboMode::UserDel(const json::object& body) {
    const json::object& fields = mesibo::UserFields(body);
    if (const auto address = mesibo::StringField(fields, "address", "addr");
        address == mesibo::kSystemUser) {
        mesibo::BadValue({"address"});
    }
    const std::int64_t uid = SelectUser(fields).uid;
    data_.RemoveUser(uid);
    return {};
}

void MesiboMode::ApplyGroupFields(MesiboGroup& group, const json::object& fields) {
    group.name = mesibo::StringField(fields, "name").value_or(group.name);
    group.flags = mesibo::FlagsField(fields).value_or(group.flags);
    group.expiry = mesibo::IntField(fields, "expiry").value_or(group.expiry);
    group.expiryext = mesibo::IntField(fields, "expiryext").value_or(group.expiryext);
    group.active = mesibo::BoolField(fields, "active").value_or(group.active);
    group.pinned = mesibo::BoolField(fields, "pinned").value_or(group.pinned);
    if (const json::object* profile = mesibo::ObjectField(fields, "profile"); profile != nullptr) {
        group.profile_name = mesibo::StringField(*profile, "name").value_or(group.profile_name);
        group.status = mesibo::StringField(*profile, "status").value_or(group.status);
        group.info = mesibo::StringField(*profile, "info").value_or(group.info);
        group.image = mesibo::StringField(*profile, "image").value_or(group.image);
    }
}

void MesiboMode::EditMembers(MesiboGroup& group, const json::object& members, bool remove) {
    const json::object* permissions = mesibo::ObjectField(members, "permissions");
    const json::object& perm_source = permissions != nullptr ? *permissions : members;
    const json::object* admin = mesibo::ObjectField(members, "admin");
    for (const std::string& address : mesibo::MemberAddresses(members)) {
        const MesiboUser* user = data_.FindAddress(address, config_.collation);
        if (user == nullptr) {
            continue;
        }
        auto it = mesibo::FindMember(group, user->uid);
        if (remove) {
            if (it != group.members.end()) {
                group.members.erase(it);
            }
            continue;
        }
        // INSERT … SELECT … WHERE active=1: inactive users are skipped without an error.
        if (!user->active) {
            continue;
        }
        if (it == group.members.end()) {
            group.members.push_back(mesibo::NewMember(user->uid));
            it = std::prev(group.members.end());
        }
        MesiboMember& member = *it;
        mesibo::ApplyPermissions(member, perm_source);
        if (admin != nullptr) {
            static constexpr std::array<std::pair<std::string_view, MesiboAdminBit>, 8> kBits{{
                {"owner", MesiboAdminBit::kOwner},
                {"modify", MesiboAdminBit::kModify},
                {"remove", MesiboAdminBit::kRemove},
                {"adduser", MesiboAdminBit::kAddUser},
                {"remuser", MesiboAdminBit::kRemUser},
                {"addadmin", MesiboAdminBit::kAddAdmin},
                {"remadmin", MesiboAdminBit::kRemAdmin},
                {"remowner", MesiboAdminBit::kRemOwner},
            }};
            for (const auto& [key, bit] : kBits) {
                if (const auto on = mesibo::BoolField(*admin, key)) {
                    member.aflags =
                        *on ? member.aflags | AdminMask(bit) : member.aflags & ~AdminMask(bit);
                }
            }
        }
    }
}

json::object MesiboMode::GroupAdd(const json::object& body, bool create) {
    const json::object& fields = mesibo::ObjectOrEmpty(body, "group");
    const json::object* members = mesibo::ObjectField(fields, "members");
    if (members != nullptr) {
        for (const auto& address : mesibo::MemberAddresses(*members)) {
            if (address == mesibo::kSystemUser) {
                mesibo::BadValue({"members"});
            }
        }
    }
    MesiboGroup draft =
        create ? NewGroup() : mesibo::ExistingGroup(data_, mesibo::RequiredGid(&fields));
    ApplyGroupFields(draft, fields);
    if (members != nullptr) {
        EditMembers(draft, *members, false);
    }
    return GidAnswer(Commit(std::move(draft)));
}

json::object MesiboMode::GroupDel(const json::object& body) {
    const std::int64_t gid = mesibo::RequiredGid(mesibo::ObjectField(body, "group"));
    json::object out = GidAnswer(mesibo::ExistingGroup(data_, gid));
    data_.groups.erase(gid);
    return out;
}

json::object MesiboMode::GroupEditMembers(const json::object& body) {
    const json::object* fields = mesibo::ObjectField(body, "group");
    const std::int64_t gid = mesibo::RequiredGid(fields);
    // `members` sits in `group` in the documented request; the parser also knows it at the
    // top level.
    const json::value* members_value = mesibo::Field(*fields, "members");
    if (members_value == nullptr) {
        members_value = mesibo::Field(body, "members");
    }
    json::object members;
    if (members_value != nullptr && members_value->is_object()) {
        members = members_value->get_object();
    } else if (members_value != nullptr) {
        members["m"] = *members_value;
    }
    const std::vector<std::string> addresses = mesibo::MemberAddresses(members);
    if (addresses.empty()) {
        mesibo::MissingParams({"members"});
    }
    if (std::find(addresses.begin(), addresses.end(), mesibo::kSystemUser) != addresses.end()) {
        mesibo::BadValue({"members"});
    }
    MesiboGroup& group = mesibo::ExistingGroup(data_, gid);
    bool remove = false;
    for (const json::object* source : {fields, &body, static_cast<const json::object*>(&members)}) {
        remove = remove || mesibo::BoolField(*source, "delete").value_or(false) ||
                 mesibo::BoolField(*source, "remove").value_or(false);
    }
    MesiboGroup draft = group;
    EditMembers(draft, members, remove);
    group = std::move(draft);
    return GidAnswer(group);
}

json::object MesiboMode::Message(const json::object& body) {
    const json::object& message = mesibo::ObjectOrEmpty(body, "message");
    const auto from = mesibo::StringField(message, "from");
    const auto to = mesibo::StringField(message, "to");
    const auto text = mesibo::StringField(message, "message", "msg");
    if (!from || from->empty()) {
        mesibo::MissingParams({"from"});
    }
    if (!to) {
        mesibo::MissingParams({"to"});
    }
    if (!text) {
        mesibo::MissingParams({"message"});
    }
    if (mesibo::AddressList(json::value(*to)).empty()) {
        mesibo::BadValue({"to"});
    }
    if (const auto gid = mesibo::IntField(message, "gid");
        gid && *gid != 0 && data_.FindGid(*gid) == nullptr) {
        mesibo::InvalidValue({"gid"});
    }
    if (data_.FindAddress(*from, config_.collation) == nullptr) {
        if (!mesibo::BoolField(message, "forced").value_or(false)) {
            mesibo::InvalidValue({"uid", "from"});
        }
        mesibo::CheckAddress(*from);
        Commit(NewUser(*from));
    }
    json::object out;
    out["mid"] = next_mid_++;
    return out;
}

}  // namespace chatsync::emulator
