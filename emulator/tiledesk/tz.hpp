#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

/// @file
/// IANA time zones read from the system zoneinfo files. GCC 12's libstdc++ has no
/// std::chrono::tzdb, and Tiledesk interprets its date filters in a named zone, so the
/// Tiledesk mode needs local-day boundaries in arbitrary zones.

namespace chatsync::emulator {

/// One zone's UTC offsets over time.
/// @par Thread Safety
/// Immutable after Load.
class TimeZone final {
public:
    /// "UTC" (also "Etc/UTC", "GMT", "Z") without touching the file system, else the TZif file
    /// under /usr/share/zoneinfo (or $TZDIR). nullptr for unknown or malformed names.
    static std::shared_ptr<const TimeZone> Load(std::string_view name);

    const std::string& Name() const { return name_; }

    /// Offset from UTC, in seconds, in effect at `utc` (seconds since the epoch). Beyond the
    /// last transition in the file the last offset holds (system files list transitions up
    /// to 2037).
    std::int64_t OffsetAt(std::int64_t utc) const;

    /// The UTC instant of a local wall-clock time (seconds since the epoch, as if local were
    /// UTC). In a gap the pre-transition offset applies; in an overlap the earlier instant.
    std::int64_t LocalToUtc(std::int64_t local) const;

private:
    std::string name_;
    std::vector<std::int64_t> transitions_;  ///< Ascending UTC seconds.
    std::vector<std::int32_t> offsets_;      ///< Offset in force from transitions_[i].
    std::int32_t initial_offset_ = 0;        ///< Before the first transition.
};

}  // namespace chatsync::emulator
