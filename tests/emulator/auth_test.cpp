// Each --auth mode accepts its credential and answers 401 {"error":"unauthorized"} otherwise.

#include <thread>

#include <gtest/gtest.h>

#include "core/text.hpp"
#include "emulator_fixture.hpp"

namespace chatsync::emulator::test {
namespace {

constexpr std::string_view kUnauthorized = R"({"error":"unauthorized"})";

Options AuthOptions(AuthMode mode) {
    Options options = SmallOptions(20);
    options.auth = mode;
    options.token = "s3cret+/token";
    options.username = "alice";
    options.password = "wonder land";
    return options;
}

void ExpectUnauthorized(const HttpResult& result) {
    EXPECT_EQ(result.status, 401u);
    EXPECT_EQ(result.body, kUnauthorized);
}

TEST(EmulatorAuth, NoneAcceptsEverything) {
    RunningEmulator emulator(AuthOptions(AuthMode::kNone));
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Get("/generic/page").status, 200u);
    EXPECT_EQ(client.Get("/key/s3cret+%2Ftoken/generic/page").status, 404u);
}

TEST(EmulatorAuth, Bearer) {
    RunningEmulator emulator(AuthOptions(AuthMode::kBearer));
    TestClient client = emulator.Client();
    EXPECT_EQ(
        client.Get("/generic/page", {{"Authorization", "Bearer s3cret+/token"}}).status, 200u
    );
    EXPECT_EQ(
        client.Post("/generic/search", "{}", {{"Authorization", "Bearer s3cret+/token"}}).status,
        200u
    );
    ExpectUnauthorized(client.Get("/generic/page", {{"Authorization", "Bearer wrong"}}));
    ExpectUnauthorized(client.Get("/generic/page", {{"X-API-Key", "s3cret+/token"}}));
    ExpectUnauthorized(client.Get("/generic/page"));
    // Admin routes never ask for credentials.
    EXPECT_EQ(client.Get("/_admin/stats").status, 200u);
}

TEST(EmulatorAuth, Basic) {
    RunningEmulator emulator(AuthOptions(AuthMode::kBasic));
    TestClient client = emulator.Client();
    const std::string good = "Basic " + Base64Encode("alice:wonder land");
    EXPECT_EQ(client.Get("/generic/cursor", {{"Authorization", good}}).status, 200u);
    ExpectUnauthorized(
        client.Get("/generic/cursor", {{"Authorization", "Basic " + Base64Encode("alice:wrong")}})
    );
    ExpectUnauthorized(client.Get("/generic/cursor", {{"Authorization", "Bearer s3cret+/token"}}));
}

TEST(EmulatorAuth, Header) {
    RunningEmulator emulator(AuthOptions(AuthMode::kHeader));
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Get("/generic/records/3", {{"X-API-Key", "s3cret+/token"}}).status, 200u);
    ExpectUnauthorized(client.Get("/generic/records/3", {{"X-API-Key", "s3cret"}}));
    ExpectUnauthorized(client.Get("/generic/records/3"));
}

TEST(EmulatorAuth, Query) {
    RunningEmulator emulator(AuthOptions(AuthMode::kQuery));
    TestClient client = emulator.Client();
    EXPECT_EQ(client.Get("/generic/offset?api_key=" + UrlEncode("s3cret+/token")).status, 200u);
    // An unencoded '+' decodes to a space, which is a different token.
    ExpectUnauthorized(client.Get("/generic/offset?api_key=s3cret+/token"));
    ExpectUnauthorized(client.Get("/generic/offset"));
}

TEST(EmulatorAuth, BodyOnlyOnPostRoutes) {
    RunningEmulator emulator(AuthOptions(AuthMode::kBody));
    TestClient client = emulator.Client();
    EXPECT_EQ(
        client.Post("/generic/search", R"({"api_key":"s3cret+/token","per_page":5})").status, 200u
    );
    ExpectUnauthorized(client.Post("/generic/search", R"({"api_key":"nope"})"));
    ExpectUnauthorized(client.Post("/generic/search", "not json"));
    ExpectUnauthorized(client.Get("/generic/page?api_key=s3cret%2B%2Ftoken"));
}

TEST(EmulatorAuth, PathOnlyUnderTheKeyPrefix) {
    RunningEmulator emulator(AuthOptions(AuthMode::kPath));
    TestClient client = emulator.Client();
    const std::string prefix = "/key/" + UrlEncode("s3cret+/token");
    EXPECT_EQ(client.Get(prefix + "/generic/page").status, 200u);
    EXPECT_EQ(client.Get(prefix + "/generic/records/4/comments").status, 200u);
    ExpectUnauthorized(client.Get("/key/wrong/generic/page"));
    ExpectUnauthorized(client.Get("/generic/page"));
    // URLs handed back keep the prefix, so following them needs nothing extra.
    const auto next = client.Get(prefix + "/generic/next?page_size=5").Json().at("next");
    const std::string target = TargetOf(next.as_string());
    EXPECT_TRUE(target.starts_with(prefix + "/generic/next?")) << target;
    EXPECT_EQ(client.Get(target).status, 200u);
}

TEST(EmulatorAuth, LoginIssuesRevocableTokens) {
    RunningEmulator emulator(AuthOptions(AuthMode::kLogin));
    TestClient client = emulator.Client();
    ExpectUnauthorized(client.Post("/auth/login", R"({"username":"alice","password":"wrong"})"));
    const auto login =
        client.Post("/auth/login", R"({"username":"alice","password":"wonder land"})");
    ASSERT_EQ(login.status, 200u) << login.body;
    const auto json = login.Json();
    EXPECT_EQ(json.at("expires_in").as_int64(), 3600);
    const std::string token(json.at("token").as_string());
    EXPECT_GE(token.size(), 16u);
    const std::string second(
        client.Post("/auth/login", R"({"username":"alice","password":"wonder land"})")
            .Json()
            .at("token")
            .as_string()
    );
    EXPECT_NE(token, second);

    EXPECT_EQ(client.Get("/generic/page", {{"Authorization", "Bearer " + token}}).status, 200u);
    ExpectUnauthorized(client.Get("/generic/page", {{"Authorization", "Bearer s3cret+/token"}}));
    ExpectUnauthorized(client.Get("/generic/page"));

    EXPECT_EQ(client.Post("/_admin/revoke-tokens", "").Json().at("revoked").as_int64(), 2);
    ExpectUnauthorized(client.Get("/generic/page", {{"Authorization", "Bearer " + token}}));
}

TEST(EmulatorAuth, LoginTokensExpire) {
    Options options = AuthOptions(AuthMode::kLogin);
    options.token_ttl = std::chrono::milliseconds(300);
    RunningEmulator emulator(options);
    TestClient client = emulator.Client();
    const std::string token(
        client.Post("/auth/login", R"({"username":"alice","password":"wonder land"})")
            .Json()
            .at("token")
            .as_string()
    );
    EXPECT_EQ(client.Get("/generic/page", {{"Authorization", "Bearer " + token}}).status, 200u);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ExpectUnauthorized(client.Get("/generic/page", {{"Authorization", "Bearer " + token}}));
}

}  // namespace
}  // namespace chatsync::emulator::test
