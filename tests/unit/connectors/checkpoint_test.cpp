#include "connectors/checkpoint.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

SecretTemplates Secrets() {
    SecretTemplates s;
    s.Add("config.token", "k3y/with space");
    s.Add("auth.token", "jwt-abcdef");
    return s;
}

TEST(Checkpoint, EncodeThenDecodeGivesTheSameCheckpoint) {
    Checkpoint c;
    c.pass = "run-7";
    c.started_at_us = 1'700'000'000'000'000;
    c.began_empty = {"records", "comments"};
    c.window_start = "2024-01-01T00:00:00.000000Z";
    c.run_cursor = "2024-01-02T00:00:00.000000Z";
    c.keyset_from = "2024-01-01T12:00:00.000000Z";
    c.unverified_from = "2024-01-01T06:00:00.000000Z";
    c.position = PagePosition{};
    c.position->number = 4;
    c.position->offset = 300;
    c.position->token = "t";
    c.position->pages = 3;
    c.position->overlap = 1;
    c.position->keyset = "2024-01-01T12:00:00.000000Z";
    c.pages = 3;
    c.shifts = 2;
    c.boundary.tail_keys = {"17", "18"};
    c.boundary.page = PagePosition{};
    c.boundary.page->number = 3;
    c.boundary.page->offset = 200;
    c.boundary.page->pages = 2;
    c.boundary.total = 20000;
    c.pending = json::array{json::object{{"id", 5}}};
    c.partitions = json::array{json::object{{"prefix", "ab"}}};
    c.last_record = R"({"status":1})";

    bool migrated = true;
    const auto back = Checkpoint::Decode(c.Encode(Secrets()), Secrets(), &migrated);
    ASSERT_TRUE(back);
    EXPECT_FALSE(migrated);
    EXPECT_EQ(back->pass, c.pass);
    EXPECT_EQ(back->started_at_us, c.started_at_us);
    EXPECT_EQ(back->began_empty, c.began_empty);
    EXPECT_TRUE(back->BeganEmpty("comments"));
    EXPECT_FALSE(back->BeganEmpty("record"));
    EXPECT_EQ(back->window_start, c.window_start);
    EXPECT_EQ(back->run_cursor, c.run_cursor);
    EXPECT_EQ(back->keyset_from, c.keyset_from);
    EXPECT_EQ(back->unverified_from, c.unverified_from);
    ASSERT_TRUE(back->position);
    EXPECT_EQ(*back->position, *c.position);
    EXPECT_EQ(back->pages, 3);
    EXPECT_EQ(back->shifts, 2);
    EXPECT_EQ(back->boundary, c.boundary);
    EXPECT_EQ(back->pending, c.pending);
    EXPECT_EQ(back->partitions, c.partitions);
    EXPECT_EQ(back->last_record, c.last_record);
}

TEST(Checkpoint, AFinishedListingKeepsNoPosition) {
    Checkpoint c;
    c.position = std::nullopt;
    const auto back = Checkpoint::Decode(c.Encode(Secrets()), Secrets());
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->position);
}

TEST(Checkpoint, SecretsInNextUrlsAreStoredAsPlaceholdersAndFilledOnResume) {
    Checkpoint c;
    c.position = PagePosition{};
    c.position->url = "http://api.test/key/k3y%2Fwith%20space/next?cursor=abc&auth=jwt-abcdef";
    c.boundary.page = PagePosition{};
    c.boundary.page->url = "http://api.test/key/k3y/with space/next";
    const auto text = c.Encode(Secrets());
    EXPECT_EQ(text.find("k3y"), std::string::npos) << text;
    EXPECT_EQ(text.find("jwt-abcdef"), std::string::npos) << text;
    EXPECT_NE(text.find("{{ secret:config.token|url }}"), std::string::npos) << text;

    const auto back = Checkpoint::Decode(text, Secrets());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->position->url, c.position->url);
    EXPECT_EQ(back->boundary.page->url, c.boundary.page->url);
}

TEST(Checkpoint, APlaceholderForASecretNoLongerConfiguredMakesNoCheckpoint) {
    Checkpoint c;
    c.position = PagePosition{};
    c.position->url = "http://api.test/key/k3y%2Fwith%20space/next";
    const auto text = c.Encode(Secrets());
    EXPECT_FALSE(Checkpoint::Decode(text, SecretTemplates{}));
}

TEST(Checkpoint, APositionWhoseSecretWasMaskedMakesNoCheckpoint) {
    Checkpoint c;
    c.position = PagePosition{};
    c.position->url = "http://api.test/next?session=***";
    EXPECT_FALSE(Checkpoint::Decode(c.Encode(Secrets()), Secrets()));
}

TEST(Checkpoint, TheUnversionedLayoutIsReadAndMarkedForRewriting) {
    // As runs wrote it before checkpoints had a version, with a key in a next URL.
    const std::string legacy =
        R"({"pass":"run-1","window_start":"2024-01-01T00:00:00.000000Z",)"
        R"("run_cursor":"2024-01-03T00:00:00.000000Z",)"
        R"("position":{"number":0,"offset":0,"url":"http://api.test/key/k3y%2Fwith%20space/next?c=1",)"
        R"("token":"","pages":16},"pages":16,"pending":[],"last_record":"{}"})";
    bool migrated = false;
    const auto c = Checkpoint::Decode(legacy, Secrets(), &migrated);
    ASSERT_TRUE(c);
    EXPECT_TRUE(migrated);
    EXPECT_EQ(c->pass, "run-1");
    EXPECT_EQ(c->run_cursor, "2024-01-03T00:00:00.000000Z");
    EXPECT_EQ(c->pages, 16);
    EXPECT_EQ(c->position->pages, 16);
    EXPECT_EQ(c->position->url, "http://api.test/key/k3y%2Fwith%20space/next?c=1");
    EXPECT_TRUE(c->boundary.tail_keys.empty());
    EXPECT_EQ(c->last_record, "{}");
    // Written again, the key is gone.
    EXPECT_EQ(c->Encode(Secrets()).find("k3y"), std::string::npos);
}

TEST(Checkpoint, AVersionTwoCheckpointResumesWithEveryTableSweptAndIsRewritten) {
    // As version 2 wrote it: no began_empty, so every key written is remembered.
    const std::string v2 =
        R"({"version":2,"pass":"run-2","started_at_us":1,"position":{"number":3,"offset":0,)"
        R"("token":"","pages":2},"pages":2,"shifts":0,"pending":[]})";
    bool migrated = false;
    const auto c = Checkpoint::Decode(v2, Secrets(), &migrated);
    ASSERT_TRUE(c);
    EXPECT_TRUE(migrated);
    EXPECT_EQ(c->pass, "run-2");
    EXPECT_TRUE(c->began_empty.empty());
    // What this version writes is refused by a build that knows only version 2 (it would
    // sweep the rows of a table that began empty), and read back here.
    Checkpoint fresh;
    fresh.began_empty = {"records"};
    const auto text = fresh.Encode(Secrets());
    EXPECT_NE(text.find(R"("version":3)"), std::string::npos) << text;
}

TEST(Checkpoint, TextThatIsNoCheckpointIsRefused) {
    EXPECT_FALSE(Checkpoint::Decode("", Secrets()));
    EXPECT_FALSE(Checkpoint::Decode("[1]", Secrets()));
    EXPECT_FALSE(Checkpoint::Decode(R"({"version":99,"position":null})", Secrets()));
    EXPECT_FALSE(Checkpoint::Decode(R"({"pass":"x"})", Secrets()));
}

TEST(SecretTemplates, ShortValuesAreNotSecretsAndUnknownPlaceholdersFail) {
    SecretTemplates s;
    s.Add("config.pin", "123");
    EXPECT_EQ(s.Hide("page=123"), "page=123");
    EXPECT_FALSE(s.Reveal("x{{ secret:config.other }}"));
    EXPECT_FALSE(s.Reveal("x{{ secret:config.pin"));
}

}  // namespace
}  // namespace chatsync::connectors
