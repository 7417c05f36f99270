#include "http/detail/response_reader.hpp"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

namespace chatsync::http::detail {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::size_t kMaxBody = 1024;

TEST(ParseResponse, PassesOverInterimResponses) {
    const auto parsed = ParseResponse(
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 2\r\n\r\n{}",
        kMaxBody,
        false
    );
    ASSERT_FALSE(parsed.ec) << parsed.ec.message();
    EXPECT_EQ(parsed.response.status, 429U);
    EXPECT_EQ(parsed.response.Header("retry-after"), "120");
    EXPECT_EQ(parsed.response.body, "{}");
    EXPECT_TRUE(parsed.keep_alive);
}

TEST(ParseResponse, ReadsChunkedBodiesAndBodiesToTheEnd) {
    const auto chunked = ParseResponse(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n",
        kMaxBody,
        false
    );
    ASSERT_FALSE(chunked.ec) << chunked.ec.message();
    EXPECT_EQ(chunked.response.body, "[1,2]");
    const auto to_close =
        ParseResponse("HTTP/1.0 503 Unavailable\r\n\r\n{\"a\":1}", kMaxBody, false);
    ASSERT_FALSE(to_close.ec) << to_close.ec.message();
    EXPECT_EQ(to_close.response.status, 503U);
    EXPECT_EQ(to_close.response.body, R"({"a":1})");
    EXPECT_FALSE(to_close.keep_alive);
}

TEST(ParseResponse, AppliesTheLimitsAndHeadHasNoBody) {
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    EXPECT_EQ(ParseResponse(response, 5, false).ec, bhttp::error::body_limit);
    const auto head = ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 5, true);
    ASSERT_FALSE(head.ec) << head.ec.message();
    EXPECT_TRUE(head.response.body.empty());
    const std::string huge_header = "HTTP/1.1 200 OK\r\nX: " + std::string(kHeaderLimit, 'a');
    EXPECT_EQ(
        ParseResponse(huge_header + "\r\n\r\n", kMaxBody, false).ec, bhttp::error::header_limit
    );
}

TEST(ParseResponse, ACutShortResponseIsAnError) {
    EXPECT_EQ(
        ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", kMaxBody, false).ec,
        bhttp::error::partial_message
    );
    EXPECT_TRUE(ParseResponse("HTTP/1.1 200 OK\r\nContent-Le", kMaxBody, false).ec);
    EXPECT_EQ(ParseResponse("", kMaxBody, false).ec, bhttp::error::end_of_stream);
    // The peer closed after an interim response, before the real one.
    EXPECT_EQ(
        ParseResponse("HTTP/1.1 100 Continue\r\n\r\n", kMaxBody, false).ec,
        bhttp::error::end_of_stream
    );
    EXPECT_TRUE(ParseResponse("SMTP ready\r\n\r\n", kMaxBody, false).ec);
}

}  // namespace
}  // namespace chatsync::http::detail
