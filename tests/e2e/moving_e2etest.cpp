#include <iostream>
#include <map>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

/// @file
/// Listings whose data moves between two runs of the same listing: the daemon is killed
/// after 16 committed pages, a fifth of the records change while it is down (each moves to
/// the end of the updated_at order, and every record after it shifts back), and the resumed
/// run must still end with every record, as it now is.

namespace chatsync::test {
namespace {

constexpr int kRecords = 20000;
constexpr int kCommittedPages = 16;

struct Style {
    const char* resource;
    const char* path;
};

/// id -> name, as the emulator holds them now (a change renames a record).
std::map<std::string, std::string> EmulatorNames(Emulator& emu) {
    std::map<std::string, std::string> out;
    const auto dataset = emu.Admin("GET", "/_admin/dataset");
    for (const auto& r : dataset.as_array()) {
        const auto& o = r.as_object();
        out[std::to_string(o.at("id").as_int64())] = std::string(o.at("name").as_string());
    }
    return out;
}

std::map<std::string, std::string> TableNames(const std::string& dsn, const std::string& table) {
    std::map<std::string, std::string> out;
    const auto text = Scalar(
        dsn, "SELECT string_agg(id::text || E'\\t' || name, E'\\n' ORDER BY id) FROM " + table
    );
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        const auto line = text.substr(pos, end - pos);
        const auto tab = line.find('\t');
        out[line.substr(0, tab)] = line.substr(tab + 1);
        pos = end + 1;
    }
    return out;
}

/// Records missing from the table, and rows whose name is not the record's.
std::pair<int, int> LostAndStale(
    const std::map<std::string, std::string>& want,
    const std::map<std::string, std::string>& have
) {
    int lost = 0;
    int stale = 0;
    for (const auto& [id, name] : want) {
        const auto it = have.find(id);
        if (it == have.end()) {
            ++lost;
        } else if (it->second != name) {
            ++stale;
        }
    }
    return {lost, stale};
}

class MovingWhileDown : public ::testing::TestWithParam<Style> {};

TEST_P(MovingWhileDown, KilledAfter16PagesWithAFifthChangedMeanwhileResumesWithoutLoss) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const Style style = GetParam();
    Emulator emu({"--records", std::to_string(kRecords), "--auth", "bearer", "--token", kToken});
    TempDir dir;
    // The 17th page's request never gets an answer: the kill comes right after page 16 commits.
    emu.Admin(
        "POST",
        "/_admin/faults",
        std::string(R"({"kind":"delay","ms":600000,"count":1,"after":16,"path":")") + style.path +
            "\"}"
    );
    const auto source = UniqueName("moving");
    auto yaml = E2eConfig(
        dsn, source, emu.url(), dir.path(), "    resources:\n      keyset: {enabled: true}\n"
    );
    // One page per transaction, none read ahead: page 17 is asked for only once 16 committed.
    const std::string limits = "limits:\n  shutdown_grace: 10s\n";
    ASSERT_NE(yaml.find(limits), std::string::npos);
    yaml.replace(
        yaml.find(limits), limits.size(), limits + "  max_batch_rows: 100\n  max_in_flight_bytes: 0\n"
    );
    const auto config = dir.Write("c.yaml", yaml);
    const std::vector<std::string> once{
        "-c", config, "once", "--source", source, "--resource", style.resource};

    auto daemon = StartChatsyncd(once, dir.path() + "/first.log");
    const auto pages = [&] {
        try {
            return std::stoi(Scalar(
                dsn,
                "SELECT coalesce((checkpoint->>'pages')::int, 0) FROM chatsync.resource_state "
                "WHERE source = '" +
                    source + "' AND resource = '" + style.resource + "'"
            ));
        } catch (const std::exception&) {
            return 0;
        }
    };
    ASSERT_TRUE(WaitFor([&] { return pages() >= kCommittedPages; }, std::chrono::seconds(120)))
        << daemon->Output();
    daemon->Signal(SIGKILL);
    ASSERT_EQ(daemon->Wait(std::chrono::seconds(10)), 128 + SIGKILL);
    ASSERT_EQ(pages(), kCommittedPages);

    emu.Admin("POST", "/_admin/faults/clear");
    const auto changed = emu.Admin("POST", "/_admin/mutate", R"({"fraction":0.2})");
    ASSERT_EQ(changed.at("changed").as_array().size(), static_cast<std::size_t>(kRecords / 5));

    auto resumed = RunChatsyncd(once);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    const auto want = EmulatorNames(emu);
    const auto table = source + "." + style.resource;
    const auto [lost, stale] = LostAndStale(want, TableNames(dsn, table));
    const auto rows = std::stoi(Scalar(dsn, "SELECT count(*) FROM " + table));
    // Each detected shift is one log line.
    int shifts = 0;
    for (auto at = resumed.output.find("listing moved while read"); at != std::string::npos;
         at = resumed.output.find("listing moved while read", at + 1)) {
        ++shifts;
    }
    std::cout << "[ moving   ] " << style.resource << ": lost " << lost << ", stale " << stale
              << ", duplicated " << rows - static_cast<int>(want.size()) << " of " << want.size()
              << " after the resumed run; shifts detected: " << shifts << "\n";
    EXPECT_EQ(lost, 0);
    EXPECT_EQ(stale, 0);
    EXPECT_EQ(rows, kRecords);

    // The next incremental run finds nothing left to write.
    auto again = RunChatsyncd(once);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_EQ(LostAndStale(want, TableNames(dsn, table)), std::make_pair(0, 0));
}

INSTANTIATE_TEST_SUITE_P(
    Styles,
    MovingWhileDown,
    ::testing::Values(
        Style{"page", "/generic/page"},
        Style{"offset", "/generic/offset"},
        Style{"keyset", "/generic/page"},
        Style{"next", "/generic/next"},
        Style{"cursor", "/generic/cursor"}
    ),
    [](const auto& param) { return std::string(param.param.resource); }
);

}  // namespace
}  // namespace chatsync::test
