#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "emulator/frame/json_body.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/jivochat/mode.hpp"

/// @file
/// Helpers shared by the JivoChat mode's files: answers, request-body and query readers,
/// and the JSON of an event. Private to emulator/jivochat/.

namespace chatsync::emulator::jivochat {

namespace json = boost::json;

inline constexpr std::size_t kMaxChannelMessages = 1000;
inline constexpr std::int64_t kMaxGenerated = 1'000'000;

/// Jivo's Chat API answers errors as text/plain with a description (EN-CHAT).
inline Response Text(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
}

inline const json::value* Field(const json::object& body, std::string_view name) {
    const json::value* v = body.if_contains(name);
    return v == nullptr || v->is_null() ? nullptr : v;
}

inline std::string
StringField(const json::object& body, std::string_view name, std::string fallback) {
    const json::value* v = Field(body, name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_string()) {
        throw HttpError(400, std::string(name) + " must be a string");
    }
    return std::string(v->get_string());
}

inline double NumberField(const json::object& body, std::string_view name, double fallback) {
    const json::value* v = Field(body, name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_number()) {
        throw HttpError(400, std::string(name) + " must be a number");
    }
    return v->to_number<double>();
}

inline std::int64_t IntField(
    const json::object& body,
    std::string_view name,
    std::int64_t fallback,
    std::int64_t min,
    std::int64_t max
) {
    const json::value* v = Field(body, name);
    std::int64_t n = fallback;
    if (v != nullptr) {
        boost::system::error_code ec;
        n = v->to_number<std::int64_t>(ec);
        if (ec) {
            throw HttpError(400, std::string(name) + " must be an integer");
        }
    }
    if (n < min || n > max) {
        throw HttpError(
            400,
            std::string(name) + " must be between " + std::to_string(min) + " and " +
                std::to_string(max)
        );
    }
    return n;
}

inline bool BoolField(const json::object& body, std::string_view name, bool fallback) {
    const json::value* v = Field(body, name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_bool()) {
        throw HttpError(400, std::string(name) + " must be a boolean");
    }
    return v->get_bool();
}

/// A query flag: absent -> fallback; "0"/"false"/"no" -> false; anything else -> true.
inline bool QueryFlag(const Request& request, std::string_view name, bool fallback) {
    const std::string* v = request.Param(name);
    if (v == nullptr) {
        return fallback;
    }
    const std::string lower = ToLower(*v);
    return !(lower == "0" || lower == "false" || lower == "no");
}

inline std::int64_t QueryInt(const Request& request, std::string_view name, std::int64_t fallback) {
    const std::string* v = request.Param(name);
    if (v == nullptr) {
        return fallback;
    }
    const auto refusal = [name] {
        return HttpError(400, std::string(name) + " must be an integer");
    };
    std::size_t used = 0;
    std::int64_t n = 0;
    try {
        n = std::stoll(*v, &used);
    } catch (const std::exception&) {
        // Not a number, or out of range.
        throw refusal();
    }
    if (used != v->size()) {
        throw refusal();
    }
    return n;
}

inline bool IsHttpUrl(std::string_view url) {
    return url.starts_with("http://") || url.starts_with("https://");
}

inline int ParseChannelStatus(const json::value* v) {
    if (v == nullptr) {
        return 1;
    }
    if (v->is_bool()) {
        return v->get_bool() ? 1 : 0;
    }
    if (v->is_int64() && (v->get_int64() == 0 || v->get_int64() == 1)) {
        return static_cast<int>(v->get_int64());
    }
    if (v->is_uint64() && v->get_uint64() <= 1) {
        return static_cast<int>(v->get_uint64());
    }
    throw HttpError(400, "status must be 0 or 1");
}

inline json::object EventJson(const JivoEvent& e, bool body) {
    json::object out;
    out["id"] = e.id;
    out["name"] = e.name;
    out["kind"] = JivoKindName(e.kind);
    out["valid_json"] = e.valid_json;
    out["source"] = e.source;
    if (body) {
        out["body"] = e.body;
    }
    return out;
}

}  // namespace chatsync::emulator::jivochat
