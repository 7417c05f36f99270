// Field readers of the JivoChat strategy: ids, scalars, integers, booleans, JSON and Unix
// times as column text, and a key scan for bodies that are not JSON.

#include "connectors/detail/jivochat_fields.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/time.hpp"

namespace chatsync::connectors::detail {

namespace json = boost::json;

const json::value* At(const json::value& v, std::string_view path) {
    const json::value* cur = &v;
    while (!path.empty()) {
        const auto dot = path.find('.');
        const auto key = path.substr(0, dot);
        const auto* o = cur->if_object();
        if (o == nullptr) {
            return nullptr;
        }
        cur = o->if_contains(key);
        if (cur == nullptr) {
            return nullptr;
        }
        path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    return cur;
}

Text Id(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto big = BigIntegerText(*v)) {
        return std::string(*big);
    }
    if (const auto* s = v->if_string()) {
        return s->empty() ? Text() : Text(std::string(*s));
    }
    if (const auto* i = v->if_int64()) {
        return std::to_string(*i);
    }
    if (const auto* u = v->if_uint64()) {
        return std::to_string(*u);
    }
    if (const auto* d = v->if_double()) {
        if (std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9.0e15) {
            return std::to_string(static_cast<std::int64_t>(*d));
        }
        return SerializeJson(*v);
    }
    return std::nullopt;
}

Text Str(const json::value* v) {
    if (v == nullptr || v->is_null() || v->is_object() || v->is_array()) {
        return std::nullopt;
    }
    if (const auto* s = v->if_string(); s != nullptr && !BigIntegerText(*v)) {
        return std::string(*s);
    }
    if (const auto* b = v->if_bool()) {
        return *b ? "true" : "false";
    }
    return Id(v);
}

Text Int(const json::value* v) {
    auto text = Id(v);
    if (!text) {
        return std::nullopt;
    }
    const bool digits =
        !text->empty() &&
        std::all_of(text->begin() + (text->front() == '-' ? 1 : 0), text->end(), [](char c) {
            return c >= '0' && c <= '9';
        });
    return digits && text->size() <= 18 ? text : Text();
}

Text Bool(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto* b = v->if_bool()) {
        return *b ? "true" : "false";
    }
    if (auto i = Int(v); i && (*i == "0" || *i == "1")) {
        return *i == "1" ? "true" : "false";
    }
    return std::nullopt;
}

Text Json(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return std::nullopt;
    }
    return SerializeJson(*v);
}

Text UnixTime(const json::value* v) {
    const auto i = Int(v);
    if (!i) {
        return std::nullopt;
    }
    const auto seconds = std::stoll(*i);
    // Years 1970 to 9999: anything else is not a time the column should hold.
    if (seconds < 0 || seconds > 253402300799LL) {
        return std::nullopt;
    }
    return FormatIso8601(SysTime(std::chrono::seconds(seconds)));
}

std::string ScanString(std::string_view body, std::string_view key) {
    const std::string quoted = "\"" + std::string(key) + "\"";
    const auto at = body.find(quoted);
    if (at == std::string_view::npos) {
        return {};
    }
    auto pos = body.find_first_not_of(" \t\r\n", at + quoted.size());
    if (pos == std::string_view::npos || body[pos] != ':') {
        return {};
    }
    pos = body.find_first_not_of(" \t\r\n", pos + 1);
    if (pos == std::string_view::npos || body[pos] != '"') {
        return {};
    }
    const auto end = body.find('"', pos + 1);
    if (end == std::string_view::npos || end - pos - 1 > 64) {
        return {};
    }
    return std::string(body.substr(pos + 1, end - pos - 1));
}

}  // namespace chatsync::connectors::detail
