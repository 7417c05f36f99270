#include "http/detail/request_head.hpp"

#include <boost/beast/http/error.hpp>

#include "core/text.hpp"

namespace chatsync::http::detail {

namespace bhttp = boost::beast::http;

void Deadline::Arm(std::chrono::steady_clock::time_point when) {
    shared_->expired = false;
    ++shared_->generation;
    timer_.expires_at(when);
    timer_.async_wait(Expire{shared_, shared_->generation});
}

void Deadline::Disarm() {
    ++shared_->generation;
    timer_.cancel();
}

void Deadline::Expire::operator()(const boost::system::error_code& ec) const {
    if (ec || shared->stream == nullptr || shared->generation != generation) {
        return;  // Disarmed, re-armed or destroyed meanwhile.
    }
    shared->expired = true;
    boost::system::error_code ignored;
    shared->stream->socket().cancel(ignored);
}

Task<bool>
AwaitRequest(boost::beast::tcp_stream* stream, boost::beast::flat_buffer* buffer, Millis timeout) {
    if (buffer->size() != 0) {
        co_return true;  // Pipelined: the next request is here already.
    }
    stream->expires_after(timeout);
    auto [ec, n] = co_await stream->async_read_some(buffer->prepare(512), kAsTuple);
    if (ec) {
        co_return false;
    }
    buffer->commit(n);
    co_return true;
}

ServerRequest HeadOf(const bhttp::request_header<>& header, const std::string& remote_address) {
    ServerRequest request;
    request.method = std::string(header.method_string());
    const std::string_view target = header.target();
    const auto question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        request.query = std::string(target.substr(question + 1));
    }
    for (const auto& field : header) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.remote_address = remote_address;
    return request;
}

std::optional<std::string_view> FramingProblem(const bhttp::request_header<>& header) {
    const auto hosts = header.count(bhttp::field::host);
    if (header.version() >= 11 && hosts == 0) {
        return "bad request: missing Host\n";
    }
    if (hosts > 1) {
        return "bad request: more than one Host\n";
    }
    const auto encodings = header.count(bhttp::field::transfer_encoding);
    if (encodings == 0) {
        return std::nullopt;
    }
    if (header.version() < 11) {
        return "bad request: Transfer-Encoding in HTTP/1.0\n";
    }
    if (encodings > 1 || !IEquals(Trim(header[bhttp::field::transfer_encoding]), "chunked")) {
        return "bad request: unsupported Transfer-Encoding\n";
    }
    if (header.count(bhttp::field::content_length) != 0) {
        return "bad request: both Transfer-Encoding and Content-Length\n";
    }
    return std::nullopt;
}

bool IsHttpError(const boost::system::error_code& ec) {
    return ec.category() == boost::system::error_code(bhttp::error::end_of_stream).category();
}

}  // namespace chatsync::http::detail
