// The HTTP client's response reading on arbitrary bytes from a peer: Beast's parser with the
// client's limits, interim responses passed over, the conversion to http::Response. The first
// byte picks a HEAD request and a small body limit. A response accepted over the body limit,
// or an interim one, is a finding too.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/detail/response_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const bool head = (data[0] & 1U) != 0;
    const std::size_t max_body = (data[0] & 2U) != 0 ? 16 : std::size_t{1} << 20U;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto parsed = chatsync::http::detail::ParseResponse(bytes, max_body, head);
    if (!parsed.ec) {
        if (parsed.response.body.size() > max_body || (head && !parsed.response.body.empty()) ||
            chatsync::http::detail::IsInterim(parsed.response.status)) {
            std::abort();
        }
        (void)parsed.response.Header("Retry-After");
    }
    return 0;
}
