#include "config/detail/pacing.hpp"

#include <limits>

#include "config/detail/map_reader.hpp"

namespace chatsync::config::detail {

namespace {

constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();

}  // namespace

PartialSchedule ReadSchedule(Context& ctx, const YamlNode& node, const std::string& path) {
    PartialSchedule out;
    MapReader m(ctx, node, path);
    out.interval = m.Duration("interval", true);
    out.jitter = m.Duration("jitter");
    m.Finish();
    return out;
}

PartialRateLimit ReadRateLimit(Context& ctx, const YamlNode& node, const std::string& path) {
    PartialRateLimit out;
    MapReader m(ctx, node, path);
    if (const auto v = m.Integer("requests_per_minute", 0, kMaxUint32)) {
        out.requests_per_minute = static_cast<std::uint32_t>(*v);
    }
    if (const auto v = m.Integer("burst", 1, kMaxUint32)) {
        out.burst = static_cast<std::uint32_t>(*v);
    }
    if (const auto v = m.Integer("concurrency", 1, kMaxUint32)) {
        out.concurrency = static_cast<std::uint32_t>(*v);
    }
    m.Finish();
    return out;
}

}  // namespace chatsync::config::detail
