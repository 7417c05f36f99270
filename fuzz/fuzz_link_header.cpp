// Link-header pagination on arbitrary headers: each input line is one Link header value of a
// page's response, and NextPosition finds rel="next" (LinkNext) and resolves it against the
// page's URL, as the runner does. Each value is also given to LinkNext alone.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/pagination.hpp"
#include "http/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    chatsync::http::Response response;
    response.status = 200;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        const auto value = text.substr(0, eol);
        (void)chatsync::connectors::LinkNext(value);
        response.headers.emplace_back("Link", std::string(value));
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    }
    chatsync::connectors::PaginationSpec spec;
    spec.kind = chatsync::connectors::PaginationKind::kLinkHeader;
    const auto first = chatsync::connectors::FirstPosition(spec);
    (void)chatsync::connectors::NextPosition(
        spec, first, nullptr, response, 1, "https://api.example.com/v2/tickets?page=1&per_page=50"
    );
    return 0;
}
