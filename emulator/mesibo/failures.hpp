#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/mesibo/mode.hpp"

/// @file
/// The Mesibo mode's failures: the 2023 build's error texts and the `result:false` answers
/// built from them. Private to emulator/mesibo/.

namespace chatsync::emulator::mesibo {

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
inline constexpr std::string_view kDocAction =
    "Refer to the mesibo backend API documentation to learn";
inline constexpr std::string_view kMissingCause =
    "One or more required properties for this operation type are missing. Refer to the "
    "properties array in the response to learn more.";
inline constexpr std::string_view kBadValueCause =
    "One or more properties contain bad values. Refer to the properties array in the response "
    "to learn more.";
inline constexpr std::string_view kInvalidValueCause =
    "One or more properties contain invalid values. Refer to the properties array in the "
    "response to learn more.";
inline constexpr std::string_view kBadOpCause =
    "Invalid API method (op) received. Refer to the mesibo backend API documentation to learn "
    "more.";
inline constexpr std::string_view kAppIdCause =
    "appid should be non-numeric and dotted (for example, com.example.xyz).";
inline constexpr std::string_view kBadOriginCause =
    "The backend API MUST NOT be invoked from the client. Refer to the Security Note in the "
    "backend API documentation";
inline constexpr std::string_view kRateLimitedCause =
    "This OP is for testing only and hence rate limited. However, if you are using on-premise, "
    "you can host the backend and no such limit will apply";

/// Addresses the backend refuses to touch (mesibo.md 2.4, 2.9).
inline constexpr std::string_view kSystemUser = "mesibo-system-user";
/// Mesibo's own servers and "no address" never take a TOKENBREACH slot (mesibo.md 5).
inline constexpr std::array<std::string_view, 4> kExemptAddresses{
    "5.9.22.121",
    "5.9.22.123",
    "0.0.0.0",
    ""};
inline constexpr std::int64_t kMaxFilterLength = 128;
inline constexpr std::int64_t kDefaultTokenExpiryMinutes = 525'600;

inline std::string Action(std::string_view rest) {
    return std::string(kDocAction) + " " + std::string(rest);
}

[[noreturn]] inline void Fail(Failure failure) {
    throw MesiboFailure(std::move(failure));
}

[[noreturn]] inline void BadOp() {
    Fail({"BADVALUE", 501, std::string(kBadOpCause), Action("about correct parameters"), {"op"}});
}

[[noreturn]] inline void BothUidAndAddress() {
    Fail(
        {"BADREQ",
         400,
         "Both uid and address are specified",
         "Specify either uid or address",
         {"uid", "address"}}
    );
}

inline Failure TokenBreach() {
    return {"TOKENBREACH", 503, {}, {}, {}};
}

/// The full error of a documented name, for injected errors given by name only; an unknown
/// name gets code 400 and no texts.
inline Failure KnownFailure(std::string_view error) {
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
[[noreturn]] inline void FailNaming(std::string_view error, std::vector<std::string> properties) {
    Failure failure = KnownFailure(error);
    failure.properties = std::move(properties);
    Fail(std::move(failure));
}

[[noreturn]] inline void MissingParams(std::vector<std::string> properties) {
    FailNaming("MISSINGPARAMS", std::move(properties));
}

[[noreturn]] inline void BadValue(std::vector<std::string> properties) {
    FailNaming("BADVALUE", std::move(properties));
}

[[noreturn]] inline void InvalidValue(std::vector<std::string> properties) {
    FailNaming("INVALIDVALUE", std::move(properties));
}

}  // namespace chatsync::emulator::mesibo
