// Retry-After parsing on arbitrary header values: delay-seconds and the three HTTP-date forms.
// A negative delay is a finding too (a date in the past is zero).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/retry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A fixed "now" (2026-06-01T00:00:00Z) keeps every run reproducible.
    static const std::chrono::system_clock::time_point now{std::chrono::seconds(1'780'272'000)};
    const std::string_view value(reinterpret_cast<const char*>(data), size);
    const auto delay = chatsync::http::ParseRetryAfter(value, now);
    if (delay && delay->count() < 0) {
        std::abort();
    }
    return 0;
}
