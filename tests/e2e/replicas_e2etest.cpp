// End-to-end: three chatsyncd replicas on one database share 300 resources (README "Running
// several replicas"): each resource runs once per interval across them, never twice at once,
// each replica runs about a third, a source's request rate stays within its
// requests_per_minute across the three, and a replica killed with SIGKILL has its resources
// run by the others within one interval.
//
// The figures are counts per interval with the tolerances the README states; nothing here
// depends on how fast the machine is, as long as a run fits easily in an interval.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

using std::chrono::seconds;

constexpr int kSources = 30;
constexpr int kResourcesPerSource = 10;
constexpr int kResources = kSources * kResourcesPerSource;
constexpr int kIntervalSeconds = 20;
/// The budgeted source: six listings of 20 pages each, far more than its budget allows, so
/// that the budget (not the schedule) sets its request rate.
constexpr int kBudgetPerMinute = 60;

/// A spec of ten one-request resources (single records of the generic API), each its own
/// table.
std::string SmallSpec() {
    std::string spec =
        "name: replicas_small\n"
        "base_url: \"{{ config.base_url }}\"\n"
        "params:\n  base_url: {required: true}\n  token: {required: true, secret: true}\n"
        "auth: {type: bearer, token: \"{{ config.token }}\"}\n"
        "rate_limit: {requests_per_minute: 0, concurrency: 4}\n"
        "resources:\n";
    for (int r = 0; r < kResourcesPerSource; ++r) {
        spec += "  - name: r" + std::to_string(r) + "\n    request: {path: /generic/records/" +
                std::to_string(r + 1) + "}\n    primary_key: [id]\n";
    }
    return spec;
}

/// Six paginated listings (20 pages of 2 records) under one budget.
std::string BudgetSpec() {
    std::string spec =
        "name: replicas_budget\n"
        "base_url: \"{{ config.base_url }}\"\n"
        "params:\n  base_url: {required: true}\n  token: {required: true, secret: true}\n"
        "auth: {type: bearer, token: \"{{ config.token }}\"}\n"
        "rate_limit: {requests_per_minute: " +
        std::to_string(kBudgetPerMinute) +
        ", burst: 1, concurrency: 2}\n"
        "resources:\n";
    for (int r = 0; r < 6; ++r) {
        spec += "  - name: b" + std::to_string(r) +
                "\n    request:\n      path: /generic/page\n      query: {per_page: \"2\"}\n"
                "    records: data\n    primary_key: [id]\n"
                "    pagination: {type: page_number, page_size: 2, total_pages_path: "
                "total_pages}\n";
    }
    return spec;
}

std::string
SourceYaml(const std::string& name, const std::string& spec_file, const std::string& base_url) {
    return "  - name: " + name + "\n    connector_file: " + spec_file +
           "\n    config:\n      base_url: " + base_url + "\n      token: " + kToken +
           "\n    schedule: {interval: " + std::to_string(kIntervalSeconds) + "s, jitter: 0s}\n";
}

std::string ReplicaConfig(
    const std::string& dsn,
    const std::string& data_dir,
    const std::string& replica,
    const std::string& sources_yaml
) {
    return "data_dir: " + data_dir + "\ndatabase:\n  dsn: \"" + dsn +
           "\"\n  pool_size: 4\nadmin:\n  listen: \"\"\nlog:\n  level: info\n"
           "limits:\n  shutdown_grace: 10s\n  max_concurrent_runs: 8\n"
           "replica:\n  enabled: true\n  name: " +
           replica + "\n  heartbeat: 1s\nsources:\n" + sources_yaml;
}

/// Waits until the first daemon has migrated the database (a fresh one has no run log yet).
bool Migrated(const std::string& dsn) {
    return WaitFor(
        [&] { return Scalar(dsn, "SELECT to_regclass('chatsync.replicas') IS NOT NULL") == "t"; },
        std::chrono::seconds(60)
    );
}

/// The database's clock now, as epoch seconds.
double DbNow(const std::string& dsn) {
    return std::stod(Scalar(dsn, "SELECT extract(epoch FROM clock_timestamp())"));
}

/// `extract(epoch FROM started_at)` as SQL text for a window [from, to).
std::string Window(double from, double to) {
    return "extract(epoch FROM started_at) >= " + std::to_string(from) +
           " AND extract(epoch FROM started_at) < " + std::to_string(to);
}

class Replicas : public ::testing::Test {
protected:
    /// Runs that ran (not the skipped, held or latched that ended before they began) of the
    /// test's small sources.
    std::string SmallRuns(const std::string& prefix) const {
        return "FROM chatsync.runs WHERE source LIKE '" + prefix +
               "\\_s%' AND outcome NOT IN ('skipped', 'held', 'latched')";
    }
};

TEST_F(Replicas, ThreeDaemonsShareTheScheduleTheBudgetAndAKilledOnesWork) {
    CHATSYNC_REQUIRE_DSN(dsn);
    Emulator emu({"--mode", "generic", "--records", "40", "--auth", "bearer", "--token", kToken});
    TempDir dir;
    const auto prefix = UniqueName("rep");
    const auto small_spec = dir.Write("small.yaml", SmallSpec());
    const auto budget_spec = dir.Write("budget.yaml", BudgetSpec());
    std::string sources;
    for (int s = 0; s < kSources; ++s) {
        char name[16];
        std::snprintf(name, sizeof(name), "_s%02d", s);
        sources += SourceYaml(prefix + name, small_spec, emu.url());
    }
    const std::string budget_source = prefix + "_budget";
    sources += SourceYaml(budget_source, budget_spec, emu.url());
    const std::vector<std::string> names{prefix + "_a", prefix + "_b", prefix + "_c"};
    std::vector<std::unique_ptr<Process>> daemons;
    const auto start = [&](std::size_t i) {
        const auto config = dir.Write(
            "r" + std::to_string(i) + ".yaml",
            ReplicaConfig(dsn, dir.path() + "/d" + std::to_string(i), names[i], sources)
        );
        daemons.push_back(StartChatsyncd(
            {"-c", config, "run"}, dir.path() + "/daemon" + std::to_string(i) + ".log"
        ));
    };
    const double interval = kIntervalSeconds;
    const auto sleep_until = [&](double t) {
        const double now = DbNow(dsn);
        if (t > now) {
            std::this_thread::sleep_for(std::chrono::duration<double>(t - now));
        }
    };
    const auto runs_per_resource_per_interval = [&](double from, double intervals) {
        const auto runs = std::stod(Scalar(
            dsn,
            "SELECT count(*) " + SmallRuns(prefix) + " AND " +
                Window(from, from + intervals * interval)
        ));
        return runs / (kResources * intervals);
    };

    // One replica alone: the first interval creates the tables, the next two are measured.
    start(0);
    ASSERT_TRUE(Migrated(dsn)) << daemons[0]->Output();
    ASSERT_TRUE(WaitFor(
        [&] { return Scalar(dsn, "SELECT count(*) " + SmallRuns(prefix)) != "0"; }, seconds(60)
    )) << daemons[0]->Output();
    const double alone_from = DbNow(dsn) + interval;
    sleep_until(alone_from + 2 * interval);
    const double alone = runs_per_resource_per_interval(alone_from, 2);
    EXPECT_GE(alone, 0.9) << "one replica alone";
    EXPECT_LE(alone, 1.1) << "one replica alone";

    // Three replicas: one interval to settle, three measured.
    start(1);
    start(2);
    const double joined = DbNow(dsn);
    const double shared_from = joined + interval;
    sleep_until(shared_from + 3 * interval);
    const double shared_to = shared_from + 3 * interval;
    const double together = runs_per_resource_per_interval(shared_from, 3);
    EXPECT_GE(together, 0.9) << "three replicas";
    EXPECT_LE(together, 1.1) << "three replicas";

    const auto shares = Query(
        dsn,
        "SELECT replica, count(*) " + SmallRuns(prefix) + " AND " + Window(shared_from, shared_to) +
            " GROUP BY replica ORDER BY replica"
    );
    ASSERT_EQ(shares.size(), 3U) << "every replica ran some";
    double total = 0;
    for (const auto& row : shares) {
        total += std::stod(row[1]);
    }
    std::string share_text;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        EXPECT_EQ(shares[i][0], names[i]);
        const double share = std::stod(shares[i][1]) / total;
        share_text += shares[i][0] + "=" + std::to_string(share) + " ";
        // Each wins about as often as the others, but not exactly: on a busy machine the
        // replica the scheduler runs first wins more claims, as the work leans towards the
        // least busy by design. None takes half of the work, or less than a sixth.
        EXPECT_GE(share, 0.5 / 3) << shares[i][0];
        EXPECT_LE(share, 1.5 / 3) << shares[i][0];
    }

    // The budgeted source's requests at the API, in every 60-second window that starts once
    // the replicas know of each other (a second's heartbeat after the last one started).
    std::vector<double> budget_requests;
    for (const auto& entry : emu.Requests()) {
        const auto& e = entry.as_object();
        if (e.at("path").as_string() == "/generic/page") {
            budget_requests.push_back(e.at("t").to_number<double>());
        }
    }
    std::sort(budget_requests.begin(), budget_requests.end());
    std::size_t most_per_minute = 0;
    for (std::size_t i = 0; i < budget_requests.size(); ++i) {
        if (budget_requests[i] < joined + 5 || budget_requests[i] + 60 > shared_to) {
            continue;
        }
        const auto end = std::lower_bound(
            budget_requests.begin(), budget_requests.end(), budget_requests[i] + 60
        );
        most_per_minute =
            std::max(most_per_minute, static_cast<std::size_t>(end - budget_requests.begin()) - i);
    }
    EXPECT_GT(most_per_minute, 0U) << "the budgeted source sent nothing to measure";
    EXPECT_LE(most_per_minute, static_cast<std::size_t>(kBudgetPerMinute))
        << "requests in one minute across the replicas";

    // Kill one replica; every resource it ran last runs again within one interval (the
    // allowance: the claim's spread and a free run slot, a few seconds at most).
    const std::string killed = names[2];
    daemons[2]->Signal(SIGKILL);
    ASSERT_EQ(daemons[2]->Wait(seconds(10)), 128 + SIGKILL);
    const double killed_at = DbNow(dsn);
    sleep_until(killed_at + interval + 5);
    const auto orphans = Query(
        dsn,
        "SELECT last.source, last.resource, extract(epoch FROM min(next.started_at)) FROM ("
        "  SELECT DISTINCT ON (source, resource) source, resource, replica, started_at " +
            SmallRuns(prefix) + " AND extract(epoch FROM started_at) < " +
            std::to_string(killed_at) +
            "  ORDER BY source, resource, started_at DESC) last "
            "LEFT JOIN chatsync.runs next ON next.source = last.source AND next.resource = "
            "last.resource AND next.started_at > last.started_at AND "
            "extract(epoch FROM next.started_at) >= " +
            std::to_string(killed_at) + " AND next.outcome NOT IN ('skipped', 'held', 'latched')" +
            " WHERE last.replica = '" + killed + "' GROUP BY last.source, last.resource"
    );
    ASSERT_FALSE(orphans.empty()) << "the killed replica had run nothing";
    double slowest = 0;
    for (const auto& row : orphans) {
        ASSERT_NE(row[2], "\\N") << row[0] << "/" << row[1] << " never ran again";
        slowest = std::max(slowest, std::stod(row[2]) - killed_at);
    }
    EXPECT_LE(slowest, interval + 5) << "the slowest recovery after the kill";
    // A run cut off by the kill is closed as interrupted when its resource next begins a run.
    // The small resources did above; a budgeted one may wait for a free slot of its source's
    // shared concurrency, so it is given several intervals (it is not a speed figure).
    const std::string cut_off = "SELECT count(*) FROM chatsync.runs WHERE replica = '" + killed +
                                "' AND outcome = 'running' AND extract(epoch FROM started_at) < " +
                                std::to_string(killed_at);
    for (const double give_up = killed_at + 6 * interval;
         Scalar(dsn, cut_off) != "0" && DbNow(dsn) < give_up;) {
        std::this_thread::sleep_for(seconds(1));
    }
    EXPECT_EQ(Scalar(dsn, cut_off), "0") << "a run cut off by the kill stays 'running'";

    // No resource ever ran twice at once, the budgeted ones included.
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.runs a JOIN chatsync.runs b ON a.source = b.source "
            "AND a.resource = b.resource AND a.run_id <> b.run_id AND a.started_at <= "
            "b.started_at AND b.started_at < COALESCE(a.finished_at, now()) WHERE a.source LIKE '" +
                prefix +
                "\\_%' AND a.outcome NOT IN ('skipped', 'held', 'latched') AND b.outcome NOT IN "
                "('skipped', 'held', 'latched')"
        ),
        "0"
    );

    for (std::size_t i = 0; i < 2; ++i) {
        daemons[i]->Signal(SIGTERM);
    }
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(daemons[i]->Wait(seconds(30)), 0) << daemons[i]->Output();
    }
    EXPECT_EQ(
        Scalar(dsn, "SELECT count(*) FROM chatsync.replicas WHERE name LIKE '" + prefix + "%'"), "1"
    ) << "the stopped replicas left, the killed one stays until it lapses";
    std::printf(
        "replicas: alone=%.3f together=%.3f shares=%s budget_max_per_minute=%zu/%d "
        "recovery_max_s=%.1f orphans=%zu\n",
        alone,
        together,
        share_text.c_str(),
        most_per_minute,
        kBudgetPerMinute,
        slowest,
        orphans.size()
    );
}

TEST_F(Replicas, MesiboRunsOnlyOnTheReplicaThatHoldsItsPinnedAddress) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const std::string token = "replicas-mesibo-token";
    Emulator emu(
        {"--mode",
         "mesibo",
         "--mesibo-token",
         token,
         "--mesibo-users",
         "50",
         "--mesibo-groups",
         "5"}
    );
    TempDir dir;
    const auto prefix = UniqueName("repm");
    const auto source = prefix + "_mesibo";
    const std::vector<std::string> names{prefix + "_a", prefix + "_b", prefix + "_c"};
    // One config, as on three hosts: the pinned address is on the first replica's host only
    // (192.0.2.1, a documentation address, stands for the address the others lack).
    const std::vector<std::string> addresses{"127.0.0.1", "192.0.2.1", "192.0.2.1"};
    std::vector<std::unique_ptr<Process>> daemons;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto sources = "  - name: " + source + "\n    connector: mesibo\n    config:\n" +
                             "      base_url: " + emu.url() + "\n      token: " + token +
                             "\n    schedule: {interval: 2s, jitter: 0s}\n" +
                             "    http: {local_address: " + addresses[i] + "}\n";
        const auto config = dir.Write(
            "m" + std::to_string(i) + ".yaml",
            ReplicaConfig(dsn, dir.path() + "/m" + std::to_string(i), names[i], sources)
        );
        daemons.push_back(StartChatsyncd(
            {"-c", config, "run"}, dir.path() + "/mesibo" + std::to_string(i) + ".log"
        ));
    }
    ASSERT_TRUE(Migrated(dsn)) << daemons[0]->Output();
    const auto successes = [&] {
        return std::stoi(Scalar(
            dsn,
            "SELECT count(*) FROM chatsync.runs WHERE source = '" + source +
                "' AND outcome = 'success'"
        ));
    };
    // Two rounds of the users and groups listings.
    ASSERT_TRUE(WaitFor([&] { return successes() >= 4; }, seconds(90))) << daemons[0]->Output();
    for (std::size_t i = 1; i < daemons.size(); ++i) {
        EXPECT_NE(daemons[i]->Output().find("source refused source=" + source), std::string::npos)
            << daemons[i]->Output();
    }
    EXPECT_EQ(
        Scalar(
            dsn,
            "SELECT string_agg(DISTINCT replica, ',') FROM chatsync.runs WHERE source = '" +
                source + "'"
        ),
        names[0]
    );
    const auto log = emu.Requests();
    ASSERT_FALSE(log.empty());
    for (const auto& e : log) {
        EXPECT_EQ(e.at("remote").as_string(), "127.0.0.1");
    }
    for (auto& daemon : daemons) {
        daemon->Signal(SIGTERM);
    }
    for (auto& daemon : daemons) {
        EXPECT_EQ(daemon->Wait(seconds(30)), 0) << daemon->Output();
    }
}

}  // namespace
}  // namespace chatsync::test
