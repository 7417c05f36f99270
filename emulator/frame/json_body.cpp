#include "emulator/frame/json_body.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/frame/router.hpp"

namespace chatsync::emulator {

boost::json::object BodyObject(const Request& request) {
    if (Trim(request.body).empty()) {
        return {};
    }
    boost::system::error_code ec;
    auto body = boost::json::parse(request.body, ec);
    if (ec || !body.is_object()) {
        throw HttpError(400, "body must be a JSON object");
    }
    return std::move(body.get_object());
}

std::int64_t
BodyInt(const boost::json::object& body, std::string_view name, std::int64_t fallback) {
    const auto* v = body.if_contains(name);
    if (v == nullptr || v->is_null()) {
        return fallback;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    }
    throw HttpError(400, std::string(name) + " must be an integer");
}

Response JsonAnswer(unsigned status, const boost::json::value& v) {
    return JsonResponse(status, ToJsonText(v));
}

std::string IsoFromMs(std::int64_t ms) {
    return FormatIso8601(SysTime(std::chrono::milliseconds(ms)));
}

}  // namespace chatsync::emulator
