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

namespace chatsync::emulator {
namespace {

namespace json = boost::json;
using Failure = MesiboMode::Failure;

/// Thrown from deep inside an op to answer `result:false`; Backend() is the one place that
/// turns it into the reply, so every op keeps each check to one line.
class MesiboFailure : public std::runtime_error {
public:
    explicit MesiboFailure(Failure failure)
        : std::runtime_error(failure.error)
        , failure_(std::move(failure)) {}

    const Failure& Get() const { return failure_; }

private:
    Failure failure_;
};

// The error texts of the 2023 build (mesibo.md section 4), verbatim where the notes quote
// them in full. Where the notes elide a part with "…", the elided words are reconstructed
// from the complete sibling texts.
constexpr std::string_view kDocAction = "Refer to the mesibo backend API documentation to learn";
constexpr std::string_view kMissingCause =
    "One or more required properties for this operation type are missing. Refer to the "
    "properties array in the response to learn more.";
constexpr std::string_view kBadValueCause =
    "One or more properties contain bad values. Refer to the properties array in the response "
    "to learn more.";
constexpr std::string_view kInvalidValueCause =
    "One or more properties contain invalid values. Refer to the properties array in the "
    "response to learn more.";
constexpr std::string_view kBadOpCause =
    "Invalid API method (op) received. Refer to the mesibo backend API documentation to learn "
    "more.";
constexpr std::string_view kAppIdCause =
    "appid should be non-numeric and dotted (for example, com.example.xyz).";
constexpr std::string_view kBadOriginCause =
    "The backend API MUST NOT be invoked from the client. Refer to the Security Note in the "
    "backend API documentation";
constexpr std::string_view kRateLimitedCause =
    "This OP is for testing only and hence rate limited. However, if you are using on-premise, "
    "you can host the backend and no such limit will apply";

/// Addresses the backend refuses to touch (mesibo.md 2.4, 2.9).
constexpr std::string_view kSystemUser = "mesibo-system-user";
/// Mesibo's own servers and "no address" never take a TOKENBREACH slot (mesibo.md 5).
constexpr std::array<std::string_view, 4> kExemptAddresses{
    "5.9.22.121",
    "5.9.22.123",
    "0.0.0.0",
    ""};
constexpr std::int64_t kMaxFilterLength = 128;
constexpr std::int64_t kDefaultTokenExpiryMinutes = 525'600;

std::string Action(std::string_view rest) {
    return std::string(kDocAction) + " " + std::string(rest);
}

[[noreturn]] void Fail(Failure failure) {
    throw MesiboFailure(std::move(failure));
}

[[noreturn]] void BadOp() {
    Fail({"BADVALUE", 501, std::string(kBadOpCause), Action("about correct parameters"), {"op"}});
}

[[noreturn]] void BothUidAndAddress() {
    Fail(
        {"BADREQ",
         400,
         "Both uid and address are specified",
         "Specify either uid or address",
         {"uid", "address"}}
    );
}

Failure TokenBreach() {
    return {"TOKENBREACH", 503, {}, {}, {}};
}

/// The full error of a documented name, for injected errors given by name only; an unknown
/// name gets code 400 and no texts.
Failure KnownFailure(std::string_view error) {
    if (error == "AUTHFAIL") {
        return {"AUTHFAIL", 401, "Invalid or expired app token", {}, {"token"}};
    }
    if (error == "TOKENBREACH") {
        return TokenBreach();
    }
    if (error == "BADORIGIN") {
        return {"BADORIGIN", 502, std::string(kBadOriginCause), {}, {}};
    }
    if (error == "BADPAYLOAD") {
        return {"BADPAYLOAD", 400, "The input request is not a valid JSON object", {}, {}};
    }
    if (error == "MISSINGPARAMS") {
        return {
            "MISSINGPARAMS",
            400,
            std::string(kMissingCause),
            Action("about required parameters"),
            {}};
    }
    if (error == "BADVALUE") {
        return {
            "BADVALUE",
            400,
            std::string(kBadValueCause),
            Action("about required parameters and expected values"),
            {}};
    }
    if (error == "INVALIDVALUE") {
        return {
            "INVALIDVALUE",
            400,
            std::string(kInvalidValueCause),
            Action("about required parameters and expected values"),
            {}};
    }
    if (error == "BADREQ") {
        return {
            "BADREQ",
            400,
            "bad request",
            Action("about required parameters, expected values, and combinations"),
            {}};
    }
    if (error == "RATELIMITED") {
        return {"RATELIMITED", 503, std::string(kRateLimitedCause), {}, {}};
    }
    if (error == "QUOTAEXCEEDED") {
        return {"QUOTAEXCEEDED", 503, "You account resource limit(s) has been reached", {}, {}};
    }
    if (error == "CREDITSEXCEEDED") {
        return {
            "CREDITSEXCEEDED",
            402,
            "Your account credits have expired, or the free limit has been reached",
            "Login to the mesibo console to add the required credits to your account.",
            {}};
    }
    if (error == "UNUSEDTRIALUSERS") {
        return {
            "UNUSEDTRIALUSERS",
            503,
            "You have created many users using backend API but used only a few. Upgrade to a "
            "paid account to remove this restriction.",
            {},
            {}};
    }
    return {std::string(error), 400, {}, {}, {}};
}

/// Fails with the documented `error`, naming the offending `properties`.
[[noreturn]] void FailNaming(std::string_view error, std::vector<std::string> properties) {
    Failure failure = KnownFailure(error);
    failure.properties = std::move(properties);
    Fail(std::move(failure));
}

[[noreturn]] void MissingParams(std::vector<std::string> properties) {
    FailNaming("MISSINGPARAMS", std::move(properties));
}

[[noreturn]] void BadValue(std::vector<std::string> properties) {
    FailNaming("BADVALUE", std::move(properties));
}

[[noreturn]] void InvalidValue(std::vector<std::string> properties) {
    FailNaming("INVALIDVALUE", std::move(properties));
}

// --- Reading request fields ------------------------------------------------------------------
// Old clients send every value as a string (form parameters, `"uid":"5302"`), so numbers and
// booleans are read from either form; anything else is BADVALUE naming the property.

const json::value* Field(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
}

const json::value* Field(const json::object& object, std::string_view a, std::string_view b) {
    const json::value* v = Field(object, a);
    return v != nullptr ? v : Field(object, b);
}

const json::object* ObjectField(const json::object& object, std::string_view key) {
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
const json::object& ObjectOrEmpty(const json::object& object, std::string_view key) {
    static const json::object kEmpty;
    const json::object* v = ObjectField(object, key);
    return v != nullptr ? *v : kEmpty;
}

std::optional<std::int64_t> ToInt(const json::value& v) {
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

std::optional<std::int64_t>
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

std::optional<std::int64_t> IntField(const json::object& object, std::string_view key) {
    return IntField(object, key, key);
}

std::optional<bool> BoolField(const json::object& object, std::string_view key) {
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

std::optional<std::string>
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
std::optional<std::int64_t> FlagsField(const json::object& fields) {
    if (const auto flags = IntField(fields, "flags", "flags")) {
        return flags;
    }
    return IntField(fields, "flag", "flags");
}

/// How a request names one user: by `address` (or `addr`) or by `uid`, never by both. An
/// empty address counts as none.
struct UserRef {
    std::optional<std::string> address;
    std::optional<std::int64_t> uid;
};

UserRef ReadUserRef(const json::object& user) {
    UserRef ref{StringField(user, "address", "addr"), IntField(user, "uid")};
    if (ref.address && ref.address->empty()) {
        ref.address.reset();
    }
    if (!ref.address && !ref.uid) {
        MissingParams({"uid", "address"});
    }
    if (ref.address && ref.uid) {
        BothUidAndAddress();
    }
    return ref;
}

/// The `user` object every user op requires.
const json::object& UserFields(const json::object& body) {
    const json::object* fields = ObjectField(body, "user");
    if (fields == nullptr) {
        MissingParams({"uid", "address"});
    }
    return *fields;
}

/// The `gid` in a group op's `group` object (which may be absent), required.
std::int64_t RequiredGid(const json::object* group) {
    const auto gid = group != nullptr ? IntField(*group, "gid") : std::nullopt;
    if (!gid) {
        MissingParams({"gid"});
    }
    return *gid;
}

/// The stored group of a gid the request named.
MesiboGroup& ExistingGroup(MesiboDataset& data, std::int64_t gid) {
    MesiboGroup* group = data.FindGid(gid);
    if (group == nullptr) {
        InvalidValue({"gid"});
    }
    return *group;
}

/// The membership of `uid` in `group`, or `group.members.end()`.
std::vector<MesiboMember>::iterator FindMember(MesiboGroup& group, std::int64_t uid) {
    return std::find_if(group.members.begin(), group.members.end(), [uid](const MesiboMember& m) {
        return m.uid == uid;
    });
}

/// A member with every permission and no admin bits. A new record's flag form under
/// --mesibo-flags mixed follows its uid, so that later listings still mix both.
MesiboMember NewMember(std::int64_t uid) {
    return MesiboMember{.uid = uid, .bool_flags = uid % 2 == 0};
}

/// Sets the permissions that `source` names; the others stay.
void ApplyPermissions(MesiboMember& member, const json::object& source) {
    member.send = BoolField(source, "send").value_or(member.send);
    member.recv = BoolField(source, "recv").value_or(member.recv);
    member.pub = BoolField(source, "pub").value_or(member.pub);
    member.sub = BoolField(source, "sub").value_or(member.sub);
    member.list = BoolField(source, "list").value_or(member.list);
}

/// Writes `value` under `key` unless it is empty: the backend leaves out empty profile fields.
void PutIfNotEmpty(json::object& object, std::string_view key, const std::string& value) {
    if (!value.empty()) {
        object[key] = value;
    }
}

json::array StringArray(const std::vector<std::string>& strings) {
    json::array out;
    for (const auto& s : strings) {
        out.emplace_back(s);
    }
    return out;
}

/// A comma list ("a,b") or an array of strings, trimmed, without empty entries.
std::vector<std::string> AddressList(const json::value& v) {
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
std::vector<std::string> MemberAddresses(const json::object& members) {
    for (const std::string_view key : {"m", "members", "addresses", "addrs"}) {
        if (const json::value* v = Field(members, key); v != nullptr) {
            return AddressList(*v);
        }
    }
    return {};
}

/// The legacy flat parameters (api.php, form bodies) in the nesting of the JSON requests.
json::object FromFlat(const std::vector<std::pair<std::string, std::string>>& params) {
    json::object out;
    json::object user;
    json::object token;
    json::object group;
    json::object members;
    json::object permissions;
    json::object message;
    for (const auto& [key, value] : params) {
        if (key == "op" || key == "token" || key == "id" || key == "count" || key == "delete" ||
            key == "remove") {
            out[key] = value;
        } else if (key == "addr" || key == "address") {
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

bool IsForm(const Request& request) {
    const auto type = request.Header("Content-Type");
    return type && ToLower(*type).find("application/x-www-form-urlencoded") != std::string::npos;
}

/// The request as one JSON object: a JSON body, a form body, or the query parameters. A body
/// that opens like JSON is read as JSON whatever its Content-Type: `curl -d '{…}'` labels it a
/// form, and the notes do not say that the backend trusts the label.
json::object Envelope(const Request& request) {
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

void CheckAddress(const std::string& address) {
    if (address.empty() || static_cast<std::int64_t>(address.size()) > kMaxFilterLength ||
        address == kSystemUser) {
        BadValue({"address"});
    }
}

/// The checks of a `token` object before anything changes (mesibo.md 2.1).
void CheckToken(const json::object& user) {
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

bool HasWildcard(std::string_view s) {
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

std::optional<TextFilter>
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

json::object AdminBody(const Request& request) {
    if (Trim(request.body).empty()) {
        return {};
    }
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
        throw HttpError(400, "body must be a JSON object");
    }
    return std::move(body.get_object());
}

std::int64_t AdminInt(const json::object& body, std::string_view key, std::int64_t fallback) {
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

const json::array* AdminArray(const json::object& body, std::string_view key) {
    const json::value* v = Field(body, key);
    if (v == nullptr) {
        return nullptr;
    }
    if (!v->is_array()) {
        throw HttpError(400, std::string(key) + " must be an array");
    }
    return &v->get_array();
}

const json::object& AdminObject(const json::value& v, std::string_view what) {
    if (!v.is_object()) {
        throw HttpError(400, std::string(what) + " must be objects");
    }
    return v.get_object();
}

/// The items of an admin array that must hold strings only.
std::vector<std::string> AdminStrings(const json::array& array, std::string_view what) {
    std::vector<std::string> out;
    for (const auto& v : array) {
        if (!v.is_string()) {
            throw HttpError(400, std::string(what) + " must be strings");
        }
        out.emplace_back(v.get_string());
    }
    return out;
}

Response Json(const json::value& v) {
    return JsonResponse(200, ToJsonText(v));
}

std::string Iso(std::int64_t ms) {
    return FormatIso8601(SysTime(std::chrono::milliseconds(ms)));
}

std::int64_t SystemMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

constexpr std::array<std::string_view, 6>
    kLimitedOps{"useradd", "userset", "usertoken", "userdel", "otp", "appstats"};
constexpr std::array<std::string_view, 9> kWriteOps{
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

}  // namespace

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
    rng_ = seed.seed ^ 0x6d65736962ULL;
}

std::int64_t MesiboMode::NowMs() const {
    return pinned_now_s_ ? *pinned_now_s_ * 1000 : SystemMs() + clock_offset_ms_;
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
    const auto bind = [this](Member member) -> Handler {
        return [this, member](const Request& request, const PathParams& params) {
            try {
                return (this->*member)(request, params);
            } catch (const MesiboFailure& e) {
                std::string props;
                for (const auto& p : e.Get().properties) {
                    props += (props.empty() ? "" : ",") + p;
                }
                throw HttpError(400, e.Get().error + ": " + props);
            }
        };
    };
    const std::string prefix = "/_admin/mesibo";
    router.Add("POST", prefix + "/seed", bind(&MesiboMode::AdminSeed));
    router.Add("GET", prefix + "/dataset", bind(&MesiboMode::AdminDataset));
    router.Add("POST", prefix + "/users/add", bind(&MesiboMode::AdminUsersAdd));
    router.Add("POST", prefix + "/users/update", bind(&MesiboMode::AdminUsersUpdate));
    router.Add("POST", prefix + "/users/delete", bind(&MesiboMode::AdminUsersDelete));
    router.Add("POST", prefix + "/groups/add", bind(&MesiboMode::AdminGroupsAdd));
    router.Add("POST", prefix + "/groups/update", bind(&MesiboMode::AdminGroupsUpdate));
    router.Add("POST", prefix + "/groups/delete", bind(&MesiboMode::AdminGroupsDelete));
    router.Add("POST", prefix + "/members/{action}", bind(&MesiboMode::AdminMembers));
    router.Add("GET", prefix + "/clients", bind(&MesiboMode::AdminClients));
    router.Add("POST", prefix + "/breach", bind(&MesiboMode::AdminBreach));
    router.Add("POST", prefix + "/breach/reset", bind(&MesiboMode::AdminBreachReset));
    router.Add("GET", prefix + "/errors", bind(&MesiboMode::AdminErrors));
    router.Add("POST", prefix + "/errors", bind(&MesiboMode::AdminErrors));
    router.Add("DELETE", prefix + "/errors", bind(&MesiboMode::AdminErrors));
    router.Add("POST", prefix + "/errors/clear", bind(&MesiboMode::AdminErrors));
    router.Add("GET", prefix + "/clock", bind(&MesiboMode::AdminClock));
    router.Add("POST", prefix + "/clock", bind(&MesiboMode::AdminClock));
    router.Add("POST", prefix + "/appstats/reset", bind(&MesiboMode::AdminAppStatsReset));
    router.Add("GET", prefix + "/config", bind(&MesiboMode::AdminConfig));
    router.Add("POST", prefix + "/config", bind(&MesiboMode::AdminConfig));
    for (const std::string_view method : {"GET", "POST", "DELETE"}) {
        router.Add(method, prefix + "/barrier", bind(&MesiboMode::AdminBarrier));
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
        if (In(kWriteOps, op)) {
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
        const json::object body = Envelope(request);
        if (const json::value* v = Field(body, "op"); v != nullptr && v->is_string()) {
            op = std::string(v->get_string());
            ++op_counts_[*op];
        }
        // `id` is "any random integer"; it is echoed only when it reads as one.
        if (const json::value* v = Field(body, "id"); v != nullptr) {
            if (const auto n = ToInt(*v)) {
                id = *n;
            }
        }
        const auto token = StringField(body, "token");
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
            const Failure failure = it->failure;
            response.status = it->status;
            if (it->count > 0 && --it->count == 0) {
                injected_.erase(it);
            }
            Fail(failure);
        }
        if (!token || *token != config_.token) {
            Fail(KnownFailure("AUTHFAIL"));
        }
        if (disabled_) {
            Fail(TokenBreach());
        }
        TrackClient(request.remote);
        static constexpr std::array<std::string_view, 4> kOriginExempt{
            "login", "signup", "activate", "resetpassword"};
        if (config_.origin_check != "off" && !(op && In(kOriginExempt, *op))) {
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
                Fail(KnownFailure("BADORIGIN"));
            }
        }
        if (!op || op->empty()) {
            MissingParams({"op"});
        }
        json::object answer = Dispatch(*op, body);
        answer["op"] = *op;
        if (id) {
            answer["id"] = *id;
        }
        answer["result"] = true;
        response.body = ToJsonText(answer);
    } catch (const MesiboFailure& e) {
        ++error_counts_[e.Get().error.empty() ? "FAIL" : e.Get().error];
        // Nothing else runs on this thread before the transport starts writing this answer,
        // so a request counted in after_breach arrived after the answer was on its way.
        if (e.Get().error == "TOKENBREACH" && !first_breach_ms_) {
            first_breach_ms_ = SystemMs();
        }
        response.body = FailureText(e.Get(), op ? &*op : nullptr, id ? &*id : nullptr);
    }
    return response;
}

std::string MesiboMode::FailureText(
    const Failure& failure,
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
    out["properties"] = StringArray(failure.properties);
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
    if (In(kExemptAddresses, address)) {
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
    Fail(TokenBreach());
}

json::object MesiboMode::Dispatch(const std::string& op, const json::object& body) {
    if (config_.limited_ops && !In(kLimitedOps, op)) {
        BadOp();
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
    if (In(kQuietOps, op)) {
        return {};
    }
    BadOp();
}

std::int64_t MesiboMode::Count(const json::object& body) const {
    const std::int64_t count = IntField(body, "count").value_or(0);
    return count <= 0 || count > config_.max_count ? config_.max_count : count;
}

// --- Listing ---------------------------------------------------------------------------------

json::object MesiboMode::UsersGet(const json::object& body) {
    const std::int64_t count = Count(body);
    std::optional<TextFilter> address;
    std::optional<std::int64_t> uid;
    if (const json::object* user = ObjectField(body, "user"); user != nullptr) {
        address = MakeFilter(StringField(*user, "address", "addr"), "address");
        uid = IntField(*user, "uid");
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
    return ListAnswer(
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
    std::optional<TextFilter> name;
    std::optional<std::int64_t> gid;
    if (const json::object* group = ObjectField(body, "group"); group != nullptr) {
        name = MakeFilter(StringField(*group, "name"), "name");
        gid = IntField(*group, "gid");
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
    return ListAnswer(
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
    const MesiboGroup& group = ExistingGroup(data_, RequiredGid(ObjectField(body, "group")));
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
        Fail(KnownFailure("RATELIMITED"));
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
    PutIfNotEmpty(profile, "name", user.name);
    PutIfNotEmpty(profile, "status", user.status);
    PutIfNotEmpty(profile, "image", user.image);
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
    PutIfNotEmpty(profile, "name", group.profile_name);
    PutIfNotEmpty(profile, "status", group.status);
    PutIfNotEmpty(profile, "info", group.info);
    PutIfNotEmpty(profile, "image", group.image);
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

// --- Writing ---------------------------------------------------------------------------------

std::string MesiboMode::NewToken() {
    std::string token;
    while (token.size() < 49) {
        std::array<char, 17> buf{};
        std::snprintf(
            buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(SplitMix(rng_))
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
    const UserRef ref = ReadUserRef(user);
    MesiboUser* found =
        ref.address ? data_.FindAddress(*ref.address, config_.collation) : data_.FindUid(*ref.uid);
    if (found == nullptr) {
        InvalidValue({ref.address ? "address" : "uid"});
    }
    return *found;
}

void MesiboMode::ApplyUserFields(MesiboUser& user, const json::object& fields) {
    user.name = StringField(fields, "name").value_or(user.name);
    user.active = BoolField(fields, "active").value_or(user.active);
    user.pinned = BoolField(fields, "pinned").value_or(user.pinned);
    user.flags = FlagsField(fields).value_or(user.flags);
    if (const json::object* profile = ObjectField(fields, "profile"); profile != nullptr) {
        user.name = StringField(*profile, "name").value_or(user.name);
        user.status = StringField(*profile, "status").value_or(user.status);
        user.image = StringField(*profile, "image").value_or(user.image);
    }
}

bool MesiboMode::ApplyToken(MesiboUser& user, const json::object& fields) {
    const json::object* token = ObjectField(fields, "token");
    if (token == nullptr) {
        return false;
    }
    if (BoolField(*token, "remove").value_or(false)) {
        user.token.clear();
        user.token_cts = 0;
        return false;
    }
    user.appid = StringField(*token, "appid").value_or(user.appid);
    user.token = NewToken();
    user.token_cts = NowSeconds();
    user.token_expiry = IntField(*token, "expiry").value_or(kDefaultTokenExpiryMinutes);
    return true;
}

json::object MesiboMode::UserAdd(const json::object& body) {
    const json::object& fields = UserFields(body);
    const UserRef ref = ReadUserRef(fields);
    if (ref.address) {
        CheckAddress(*ref.address);
    }
    CheckToken(fields);
    MesiboUser draft;
    if (ref.address) {
        const MesiboUser* found = data_.FindAddress(*ref.address, config_.collation);
        draft = found != nullptr ? *found : NewUser(*ref.address);
    } else {
        const MesiboUser* found = data_.FindUid(*ref.uid);
        if (found == nullptr) {
            InvalidValue({"uid"});
        }
        draft = *found;
    }
    ApplyUserFields(draft, fields);
    ApplyToken(draft, fields);
    return json::object{{"user", TokenJson(Commit(std::move(draft)))}};
}

json::object MesiboMode::UserSet(const json::object& body) {
    const json::object& fields = UserFields(body);
    MesiboUser draft = SelectUser(fields);
    CheckToken(fields);
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
    const json::object& fields = UserFields(body);
    MesiboUser& user = SelectUser(fields);
    if (ObjectField(fields, "token") == nullptr) {
        MissingParams({"appid"});
    }
    CheckToken(fields);
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
    const json::object& fields = UserFields(body);
    if (const auto address = StringField(fields, "address", "addr"); address == kSystemUser) {
        BadValue({"address"});
    }
    const std::int64_t uid = SelectUser(fields).uid;
    data_.RemoveUser(uid);
    return {};
}

void MesiboMode::ApplyGroupFields(MesiboGroup& group, const json::object& fields) {
    group.name = StringField(fields, "name").value_or(group.name);
    group.flags = FlagsField(fields).value_or(group.flags);
    group.expiry = IntField(fields, "expiry").value_or(group.expiry);
    group.expiryext = IntField(fields, "expiryext").value_or(group.expiryext);
    group.active = BoolField(fields, "active").value_or(group.active);
    group.pinned = BoolField(fields, "pinned").value_or(group.pinned);
    if (const json::object* profile = ObjectField(fields, "profile"); profile != nullptr) {
        group.profile_name = StringField(*profile, "name").value_or(group.profile_name);
        group.status = StringField(*profile, "status").value_or(group.status);
        group.info = StringField(*profile, "info").value_or(group.info);
        group.image = StringField(*profile, "image").value_or(group.image);
    }
}

void MesiboMode::EditMembers(MesiboGroup& group, const json::object& members, bool remove) {
    const json::object* permissions = ObjectField(members, "permissions");
    const json::object& perm_source = permissions != nullptr ? *permissions : members;
    const json::object* admin = ObjectField(members, "admin");
    for (const std::string& address : MemberAddresses(members)) {
        const MesiboUser* user = data_.FindAddress(address, config_.collation);
        if (user == nullptr) {
            continue;
        }
        auto it = FindMember(group, user->uid);
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
            group.members.push_back(NewMember(user->uid));
            it = std::prev(group.members.end());
        }
        MesiboMember& member = *it;
        ApplyPermissions(member, perm_source);
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
                if (const auto on = BoolField(*admin, key)) {
                    member.aflags =
                        *on ? member.aflags | AdminMask(bit) : member.aflags & ~AdminMask(bit);
                }
            }
        }
    }
}

json::object MesiboMode::GroupAdd(const json::object& body, bool create) {
    const json::object& fields = ObjectOrEmpty(body, "group");
    const json::object* members = ObjectField(fields, "members");
    if (members != nullptr) {
        for (const auto& address : MemberAddresses(*members)) {
            if (address == kSystemUser) {
                BadValue({"members"});
            }
        }
    }
    MesiboGroup draft = create ? NewGroup() : ExistingGroup(data_, RequiredGid(&fields));
    ApplyGroupFields(draft, fields);
    if (members != nullptr) {
        EditMembers(draft, *members, false);
    }
    return GidAnswer(Commit(std::move(draft)));
}

json::object MesiboMode::GroupDel(const json::object& body) {
    const std::int64_t gid = RequiredGid(ObjectField(body, "group"));
    json::object out = GidAnswer(ExistingGroup(data_, gid));
    data_.groups.erase(gid);
    return out;
}

json::object MesiboMode::GroupEditMembers(const json::object& body) {
    const json::object* fields = ObjectField(body, "group");
    const std::int64_t gid = RequiredGid(fields);
    // `members` sits in `group` in the documented request; the parser also knows it at the
    // top level.
    const json::value* members_value = Field(*fields, "members");
    if (members_value == nullptr) {
        members_value = Field(body, "members");
    }
    json::object members;
    if (members_value != nullptr && members_value->is_object()) {
        members = members_value->get_object();
    } else if (members_value != nullptr) {
        members["m"] = *members_value;
    }
    const std::vector<std::string> addresses = MemberAddresses(members);
    if (addresses.empty()) {
        MissingParams({"members"});
    }
    if (std::find(addresses.begin(), addresses.end(), kSystemUser) != addresses.end()) {
        BadValue({"members"});
    }
    MesiboGroup& group = ExistingGroup(data_, gid);
    bool remove = false;
    for (const json::object* source : {fields, &body, static_cast<const json::object*>(&members)}) {
        remove = remove || BoolField(*source, "delete").value_or(false) ||
                 BoolField(*source, "remove").value_or(false);
    }
    MesiboGroup draft = group;
    EditMembers(draft, members, remove);
    group = std::move(draft);
    return GidAnswer(group);
}

json::object MesiboMode::Message(const json::object& body) {
    const json::object& message = ObjectOrEmpty(body, "message");
    const auto from = StringField(message, "from");
    const auto to = StringField(message, "to");
    const auto text = StringField(message, "message", "msg");
    if (!from || from->empty()) {
        MissingParams({"from"});
    }
    if (!to) {
        MissingParams({"to"});
    }
    if (!text) {
        MissingParams({"message"});
    }
    if (AddressList(json::value(*to)).empty()) {
        BadValue({"to"});
    }
    if (const auto gid = IntField(message, "gid");
        gid && *gid != 0 && data_.FindGid(*gid) == nullptr) {
        InvalidValue({"gid"});
    }
    if (data_.FindAddress(*from, config_.collation) == nullptr) {
        if (!BoolField(message, "forced").value_or(false)) {
            InvalidValue({"uid", "from"});
        }
        CheckAddress(*from);
        Commit(NewUser(*from));
    }
    json::object out;
    out["mid"] = next_mid_++;
    return out;
}

// --- Admin -----------------------------------------------------------------------------------

Response MesiboMode::AdminSeed(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    const MesiboSeed seed{
        .users = AdminInt(body, "users", options_.mesibo_users),
        .groups = AdminInt(body, "groups", options_.mesibo_groups),
        .max_members = AdminInt(body, "max_members", options_.mesibo_max_members),
        .seed = static_cast<std::uint64_t>(
            AdminInt(body, "seed", static_cast<std::int64_t>(options_.seed))
        ),
        .now = 0,
    };
    if (seed.users < 0 || seed.groups < 0 || seed.max_members < 0) {
        throw HttpError(400, "users, groups and max_members must not be negative");
    }
    Seed(seed);
    return Json(json::object{
        {"users", static_cast<std::int64_t>(data_.users.size())},
        {"groups", static_cast<std::int64_t>(data_.groups.size())},
        {"members", static_cast<std::int64_t>(data_.MemberCount())},
    });
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
    return Json(json::object{
        {"now", NowSeconds()},
        {"ids", MesiboIdsName(config_.ids)},
        {"flags", MesiboFlagsName(config_.flags)},
        {"users", std::move(users)},
        {"groups", std::move(groups)},
        {"members", std::move(members)},
        {"clients", ClientsJson()},
    });
}

MesiboUser* MesiboMode::AdminFindUser(const json::value& ref) {
    if (ref.is_string()) {
        return data_.FindAddress(ref.get_string(), config_.collation);
    }
    if (const auto uid = ToInt(ref)) {
        return data_.FindUid(*uid);
    }
    throw HttpError(400, "users are named by address (string) or uid (integer)");
}

namespace {

/// The fields an admin may set on a user directly, bypassing the API's rules.
void AdminUserFields(MesiboUser& user, const json::object& f) {
    user.name = StringField(f, "name").value_or(user.name);
    user.status = StringField(f, "status").value_or(user.status);
    user.image = StringField(f, "image").value_or(user.image);
    user.appid = StringField(f, "appid").value_or(user.appid);
    user.active = BoolField(f, "active").value_or(user.active);
    user.pinned = BoolField(f, "pinned").value_or(user.pinned);
    user.online = BoolField(f, "online").value_or(user.online);
    user.string_id = BoolField(f, "string_id").value_or(user.string_id);
    user.flags = IntField(f, "flags").value_or(user.flags);
    user.lastonline = IntField(f, "lastonline").value_or(user.lastonline);
    if (const auto v = IntField(f, "ipaddr")) {
        user.ipaddr = static_cast<std::uint32_t>(*v);
    }
}

void AdminGroupFields(MesiboGroup& group, const json::object& f) {
    group.name = StringField(f, "name").value_or(group.name);
    group.profile_name = StringField(f, "profile_name").value_or(group.profile_name);
    group.status = StringField(f, "status").value_or(group.status);
    group.info = StringField(f, "info").value_or(group.info);
    group.image = StringField(f, "image").value_or(group.image);
    group.pinned = BoolField(f, "pinned").value_or(group.pinned);
    group.active = BoolField(f, "active").value_or(group.active);
    group.string_id = BoolField(f, "string_id").value_or(group.string_id);
    group.flags = IntField(f, "flags").value_or(group.flags);
    group.ats = IntField(f, "ats").value_or(group.ats);
    group.expiry = IntField(f, "expiry").value_or(group.expiry);
    group.expiryext = IntField(f, "expiryext").value_or(group.expiryext);
    group.type = IntField(f, "type").value_or(group.type);
    group.sflags = IntField(f, "sflags").value_or(group.sflags);
}

}  // namespace

Response MesiboMode::AdminUsersAdd(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
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
    if (const json::array* users = AdminArray(body, "users"); users != nullptr) {
        for (const auto& item : *users) {
            const json::object& fields = AdminObject(item, "users");
            const auto address = StringField(fields, "address");
            if (!address || address->empty()) {
                throw HttpError(400, "every user needs an address");
            }
            add(*address, fields);
        }
    }
    const std::int64_t count = AdminInt(body, "count", 0);
    const std::string prefix = StringField(body, "prefix").value_or("added");
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
    return Json(json::object{{"added", std::move(added)}});
}

Response MesiboMode::AdminUsersUpdate(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    json::array updated;
    json::array missing;
    if (const json::array* users = AdminArray(body, "users"); users != nullptr) {
        for (const auto& item : *users) {
            const json::object& fields = AdminObject(item, "users");
            const json::value* uid = Field(fields, "uid");
            const json::value* address = Field(fields, "address");
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
                user->address = StringField(fields, "address").value_or(user->address);
            }
            AdminUserFields(*user, fields);
            updated.emplace_back(user->uid);
        }
    }
    return Json(json::object{{"updated", std::move(updated)}, {"missing", std::move(missing)}});
}

Response MesiboMode::AdminUsersDelete(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    json::array deleted;
    for (const std::string_view key : {"uids", "addresses"}) {
        if (const json::array* refs = AdminArray(body, key); refs != nullptr) {
            for (const auto& ref : *refs) {
                if (const MesiboUser* user = AdminFindUser(ref); user != nullptr) {
                    const std::int64_t uid = user->uid;
                    data_.RemoveUser(uid);
                    deleted.emplace_back(uid);
                }
            }
        }
    }
    return Json(json::object{{"deleted", std::move(deleted)}});
}

Response MesiboMode::AdminGroupsAdd(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    json::array added;
    const auto add = [&](const json::object& fields, const std::string& name) {
        MesiboGroup& group = Commit(NewGroup());
        group.name = name;
        AdminGroupFields(group, fields);
        if (const json::array* members = AdminArray(fields, "members"); members != nullptr) {
            for (const auto& ref : *members) {
                const MesiboUser* user = AdminFindUser(ref);
                if (user == nullptr) {
                    throw HttpError(400, "unknown member " + ToJsonText(ref));
                }
                if (FindMember(group, user->uid) == group.members.end()) {
                    group.members.push_back(NewMember(user->uid));
                }
            }
        }
        added.push_back(json::object{{"gid", group.gid}, {"name", group.name}});
    };
    if (const json::array* groups = AdminArray(body, "groups"); groups != nullptr) {
        for (const auto& item : *groups) {
            add(AdminObject(item, "groups"), "");
        }
    }
    const std::int64_t count = AdminInt(body, "count", 0);
    const std::string prefix = StringField(body, "prefix").value_or("Added group");
    const json::object none;
    for (std::int64_t k = 0; k < count; ++k) {
        add(none, prefix + " " + std::to_string(k));
    }
    return Json(json::object{{"added", std::move(added)}});
}

Response MesiboMode::AdminGroupsUpdate(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    json::array updated;
    json::array missing;
    if (const json::array* groups = AdminArray(body, "groups"); groups != nullptr) {
        for (const auto& item : *groups) {
            const json::object& fields = AdminObject(item, "groups");
            const auto gid = IntField(fields, "gid");
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
    return Json(json::object{{"updated", std::move(updated)}, {"missing", std::move(missing)}});
}

Response MesiboMode::AdminGroupsDelete(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    json::array deleted;
    if (const json::array* gids = AdminArray(body, "gids"); gids != nullptr) {
        for (const auto& ref : *gids) {
            const auto gid = ToInt(ref);
            if (!gid) {
                throw HttpError(400, "gids must be integers");
            }
            if (data_.groups.erase(*gid) != 0) {
                deleted.emplace_back(*gid);
            }
        }
    }
    return Json(json::object{{"deleted", std::move(deleted)}});
}

Response MesiboMode::AdminMembers(const Request& request, const PathParams& params) {
    const std::string action = *params.Find("action");
    if (action != "add" && action != "remove") {
        throw HttpError(404, "not found");
    }
    const json::object body = AdminBody(request);
    const auto gid = IntField(body, "gid");
    MesiboGroup* group = gid ? data_.FindGid(*gid) : nullptr;
    if (group == nullptr) {
        throw HttpError(400, "gid must name a group");
    }
    json::array done;
    json::array skipped;
    if (const json::array* refs = AdminArray(body, "members"); refs != nullptr) {
        for (const auto& ref : *refs) {
            const MesiboUser* user = AdminFindUser(ref);
            if (user == nullptr) {
                skipped.push_back(ref);
                continue;
            }
            auto it = FindMember(*group, user->uid);
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
                group->members.push_back(NewMember(user->uid));
                it = std::prev(group->members.end());
            }
            ApplyPermissions(*it, body);
            if (const auto aflags = IntField(body, "aflags")) {
                it->aflags = static_cast<std::uint32_t>(*aflags);
            }
            done.emplace_back(user->uid);
        }
    }
    return Json(json::object{
        {action == "add" ? "added" : "removed", std::move(done)},
        {"skipped", std::move(skipped)},
    });
}

json::object MesiboMode::ClientsJson() const {
    json::array slots;
    for (const Slot& slot : slots_) {
        slots.push_back(json::object{
            {"address", slot.address},
            {"last_seen", slot.last_seen},
            {"count", slot.count},
        });
    }
    json::object tokens;
    for (const auto& [token, addresses] : seen_) {
        tokens[token] = StringArray(addresses);
    }
    return json::object{
        {"limit", config_.ip_limit},
        {"disabled", disabled_},
        {"trusted", config_.trusted},
        {"breaches", breaches_},
        {"trusted_violations", trusted_violations_},
        {"slots", std::move(slots)},
        {"tokens", std::move(tokens)},
    };
}

Response MesiboMode::AdminClients(const Request&, const PathParams&) {
    return Json(ClientsJson());
}

Response MesiboMode::AdminBreach(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    const bool disable = BoolField(body, "disabled").value_or(true);
    if (disable && !disabled_) {
        ++breaches_;
    }
    disabled_ = disable;
    return Json(ClientsJson());
}

Response MesiboMode::AdminBreachReset(const Request& request, const PathParams&) {
    const json::object body = AdminBody(request);
    disabled_ = false;
    slots_.clear();
    first_breach_ms_.reset();
    after_breach_ = 0;
    if (!BoolField(body, "keep_seen").value_or(false)) {
        seen_.clear();
    }
    return Json(ClientsJson());
}

Response MesiboMode::AdminErrors(const Request& request, const PathParams&) {
    if (request.method == "DELETE" || request.path.ends_with("/clear")) {
        injected_.clear();
    } else if (request.method == "POST") {
        boost::system::error_code ec;
        const json::value parsed = json::parse(request.body, ec);
        if (ec || (!parsed.is_object() && !parsed.is_array())) {
            throw HttpError(400, "body must be an error object or an array of them");
        }
        std::vector<json::value> items;
        if (parsed.is_array()) {
            items.assign(parsed.get_array().begin(), parsed.get_array().end());
        } else {
            items.push_back(parsed);
        }
        for (const auto& item : items) {
            const json::object& f = AdminObject(item, "errors");
            const auto error = StringField(f, "error");
            if (!error || error->empty()) {
                throw HttpError(400, "error must name the error, e.g. QUOTAEXCEEDED");
            }
            Injected injected;
            injected.failure = KnownFailure(*error);
            injected.failure.code = AdminInt(f, "code", injected.failure.code);
            injected.failure.cause = StringField(f, "cause").value_or(injected.failure.cause);
            injected.failure.action = StringField(f, "action").value_or(injected.failure.action);
            if (const json::array* props = AdminArray(f, "properties"); props != nullptr) {
                injected.failure.properties = AdminStrings(*props, "properties");
            }
            injected.count = AdminInt(f, "count", 1);
            if (injected.count == 0 || injected.count < -1) {
                throw HttpError(400, "count must be positive, or -1 for ever");
            }
            if (const json::array* ops = AdminArray(f, "ops"); ops != nullptr) {
                injected.ops = AdminStrings(*ops, "ops");
            }
            const std::int64_t status = AdminInt(f, "status", 200);
            if (status < 100 || status > 599) {
                throw HttpError(400, "status must be an HTTP status");
            }
            injected.status = static_cast<unsigned>(status);
            injected_.push_back(std::move(injected));
        }
    }
    json::array list;
    for (const Injected& i : injected_) {
        list.push_back(json::object{
            {"error", i.failure.error},
            {"code", i.failure.code},
            {"cause", i.failure.cause},
            {"action", i.failure.action},
            {"properties", StringArray(i.failure.properties)},
            {"count", i.count},
            {"ops", StringArray(i.ops)},
            {"status", static_cast<std::int64_t>(i.status)},
        });
    }
    return Json(json::object{{"errors", std::move(list)}});
}

Response MesiboMode::AdminClock(const Request& request, const PathParams&) {
    if (request.method == "POST") {
        const json::object body = AdminBody(request);
        if (const json::value* now = Field(body, "now"); now != nullptr) {
            if (now->is_string()) {
                const auto t = ParseIso8601(now->get_string(), true);
                if (!t) {
                    throw HttpError(400, "now must be an ISO-8601 date-time with a zone");
                }
                pinned_now_s_ =
                    std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
            } else if (const auto s = ToInt(*now)) {
                pinned_now_s_ = *s;
            } else {
                throw HttpError(400, "now must be an ISO-8601 string or Unix seconds");
            }
        } else if (body.contains("now")) {
            pinned_now_s_.reset();
        }
        clock_offset_ms_ = AdminInt(body, "offset_ms", clock_offset_ms_);
        // advance_ms moves whichever clock is in force: the pinned time or the offset.
        const std::int64_t advance = AdminInt(body, "advance_ms", 0);
        if (pinned_now_s_) {
            *pinned_now_s_ += advance / 1000;
        } else {
            clock_offset_ms_ += advance;
        }
    }
    return Json(json::object{
        {"now", Iso(NowSeconds() * 1000)},
        {"now_s", NowSeconds()},
        {"offset_ms", clock_offset_ms_},
        {"pinned", pinned_now_s_.has_value()},
    });
}

Response MesiboMode::AdminAppStatsReset(const Request&, const PathParams&) {
    const bool had = last_appstats_.has_value();
    last_appstats_.reset();
    return Json(json::object{{"reset", had}});
}

json::object MesiboMode::ConfigJson() const {
    return json::object{
        {"token", config_.token},
        {"ip_limit", config_.ip_limit},
        {"ip_ttl_ms", static_cast<std::int64_t>(config_.ip_ttl.count())},
        {"trusted", config_.trusted},
        {"max_count", config_.max_count},
        {"appstats_interval_ms", static_cast<std::int64_t>(config_.appstats_interval.count())},
        {"ids", MesiboIdsName(config_.ids)},
        {"origin_check", config_.origin_check},
        {"collation", MesiboCollationName(config_.collation)},
        {"escapes", MesiboEscapesName(config_.escapes)},
        {"flags", MesiboFlagsName(config_.flags)},
        {"counts", MesiboCountsName(config_.counts)},
        {"case_insensitive", config_.collation != MesiboCollation::kBinary},
        {"limited_ops", config_.limited_ops},
        {"build", config_.build},
    };
}

Response MesiboMode::AdminConfig(const Request& request, const PathParams&) {
    if (request.method == "POST") {
        const json::object body = AdminBody(request);
        Config next = config_;
        next.token = StringField(body, "token").value_or(next.token);
        next.ip_limit = AdminInt(body, "ip_limit", next.ip_limit);
        next.ip_ttl = std::chrono::milliseconds(AdminInt(body, "ip_ttl_ms", next.ip_ttl.count()));
        next.trusted = BoolField(body, "trusted").value_or(next.trusted);
        next.max_count = AdminInt(body, "max_count", next.max_count);
        next.appstats_interval = std::chrono::milliseconds(
            AdminInt(body, "appstats_interval_ms", next.appstats_interval.count())
        );
        if (const auto ids = StringField(body, "ids")) {
            const auto parsed = ParseMesiboIds(*ids);
            if (!parsed) {
                throw HttpError(400, "ids must be number, string or mixed");
            }
            next.ids = *parsed;
        }
        next.origin_check = StringField(body, "origin_check").value_or(next.origin_check);
        if (next.origin_check != "user-agent" && next.origin_check != "any-header" &&
            next.origin_check != "off") {
            throw HttpError(400, "origin_check must be user-agent, any-header or off");
        }
        // The older switch, kept as an alias; `collation` wins when both are given.
        if (const auto ci = BoolField(body, "case_insensitive")) {
            next.collation = *ci ? MesiboCollation::kCi : MesiboCollation::kBinary;
        }
        const auto choose = [&body]<class T>(std::string_view key, auto parse, T& field) {
            if (const auto name = StringField(body, key)) {
                const auto parsed = parse(*name);
                if (!parsed) {
                    throw HttpError(400, std::string(key) + ": unknown value " + *name);
                }
                field = *parsed;
            }
        };
        choose("collation", &ParseMesiboCollation, next.collation);
        choose("escapes", &ParseMesiboEscapes, next.escapes);
        choose("flags", &ParseMesiboFlags, next.flags);
        choose("counts", &ParseMesiboCounts, next.counts);
        next.limited_ops = BoolField(body, "limited_ops").value_or(next.limited_ops);
        next.build = AdminInt(body, "build", next.build);
        if (next.max_count < 1) {
            throw HttpError(400, "max_count must be at least 1");
        }
        if (next.token.empty()) {
            throw HttpError(400, "token must not be empty");
        }
        config_ = std::move(next);
    }
    return Json(ConfigJson());
}

json::object MesiboMode::BarrierJson() const {
    json::value last = nullptr;
    if (last_release_) {
        last = json::object{{"held", last_release_->first}, {"timed_out", last_release_->second}};
    }
    return json::object{
        {"armed", barrier_.has_value()},
        {"requests", barrier_ ? barrier_->requests : 0},
        {"timeout_ms", barrier_ ? static_cast<std::int64_t>(barrier_->timeout.count()) : 0},
        {"waiting", static_cast<std::int64_t>(held_.size())},
        {"releases", barrier_releases_},
        {"last_release", std::move(last)},
    };
}

Response MesiboMode::AdminBarrier(const Request& request, const PathParams&) {
    if (request.method == "DELETE") {
        ReleaseBarrier(false);
    } else if (request.method == "POST") {
        const json::object body = AdminBody(request);
        const json::value* requests = Field(body, "requests");
        if (requests == nullptr) {
            throw HttpError(400, "requests is required");
        }
        Barrier next;
        next.requests = AdminInt(body, "requests", 0);
        next.timeout =
            std::chrono::milliseconds(AdminInt(body, "timeout_ms", next.timeout.count()));
        if (next.requests < 1) {
            throw HttpError(400, "requests must be at least 1");
        }
        if (next.timeout.count() < 0) {
            throw HttpError(400, "timeout_ms must not be negative");
        }
        // Requests an earlier barrier still holds are answered first: a barrier counts only
        // requests that arrive after it was set.
        ReleaseBarrier(false);
        barrier_ = next;
    }
    return Json(BarrierJson());
}

}  // namespace chatsync::emulator
