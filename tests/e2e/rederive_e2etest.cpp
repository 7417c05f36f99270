// End-to-end: `chatsyncd rederive` derives the rows of stored JivoChat webhook events again.
// Events are put into chatsync.webhook_events directly, as intake leaves an event whose rows
// the database refused: body kept, derive_error set, no rows. A CHECK constraint on a derived
// table makes one event keep failing, deterministically.

#include <string>

#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

constexpr const char* kRederiveWebhookToken = "wh-rederive-0123456789-secret";

std::string JivoConfig(const std::string& dsn, const std::string& dir, const std::string& source) {
    return "data_dir: " + dir + "\ndatabase:\n  dsn: \"" + dsn +
           "\"\nlog:\n  level: debug\nwebhooks:\n  listen: \"127.0.0.1:0\"\nsources:\n" +
           "  - name: " + source + "\n    connector: jivochat\n    config:\n" +
           "      webhook_token: " + kRederiveWebhookToken + "\n";
}

/// A chat_accepted body for chat `chat` by visitor `visitor` named `name`.
std::string Accepted(int chat, int visitor, const std::string& name) {
    return R"({"event_name":"chat_accepted","chat_id":)" + std::to_string(chat) +
           R"(,"widget_id":3948,"visitor":{"number":)" + std::to_string(visitor) + R"(,"name":")" +
           name + R"("},"agent":{"id":2016,"name":"A"}})";
}

/// Stores an event as intake does when its rows were refused (or, with an empty `error`,
/// as one that derived).
void StoreEvent(
    const std::string& dsn,
    const std::string& source,
    const std::string& key,
    const std::string& received_at,
    const std::string& body,
    const std::string& error
) {
    Query(
        dsn,
        "INSERT INTO chatsync.webhook_events (source, event_key, received_at, channel, "
        "event_name, bytes, body, derive_error) VALUES ('" +
            source + "', '" + key + "', '" + received_at + "', 'webhook', 'chat_accepted', " +
            std::to_string(body.size()) + ", '" + body + "', " +
            (error.empty() ? std::string("NULL") : "'" + error + "'") + ")"
    );
}

std::string DeriveError(const std::string& dsn, const std::string& source, const std::string& key) {
    return Scalar(
        dsn,
        "SELECT coalesce(derive_error, '<null>') FROM chatsync.webhook_events WHERE source = '" +
            source + "' AND event_key = '" + key + "'"
    );
}

/// The derived rows of a source, with when they were written: a run that writes nothing
/// leaves this as it was.
std::string Rows(const std::string& dsn, const std::string& source) {
    std::string out;
    for (const char* table : {"chats", "clients", "messages"}) {
        out += Scalar(
                   dsn,
                   "SELECT coalesce(string_agg(to_jsonb(t)::text, E'\\n' ORDER BY "
                   "to_jsonb(t)::text), '') FROM " +
                       source + "." + table + " t"
               ) +
               "\n";
    }
    return out;
}

TEST(Rederive, DerivesStoredEventsOnceAndRecordsWhatStillFails) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto source = UniqueName("jivo");
    TempDir dir;
    const auto config = dir.Write("c.yaml", JivoConfig(dsn, dir.path(), source));
    // Batches of two (a test-only option): five events take several.
    auto rederive = [&](std::vector<std::string> extra = {}) {
        std::vector<std::string> args{
            "-c", config, "--test-hook", "rederive_batch=2", "rederive", "--source", source};
        args.insert(args.end(), extra.begin(), extra.end());
        return RunChatsyncdApart(args);
    };

    // Nothing stored yet: the schema and the tables are made, nothing else happens.
    auto empty = rederive();
    ASSERT_EQ(empty.exit_code, 0) << empty.err;
    EXPECT_NE(empty.out.find("0 events read"), std::string::npos) << empty.out;

    const std::string refused = "derived rows refused: value too long (SQLSTATE 22001)";
    StoreEvent(dsn, source, "k-old", "2020-03-01T09:00:00Z", Accepted(777, 3777, "Past"), refused);
    StoreEvent(dsn, source, "k-a", "2026-01-01T10:00:00Z", Accepted(501, 3501, "Ann"), refused);
    StoreEvent(dsn, source, "k-b", "2026-01-01T10:00:01Z", Accepted(666, 3666, "Bob"), refused);
    StoreEvent(dsn, source, "k-c", "2026-01-01T10:00:02Z", Accepted(502, 3502, "Cid"), refused);
    // A body that is not JSON: stored raw and flagged, and never has rows.
    Query(
        dsn,
        "INSERT INTO chatsync.webhook_events (source, event_key, received_at, channel, bytes, "
        "raw, malformed) VALUES ('" +
            source + "', 'k-raw', '2026-01-01T10:00:03Z', 'webhook', 3, '\\x6e6f74'::bytea, true)"
    );
    // Chat 666 still cannot be stored.
    Query(dsn, "ALTER TABLE " + source + ".chats ADD CONSTRAINT no_666 CHECK (chat_id <> '666')");

    // Only what was received since 2025: the 2020 event stays as it is.
    auto first = rederive({"--since", "2025-06-01T00:00:00Z"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(
        first.out.find("4 events read, 2 derived (2 derive errors cleared), 1 still failing (1 "
                       "derive errors recorded), 1 not JSON"),
        std::string::npos
    ) << first.out;
    // A progress line per batch: four events in batches of two.
    EXPECT_NE(first.err.find("rederive " + source + ": 2 events read"), std::string::npos)
        << first.err;
    EXPECT_NE(first.err.find("rederive " + source + ": 4 events read"), std::string::npos)
        << first.err;
    EXPECT_EQ(
        Query(dsn, "SELECT chat_id, visitor_name FROM " + source + ".chats ORDER BY chat_id"),
        (std::vector<std::vector<std::string>>{{"501", "Ann"}, {"502", "Cid"}})
    );
    EXPECT_EQ(DeriveError(dsn, source, "k-a"), "<null>");
    EXPECT_EQ(DeriveError(dsn, source, "k-c"), "<null>");
    EXPECT_EQ(DeriveError(dsn, source, "k-old"), refused);
    const auto still = DeriveError(dsn, source, "k-b");
    EXPECT_EQ(still.rfind("derived rows refused: ", 0), 0U) << still;
    EXPECT_NE(still.find("no_666"), std::string::npos) << still;
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".clients WHERE client_id = '3666'"), "0"
    );

    // Again: nothing changes, not even when the rows were written.
    const auto before = Rows(dsn, source);
    auto second = rederive({"--since", "2025-06-01T00:00:00+00:00"});
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(
        second.out.find("(0 derive errors cleared), 1 still failing (0 derive errors recorded)"),
        std::string::npos
    ) << second.out;
    EXPECT_NE(second.out.find(" 0 rows written"), std::string::npos) << second.out;
    EXPECT_EQ(Rows(dsn, source), before);
    EXPECT_EQ(DeriveError(dsn, source, "k-b"), still);

    // Once the constraint is gone, a run over everything derives the rest.
    Query(dsn, "ALTER TABLE " + source + ".chats DROP CONSTRAINT no_666");
    auto third = rederive();
    ASSERT_EQ(third.exit_code, 0) << third.err;
    EXPECT_NE(
        third.out.find("5 events read, 4 derived (2 derive errors cleared), 0 still"),
        std::string::npos
    ) << third.out;
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.webhook_events WHERE source = '" + source +
                "' AND derive_error IS NOT NULL"
        ),
        "0"
    );
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".chats"), "4");
    const auto settled = Rows(dsn, source);
    auto fourth = rederive();
    ASSERT_EQ(fourth.exit_code, 0) << fourth.err;
    EXPECT_NE(fourth.out.find(" 0 rows written"), std::string::npos) << fourth.out;
    EXPECT_EQ(Rows(dsn, source), settled);
    for (const auto& run : {first, second, third, fourth}) {
        EXPECT_EQ(run.out.find(kRederiveWebhookToken), std::string::npos);
        EXPECT_EQ(run.err.find(kRederiveWebhookToken), std::string::npos);
    }
}

TEST(Rederive, AnOlderEventDoesNotUndoANewerRow) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto source = UniqueName("jivo");
    TempDir dir;
    const auto config = dir.Write("c.yaml", JivoConfig(dsn, dir.path(), source));
    auto rederive = [&] {
        return RunChatsyncdApart({"-c", config, "rederive", "--source", source});
    };
    ASSERT_EQ(rederive().exit_code, 0);
    // The newer event's rows are in (as live intake writes them), and its body is gone.
    StoreEvent(dsn, source, "k-new", "2026-02-01T12:00:00Z", Accepted(901, 3901, "Newer"), "");
    ASSERT_EQ(rederive().exit_code, 0);
    Query(dsn, "DELETE FROM chatsync.webhook_events WHERE source = '" + source + "'");
    // An older event of the same chat, whose rows were refused, derived now: it may fill
    // what the rows lack, not replace what the newer event wrote.
    StoreEvent(
        dsn, source, "k-older", "2026-02-01T11:00:00Z", Accepted(901, 3901, "Older"), "refused"
    );
    auto run = rederive();
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(DeriveError(dsn, source, "k-older"), "<null>");
    EXPECT_EQ(
        Scalar(dsn, "SELECT visitor_name FROM " + source + ".chats WHERE chat_id = '901'"), "Newer"
    );
    EXPECT_EQ(
        Scalar(dsn, "SELECT name FROM " + source + ".clients WHERE client_id = '3901'"), "Newer"
    );
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT _chatsync_synced_at = '2026-02-01T12:00:00Z' FROM " + source +
                ".chats WHERE chat_id = '901'"
        ),
        "t"
    );
}

TEST(Rederive, RefusesBadUsageBeforeOpeningTheDatabase) {
    TempDir dir;
    // A database nobody listens on, with a password: usage errors never reach it, and it
    // appears in no message.
    const std::string dsn =
        "postgresql://chatsync:pw-rederive-secret@127.0.0.1:" + std::to_string(FreePort()) +
        "/chatsync";
    const auto config = dir.Write(
        "c.yaml",
        JivoConfig(dsn, dir.path(), "jivo") + "  - name: api\n    connector_file: " + SourceDir() +
            "/tests/e2e/specs/generic.yaml\n    config:\n" +
            "      base_url: http://127.0.0.1:1\n      token: " + kToken + "\n"
    );
    const auto run = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{"-c", config, "rederive"};
        args.insert(args.end(), extra.begin(), extra.end());
        return RunChatsyncdApart(args);
    };
    auto unknown = run({"--source", "nope"});
    EXPECT_EQ(unknown.exit_code, kExitUsage) << unknown.err;
    EXPECT_NE(unknown.err.find("no source named 'nope'"), std::string::npos) << unknown.err;

    auto no_hooks = run({"--source", "api"});
    EXPECT_EQ(no_hooks.exit_code, kExitUsage) << no_hooks.err;
    EXPECT_NE(no_hooks.err.find("source 'api' receives no webhooks"), std::string::npos)
        << no_hooks.err;

    auto bad_since = run({"--source", "jivo", "--since", "yesterday"});
    EXPECT_EQ(bad_since.exit_code, kExitUsage) << bad_since.err;
    EXPECT_NE(bad_since.err.find("--since 'yesterday' is not an ISO-8601 time"), std::string::npos)
        << bad_since.err;

    auto no_source = run({});
    EXPECT_EQ(no_source.exit_code, kExitUsage) << no_source.err;
    EXPECT_NE(no_source.err.find("rederive needs --source"), std::string::npos) << no_source.err;

    auto resource = run({"--source", "jivo", "--resource", "status"});
    EXPECT_EQ(resource.exit_code, kExitUsage) << resource.err;

    auto since_elsewhere = RunChatsyncdApart({"-c", config, "status", "--since", "2026-01-01"});
    EXPECT_EQ(since_elsewhere.exit_code, kExitUsage) << since_elsewhere.err;

    // A good command line reaches the database, which is not there.
    auto down = run({"--source", "jivo", "--since", "2026-01-01T00:00:00Z"});
    EXPECT_EQ(down.exit_code, kExitUnavailable) << down.err;
    for (const auto& r : {unknown, no_hooks, bad_since, no_source, resource, down}) {
        EXPECT_EQ(r.err.find("pw-rederive-secret"), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("pw-rederive-secret"), std::string::npos) << r.out;
    }
}

TEST(Cli, HelpListsRederive) {
    auto help = RunChatsyncdApart({"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("rederive --source S [--since T]"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace chatsync::test
