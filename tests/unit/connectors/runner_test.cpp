// SourceRunner against the emulator's generic API, served in-process on loopback, writing
// into FakeSink: what lands in the tables, what the run reports, and which requests it made.

#include "connectors/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "core/redactor.hpp"
#include "core/time.hpp"
#include "emulator/frame/emulator.hpp"
#include "http/client.hpp"
#include "metrics/metrics.hpp"
#include "normalize/flatten.hpp"
#include "support/fake_sink.hpp"
#include "support/run_async.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

/// Not a multiple of the page size, so that the last page is a short one.
constexpr std::int64_t kRecords = 47;
/// Records per page: the spec below says 10 in each resource.
constexpr std::int64_t kPageSize = 10;
constexpr std::int64_t kPages = (kRecords + kPageSize - 1) / kPageSize;
constexpr std::string_view kSource = "emu";
constexpr std::string_view kToken = "runner-test-token";

/// The generic API as tests/e2e/specs/generic.yaml describes it, with pages of kPageSize
/// records; `offset` is listed in full here (it has no cursor).
constexpr std::string_view kSpec = R"(
name: generic
base_url: "{{ config.base_url }}"
params:
  base_url: {required: true}
  token: {required: true, secret: true}
auth: {type: bearer, token: "{{ config.token }}"}
resources:
  - name: page
    request:
      path: /generic/page
      query: {per_page: "10", updated_since: "{{ cursor.start }}"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 10, total_pages_path: total_pages}
    incremental: {cursor_field: updated_at, format: iso8601, lookback: 0s}

  - name: offset
    request: {path: /generic/offset}
    records: items
    primary_key: [id]
    pagination: {type: offset, offset_param: offset, limit_param: limit, page_size: 10, total_path: total}

  # The same listing with soft deletes: what a complete pass no longer sees is marked.
  - name: listed
    request: {path: /generic/offset}
    records: items
    primary_key: [id]
    pagination: {type: offset, offset_param: offset, limit_param: limit, page_size: 10, total_path: total}
    soft_delete: true

  - name: next
    request:
      path: /generic/next
      query: {page_size: "10"}
    records: results
    primary_key: [id]
    pagination: {type: next_url, next_url_path: next}

  - name: cursor
    request:
      path: /generic/cursor
      query: {limit: "10"}
    records: records
    primary_key: [id]
    pagination: {type: cursor, token_path: meta.next_cursor, token_param: cursor, has_more_path: meta.has_more}

  - name: keyset
    request:
      path: /generic/page
      query: {per_page: "10", updated_since: "{{ cursor.start }}"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 10, total_pages_path: total_pages}
    incremental: {cursor_field: updated_at, format: iso8601, lookback: 0s, keyset: true}

  # Keyset by a parameter the API does not know: every page starts from the beginning.
  - name: unfiltered
    request:
      path: /generic/page
      query: {per_page: "10", since: "{{ cursor.start }}"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 10, total_pages_path: total_pages}
    incremental: {cursor_field: updated_at, format: iso8601, lookback: 0s, keyset: true}

  # A listing whose every record has comments: 1 + id % 3 of them, two to a page.
  - name: parents
    request:
      path: /generic/page
      query: {per_page: "10"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 10, total_pages_path: total_pages}

  - name: comments
    parent: {resource: parents, fields: {record_id: id}}
    request:
      path: "/generic/records/{{ parent.id }}/comments"
      query: {per_page: "2"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 2, has_more_path: has_more}
)";

/// Rows by id, each as column name -> text with NULLs left out: how a table and the dataset
/// are compared.
using Rows = std::map<std::string, std::map<std::string, std::string>>;

/// The value of `name` in a query string ("a=1&b=2"), undecoded.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        if (const auto eq = pair.find('='); eq != std::string_view::npos) {
            if (pair.substr(0, eq) == name) {
                return std::string(pair.substr(eq + 1));
            }
        }
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
    return std::nullopt;
}

SysTime Time(std::string_view iso) {
    const auto t = ParseIso8601(iso);
    if (!t) {
        ADD_FAILURE() << "not an ISO-8601 time: " << iso;
        return SysTime{};
    }
    return *t;
}

/// Runs the emulator (generic mode, bearer auth, kRecords records) and the runners under test
/// on one io_context, driven by this thread: every request is answered in the order the
/// runner sends it, and nothing depends on the machine's speed.
class RunnerTest : public ::testing::Test {
protected:
    RunnerTest() {
        emulator::Options options;
        options.records = kRecords;
        options.auth = emulator::AuthMode::kBearer;
        options.token = std::string(kToken);
        options.modes = {"generic"};
        emulator_ = std::make_unique<emulator::Emulator>(ioc_.get_executor(), options);
        emulator_->Start();
    }

    ~RunnerTest() override {
        emulator_->Stop();
        // The emulator is destroyed only once its closed connections have wound down; Stop()
        // leaves no work that lasts, so this returns as soon as they have.
        ioc_.restart();
        ioc_.run_for(std::chrono::seconds(10));
    }

    RunnerTest(const RunnerTest&) = delete;
    RunnerTest& operator=(const RunnerTest&) = delete;

    std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(emulator_->Port()); }

    SourceSettings Settings() const {
        SourceSettings s;
        s.name = std::string(kSource);
        s.spec = config::ParseConnectorSpec(std::string(kSpec), "runner_test_spec.yaml");
        s.values["base_url"] = BaseUrl();
        s.values["token"] = kToken;
        s.backoff = http::BackoffPolicy{
            .initial = std::chrono::milliseconds(1),
            .max = std::chrono::milliseconds(5),
            .max_attempts = 3,
        };
        // One page per transaction, so that a failure can come between two pages.
        s.max_batch_rows = static_cast<std::uint32_t>(kPageSize);
        return s;
    }

    /// A runner as a (re)started process makes it: it shares nothing with earlier runners but
    /// the sink.
    std::unique_ptr<SourceRunner> NewRunner() {
        return std::make_unique<SourceRunner>(
            ioc_.get_executor(), Settings(), sink_, metrics_, redactor_
        );
    }

    /// The same with other settings, writing into `sink`.
    std::unique_ptr<SourceRunner> NewRunner(SourceSettings settings, test::FakeSink& sink) {
        return std::make_unique<SourceRunner>(
            ioc_.get_executor(), std::move(settings), sink, metrics_, redactor_
        );
    }

    RunReport Run(SourceRunner& runner, std::string resource) {
        return test::RunAsync(ioc_, runner.Run(std::move(resource)));
    }

    /// Calls the emulator's admin API; returns the parsed answer.
    json::value Admin(std::string method, std::string target, std::string body = "") {
        http::Request request;
        request.method = std::move(method);
        request.url = BaseUrl() + target;
        if (!body.empty()) {
            request.headers.emplace_back("Content-Type", "application/json");
            request.body = std::move(body);
        }
        const std::string what = request.method + " " + target;
        auto response = test::RunAsync(ioc_, admin_.Send(std::move(request)));
        if (!response) {
            ADD_FAILURE() << what << ": " << response.error().message();
            return nullptr;
        }
        if (response->status != 200) {
            ADD_FAILURE() << what << " answered " << response->status << ": " << response->body;
            return nullptr;
        }
        return json::parse(response->body);
    }

    /// The emulator's records (GET /_admin/dataset) as the table should hold them: flattened
    /// as the resource's records are.
    Rows Dataset(const std::string& resource) {
        const json::array records = Records();
        const auto settings = Settings();
        const normalize::FlattenOptions options{
            .max_nesting = settings.spec.FindResource(resource)->max_nesting};
        Rows rows;
        for (const auto& record : records) {
            RowBatch batch;
            normalize::AppendRecord(batch, record.as_object(), options);
            auto& row = rows[json::serialize(record.at("id"))];
            for (std::size_t c = 0; c < batch.columns().size(); ++c) {
                const auto& cells = batch.rows().back();
                if (c < cells.size() && cells[c]) {
                    row[batch.columns()[c].name] = cells[c]->text;
                }
            }
        }
        return rows;
    }

    /// The resource's table in the sink, keyed like Dataset().
    Rows Table(const std::string& resource) const {
        Rows rows;
        if (const auto* table = sink_.FindTable(std::string(kSource), resource)) {
            for (const auto& [key, row] : table->rows) {
                rows[key.front()] = row.values;
            }
        }
        return rows;
    }

    /// The updated_at of the latest record: what the cursor should say after a full pass.
    SysTime LatestUpdate() {
        SysTime latest{};
        for (const auto& record : Records()) {
            latest = std::max(latest, Time(record.at("updated_at").as_string()));
        }
        return latest;
    }

    /// The emulator's records (GET /_admin/dataset), ordered by (updated_at, id).
    json::array Records() { return Admin("GET", "/_admin/dataset").as_array(); }

    /// The requests the emulator has logged since the last ClearRequests().
    json::array Requests() { return Admin("GET", "/_admin/requests").as_array(); }

    void ClearRequests() { Admin("POST", "/_admin/requests/clear"); }

    /// The commits that committed, in order.
    std::vector<test::FakeSink::CommitRecord> Committed() const {
        std::vector<test::FakeSink::CommitRecord> out;
        for (const auto& c : sink_.Commits()) {
            if (c.committed) {
                out.push_back(c);
            }
        }
        return out;
    }

    /// Rows that commits carried, summed over `commits`.
    static std::size_t RowsIn(const std::vector<test::FakeSink::CommitRecord>& commits) {
        std::size_t n = 0;
        for (const auto& c : commits) {
            for (const auto& [table, rows] : c.rows) {
                n += rows;
            }
        }
        return n;
    }

    /// Every row of `table` equals the emulator's record with its id.
    void ExpectRowsMatchDataset(const Rows& table, const Rows& dataset) {
        for (const auto& [id, values] : table) {
            const auto it = dataset.find(id);
            if (it == dataset.end()) {
                ADD_FAILURE() << "row " << id << " is not in the emulator's dataset";
                continue;
            }
            EXPECT_EQ(values, it->second) << "row " << id;
        }
    }

    /// The comments the emulator serves for its records: comment id -> the id of its record.
    /// Record i has 1 + i % 3 of them, "i-1", "i-2"...
    std::map<std::string, std::string> ExpectedComments() {
        std::map<std::string, std::string> out;
        for (const auto& record : Records()) {
            const auto id = record.at("id").to_number<std::int64_t>();
            for (std::int64_t k = 1; k <= 1 + id % 3; ++k) {
                out[std::to_string(id) + "-" + std::to_string(k)] = std::to_string(id);
            }
        }
        return out;
    }

    /// `sink` holds every parent and every comment, each with its parent's id, each written
    /// once: nothing lost, nothing duplicated, nothing rewritten.
    void ExpectParentsAndChildrenComplete(const test::FakeSink& sink) {
        const auto* parents = sink.FindTable(std::string(kSource), "parents");
        const auto* comments = sink.FindTable(std::string(kSource), "comments");
        ASSERT_NE(parents, nullptr);
        ASSERT_NE(comments, nullptr);
        EXPECT_EQ(parents->rows.size(), static_cast<std::size_t>(kRecords));
        std::map<std::string, std::string> got;
        for (const auto& [key, row] : comments->rows) {
            const auto record = row.values.find("record_id");
            got[key.front()] = record == row.values.end() ? "" : record->second;
            EXPECT_EQ(row.writes, 1) << "comment " << key.front() << " was written again";
        }
        EXPECT_EQ(got, ExpectedComments());
        for (const auto& [key, row] : parents->rows) {
            EXPECT_EQ(row.writes, 1) << "parent " << key.front() << " was written again";
        }
    }

    /// Declared first: everything below runs on it.
    net::io_context ioc_{1};
    std::unique_ptr<emulator::Emulator> emulator_;
    metrics::Metrics metrics_;
    Redactor redactor_;
    test::FakeSink sink_;
    http::Client admin_{ioc_.get_executor(), http::Client::Options{}};
};

class RunnerListing : public RunnerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(RunnerListing, LandsEveryRecordExactlyOnce) {
    const std::string resource = GetParam();
    // An offset listing asks for each page after the first one record early, and checks that
    // record is the last one read: pages bring one new record fewer.
    const std::int64_t pages = resource == "offset"
                                   ? 1 + (kRecords - kPageSize + kPageSize - 2) / (kPageSize - 1)
                                   : kPages;
    auto runner = NewRunner();
    const RunReport report = Run(*runner, resource);

    EXPECT_EQ(report.outcome, RunOutcome::kSuccess) << report.error;
    EXPECT_EQ(report.error_kind, "");
    EXPECT_FALSE(report.resumed);
    EXPECT_EQ(report.rows_written, kRecords);
    EXPECT_EQ(report.rows_unchanged, 0);
    EXPECT_EQ(report.pages, pages);

    const Rows dataset = Dataset(resource);
    ASSERT_EQ(dataset.size(), static_cast<std::size_t>(kRecords));
    EXPECT_EQ(Table(resource), dataset);
    // Each record went to the database in one commit, and was written once.
    EXPECT_EQ(RowsIn(sink_.Commits()), static_cast<std::size_t>(kRecords));
    for (const auto& [key, row] : sink_.FindTable(std::string(kSource), resource)->rows) {
        EXPECT_EQ(row.writes, 1) << "row " << key.front();
    }

    // One request per page, each answered 200, and the run counted them all.
    const auto requests = Requests();
    EXPECT_EQ(report.requests, pages);
    EXPECT_EQ(static_cast<std::int64_t>(requests.size()), report.requests);
    for (const auto& r : requests) {
        EXPECT_EQ(r.at("status").as_int64(), 200) << json::serialize(r);
    }

    ASSERT_EQ(sink_.Runs().size(), 1U);
    EXPECT_EQ(sink_.Runs()[0].outcome, RunOutcome::kSuccess);
    EXPECT_EQ(sink_.Runs()[0].rows_written, kRecords);
    const auto state = sink_.State(std::string(kSource), resource);
    ASSERT_TRUE(state);
    EXPECT_EQ(state->last_outcome, RunOutcome::kSuccess);
    EXPECT_FALSE(state->checkpoint) << "a finished run leaves no checkpoint";
}

INSTANTIATE_TEST_SUITE_P(
    Runner,
    RunnerListing,
    ::testing::Values("page", "offset", "next", "cursor"),
    [](const ::testing::TestParamInfo<const char*>& param) { return std::string(param.param); }
);

TEST_F(RunnerTest, IncrementalRerunRewritesOnlyTheMutatedRows) {
    auto runner = NewRunner();
    const RunReport first = Run(*runner, "page");
    ASSERT_EQ(first.outcome, RunOutcome::kSuccess) << first.error;
    ASSERT_FALSE(first.cursor.empty());
    const SysTime first_cursor = Time(first.cursor);
    EXPECT_EQ(first_cursor, LatestUpdate());
    const std::string first_run = sink_.Runs().back().run_id;

    constexpr std::int64_t kMutated = 5;
    const auto mutated = Admin("POST", "/_admin/mutate", R"({"count": 5})");
    std::vector<std::string> changed;
    for (const auto& id : mutated.at("changed").as_array()) {
        changed.push_back(json::serialize(id));
    }
    ASSERT_EQ(changed.size(), static_cast<std::size_t>(kMutated));
    ClearRequests();

    const RunReport second = Run(*runner, "page");
    EXPECT_EQ(second.outcome, RunOutcome::kSuccess) << second.error;
    EXPECT_EQ(second.rows_written, kMutated);
    const std::string second_run = sink_.Runs().back().run_id;
    ASSERT_NE(second_run, first_run);

    // Exactly the mutated rows were rewritten, by the second run; the rest kept their one write.
    std::vector<std::string> rewritten;
    for (const auto& [key, row] : sink_.FindTable(std::string(kSource), "page")->rows) {
        if (row.run_id == second_run) {
            rewritten.push_back(key.front());
            EXPECT_EQ(row.writes, 2) << "row " << key.front();
        } else {
            EXPECT_EQ(row.run_id, first_run) << "row " << key.front();
            EXPECT_EQ(row.writes, 1) << "row " << key.front();
        }
    }
    std::sort(rewritten.begin(), rewritten.end());
    std::sort(changed.begin(), changed.end());
    EXPECT_EQ(rewritten, changed);
    EXPECT_EQ(Table("page"), Dataset("page"));

    // The re-run read only the window from the old cursor on: the mutated records, and those
    // still at the cursor (which are unchanged).
    std::int64_t at_or_after = 0;
    for (const auto& record : Records()) {
        at_or_after += Time(record.at("updated_at").as_string()) >= first_cursor ? 1 : 0;
    }
    EXPECT_EQ(second.rows_written + second.rows_unchanged, at_or_after);
    EXPECT_LT(at_or_after, kRecords);
    EXPECT_EQ(static_cast<std::int64_t>(Requests().size()), second.requests);
    EXPECT_EQ(second.requests, (at_or_after + kPageSize - 1) / kPageSize);

    // The cursor moved to the newest change, and the state says so.
    ASSERT_FALSE(second.cursor.empty());
    EXPECT_GT(Time(second.cursor), first_cursor);
    EXPECT_EQ(Time(second.cursor), LatestUpdate());
    const auto state = sink_.State(std::string(kSource), "page");
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->cursor);
    EXPECT_EQ(*state->cursor, second.cursor);
}

TEST_F(RunnerTest, ResumesFromTheLastCommittedPageAfterACrash) {
    // The process dies during the third commit: it and everything after it are lost.
    constexpr std::size_t kCommitted = 2;
    sink_.FailCommits({.after = kCommitted, .count = test::FakeSink::CommitFault::kEvery});
    {
        auto runner = NewRunner();
        const RunReport crashed = Run(*runner, "page");
        EXPECT_EQ(crashed.outcome, RunOutcome::kFailed);
        EXPECT_EQ(crashed.error_kind, ErrorKind(Errc::kSinkTransient));
    }

    const auto committed = Committed();
    ASSERT_EQ(committed.size(), kCommitted);
    const auto state = sink_.State(std::string(kSource), "page");
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->checkpoint);
    EXPECT_EQ(*state->checkpoint, committed.back().checkpoint);
    EXPECT_FALSE(state->cursor) << "the cursor advances only when a pass completes";
    // The table holds what those commits carried, and nothing of the lost ones.
    const Rows dataset = Dataset("page");
    const Rows before = Table("page");
    EXPECT_EQ(before.size(), RowsIn(committed));
    EXPECT_LT(before.size(), static_cast<std::size_t>(kRecords));
    ExpectRowsMatchDataset(before, dataset);

    // A new process on the same database.
    sink_.ClearFaults();
    ClearRequests();
    std::int64_t written_before = 0;
    for (const auto& run : sink_.Runs()) {
        written_before += run.rows_written;
    }
    auto runner = NewRunner();
    const RunReport resumed = Run(*runner, "page");
    EXPECT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
    EXPECT_TRUE(resumed.resumed);
    EXPECT_EQ(Table("page"), dataset);
    // No gap and no duplicate: every record was written once over both runs.
    EXPECT_EQ(written_before + resumed.rows_written, kRecords);
    for (const auto& [key, row] : sink_.FindTable(std::string(kSource), "page")->rows) {
        EXPECT_EQ(row.writes, 1) << "row " << key.front();
    }
    // It went on from where the first run stopped instead of starting over.
    EXPECT_LT(resumed.requests, kPages);
    for (const auto& r : Requests()) {
        const auto page = QueryParam(std::string(r.at("query").as_string()), "page");
        EXPECT_NE(page.value_or("1"), "1") << "page 1 was read again: " << json::serialize(r);
    }
    const auto after = sink_.State(std::string(kSource), "page");
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->checkpoint);
    EXPECT_EQ(after->last_outcome, RunOutcome::kSuccess);
    // The keys read before the crash are gone, so a record read then that had moved would
    // have come again unseen: the resumed pass is not proven complete, and the cursor stays
    // where it was (unset) until a pass reads the window whole.
    EXPECT_FALSE(after->cursor);

    auto next = NewRunner();
    const RunReport whole = Run(*next, "page");
    EXPECT_EQ(whole.outcome, RunOutcome::kSuccess) << whole.error;
    EXPECT_FALSE(whole.resumed);
    EXPECT_EQ(whole.rows_written, 0) << "unchanged rows are not rewritten";
    const auto proven = sink_.State(std::string(kSource), "page");
    ASSERT_TRUE(proven);
    ASSERT_TRUE(proven->cursor);
    EXPECT_EQ(Time(*proven->cursor), LatestUpdate());
}

TEST_F(RunnerTest, AResumedKeysetListingIsProvenAndMovesTheCursor) {
    // Keyset reading restarts each page at the last value read, so nothing can shift behind
    // a resumed run either: unlike page numbers, its cursor moves at once.
    sink_.FailCommits({.after = 2, .count = test::FakeSink::CommitFault::kEvery});
    {
        auto runner = NewRunner();
        ASSERT_EQ(Run(*runner, "keyset").outcome, RunOutcome::kFailed);
    }
    sink_.ClearFaults();
    auto runner = NewRunner();
    const RunReport resumed = Run(*runner, "keyset");
    EXPECT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
    EXPECT_TRUE(resumed.resumed);
    EXPECT_EQ(Table("keyset"), Dataset("keyset"));
    const auto state = sink_.State(std::string(kSource), "keyset");
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->cursor);
    EXPECT_EQ(Time(*state->cursor), LatestUpdate());
}

TEST_F(RunnerTest, AWriteThatFailsWhileTheNextPagesAreReadLosesNoneOfItsPages) {
    // The third commit fails, once: by then the loop has read and gathered the page after
    // it. Written with its checkpoint, that page would make the resumed run skip page 3.
    sink_.FailCommits({.after = 2, .count = 1});
    {
        auto runner = NewRunner();
        const RunReport failed = Run(*runner, "offset");
        ASSERT_EQ(failed.outcome, RunOutcome::kFailed);
        EXPECT_NE(failed.error.find("FailCommits"), std::string::npos) << failed.error;
    }
    // Only the two commits before the failed one.
    EXPECT_EQ(Committed().size(), 2U);
    auto runner = NewRunner();
    const RunReport resumed = Run(*runner, "offset");
    ASSERT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
    EXPECT_TRUE(resumed.resumed);
    const Rows table = Table("offset");
    const Rows dataset = Dataset("offset");
    EXPECT_EQ(table.size(), dataset.size());
    ExpectRowsMatchDataset(table, dataset);
}

TEST_F(RunnerTest, AResumeStepsBackWhenRecordsBeforeItsCheckpointWereDeleted) {
    // Three pages of ten commit, then the process dies.
    sink_.FailCommits({.after = 3, .count = test::FakeSink::CommitFault::kEvery});
    {
        auto runner = NewRunner();
        ASSERT_EQ(Run(*runner, "page").outcome, RunOutcome::kFailed);
    }
    // While it is down, twelve records of the pages already read are deleted: every later
    // record shifts back by more than a page, and page 4 now starts past records never read.
    std::string ids;
    for (int id = 5; id <= 16; ++id) {
        ids += (ids.empty() ? "" : ",") + std::to_string(id);
    }
    Admin("POST", "/_admin/delete", R"({"ids":[)" + ids + "]}");
    sink_.ClearFaults();
    auto runner = NewRunner();
    const RunReport resumed = Run(*runner, "page");
    EXPECT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
    EXPECT_TRUE(resumed.resumed);
    EXPECT_GE(resumed.shifts, 1);
    // Every record that still exists is in the table, as it is now.
    const Rows table = Table("page");
    for (const auto& [id, values] : Dataset("page")) {
        const auto it = table.find(id);
        ASSERT_NE(it, table.end()) << "record " << id << " was lost";
        EXPECT_EQ(it->second, values) << "record " << id;
    }
}

TEST_F(RunnerTest, APassIntoAnEmptyTableSweepsNothingAndTheNextPassSweepsWhatWentAway) {
    const auto deleted = [&] {
        std::vector<std::string> ids;
        for (const auto& [key, row] : sink_.FindTable(std::string(kSource), "listed")->rows) {
            if (row.deleted) {
                ids.push_back(key.front());
            }
        }
        return ids;
    };
    // The first pass finds the table empty and says so in its checkpoint; it dies after two
    // pages, and its resumption still knows.
    sink_.FailCommits({.after = 2, .count = test::FakeSink::CommitFault::kEvery});
    {
        auto runner = NewRunner();
        ASSERT_EQ(Run(*runner, "listed").outcome, RunOutcome::kFailed);
    }
    const auto checkpoint = sink_.State(std::string(kSource), "listed")->checkpoint;
    ASSERT_TRUE(checkpoint);
    EXPECT_EQ(json::parse(*checkpoint).at("began_empty"), json::parse(R"(["listed"])"));
    sink_.ClearFaults();
    {
        auto runner = NewRunner();
        const RunReport resumed = Run(*runner, "listed");
        ASSERT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
        EXPECT_TRUE(resumed.resumed);
        EXPECT_EQ(resumed.rows_deleted, 0);
    }
    EXPECT_EQ(Table("listed").size(), static_cast<std::size_t>(kRecords));
    EXPECT_TRUE(deleted().empty());

    // Three records go away; the next pass began with rows, remembers what it sees, and
    // marks exactly those three.
    Admin("POST", "/_admin/delete", R"({"ids":[3,20,47]})");
    auto runner = NewRunner();
    const RunReport second = Run(*runner, "listed");
    ASSERT_EQ(second.outcome, RunOutcome::kSuccess) << second.error;
    EXPECT_EQ(second.rows_deleted, 3);
    EXPECT_EQ(deleted(), (std::vector<std::string>{"20", "3", "47"}));
    for (const auto& commit : Committed()) {
        if (commit.run_id == sink_.Runs().back().run_id) {
            EXPECT_FALSE(json::parse(commit.checkpoint).as_object().contains("began_empty"));
        }
    }
}

TEST_F(RunnerTest, AKeysetListingRestartsEachPageAtTheLastValueRead) {
    auto runner = NewRunner();
    const RunReport report = Run(*runner, "keyset");
    EXPECT_EQ(report.outcome, RunOutcome::kSuccess) << report.error;
    EXPECT_EQ(Table("keyset"), Dataset("keyset"));
    // Every page after the first asks from the last updated_at read, from its first page.
    const auto requests = Requests();
    ASSERT_GE(requests.size(), 2U);
    for (std::size_t i = 1; i < requests.size(); ++i) {
        const auto query = std::string(requests[i].at("query").as_string());
        EXPECT_NE(QueryParam(query, "updated_since").value_or(""), "") << query;
        EXPECT_EQ(QueryParam(query, "page").value_or("1"), "1") << query;
    }
}

TEST_F(RunnerTest, AKeysetListingThatTheApiDoesNotFilterFailsInsteadOfLooping) {
    auto runner = NewRunner();
    const RunReport report = Run(*runner, "unfiltered");
    EXPECT_EQ(report.outcome, RunOutcome::kFailed);
    EXPECT_EQ(report.error_kind, "bad_payload");
    EXPECT_NE(report.error.find("does not advance"), std::string::npos) << report.error;
    EXPECT_LE(report.requests, 3);
}

TEST_F(RunnerTest, MalformedPageFailsTheRunAndKeepsTheLastCheckpoint) {
    constexpr std::int64_t kBadPage = 3;
    Admin(
        "POST",
        "/_admin/faults",
        R"({"kind": "malformed", "path": "/generic/page", "page": )" + std::to_string(kBadPage) +
            "}"
    );
    auto runner = NewRunner();
    const RunReport failed = Run(*runner, "page");
    EXPECT_EQ(failed.outcome, RunOutcome::kFailed);
    EXPECT_EQ(failed.error_kind, "bad_payload");
    EXPECT_FALSE(failed.error.empty());

    // The pages before the malformed one are in, with the checkpoint after the last of them.
    const auto committed = Committed();
    ASSERT_FALSE(committed.empty());
    const auto state = sink_.State(std::string(kSource), "page");
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->checkpoint);
    EXPECT_EQ(*state->checkpoint, committed.back().checkpoint);
    EXPECT_EQ(state->last_outcome, RunOutcome::kFailed);
    EXPECT_FALSE(state->cursor);
    const Rows dataset = Dataset("page");
    const Rows before = Table("page");
    EXPECT_EQ(before.size(), static_cast<std::size_t>((kBadPage - 1) * kPageSize));
    ExpectRowsMatchDataset(before, dataset);
    const auto requests = Requests();
    const auto malformed =
        std::count_if(requests.begin(), requests.end(), [](const json::value& r) {
            const auto* fault = r.as_object().if_contains("fault");
            return fault != nullptr && fault->as_string() == "malformed";
        });
    EXPECT_EQ(malformed, 1);
    ASSERT_EQ(sink_.Runs().size(), 1U);
    EXPECT_EQ(sink_.Runs()[0].outcome, RunOutcome::kFailed);

    // The fault has passed: the next run resumes from the checkpoint and completes.
    const RunReport next = Run(*runner, "page");
    EXPECT_EQ(next.outcome, RunOutcome::kSuccess) << next.error;
    EXPECT_TRUE(next.resumed);
    EXPECT_EQ(Table("page"), dataset);
    EXPECT_EQ(failed.rows_written + next.rows_written, kRecords);
}

TEST_F(RunnerTest, ValuesTheDatabaseCannotTakeAsSentAreStoredWithTheRestOfThePage) {
    std::string nest;
    for (int i = 0; i < 40; ++i) {
        nest += R"({"a":)";
    }
    nest += R"("deep")" + std::string(40, '}');
    const std::string members =
        R"("blob":"paste\u0000d","labels":["x\u0000y"],"who":"a\ud800b",)"
        R"("big":123456789012345678901234567890,"neg":-9223372036854775809,"nest":)" +
        nest;
    Admin(
        "POST", "/_admin/raw-fields", json::serialize(json::object{{"id", 5}, {"members", members}})
    );

    auto runner = NewRunner();
    const RunReport report = Run(*runner, "page");
    ASSERT_EQ(report.outcome, RunOutcome::kSuccess) << report.error;
    EXPECT_EQ(report.rows_written, kRecords);
    const Rows table = Table("page");
    ASSERT_EQ(table.size(), static_cast<std::size_t>(kRecords));
    const auto& row = table.at("5");
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(row.at("blob"), "paste" + fffd + "d");
    EXPECT_EQ(row.at("labels"), R"(["x)" + fffd + R"(y"])");
    EXPECT_EQ(row.at("who"), "a" + fffd + "b");
    EXPECT_EQ(row.at("big"), "123456789012345678901234567890");
    EXPECT_EQ(row.at("neg"), "-9223372036854775809");
    // The record as sent is kept beside the columns, its NULs exact: any JSON parser gives
    // them back.
    ASSERT_EQ(row.count("_chatsync_original"), 1U);
    json::parse_options deep;
    deep.max_depth = 64;  // the record nests 40 levels
    const json::value original = json::parse(row.at("_chatsync_original"), {}, deep);
    EXPECT_EQ(original.at("blob").as_string(), std::string_view("paste\0d", 7));
    EXPECT_EQ(original.at("labels").at(0).as_string(), std::string_view("x\0y", 3));
    EXPECT_EQ(original.at("who").as_string(), "a" + fffd + "b");
    EXPECT_EQ(original.at("id").as_int64(), 5);
    EXPECT_NE(
        row.at("_chatsync_original").find(R"("big":123456789012345678901234567890,)"),
        std::string::npos
    );
    // max_nesting 3: the path stops at nest.a.a, which holds the other 38 levels as jsonb.
    const auto& nested = row.at("nest__a__a");
    EXPECT_EQ(nested.substr(0, 6), R"({"a":{)");
    EXPECT_NE(nested.find(R"("deep")"), std::string::npos);
    // The other rows are as the emulator serves them, and the run ended with its cursor.
    EXPECT_EQ(table.at("6").count("blob"), 0U);
    EXPECT_EQ(table.at("6").count("_chatsync_original"), 0U);
    const auto state = sink_.State(std::string(kSource), "page");
    ASSERT_TRUE(state);
    EXPECT_TRUE(state->cursor);
    EXPECT_EQ(state->last_outcome, RunOutcome::kSuccess);

    const std::string rendered = metrics_.Render();
    for (const char* series : {
             R"(chatsync_values_repaired_total{kind="nul",resource="page",source="emu"} 2)",
             R"(chatsync_values_repaired_total{kind="surrogate",resource="page",source="emu"} 1)",
             R"(chatsync_values_repaired_total{kind="big_integer",resource="page",source="emu"} 2)",
             R"(chatsync_values_repaired_total{kind="deep",resource="page",source="emu"} 1)",
         }) {
        EXPECT_NE(rendered.find(series), std::string::npos) << series << "\n" << rendered;
    }

    // Once the record holds no NUL, its row keeps no original.
    Admin("POST", "/_admin/raw-fields", R"({"id": 5, "members": ""})");
    Admin("POST", "/_admin/mutate", R"({"ids": [5]})");
    ASSERT_EQ(Run(*runner, "page").outcome, RunOutcome::kSuccess);
    EXPECT_EQ(Table("page").at("5").count("_chatsync_original"), 0U);
}

TEST_F(RunnerTest, ChildrenCommitWithTheNextBatchOfParentsInOneTransaction) {
    auto settings = Settings();
    settings.max_batch_rows = 1000;
    auto runner = NewRunner(settings, sink_);
    const RunReport report = Run(*runner, "parents");
    ASSERT_EQ(report.outcome, RunOutcome::kSuccess) << report.error;
    ExpectParentsAndChildrenComplete(sink_);
    // One transaction per batch of parent pages (the pages read while the one before was
    // written), which also holds the comments of the batch before, and one for the comments
    // of the last batch: no commit of its own for a checkpoint or a narrowed pending list.
    const auto committed = Committed();
    EXPECT_EQ(sink_.Commits().size(), committed.size());
    ASSERT_GE(committed.size(), 3U);
    EXPECT_LE(committed.size(), static_cast<std::size_t>(kPages + 1));
    for (std::size_t i = 0; i < committed.size(); ++i) {
        std::map<std::string, std::size_t> rows;
        for (const auto& [table, n] : committed[i].rows) {
            rows[table] = n;
        }
        EXPECT_EQ(rows.count("parents"), i + 1 < committed.size() ? 1U : 0U) << "commit " << i;
        EXPECT_EQ(rows.count("comments"), i > 0 ? 1U : 0U) << "commit " << i;
        // The batch's parents stay pending, as keys only, until their comments are in.
        const auto checkpoint = json::parse(committed[i].checkpoint);
        const auto& pending = checkpoint.at("pending").as_array();
        EXPECT_EQ(pending.size(), rows["parents"]) << "commit " << i;
        for (const auto& parent : pending) {
            EXPECT_EQ(parent.as_object().size(), 1U) << json::serialize(parent);
        }
    }
}

TEST_F(RunnerTest, TheReportCountsEachTableApartFromItsParent) {
    auto runner = NewRunner(Settings(), sink_);
    const RunReport first = Run(*runner, "parents");
    ASSERT_EQ(first.outcome, RunOutcome::kSuccess) << first.error;
    const auto comments = static_cast<std::int64_t>(ExpectedComments().size());
    const std::string source(kSource);
    const std::vector<sink::TableCounts> expected = {
        {.name = {source, "parents"}, .written = kRecords, .unchanged = 0, .deleted = 0},
        {.name = {source, "comments"}, .written = comments, .unchanged = 0, .deleted = 0},
    };
    EXPECT_EQ(first.tables, expected);
    // The totals stay those of every table together.
    EXPECT_EQ(first.rows_written, kRecords + comments);
    EXPECT_EQ(sink_.State(source, "parents")->last_tables, expected);

    // Nothing changed: the parents are read as stored, and no child listing is fetched, but
    // both tables are still in the report.
    const RunReport second = Run(*runner, "parents");
    ASSERT_EQ(second.outcome, RunOutcome::kSuccess) << second.error;
    const std::vector<sink::TableCounts> unchanged = {
        {.name = {source, "parents"}, .written = 0, .unchanged = kRecords, .deleted = 0},
        {.name = {source, "comments"}, .written = 0, .unchanged = 0, .deleted = 0},
    };
    EXPECT_EQ(second.tables, unchanged);
}

TEST_F(RunnerTest, ChildrenBeyondMaxBatchRowsCommitInSeveralTransactions) {
    auto settings = Settings();
    // Fewer than one page of parents' comments, and fewer than some parents' own.
    settings.max_batch_rows = 2;
    auto runner = NewRunner(settings, sink_);
    const RunReport report = Run(*runner, "parents");
    ASSERT_EQ(report.outcome, RunOutcome::kSuccess) << report.error;
    ExpectParentsAndChildrenComplete(sink_);
    for (const auto& commit : Committed()) {
        EXPECT_LE(RowsIn({commit}), 2U) << commit.checkpoint;
    }
}

TEST_F(RunnerTest, ACrashAtAnyCommitOfParentsAndChildrenLosesAndDuplicatesNothing) {
    // 7: parent pages split over two commits, comments alone in several; 25: two pages
    // gathered with comments; 1000: every page read ahead gathered, comments with them.
    for (const std::uint32_t max_batch_rows : {7U, 25U, 1000U}) {
        auto settings = Settings();
        settings.max_batch_rows = max_batch_rows;
        std::size_t commits = 0;
        {
            test::FakeSink sink;
            auto runner = NewRunner(settings, sink);
            ASSERT_EQ(Run(*runner, "parents").outcome, RunOutcome::kSuccess);
            commits = sink.Commits().size();
        }
        ASSERT_GE(commits, 3U);
        for (std::size_t after = 0; after < commits; ++after) {
            SCOPED_TRACE(
                "max_batch_rows " + std::to_string(max_batch_rows) +
                ": the process dies in commit " + std::to_string(after + 1) + " of " +
                std::to_string(commits)
            );
            test::FakeSink sink;
            sink.FailCommits({.after = after, .count = test::FakeSink::CommitFault::kEvery});
            {
                auto runner = NewRunner(settings, sink);
                EXPECT_EQ(Run(*runner, "parents").outcome, RunOutcome::kFailed);
            }
            sink.ClearFaults();
            auto runner = NewRunner(settings, sink);
            const RunReport resumed = Run(*runner, "parents");
            ASSERT_EQ(resumed.outcome, RunOutcome::kSuccess) << resumed.error;
            EXPECT_EQ(resumed.resumed, after > 0);
            ExpectParentsAndChildrenComplete(sink);
        }
    }
}

TEST_F(RunnerTest, AChildListingThatFailsKeepsItsParentPendingForTheNextRun) {
    auto settings = Settings();
    settings.max_batch_rows = 1000;
    // Every attempt fails (the backoff gives up after 3).
    Admin(
        "POST",
        "/_admin/faults",
        R"({"kind": "500", "count": 3, "path": "/generic/records/23/comments"})"
    );
    {
        auto runner = NewRunner(settings, sink_);
        const RunReport failed = Run(*runner, "parents");
        EXPECT_EQ(failed.outcome, RunOutcome::kFailed);
    }
    const auto state = sink_.State(std::string(kSource), "parents");
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->checkpoint);
    const auto pending = json::parse(*state->checkpoint).at("pending").as_array();
    EXPECT_NE(
        std::find(pending.begin(), pending.end(), json::value(json::object{{"id", 23}})),
        pending.end()
    ) << json::serialize(pending);
    // The comments fetched before the failure were written with it.
    const auto* comments = sink_.FindTable(std::string(kSource), "comments");
    ASSERT_NE(comments, nullptr);
    EXPECT_GT(comments->rows.size(), 0U);

    auto runner = NewRunner(settings, sink_);
    const RunReport next = Run(*runner, "parents");
    ASSERT_EQ(next.outcome, RunOutcome::kSuccess) << next.error;
    EXPECT_TRUE(next.resumed);
    ExpectParentsAndChildrenComplete(sink_);
}

TEST_F(RunnerTest, ChildListingsAreFetchedSeveralAtOnceWithinTheSourceConcurrency) {
    // Each of the first comment requests is held this long by the emulator: a request slot
    // it takes is busy at least as long, however slow the machine.
    constexpr std::int64_t kDelayUs = 1'000'000;
    constexpr std::size_t kDelayed = 6;
    auto settings = Settings();
    settings.max_batch_rows = 1000;
    settings.budget.concurrency = 2;
    Admin(
        "POST",
        "/_admin/faults",
        R"({"kind": "delay", "ms": 1000, "count": 6, "path_prefix": "/generic/records/"})"
    );
    auto runner = NewRunner(settings, sink_);
    const RunReport report = Run(*runner, "parents");
    ASSERT_EQ(report.outcome, RunOutcome::kSuccess) << report.error;
    ExpectParentsAndChildrenComplete(sink_);
    std::vector<std::int64_t> arrived;
    for (const auto& r : Requests()) {
        const auto* fault = r.as_object().if_contains("fault");
        if (fault != nullptr && fault->as_string() == "delay") {
            arrived.push_back(std::llround(r.at("t").to_number<double>() * 1e6));
        }
    }
    ASSERT_EQ(arrived.size(), kDelayed);
    std::sort(arrived.begin(), arrived.end());
    // Never three in flight: a third request arrives only once one of two held slots is free
    // (less a millisecond for the clocks: the delay runs on the steady one).
    for (std::size_t i = 2; i < arrived.size(); ++i) {
        EXPECT_GE(arrived[i] - arrived[i - 2], kDelayUs - 1000) << "request " << i;
    }
    // But two: the second arrived before the first could have been answered (only a machine
    // that stalls for the whole delay could make it come later).
    EXPECT_LT(arrived[1] - arrived[0], kDelayUs);
}

}  // namespace
}  // namespace chatsync::connectors
