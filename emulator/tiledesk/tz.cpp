#include "emulator/tiledesk/tz.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace chatsync::emulator {
namespace {

std::int64_t ReadBig(const std::string& data, std::size_t pos, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v = (v << 8) | static_cast<unsigned char>(data[pos + static_cast<std::size_t>(i)]);
    }
    if (bytes == 4) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return static_cast<std::int64_t>(v);
}

bool SafeName(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
               c == '+';
    });
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::Load(std::string_view name) {
    auto zone = std::make_shared<TimeZone>();
    zone->name_ = std::string(name);
    if (name == "UTC" || name == "Etc/UTC" || name == "GMT" || name == "Z" || name == "Etc/GMT") {
        return zone;
    }
    if (!SafeName(name)) {
        return nullptr;
    }
    const char* dir = std::getenv("TZDIR");
    const std::string path =
        std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") + "/" +
        std::string(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return nullptr;
    }
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) {
        return nullptr;
    }
    // Header counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
    const auto counts = [&](std::size_t at) {
        std::array<std::int64_t, 6> c{};
        for (std::size_t i = 0; i < 6; ++i) {
            c[i] = ReadBig(data, at + 20 + i * 4, 4);
        }
        return c;
    };
    auto c = counts(0);
    std::size_t pos = 44;
    int time_size = 4;
    if (data[4] >= '2') {
        // Skip the 32-bit block; the 64-bit one follows with its own header.
        pos += static_cast<std::size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
        if (data.size() < pos + 44 || data.compare(pos, 4, "TZif") != 0) {
            return nullptr;
        }
        c = counts(pos);
        pos += 44;
        time_size = 8;
    }
    const auto timecnt = static_cast<std::size_t>(c[3]);
    const auto typecnt = static_cast<std::size_t>(c[4]);
    const std::size_t need = timecnt * static_cast<std::size_t>(time_size) + timecnt + typecnt * 6;
    if (typecnt == 0 || data.size() < pos + need) {
        return nullptr;
    }
    std::vector<std::int64_t> times(timecnt);
    for (std::size_t i = 0; i < timecnt; ++i) {
        times[i] = ReadBig(data, pos + i * static_cast<std::size_t>(time_size), time_size);
    }
    pos += timecnt * static_cast<std::size_t>(time_size);
    std::vector<std::size_t> idx(timecnt);
    for (std::size_t i = 0; i < timecnt; ++i) {
        idx[i] = static_cast<unsigned char>(data[pos + i]);
    }
    pos += timecnt;
    std::vector<std::int32_t> type_offsets(typecnt);
    for (std::size_t i = 0; i < typecnt; ++i) {
        type_offsets[i] = static_cast<std::int32_t>(ReadBig(data, pos + i * 6, 4));
    }
    // RFC 8536: time type 0 applies before the first transition.
    zone->initial_offset_ = type_offsets[0];
    for (std::size_t i = 0; i < timecnt; ++i) {
        if (idx[i] >= typecnt) {
            return nullptr;
        }
        zone->transitions_.push_back(times[i]);
        zone->offsets_.push_back(type_offsets[idx[i]]);
    }
    return zone;
}

std::int64_t TimeZone::OffsetAt(std::int64_t utc) const {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
    if (it == transitions_.begin()) {
        return initial_offset_;
    }
    return offsets_[static_cast<std::size_t>(it - transitions_.begin() - 1)];
}

std::int64_t TimeZone::LocalToUtc(std::int64_t local) const {
    // Two candidates cover gaps and overlaps: the offset before and after any nearby
    // transition. Prefer the earlier instant that maps back to the same wall time.
    const std::int64_t a = local - OffsetAt(local - 86400);
    const std::int64_t b = local - OffsetAt(local + 86400);
    const std::int64_t first = std::min(a, b);
    const std::int64_t second = std::max(a, b);
    if (first + OffsetAt(first) == local) {
        return first;
    }
    if (second + OffsetAt(second) == local) {
        return second;
    }
    return local - OffsetAt(local - 86400);
}

}  // namespace chatsync::emulator
