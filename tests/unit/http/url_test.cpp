#include "http/url.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/message.hpp"

namespace chatsync::http {
namespace {

TEST(ParseUrl, AppliesDefaultPorts) {
    const auto http = ParseUrl("http://example.com");
    ASSERT_TRUE(http);
    EXPECT_EQ(http->scheme, "http");
    EXPECT_EQ(http->host, "example.com");
    EXPECT_EQ(http->port, 80);
    EXPECT_EQ(http->target, "/");

    const auto https = ParseUrl("HTTPS://api.example.com/v1/items?a=1&b=%20x#frag");
    ASSERT_TRUE(https);
    EXPECT_EQ(https->scheme, "https");
    EXPECT_EQ(https->port, 443);
    EXPECT_EQ(https->target, "/v1/items?a=1&b=%20x");
}

TEST(ParseUrl, ReadsExplicitPortAndIpv6Literal) {
    const auto parts = ParseUrl("http://[::1]:8080/x");
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->host, "::1");
    EXPECT_EQ(parts->port, 8080);
    EXPECT_EQ(parts->target, "/x");

    const auto empty_port = ParseUrl("https://h:/p");
    ASSERT_TRUE(empty_port);
    EXPECT_EQ(empty_port->port, 443);
}

TEST(ParseUrl, RejectsWhatIsNotAnAbsoluteHttpUrl) {
    for (const char* bad :
         {"",
          "/relative",
          "ftp://h/x",
          "http://",
          "http://h:99999/",
          "http://h:0/",
          "http://h:x/",
          "mailto:a@b",
          "not a url"}) {
        const auto parts = ParseUrl(bad);
        ASSERT_FALSE(parts) << bad;
        EXPECT_EQ(parts.error(), make_error_code(Errc::kBadUrl)) << bad;
    }
}

TEST(ResolveUrl, FollowsRfc3986) {
    struct Case {
        const char* base;
        const char* ref;
        const char* expected;
    };

    const Case cases[] = {
        {"http://a/b/c/d;p?q", "g", "http://a/b/c/g"},
        {"http://a/b/c/d;p?q", "/g", "http://a/g"},
        {"http://a/b/c/d;p?q", "?y", "http://a/b/c/d;p?y"},
        {"http://a/b/c/d;p?q", "../g", "http://a/b/g"},
        {"http://a/b/c/d;p?q", "//g", "http://g"},
        {"https://h/api/v3", "https://other/x?y=1", "https://other/x?y=1"},
        {"https://h/api/v3/", "things?page=2", "https://h/api/v3/things?page=2"},
    };
    for (const auto& c : cases) {
        const auto resolved = ResolveUrl(c.base, c.ref);
        ASSERT_TRUE(resolved) << c.base << " + " << c.ref;
        EXPECT_EQ(*resolved, c.expected) << c.base << " + " << c.ref;
    }
    EXPECT_FALSE(ResolveUrl("/relative/base", "x"));
}

TEST(JoinPath, JoinsLikeApiSpecsMeanIt) {
    EXPECT_EQ(JoinPath("https://h/api/v3", "/items"), "https://h/api/v3/items");
    EXPECT_EQ(JoinPath("https://h/api/v3/", "items"), "https://h/api/v3/items");
    EXPECT_EQ(JoinPath("https://h/api/v3/", "/items/"), "https://h/api/v3/items/");
    EXPECT_EQ(JoinPath("https://h", "items"), "https://h/items");
    EXPECT_EQ(JoinPath("https://h/api", ""), "https://h/api");
    EXPECT_EQ(JoinPath("https://h/api", "https://cdn/x"), "https://cdn/x");
    EXPECT_EQ(JoinPath("https://h/api?v=2", "/items?page=1"), "https://h/api/items?v=2&page=1");
}

TEST(AppendQuery, PercentEncodesNamesAndValues) {
    EXPECT_EQ(
        AppendQuery("https://h/x", {{"a", "1"}, {"q", "x y&z=é"}}),
        "https://h/x?a=1&q=x%20y%26z%3D%C3%A9"
    );
    EXPECT_EQ(AppendQuery("https://h/x?k=v", {{"p[]", "1"}}), "https://h/x?k=v&p%5B%5D=1");
    EXPECT_EQ(AppendQuery("https://h/x?", {{"a", "b"}}), "https://h/x?a=b");
    EXPECT_EQ(AppendQuery("https://h/x#top", {{"a", "b"}}), "https://h/x?a=b#top");
    EXPECT_EQ(AppendQuery("https://h/x", {}), "https://h/x");
}

TEST(RedactUrl, MasksSecretLookingParameters) {
    EXPECT_EQ(
        RedactUrl("https://h/x?page=2&access_token=abc&apiKey=k1&Password=p&sig=1"),
        "https://h/x?page=2&access_token=***&apiKey=***&Password=***&sig=1"
    );
    EXPECT_EQ(
        RedactUrl("https://h/x?client_secret=s&signature=zz&authorization=a"),
        "https://h/x?client_secret=***&signature=***&authorization=***"
    );
    EXPECT_EQ(RedactUrl("https://user:hunter22@h/x?q=1"), "https://user:***@h/x?q=1");
    EXPECT_EQ(RedactUrl("https://h/x"), "https://h/x");
    EXPECT_EQ(RedactUrl("https://h/x?flag&token="), "https://h/x?flag&token=***");
}

TEST(FindHeader, IsCaseInsensitiveAndFirstWins) {
    const Headers headers = {{"Content-Type", "a"}, {"X-Rate", "1"}, {"content-type", "b"}};
    EXPECT_EQ(FindHeader(headers, "content-TYPE"), "a");
    EXPECT_EQ(FindHeader(headers, "x-rate"), "1");
    EXPECT_FALSE(FindHeader(headers, "missing"));
    const Response response{.status = 200, .headers = headers, .body = {}};
    EXPECT_EQ(response.Header("X-RATE"), "1");
}

}  // namespace
}  // namespace chatsync::http
