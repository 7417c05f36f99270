#include "http/detail/response_reader.hpp"

#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace chatsync::http::detail {

namespace bhttp = boost::beast::http;
using boost::system::error_code;

void LimitResponse(ResponseParser& parser, std::size_t max_body_bytes, bool head) {
    parser.header_limit(kHeaderLimit);
    parser.body_limit(max_body_bytes);
    parser.skip(head);
}

bool IsInterim(unsigned status) noexcept {
    return status >= 100 && status < 200 && status != 101;
}

Response ToResponse(bhttp::response<bhttp::string_body>&& message) {
    Response response;
    response.status = message.result_int();
    for (const auto& field : message) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    return response;
}

ParsedResponse ParseResponse(std::string_view bytes, std::size_t max_body_bytes, bool head) {
    ParsedResponse out;
    while (true) {
        ResponseParser parser;
        LimitResponse(parser, max_body_bytes, head);
        while (!parser.is_done()) {
            error_code ec;
            const std::size_t used =
                parser.put(boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
            bytes.remove_prefix(used);
            if (used == 0 && (!ec || ec == bhttp::error::need_more)) {
                // Nothing more arrives: the peer closed. That ends a body read to the end of
                // the stream and is an error anywhere else; before any byte of a response it
                // is end_of_stream, as Beast's reads report it.
                if (parser.got_some()) {
                    parser.put_eof(ec);
                } else {
                    ec = bhttp::error::end_of_stream;
                }
            }
            if (ec && ec != bhttp::error::need_more) {
                out.ec = ec;
                return out;
            }
        }
        if (IsInterim(parser.get().result_int())) {
            continue;
        }
        out.keep_alive = parser.keep_alive();
        out.response = ToResponse(parser.release());
        return out;
    }
}

}  // namespace chatsync::http::detail
