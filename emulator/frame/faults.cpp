#include "emulator/frame/faults.hpp"

#include <array>
#include <charconv>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace chatsync::emulator {
namespace {

constexpr std::array<std::pair<std::string_view, FaultKind>, 8> kKinds{{
    {"429", FaultKind::k429},
    {"500", FaultKind::k500},
    {"502", FaultKind::k502},
    {"503", FaultKind::k503},
    {"delay", FaultKind::kDelay},
    {"drop", FaultKind::kDrop},
    {"truncate", FaultKind::kTruncate},
    {"malformed", FaultKind::kMalformed},
}};

std::optional<std::int64_t> AsInt(const boost::json::value& v) {
    if (v.is_int64()) {
        return v.get_int64();
    }
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(v.get_uint64());
    }
    if (v.is_double() &&
        v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double()))) {
        return static_cast<std::int64_t>(v.get_double());
    }
    // Accept "3" too: a page number often arrives quoted from shell scripts.
    if (v.is_string()) {
        std::int64_t n = 0;
        const auto& s = v.get_string();
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc{} && ptr == s.data() + s.size() && !s.empty()) {
            return n;
        }
    }
    return std::nullopt;
}

/// A fault that cannot be parsed: the message names the bad field.
Error Invalid(std::string message) {
    return {
        boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
        std::move(message)};
}

Result<Fault> ParseFault(const boost::json::value& json) {
    if (!json.is_object()) {
        return Invalid("a fault must be a JSON object");
    }
    const auto& object = json.get_object();
    Fault fault;
    bool without_retry_after = false;
    const auto* kind = object.if_contains("kind");
    if (kind == nullptr) {
        return Invalid("fault: missing \"kind\"");
    }
    std::string kind_text;
    if (kind->is_string()) {
        kind_text = std::string(kind->get_string());
    } else if (const auto n = AsInt(*kind)) {
        kind_text = std::to_string(*n);
    }
    bool known = false;
    for (const auto& [name, value] : kKinds) {
        if (name == kind_text) {
            fault.kind = value;
            known = true;
        }
    }
    if (!known) {
        return Invalid(
            "fault: unknown kind \"" + kind_text +
            "\" (429, 500, 502, 503, delay, drop, truncate, malformed)"
        );
    }
    for (const auto& member : object) {
        const std::string_view key = member.key();
        const boost::json::value& v = member.value();
        const auto integer = [&](std::int64_t min) -> Result<std::int64_t> {
            const auto n = AsInt(v);
            if (!n || *n < min) {
                return Invalid(
                    "fault: \"" + std::string(key) +
                    "\" must be an integer >= " + std::to_string(min)
                );
            }
            return *n;
        };
        const auto text = [&]() -> Result<std::string> {
            if (!v.is_string()) {
                return Invalid("fault: \"" + std::string(key) + "\" must be a string");
            }
            return std::string(v.get_string());
        };
        if (key == "kind") {
            continue;
        } else if (key == "count") {
            const auto n = integer(-1);
            if (!n) {
                return n.error();
            }
            fault.count = *n;
        } else if (key == "after") {
            const auto n = integer(0);
            if (!n) {
                return n.error();
            }
            fault.after = *n;
        } else if (key == "page") {
            const auto n = integer(INT64_MIN);
            if (!n) {
                return n.error();
            }
            fault.page = *n;
        } else if (key == "retry_after") {
            if (v.is_bool() && !v.get_bool()) {
                // A 429 without the header: the client falls back to its own backoff.
                without_retry_after = true;
                continue;
            }
            const auto n = integer(0);
            if (!n) {
                return n.error();
            }
            fault.retry_after = *n;
        } else if (key == "ms") {
            const auto n = integer(0);
            if (!n) {
                return n.error();
            }
            fault.delay = std::chrono::milliseconds(*n);
        } else if (key == "retry_after_date") {
            if (!v.is_bool()) {
                return Invalid("fault: \"retry_after_date\" must be true or false");
            }
            fault.retry_after_date = v.get_bool();
        } else if (key == "path") {
            auto t = text();
            if (!t) {
                return t.error();
            }
            fault.path = std::move(*t);
        } else if (key == "path_prefix") {
            auto t = text();
            if (!t) {
                return t.error();
            }
            fault.path_prefix = std::move(*t);
        } else if (key == "method") {
            auto t = text();
            if (!t) {
                return t.error();
            }
            fault.method = std::move(*t);
        } else {
            return Invalid("fault: unknown field \"" + std::string(key) + "\"");
        }
    }
    if (fault.kind == FaultKind::k429 && !fault.retry_after && !without_retry_after) {
        fault.retry_after = 2;
    }
    if (fault.retry_after_date && !fault.retry_after) {
        return Invalid("fault: retry_after_date needs retry_after on a " + kind_text + " fault");
    }
    return fault;
}

}  // namespace

bool IsStatusFault(FaultKind kind) {
    return kind == FaultKind::k429 || kind == FaultKind::k500 || kind == FaultKind::k502 ||
           kind == FaultKind::k503;
}

std::string_view FaultKindName(FaultKind kind) {
    for (const auto& [name, value] : kKinds) {
        if (value == kind) {
            return name;
        }
    }
    return "?";
}

bool Fault::Matches(const Request& request) const {
    if (path && request.path != *path) {
        return false;
    }
    if (path_prefix && !request.path.starts_with(*path_prefix)) {
        return false;
    }
    if (method && request.method != *method) {
        return false;
    }
    if (page) {
        const std::string* value = request.Param("page");
        if (value == nullptr) {
            return false;
        }
        std::int64_t n = 0;
        const auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
        if (ec != std::errc{} || ptr != value->data() + value->size() || n != *page) {
            return false;
        }
    }
    return true;
}

boost::json::object Fault::ToJson() const {
    boost::json::object out;
    out["kind"] = FaultKindName(kind);
    out["count"] = count;
    if (after > 0) {
        out["after"] = after;
    }
    if (path) {
        out["path"] = *path;
    }
    if (path_prefix) {
        out["path_prefix"] = *path_prefix;
    }
    if (method) {
        out["method"] = *method;
    }
    if (page) {
        out["page"] = *page;
    }
    if (retry_after) {
        out["retry_after"] = *retry_after;
    }
    if (retry_after_date) {
        out["retry_after_date"] = true;
    }
    if (kind == FaultKind::kDelay) {
        out["ms"] = delay.count();
    }
    return out;
}

Result<std::vector<Fault>> ParseFaults(const boost::json::value& json) {
    std::vector<Fault> faults;
    if (json.is_array()) {
        for (const auto& item : json.get_array()) {
            auto fault = ParseFault(item);
            if (!fault) {
                return fault.error();
            }
            faults.push_back(std::move(*fault));
        }
        return faults;
    }
    auto fault = ParseFault(json);
    if (!fault) {
        return fault.error();
    }
    faults.push_back(std::move(*fault));
    return faults;
}

void FaultList::Append(std::vector<Fault> faults) {
    for (auto& fault : faults) {
        if (fault.count != 0) {
            faults_.push_back(std::move(fault));
        }
    }
}

std::optional<Fault> FaultList::Take(const Request& request) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (!it->Matches(request)) {
            continue;
        }
        if (it->after > 0) {
            --it->after;
            continue;
        }
        Fault hit = *it;
        if (it->count > 0) {
            --it->count;
            if (it->count == 0) {
                faults_.erase(it);
            }
        }
        return hit;
    }
    return std::nullopt;
}

boost::json::array FaultList::ToJson() const {
    boost::json::array out;
    for (const auto& fault : faults_) {
        out.push_back(fault.ToJson());
    }
    return out;
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
    namespace chrono = std::chrono;
    static constexpr std::array<std::string_view, 7> kWeekdays{
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto day = chrono::floor<chrono::days>(t);
    const chrono::year_month_day ymd{day};
    const chrono::hh_mm_ss<chrono::seconds> tod{chrono::floor<chrono::seconds>(t - day)};
    const chrono::weekday wd{day};
    const auto two = [](long v) {
        std::string s = std::to_string(v);
        return s.size() < 2 ? "0" + s : s;
    };
    std::string out(kWeekdays[wd.c_encoding()]);
    out.append(", ").append(two(static_cast<unsigned>(ymd.day())));
    out.append(" ").append(kMonths[static_cast<unsigned>(ymd.month()) - 1]);
    out.append(" ").append(std::to_string(static_cast<int>(ymd.year())));
    out.append(" ").append(two(tod.hours().count()));
    out.append(":").append(two(tod.minutes().count()));
    out.append(":").append(two(tod.seconds().count()));
    out.append(" GMT");
    return out;
}

std::string RetryAfterValue(const Fault& fault, std::chrono::system_clock::time_point now) {
    if (!fault.retry_after) {
        return {};
    }
    if (!fault.retry_after_date) {
        return std::to_string(*fault.retry_after);
    }
    const auto when =
        std::chrono::ceil<std::chrono::seconds>(now + std::chrono::seconds(*fault.retry_after));
    return HttpDate(when);
}

Response StatusFaultResponse(const Fault& fault, std::chrono::system_clock::time_point now) {
    Response response;
    switch (fault.kind) {
        case FaultKind::k429:
            response = ErrorResponse(429, "rate limited");
            break;
        case FaultKind::k500:
            response = ErrorResponse(500, "internal error");
            break;
        case FaultKind::k502:
            response = ErrorResponse(502, "bad gateway");
            break;
        default:
            response = ErrorResponse(503, "service unavailable");
            break;
    }
    const std::string retry_after = RetryAfterValue(fault, now);
    if (!retry_after.empty() && (fault.kind == FaultKind::k429 || fault.kind == FaultKind::k503)) {
        response.headers.emplace_back("Retry-After", retry_after);
    }
    return response;
}

}  // namespace chatsync::emulator
