// End-to-end: crashes, rate limits, malformed pages and bad configs.

#include <regex>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include "core/text.hpp"
#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

std::string TableDigest(const std::string& dsn, const std::string& table) {
    return Scalar(
        dsn,
        "SELECT md5(string_agg(concat_ws('|', id, name, email, updated_at, score, active, "
        "tags::text, "
        "profile__city, profile__address__zip, note), E'\\n' ORDER BY id)) FROM " +
            table
    );
}

TEST(Crash, KillNineMidSyncResumesFromTheLastCommittedPage) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "3000", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    // Slow pages so that the kill lands in the middle of the listing.
    emu.Admin(
        "POST", "/_admin/faults", R"({"kind":"delay","ms":60,"count":-1,"path":"/generic/page"})"
    );
    const auto source = UniqueName("kill");
    // Transactions of five pages: pages read ahead are gathered into one, and the kill
    // should land between two of them.
    auto yaml = E2eConfig(dsn, source, emu.url(), dir.path());
    const std::string limits = "limits:\n  shutdown_grace: 10s\n";
    ASSERT_NE(yaml.find(limits), std::string::npos);
    yaml.replace(yaml.find(limits), limits.size(), limits + "  max_batch_rows: 500\n");
    const auto config = dir.Write("c.yaml", yaml);
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};

    auto daemon = StartChatsyncd(once, dir.path() + "/first.log");
    const bool midway = WaitFor(
        [&] {
            try {
                return std::stoi(Scalar(
                           dsn,
                           "SELECT coalesce((checkpoint->>'pages')::int, 0) FROM "
                           "chatsync.resource_state "
                           "WHERE source = '" +
                               source + "' AND resource = 'page'"
                       )) >= 8;
            } catch (const std::exception&) {
                return false;
            }
        },
        std::chrono::seconds(60)
    );
    ASSERT_TRUE(midway) << daemon->Output();
    daemon->Signal(SIGKILL);
    ASSERT_EQ(daemon->Wait(std::chrono::seconds(10)), 128 + SIGKILL);

    const auto committed_pages = std::stoi(Scalar(
        dsn,
        "SELECT (checkpoint->>'pages')::int FROM chatsync.resource_state WHERE source = '" +
            source + "'"
    ));
    const auto next_page = std::stoi(Scalar(
        dsn,
        "SELECT (checkpoint->'position'->>'number')::int FROM chatsync.resource_state WHERE source "
        "= '" +
            source + "'"
    ));
    EXPECT_EQ(next_page, committed_pages + 1);
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM " + source + ".page"),
        std::to_string(committed_pages * 100)
    );

    emu.Admin("POST", "/_admin/requests/clear");
    auto second = RunChatsyncd(once);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    // The restarted run read the last committed page again, to prove the listing had not
    // moved, then went on with the page after it: one request more than the pages left.
    const auto requests = emu.Requests();
    ASSERT_GE(requests.size(), 2U);
    const auto page_of = [&](std::size_t i) {
        const auto query = std::string(requests.at(i).as_object().at("query").as_string());
        for (const auto& part : Split(query, '&')) {
            if (part.starts_with("page=")) {
                return std::string(part.substr(5));
            }
        }
        return query;
    };
    EXPECT_EQ(page_of(0), std::to_string(committed_pages));
    EXPECT_EQ(page_of(1), std::to_string(next_page));
    EXPECT_EQ(requests.size(), static_cast<std::size_t>(30 - committed_pages + 1));
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.runs WHERE source = '" + source +
                "' AND outcome = 'interrupted'"
        ),
        "1"
    );

    // The same table as an uninterrupted sync of the same data.
    const auto reference = UniqueName("ref");
    const auto ref_config = dir.Write("ref.yaml", E2eConfig(dsn, reference, emu.url(), dir.path()));
    auto ref =
        RunChatsyncd({"-c", ref_config, "once", "--source", reference, "--resource", "page"});
    ASSERT_EQ(ref.exit_code, 0) << ref.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".page"), "3000");
    EXPECT_EQ(TableDigest(dsn, source + ".page"), TableDigest(dsn, reference + ".page"));
}

TEST(Crash, KillNineWhileFetchingChildrenLosesNoChild) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "90", "--auth", "bearer", "--token", kToken});
    // Four child listings are read at once (the spec's concurrency): 150 ms each makes the
    // run last seconds, so that the kill lands while children are being fetched.
    emu.Admin(
        "POST",
        "/_admin/faults",
        R"({"kind":"delay","ms":150,"count":-1,"path_prefix":"/generic/records/"})"
    );
    TempDir dir;
    const auto source = UniqueName("killchild");
    auto text = E2eConfig(
        dsn, source, emu.url(), dir.path(), "    resources:\n      comments: {enabled: true}\n"
    );
    // The one page of parents has its children committed in several transactions of at most
    // 20 rows, each with the parents not yet done pending in its checkpoint.
    const std::string limits = "limits:\n";
    text.insert(text.find(limits) + limits.size(), "  max_batch_rows: 20\n");
    const auto config = dir.Write("c.yaml", text);
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};
    auto daemon = StartChatsyncd(once, dir.path() + "/first.log");
    // Record i has 1 + i % 3 comments: 90 records -> 180 comments. Kill part-way.
    const bool midway = WaitFor(
        [&] {
            try {
                return std::stoi(Scalar(dsn, "SELECT count(*) FROM " + source + ".comments")) >= 40;
            } catch (const std::exception&) {
                return false;
            }
        },
        std::chrono::seconds(60)
    );
    ASSERT_TRUE(midway) << daemon->Output();
    daemon->Signal(SIGKILL);
    ASSERT_EQ(daemon->Wait(std::chrono::seconds(10)), 128 + SIGKILL);
    ASSERT_LT(std::stoi(Scalar(dsn, "SELECT count(*) FROM " + source + ".comments")), 180);

    auto second = RunChatsyncd(once);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".comments"), "180");
    EXPECT_EQ(Scalar(dsn, "SELECT count(DISTINCT record_id) FROM " + source + ".comments"), "90");
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".page"), "90");
}

TEST(Concurrency, ASecondProcessSkipsAResourceThatIsBeingSynced) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "1000", "--auth", "bearer", "--token", kToken});
    emu.Admin(
        "POST", "/_admin/faults", R"({"kind":"delay","ms":150,"count":-1,"path":"/generic/page"})"
    );
    TempDir dir;
    const auto source = UniqueName("twice");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", "page"};
    auto first = StartChatsyncd(once, dir.path() + "/first.log");
    ASSERT_TRUE(WaitFor(
        [&] {
            try {
                return Scalar(
                           dsn, "SELECT count(*) FROM chatsync.runs WHERE source = '" + source + "'"
                       ) == "1";
            } catch (const std::exception&) {
                return false;
            }
        },
        std::chrono::seconds(30)
    ));
    auto second = RunChatsyncd(once);
    EXPECT_EQ(second.exit_code, 1) << second.output;
    EXPECT_NE(second.output.find("outcome=skipped"), std::string::npos) << second.output;
    EXPECT_NE(second.output.find("another process"), std::string::npos) << second.output;
    ASSERT_EQ(first->Wait(std::chrono::seconds(60)), 0) << first->Output();
    // The first run was neither disturbed nor marked interrupted, and nothing is doubled;
    // the skipped run has its own row, with no pages and why.
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT string_agg(outcome || ':' || pages || ':' || (finished_at IS NOT NULL) || "
            "':' || (strpos(error, 'another process') > 0), ',' ORDER BY outcome) "
            "FROM chatsync.runs WHERE source = '" +
                source + "'"
        ),
        "skipped:0:true:true,success:10:true:false"
    );
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT last_outcome FROM chatsync.resource_state WHERE source = '" + source +
                "' AND resource = 'page'"
        ),
        "success"
    ) << "the skipped run left the state to the run that held the resource";
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) || '/' || count(DISTINCT id) FROM " + source + ".page"),
        "1000/1000"
    );
}

void ExpectRetryAfterHonoured(Emulator& emu, double retry_after) {
    const auto requests = emu.Requests();
    int limited = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = requests[i].as_object();
        if (r.at("status").to_number<int>() != 429) {
            continue;
        }
        ++limited;
        ASSERT_LT(i + 1, requests.size()) << "no request after a 429";
        const double t429 = r.at("t").to_number<double>();
        // No request of the source, on any connection, before the instant Retry-After named.
        for (std::size_t j = i + 1; j < requests.size(); ++j) {
            const double t = requests[j].as_object().at("t").to_number<double>();
            EXPECT_GE(t - t429, retry_after)
                << "request " << j << " came too early after the 429 at " << i;
        }
    }
    EXPECT_EQ(limited, 3);
}

TEST(RateLimit, RetryAfterSecondsIsHonouredAndTheSyncCompletes) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "300", "--auth", "bearer", "--token", kToken});
    emu.Admin("POST", "/_admin/faults", R"({"kind":"429","count":3,"retry_after":2,"after":1})");
    TempDir dir;
    const auto source = UniqueName("ra");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    auto run = RunChatsyncd({"-c", config, "once", "--source", source, "--resource", "offset"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".offset"), "300");
    ExpectRetryAfterHonoured(emu, 2.0);
}

TEST(RateLimit, RetryAfterHttpDateIsHonoured) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "300", "--auth", "bearer", "--token", kToken});
    emu.Admin(
        "POST",
        "/_admin/faults",
        R"({"kind":"429","count":3,"retry_after":2,"retry_after_date":true})"
    );
    TempDir dir;
    const auto source = UniqueName("rad");
    const auto config = dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path()));
    auto run = RunChatsyncd({"-c", config, "once", "--source", source, "--resource", "page"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".page"), "300");
    // An HTTP-date has whole seconds and the emulator rounds up: at least the full 2 s pass.
    ExpectRetryAfterHonoured(emu, 2.0);
}

TEST(BadInput, MalformedPageFailsOnlyThatResourceAndKeepsItsCheckpoint) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--records", "500", "--auth", "bearer", "--token", kToken});
    emu.Admin(
        "POST",
        "/_admin/faults",
        R"({"kind":"malformed","count":-1,"path":"/generic/page","page":3})"
    );
    TempDir dir;
    const auto source = UniqueName("bad");
    const auto config =
        dir.Write("c.yaml", E2eConfig(dsn, source, emu.url(), dir.path(), "", "127.0.0.1:0"));
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
    const bool settled = WaitFor(
        [&] {
            try {
                return Scalar(
                           dsn,
                           "SELECT count(*) FROM chatsync.runs WHERE source = '" + source +
                               "' AND outcome = 'failed'"
                       ) != "0" &&
                       Scalar(
                           dsn,
                           "SELECT count(*) FROM chatsync.runs WHERE source = '" + source +
                               "' AND resource = 'offset' AND outcome = 'success'"
                       ) != "0";
            } catch (const std::exception&) {
                return false;
            }
        },
        std::chrono::seconds(60)
    );
    ASSERT_TRUE(settled) << daemon->Output();
    // The other resources of the same daemon synced in full.
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".offset"), "500");
    // The broken one kept pages 1-2 and a checkpoint pointing at page 3.
    EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM " + source + ".page"), "200");
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT checkpoint->'position'->>'number' FROM chatsync.resource_state WHERE source = "
            "'" +
                source + "' AND resource = 'page'"
        ),
        "3"
    );
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT cursor IS NULL FROM chatsync.resource_state WHERE source = '" + source +
                "' AND resource = 'page'"
        ),
        "t"
    );
    const auto log = daemon->Output();
    EXPECT_NE(
        log.find("sync failed source=" + source + " resource=page outcome=failed kind=bad_payload"),
        std::string::npos
    ) << log;
    EXPECT_NE(log.find("not valid JSON"), std::string::npos);
    EXPECT_EQ(log.find(kToken), std::string::npos) << "the token leaked into the log";
    // The failure is counted.
    const auto port = AdminPort(*daemon);
    ASSERT_NE(port, 0);
    const auto metrics =
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics").body;
    const std::regex counted(
        "chatsync_errors_total\\{kind=\"bad_payload\",resource=\"page\",source=\"" + source +
        "\"\\} [1-9]"
    );
    EXPECT_TRUE(std::regex_search(metrics, counted)) << metrics;
    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
}

TEST(Config, CheckConfigNamesFileLineColumnAndKeyAndExits78) {
    TempDir dir;
    const auto path = dir.Write(
        "broken.yaml",
        "data_dir: /tmp/x\n"
        "limits:\n"
        "  shutdown_grace: soon\n"
        "sources:\n"
        "  - name: demo\n"
        "    connector_file: " +
            SourceDir() +
            "/tests/e2e/specs/generic.yaml\n"
            "    config: {base_url: http://127.0.0.1:1, token: x}\n"
            "    schedul: {interval: 5m}\n"
    );
    auto run = RunChatsyncd({"-c", path, "check-config"});
    EXPECT_EQ(run.exit_code, 78) << run.output;
    EXPECT_NE(run.output.find(path + ":3:19: limits.shutdown_grace:"), std::string::npos)
        << run.output;
    EXPECT_NE(run.output.find(path + ":8:5: sources[0].schedul:"), std::string::npos) << run.output;
}

TEST(Config, ExampleAndQuickstartConfigsPass) {
    auto quick = RunChatsyncd({"-c", SourceDir() + "/configs/quickstart.yaml", "check-config"});
    EXPECT_EQ(quick.exit_code, 0) << quick.output;
    EXPECT_EQ(quick.output.find("quickstart-token"), std::string::npos) << "a secret was printed";
}

}  // namespace
}  // namespace chatsync::test
