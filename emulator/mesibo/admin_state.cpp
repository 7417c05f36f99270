// Mesibo mode: the /_admin/mesibo/ routes for clients, TOKENBREACH, injected errors, the
// clock, settings and the answer barrier.
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
        tokens[token] = mesibo::StringArray(addresses);
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
    return JsonAnswer(200, ClientsJson());
}

Response MesiboMode::AdminBreach(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    const bool disable = mesibo::BoolField(body, "disabled").value_or(true);
    if (disable && !disabled_) {
        ++breaches_;
    }
    disabled_ = disable;
    return JsonAnswer(200, ClientsJson());
}

Response MesiboMode::AdminBreachReset(const Request& request, const PathParams&) {
    const json::object body = BodyObject(request);
    disabled_ = false;
    slots_.clear();
    first_breach_ms_.reset();
    after_breach_ = 0;
    if (!mesibo::BoolField(body, "keep_seen").value_or(false)) {
        seen_.clear();
    }
    return JsonAnswer(200, ClientsJson());
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
            const json::object& f = mesibo::AdminObject(item, "errors");
            const auto error = mesibo::StringField(f, "error");
            if (!error || error->empty()) {
                throw HttpError(400, "error must name the error, e.g. QUOTAEXCEEDED");
            }
            Injected injected;
            injected.failure = mesibo::KnownFailure(*error);
            injected.failure.code = mesibo::AdminInt(f, "code", injected.failure.code);
            injected.failure.cause =
                mesibo::StringField(f, "cause").value_or(injected.failure.cause);
            injected.failure.action =
                mesibo::StringField(f, "action").value_or(injected.failure.action);
            if (const json::array* props = mesibo::AdminArray(f, "properties"); props != nullptr) {
                injected.failure.properties = mesibo::AdminStrings(*props, "properties");
            }
            injected.count = mesibo::AdminInt(f, "count", 1);
            if (injected.count == 0 || injected.count < -1) {
                throw HttpError(400, "count must be positive, or -1 for ever");
            }
            if (const json::array* ops = mesibo::AdminArray(f, "ops"); ops != nullptr) {
                injected.ops = mesibo::AdminStrings(*ops, "ops");
            }
            const std::int64_t status = mesibo::AdminInt(f, "status", 200);
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
            {"properties", mesibo::StringArray(i.failure.properties)},
            {"count", i.count},
            {"ops", mesibo::StringArray(i.ops)},
            {"status", static_cast<std::int64_t>(i.status)},
        });
    }
    return JsonAnswer(200, json::object{{"errors", std::move(list)}});
}

Response MesiboMode::AdminClock(const Request& request, const PathParams&) {
    if (request.method == "POST") {
        const json::object body = BodyObject(request);
        if (const json::value* now = mesibo::Field(body, "now"); now != nullptr) {
            if (now->is_string()) {
                const auto t = ParseIso8601(now->get_string(), true);
                if (!t) {
                    throw HttpError(400, "now must be an ISO-8601 date-time with a zone");
                }
                pinned_now_s_ =
                    std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
            } else if (const auto s = mesibo::ToInt(*now)) {
                pinned_now_s_ = s;
            } else {
                throw HttpError(400, "now must be an ISO-8601 string or Unix seconds");
            }
        } else if (body.contains("now")) {
            pinned_now_s_.reset();
        }
        clock_offset_ms_ = mesibo::AdminInt(body, "offset_ms", clock_offset_ms_);
        // advance_ms moves whichever clock is in force: the pinned time or the offset.
        const std::int64_t advance = mesibo::AdminInt(body, "advance_ms", 0);
        if (pinned_now_s_) {
            *pinned_now_s_ += advance / 1000;
        } else {
            clock_offset_ms_ += advance;
        }
    }
    return JsonAnswer(
        200,
        json::object{
            {"now", IsoFromMs(NowSeconds() * 1000)},
            {"now_s", NowSeconds()},
            {"offset_ms", clock_offset_ms_},
            {"pinned", pinned_now_s_.has_value()},
        }
    );
}

Response MesiboMode::AdminAppStatsReset(const Request&, const PathParams&) {
    const bool had = last_appstats_.has_value();
    last_appstats_.reset();
    return JsonAnswer(200, json::object{{"reset", had}});
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
        const json::object body = BodyObject(request);
        Config next = config_;
        next.token = mesibo::StringField(body, "token").value_or(next.token);
        next.ip_limit = mesibo::AdminInt(body, "ip_limit", next.ip_limit);
        next.ip_ttl =
            std::chrono::milliseconds(mesibo::AdminInt(body, "ip_ttl_ms", next.ip_ttl.count()));
        next.trusted = mesibo::BoolField(body, "trusted").value_or(next.trusted);
        next.max_count = mesibo::AdminInt(body, "max_count", next.max_count);
        next.appstats_interval = std::chrono::milliseconds(
            mesibo::AdminInt(body, "appstats_interval_ms", next.appstats_interval.count())
        );
        if (const auto ids = mesibo::StringField(body, "ids")) {
            const auto parsed = ParseMesiboIds(*ids);
            if (!parsed) {
                throw HttpError(400, "ids must be number, string or mixed");
            }
            next.ids = *parsed;
        }
        next.origin_check = mesibo::StringField(body, "origin_check").value_or(next.origin_check);
        if (next.origin_check != "user-agent" && next.origin_check != "any-header" &&
            next.origin_check != "off") {
            throw HttpError(400, "origin_check must be user-agent, any-header or off");
        }
        // The older switch, kept as an alias; `collation` wins when both are given.
        if (const auto ci = mesibo::BoolField(body, "case_insensitive")) {
            next.collation = *ci ? MesiboCollation::kCi : MesiboCollation::kBinary;
        }
        const auto choose = [&body]<class T>(std::string_view key, auto parse, T& field) {
            if (const auto name = mesibo::StringField(body, key)) {
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
        next.limited_ops = mesibo::BoolField(body, "limited_ops").value_or(next.limited_ops);
        next.build = mesibo::AdminInt(body, "build", next.build);
        if (next.max_count < 1) {
            throw HttpError(400, "max_count must be at least 1");
        }
        if (next.token.empty()) {
            throw HttpError(400, "token must not be empty");
        }
        config_ = std::move(next);
    }
    return JsonAnswer(200, ConfigJson());
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
        const json::object body = BodyObject(request);
        const json::value* requests = mesibo::Field(body, "requests");
        if (requests == nullptr) {
            throw HttpError(400, "requests is required");
        }
        Barrier next;
        next.requests = mesibo::AdminInt(body, "requests", 0);
        next.timeout =
            std::chrono::milliseconds(mesibo::AdminInt(body, "timeout_ms", next.timeout.count()));
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
    return JsonAnswer(200, BarrierJson());
}

}  // namespace chatsync::emulator
