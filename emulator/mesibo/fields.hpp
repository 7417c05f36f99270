#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_body.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/mesibo/failures.hpp"
#include "emulator/mesibo/mode.hpp"

/// @file
/// Helpers shared by the Mesibo mode's files: reading request fields (JSON and form
/// envelopes), admin-body readers and the list answers' shape. Private to emulator/mesibo/.

namespace chatsync::emulator::mesibo {

namespace json = boost::json;

// --- Reading request fields ------------------------------------------------------------------
// Old clients send every value as a string (form parameters, `"uid":"5302"`), so numbers and
// booleans are read from either form; anything else is BADVALUE naming the property.

inline const json::value* Field(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
}

inline const json::value*
Field(const json::object& object, std::string_view a, std::string_view b) {
    const json::value* v = Field(object, a);
    return v != nullptr ? v : Field(object, b);
}

inline const json::object* ObjectField(const json::object& object, std::string_view key) {
    const json::value* v = Field(object, key);
    if (v == nullptr) {
        return nullptr;
    }
    if (!v->is_object()) {
        BadValue({std::string(key)});
    }
    return &v->get_object();
}

/// ObjectField, with an absent object read as an empty one.
inline const json::object& ObjectOrEmpty(const json::object& object, std::string_view key) {
    static const json::object kEmpty;
    const json::object* v = ObjectField(object, key);
    return v != nullptr ? *v : kEmpty;
}

inline std::optional<std::int64_t> ToInt(const json::value& v) {
    if (v.is_int64()) {
        return v.get_int64();
    }
    if (v.is_uint64()) {
        return static_cast<std::int64_t>(v.get_uint64());
    }
    if (v.is_double() &&
        v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double()))) {
        return static_cast<std::int64_t>(v.get_double());
    }
    if (v.is_bool()) {
        return v.get_bool() ? 1 : 0;
    }
    if (v.is_string()) {
        const std::string_view s = Trim(v.get_string());
        std::int64_t n = 0;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc{} && ptr == s.data() + s.size() && !s.empty()) {
            return n;
        }
    }
    return std::nullopt;
}

inline std::optional<std::int64_t>
IntField(const json::object& object, std::string_view key, std::string_view property) {
    const json::value* v = Field(object, key);
    if (v == nullptr) {
        return std::nullopt;
    }
    const auto n = ToInt(*v);
    if (!n) {
        BadValue({std::string(property)});
    }
    return n;
}

inline std::optional<std::int64_t> IntField(const json::object& object, std::string_view key) {
    return IntField(object, key, key);
}

inline std::optional<bool> BoolField(const json::object& object, std::string_view key) {
    const json::value* v = Field(object, key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_bool()) {
        return v->get_bool();
    }
    if (v->is_string()) {
        const std::string s = ToLower(Trim(v->get_string()));
        if (s == "true" || s == "yes") {
            return true;
        }
        if (s == "false" || s == "no" || s.empty()) {
            return false;
        }
    }
    const auto n = ToInt(*v);
    if (!n) {
        BadValue({std::string(key)});
    }
    return *n != 0;
}

inline std::optional<std::string>
StringField(const json::object& object, std::string_view a, std::string_view b = {}) {
    const json::value* v = b.empty() ? Field(object, a) : Field(object, a, b);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_string()) {
        return std::string(v->get_string());
    }
    if (v->is_int64() || v->is_uint64()) {
        return ToJsonText(*v);
    }
    BadValue({std::string(a)});
}

/// `flags`, or the older `flag`; a bad value of either is BADVALUE on `flags`.
inline std::optional<std::int64_t> FlagsField(const json::object& fields) {
    if (const auto flags = IntField(fields, "flags", "flags")) {
        return flags;
    }
    return IntField(fields, "flag", "flags");
}

/// How a request names one user: by `address` (or `addr`) or by `uid`, never by both. An
/// empty address counts as none.
struct UserRef {
    std::optional<std::string> address;
    std::int64_t uid = 0;  ///< The user's uid when there is no address.
};

inline UserRef ReadUserRef(const json::object& user) {
    std::optional<std::string> address = StringField(user, "address", "addr");
    const std::optional<std::int64_t> uid = IntField(user, "uid");
    if (address && address->empty()) {
        address.reset();
    }
    if (!address && !uid) {
        MissingParams({"uid", "address"});
    }
    if (address && uid) {
        BothUidAndAddress();
    }
    return UserRef{std::move(address), uid.value_or(0)};
}

/// The `user` object every user op requires.
inline const json::object& UserFields(const json::object& body) {
    const json::object* fields = ObjectField(body, "user");
    if (fields == nullptr) {
        MissingParams({"uid", "address"});
    }
    return *fields;
}

/// The `gid` in a group op's `group` object (which may be absent), required.
inline std::int64_t RequiredGid(const json::object* group) {
    const auto gid = group != nullptr ? IntField(*group, "gid") : std::nullopt;
    if (!gid) {
        MissingParams({"gid"});
    }
    return *gid;
}

/// The stored group of a gid the request named.
inline MesiboGroup& ExistingGroup(MesiboDataset& data, std::int64_t gid) {
    MesiboGroup* group = data.FindGid(gid);
    if (group == nullptr) {
        InvalidValue({"gid"});
    }
    return *group;
}

/// The membership of `uid` in `group`, or `group.members.end()`.
inline std::vector<MesiboMember>::iterator FindMember(MesiboGroup& group, std::int64_t uid) {
    return std::find_if(group.members.begin(), group.members.end(), [uid](const MesiboMember& m) {
        return m.uid == uid;
    });
}

/// A member with every permission and no admin bits. A new record's flag form under
/// --mesibo-flags mixed follows its uid, so that later listings still mix both.
inline MesiboMember NewMember(std::int64_t uid) {
    return MesiboMember{.uid = uid, .bool_flags = uid % 2 == 0};
}

/// Sets the permissions that `source` names; the others stay.
inline void ApplyPermissions(MesiboMember& member, const json::object& source) {
    member.send = BoolField(source, "send").value_or(member.send);
    member.recv = BoolField(source, "recv").value_or(member.recv);
    member.pub = BoolField(source, "pub").value_or(member.pub);
    member.sub = BoolField(source, "sub").value_or(member.sub);
    member.list = BoolField(source, "list").value_or(member.list);
}

/// Writes `value` under `key` unless it is empty: the backend leaves out empty profile fields.
inline void PutIfNotEmpty(json::object& object, std::string_view key, const std::string& value) {
    if (!value.empty()) {
        object[key] = value;
    }
}

inline json::array StringArray(const std::vector<std::string>& strings) {
    json::array out;
    for (const auto& s : strings) {
        out.emplace_back(s);
    }
    return out;
}

/// A comma list ("a,b") or an array of strings, trimmed, without empty entries.
inline std::vector<std::string> AddressList(const json::value& v) {
    std::vector<std::string> out;
    const auto add = [&out](std::string_view s) {
        const std::string_view t = Trim(s);
        if (!t.empty()) {
            out.emplace_back(t);
        }
    };
    if (v.is_string()) {
        for (const auto& piece : Split(v.get_string(), ',')) {
            add(piece);
        }
    } else if (v.is_array()) {
        for (const auto& item : v.get_array()) {
            if (!item.is_string()) {
                BadValue({"members"});
            }
            add(item.get_string());
        }
    } else {
        BadValue({"members"});
    }
    return out;
}

/// The members list of a `members` object under any of the parser's names.
inline std::vector<std::string> MemberAddresses(const json::object& members) {
    for (const std::string_view key : {"m", "members", "addresses", "addrs"}) {
        if (const json::value* v = Field(members, key); v != nullptr) {
            return AddressList(*v);
        }
    }
    return {};
}

/// The legacy flat parameters (api.php, form bodies) in the nesting of the JSON requests.
inline json::object FromFlat(const std::vector<std::pair<std::string, std::string>>& params) {
    json::object out;
    json::object user;
    json::object token;
    json::object group;
    json::object members;
    json::object permissions;
    json::object message;
    for (const auto& [key, value] : params) {
        if (key == "addr" || key == "address") {
            user["address"] = value;
        } else if (key == "uid") {
            user["uid"] = value;
        } else if (key == "name" || key == "flag" || key == "flags" || key == "active") {
            user[key] = value;
            group[key] = value;
        } else if (key == "appid") {
            token["appid"] = value;
        } else if (key == "expiry") {
            token["expiry"] = value;
            group["expiry"] = value;
        } else if (key == "gid" || key == "expiryext") {
            group[key] = value;
        } else if (key == "m") {
            members["m"] = value;
        } else if (key == "cs") {
            permissions["send"] = value;
        } else if (key == "cr") {
            permissions["recv"] = value;
        } else if (key == "canpub") {
            permissions["pub"] = value;
        } else if (key == "cansub") {
            permissions["sub"] = value;
        } else if (key == "canlist") {
            permissions["list"] = value;
        } else if (key == "from" || key == "to" || key == "message" || key == "msg") {
            message[key] = value;
        } else {
            // op, token, id, count, delete, remove and any other key stay at the top level.
            out[key] = value;
        }
    }
    // Inner objects first: an object holding only empty ones is itself left out.
    const auto nest = [](json::object& parent, std::string_view key, json::object& child) {
        if (!child.empty()) {
            parent[key] = std::move(child);
        }
    };
    nest(user, "token", token);
    nest(members, "permissions", permissions);
    nest(group, "members", members);
    nest(out, "user", user);
    nest(out, "group", group);
    nest(out, "message", message);
    return out;
}

inline bool IsForm(const Request& request) {
    const auto type = request.Header("Content-Type");
    return type && ToLower(*type).find("application/x-www-form-urlencoded") != std::string::npos;
}

/// The request as one JSON object: a JSON body, a form body, or the query parameters. A body
/// that opens like JSON is read as JSON whatever its Content-Type: `curl -d '{…}'` labels it a
/// form, and the notes do not say that the backend trusts the label.
inline json::object Envelope(const Request& request) {
    const std::string_view trimmed = Trim(request.body);
    if (IsForm(request) && !trimmed.starts_with('{') && !trimmed.starts_with('[')) {
        Request form;
        if (!SetTarget(form, "/?" + request.body)) {
            Fail(KnownFailure("BADPAYLOAD"));
        }
        return FromFlat(form.params);
    }
    if (!trimmed.empty()) {
        boost::system::error_code ec;
        json::value body = json::parse(request.body, ec);
        if (ec || !body.is_object()) {
            Fail(KnownFailure("BADPAYLOAD"));
        }
        return std::move(body.get_object());
    }
    if (!request.params.empty()) {
        return FromFlat(request.params);
    }
    Fail(KnownFailure("BADPAYLOAD"));
}

inline void CheckAddress(const std::string& address) {
    if (address.empty() || static_cast<std::int64_t>(address.size()) > kMaxFilterLength ||
        address == kSystemUser) {
        BadValue({"address"});
    }
}

/// The checks of a `token` object before anything changes (mesibo.md 2.1).
inline void CheckToken(const json::object& user) {
    const json::object* token = ObjectField(user, "token");
    if (token == nullptr || BoolField(*token, "remove").value_or(false)) {
        return;
    }
    const auto appid = StringField(*token, "appid");
    if (!appid || appid->empty()) {
        MissingParams({"appid"});
    }
    const bool dotted = appid->find('.') != std::string::npos;
    const bool numeric = appid->find_first_not_of("0123456789.") == std::string::npos;
    if (!dotted || numeric) {
        Fail({"BADVALUE", 400, std::string(kAppIdCause), "fix and send correct appid", {"appid"}});
    }
    (void)IntField(*token, "expiry");
}

inline bool HasWildcard(std::string_view s) {
    return s.find('*') != std::string_view::npos || s.find('%') != std::string_view::npos;
}

/// A filter on an address or name: exact, or LIKE when it holds `*` or `%` (`*` becomes `%`).
struct TextFilter {
    std::string text;
    bool like = false;

    bool Matches(std::string_view value, MesiboCollation collation, MesiboEscapes escapes) const {
        return like ? LikeMatch(text, value, collation, escapes)
                    : CollatedEquals(text, value, collation);
    }
};

inline std::optional<TextFilter>
MakeFilter(const std::optional<std::string>& text, std::string_view property) {
    if (!text || text->empty()) {
        return std::nullopt;
    }
    if (static_cast<std::int64_t>(text->size()) > kMaxFilterLength) {
        BadValue({std::string(property)});
    }
    TextFilter filter{*text, HasWildcard(*text)};
    std::replace(filter.text.begin(), filter.text.end(), '*', '%');
    return filter;
}

inline std::int64_t
AdminInt(const json::object& body, std::string_view key, std::int64_t fallback) {
    const json::value* v = Field(body, key);
    if (v == nullptr) {
        return fallback;
    }
    const auto n = ToInt(*v);
    if (!n) {
        throw HttpError(400, std::string(key) + " must be an integer");
    }
    return *n;
}

inline const json::array* AdminArray(const json::object& body, std::string_view key) {
    const json::value* v = Field(body, key);
    if (v == nullptr) {
        return nullptr;
    }
    if (!v->is_array()) {
        throw HttpError(400, std::string(key) + " must be an array");
    }
    return &v->get_array();
}

inline const json::object& AdminObject(const json::value& v, std::string_view what) {
    if (!v.is_object()) {
        throw HttpError(400, std::string(what) + " must be objects");
    }
    return v.get_object();
}

/// The items of an admin array that must hold strings only.
inline std::vector<std::string> AdminStrings(const json::array& array, std::string_view what) {
    std::vector<std::string> out;
    for (const auto& v : array) {
        if (!v.is_string()) {
            throw HttpError(400, std::string(what) + " must be strings");
        }
        out.emplace_back(v.get_string());
    }
    return out;
}

inline std::int64_t SystemMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

inline constexpr std::array<std::string_view, 6>
    kLimitedOps{"useradd", "userset", "usertoken", "userdel", "otp", "appstats"};
inline constexpr std::array<std::string_view, 9> kWriteOps{
    "useradd",
    "userset",
    "usertoken",
    "userdel",
    "groupadd",
    "groupset",
    "groupeditmembers",
    "groupmembers",
    "groupdel"};

template <std::size_t N>
bool In(const std::array<std::string_view, N>& list, std::string_view s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

/// The answer of usersget and groupsget: `<many>count` and `count`, then at most `count` of
/// the rows. The single-row quirk: one match is an object under `one`, not a one-element
/// array under `many`.
template <class Row, class ToJson, class Counter>
json::object ListAnswer(
    std::vector<const Row*> rows,
    std::int64_t count,
    std::string_view one,
    std::string_view many,
    const ToJson& to_json,
    const Counter& list_count
) {
    const std::size_t total = rows.size();
    if (static_cast<std::int64_t>(rows.size()) > count) {
        rows.resize(static_cast<std::size_t>(count));
    }
    json::object out;
    out[std::string(many) + "count"] = list_count(rows.size(), total);
    out["count"] = static_cast<std::int64_t>(rows.size());
    if (rows.size() == 1) {
        out[one] = to_json(*rows.front());
    } else if (rows.size() > 1) {
        json::array list;
        for (const Row* row : rows) {
            list.push_back(to_json(*row));
        }
        out[many] = std::move(list);
    }
    return out;
}

}  // namespace chatsync::emulator::mesibo
