#include "emulator/generic/moving.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>
#include <utility>

#include <boost/json/array.hpp>

namespace chatsync::emulator {
namespace {

/// Uniform in [0, bound), bound > 0. std::uniform_int_distribution would do, but its algorithm
/// differs between standard libraries while std::mt19937_64's output is fixed by the standard;
/// this way a seed picks the same records everywhere, and a test can rely on its picks.
std::uint64_t Below(std::mt19937_64& rng, std::uint64_t bound) {
    // Draws below 2^64 mod bound are rejected, so that what remains is a whole number of copies
    // of [0, bound) and no value is favoured.
    const std::uint64_t threshold = (std::numeric_limits<std::uint64_t>::max() - bound + 1) % bound;
    for (;;) {
        const std::uint64_t draw = rng();
        if (draw >= threshold) {
            return draw % bound;
        }
    }
}

/// A setting that cannot be parsed: the message names the bad field.
Error Invalid(std::string message) {
    return {
        boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
        std::move(message)};
}

/// The integer value of a field; an error naming the field when it is not an integer >= min.
Result<std::int64_t> FieldInt(std::string_view key, const boost::json::value& v, std::int64_t min) {
    std::optional<std::int64_t> n;
    if (v.is_int64()) {
        n = v.get_int64();
    } else if (v.is_uint64() && v.get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
        n = static_cast<std::int64_t>(v.get_uint64());
    }
    if (!n || *n < min) {
        return Invalid(
            "moving: \"" + std::string(key) + "\" must be an integer >= " + std::to_string(min)
        );
    }
    return *n;
}

/// The setting's fields that hold a count, with their least value.
struct CountField {
    std::string_view name;
    std::int64_t min;
    std::int64_t MovingSetting::*member;
};

constexpr std::array<CountField, 4> kCountFields{{
    {"every", 1, &MovingSetting::every},
    {"update", 0, &MovingSetting::updates},
    {"insert", 0, &MovingSetting::inserts},
    {"delete", 0, &MovingSetting::deletes},
}};

const CountField* CountFieldNamed(std::string_view key) {
    for (const auto& field : kCountFields) {
        if (field.name == key) {
            return &field;
        }
    }
    return nullptr;
}

}  // namespace

Result<MovingSetting> ParseMoving(const boost::json::value& json) {
    if (!json.is_object()) {
        return Invalid("moving: the setting must be a JSON object");
    }
    const auto& object = json.get_object();
    MovingSetting setting;
    setting.tokens_only = object.size() == 1 && object.contains("tokens");
    for (const auto& member : object) {
        const std::string_view key = member.key();
        const boost::json::value& v = member.value();
        // The field's count into `out`; the error naming the field when it is none.
        const auto count = [&](std::int64_t min, std::int64_t& out) -> Result<void> {
            auto n = FieldInt(key, v, min);
            if (!n) {
                return n.error();
            }
            out = *n;
            return {};
        };
        if (key == "enabled") {
            if (!v.is_bool()) {
                return Invalid("moving: \"enabled\" must be true or false");
            }
            setting.enabled = v.get_bool();
        } else if (const auto* field = CountFieldNamed(key)) {
            if (auto counted = count(field->min, setting.*field->member); !counted) {
                return counted.error();
            }
        } else if (key == "seed") {
            // Any integer: a negative seed is taken as its two's complement.
            if (v.is_int64()) {
                setting.seed = static_cast<std::uint64_t>(v.get_int64());
            } else if (v.is_uint64()) {
                setting.seed = v.get_uint64();
            } else {
                return Invalid("moving: \"seed\" must be an integer");
            }
        } else if (key == "stop_after") {
            if (v.is_null()) {
                setting.stop_after.reset();
                continue;
            }
            std::int64_t steps = 0;
            if (auto counted = count(0, steps); !counted) {
                return counted.error();
            }
            setting.stop_after = steps;
        } else if (key == "tokens") {
            const auto tokens = v.is_string() ? ParseGenericTokens(v.get_string()) : std::nullopt;
            if (!tokens) {
                return Invalid("moving: \"tokens\" must be \"keyset\" or \"offset\"");
            }
            setting.tokens = tokens;
        } else {
            return Invalid("moving: unknown field \"" + std::string(key) + "\"");
        }
    }
    return setting;
}

void MovingListing::Set(const MovingSetting& setting) {
    setting_ = setting;
    rng_.seed(setting.seed);
    requests_ = 0;
    setting_steps_ = 0;
}

void MovingListing::BeforeListing(Dataset& dataset, SysTime now) {
    if (!setting_.enabled) {
        return;
    }
    ++requests_;
    if (requests_ % setting_.every != 0) {
        return;
    }
    if (setting_.stop_after && setting_steps_ >= *setting_.stop_after) {
        return;
    }
    Step(dataset, now);
}

void MovingListing::Step(Dataset& dataset, SysTime now) {
    std::vector<std::int64_t> ids;
    ids.reserve(dataset.Size());
    for (const Record* record : dataset.Ordered()) {
        ids.push_back(record->id);
    }
    // Clamped one by one first: their sum could overflow.
    const auto updates = std::min(ids.size(), static_cast<std::size_t>(setting_.updates));
    const auto deletes = std::min(ids.size(), static_cast<std::size_t>(setting_.deletes));
    const std::size_t picks = std::min(ids.size(), updates + deletes);
    // A partial Fisher-Yates shuffle: the first `picks` ids become a uniform sample without
    // repeats, so one record is never both updated and deleted in a step.
    for (std::size_t i = 0; i < picks; ++i) {
        const auto j = i + static_cast<std::size_t>(Below(rng_, ids.size() - i));
        std::swap(ids[i], ids[j]);
    }
    const auto first = ids.begin();
    const std::vector<std::int64_t> to_update(first, first + static_cast<std::ptrdiff_t>(updates));
    const std::vector<std::int64_t> to_delete(
        first + static_cast<std::ptrdiff_t>(updates), first + static_cast<std::ptrdiff_t>(picks)
    );
    updated_ += static_cast<std::int64_t>(dataset.Mutate(to_update, now).size());
    for (const std::int64_t id : dataset.Remove(to_delete)) {
        deleted_ids_.push_back(id);
    }
    inserted_ += static_cast<std::int64_t>(
        dataset.Add(static_cast<std::size_t>(setting_.inserts), now).size()
    );
    ++steps_;
    ++setting_steps_;
}

boost::json::object MovingListing::ToJson() const {
    boost::json::object out;
    out["enabled"] = setting_.enabled;
    out["every"] = setting_.every;
    out["update"] = setting_.updates;
    out["insert"] = setting_.inserts;
    out["delete"] = setting_.deletes;
    out["seed"] = setting_.seed;
    if (setting_.stop_after) {
        out["stop_after"] = *setting_.stop_after;
    } else {
        out["stop_after"] = nullptr;
    }
    out["requests"] = requests_;
    out["setting_steps"] = setting_steps_;
    out["steps"] = steps_;
    out["updated"] = updated_;
    out["inserted"] = inserted_;
    out["deleted"] = static_cast<std::int64_t>(deleted_ids_.size());
    boost::json::array deleted_ids;
    deleted_ids.reserve(deleted_ids_.size());
    for (const std::int64_t id : deleted_ids_) {
        deleted_ids.push_back(id);
    }
    out["deleted_ids"] = std::move(deleted_ids);
    return out;
}

}  // namespace chatsync::emulator
