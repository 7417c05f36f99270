#include <algorithm>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>

#include "connectors/page.hpp"
#include "connectors/request_builder.hpp"
#include "connectors/run_context.hpp"

/// @file
/// Child resources: the listings of a page's parents fetched several at once, gathered, and
/// committed in few transactions, the parents pending in the checkpoint until theirs are in.

namespace chatsync::connectors {
namespace {

namespace json = boost::json;
using detail::AppendRecords;
using detail::ChildrenOf;
using detail::FindRecords;
using detail::ParentKeys;
using detail::RecordCount;
using detail::TakeRecords;

/// Workers when the source sets no concurrency limit (its budget then bounds nothing).
constexpr std::size_t kUnboundedWorkers = 16;

}  // namespace

/// What FetchChildren's workers share. They all run on the runner's executor, one at a time
/// between two awaits, so nothing here needs a lock.
struct SourceRunner::ChildFetch {
    explicit ChildFetch(const Executor& executor)
        : flushed(executor, std::chrono::steady_clock::time_point::max()) {}

    std::vector<const ResourceSpec*> children;
    /// The parents as their children read them (ParentKeys).
    json::array parents;
    /// Whether every page of every child listing of a parent is in `rows` or committed.
    std::vector<bool> done;
    /// The next parent a worker takes.
    std::size_t next = 0;
    ChildRows* rows = nullptr;
    /// What a flush commits, with `pending` replaced by the parents not done.
    Checkpoint checkpoint;
    /// Rows and response bytes that `rows` holds at most.
    std::size_t max_rows = 1;
    std::size_t max_bytes = 0;
    /// Set while a flush commits. Checkpoints must commit in the order they were taken, so a
    /// worker that needs a flush meanwhile waits on `flushed`, which the flush cancels when
    /// it ends (its expiry is never reached).
    bool flushing = false;
    net::steady_timer flushed;
    /// The first failure and its message; workers take no more parents once it is set.
    std::optional<boost::system::error_code> failure;
    std::string error;

    void Fail(boost::system::error_code ec, const std::string& message) {
        if (!failure) {
            failure = ec;
            error = message;
        }
    }

    /// The checkpoint with the parents not done pending.
    Checkpoint Pending() const {
        Checkpoint c = checkpoint;
        c.pending.clear();
        for (std::size_t i = 0; i < parents.size(); ++i) {
            if (!done[i]) {
                c.pending.push_back(parents[i]);
            }
        }
        return c;
    }

    /// Takes the gathered rows out, leaving empty batches for the same children.
    ChildRows Take() {
        ChildRows out = std::exchange(*rows, ChildRows{});
        for (const auto& [child, batch] : out.tables) {
            rows->tables.emplace_back(child, RowBatch{});
        }
        return out;
    }
};

Task<Result<void>> SourceRunner::FetchChildren(
    RunContext* run,
    json::array parents,
    Checkpoint checkpoint,
    ChildRows* rows
) {
    ChildFetch fetch(executor_);
    fetch.children = ChildrenOf(settings_.spec, run->resource->name);
    // The children see of each parent what a resumed run would see: what the checkpoint keeps.
    fetch.parents = ParentKeys(settings_.spec, run->resource->name, parents);
    fetch.done.assign(fetch.parents.size(), false);
    fetch.rows = rows;
    fetch.checkpoint = std::move(checkpoint);
    fetch.max_rows = std::max<std::size_t>(1, settings_.max_batch_rows);
    fetch.max_bytes = std::min(kGatherBytes, settings_.max_in_flight_bytes / 2);
    if (rows->tables.empty()) {
        for (const auto* child : fetch.children) {
            rows->tables.emplace_back(child, RowBatch{});
        }
    }
    if (fetch.parents.empty() || fetch.children.empty()) {
        co_return Result<void>{};
    }
    // One worker per request the source may have in flight: the budget holds any more back
    // anyway. With reading ahead turned off (max_in_flight_bytes 0), one page at a time.
    const std::size_t limit = settings_.max_in_flight_bytes == 0  ? 1
                              : settings_.budget.concurrency == 0 ? kUnboundedWorkers
                                                                  : settings_.budget.concurrency;
    const std::size_t workers = std::min(limit, fetch.parents.size());
    using Worker = decltype(net::co_spawn(executor_, FetchChildrenOf(run, &fetch), net::deferred));
    std::vector<Worker> spawned;
    spawned.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        spawned.push_back(net::co_spawn(executor_, FetchChildrenOf(run, &fetch), net::deferred));
    }
    auto group = net::experimental::make_parallel_group(std::move(spawned));
    auto wait = group.async_wait(net::experimental::wait_for_all(), kUseAwaitable);
    auto [order, exceptions] = co_await std::move(wait);
    (void)order;
    for (const auto& e : exceptions) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    if (!fetch.failure) {
        co_return Result<void>{};
    }
    // The run fails for the first failure, not for what the other workers met after it.
    run->error = fetch.error;
    if (rows->rows > 0) {
        auto flush =
            FlushGathered(run, run->resource, RowBatch{}, fetch.Take(), Encode(fetch.Pending()));
        co_await std::move(flush);
    }
    co_return *fetch.failure;
}

Task<void> SourceRunner::FetchChildrenOf(RunContext* run, ChildFetch* fetch) {
    while (!fetch->failure && fetch->next < fetch->parents.size()) {
        const std::size_t index = fetch->next++;
        const json::value& parent = fetch->parents[index];
        for (std::size_t c = 0; c < fetch->children.size() && !fetch->failure; ++c) {
            const auto& child = *fetch->children[c];
            auto position = FirstPosition(child.pagination);
            while (!fetch->failure) {
                if (fetcher_.stopping()) {
                    fetch->Fail(Errc::kCancelled, run->error);
                    co_return;
                }
                json::object ctx;
                ctx["config"] = settings_.values;
                ctx["parent"] = parent;
                ctx["page"] = connectors::PageContext(child.pagination, position);
                auto task = fetcher_.Fetch(run, &child, std::move(ctx), position);
                auto fetched = co_await std::move(task);
                if (!fetched) {
                    fetch->Fail(fetched.error(), run->error);
                    co_return;
                }
                json::value* found = nullptr;
                if (!fetched->ignored) {
                    auto selected = FindRecords(fetched->body, child);
                    if (!selected) {
                        run->error = selected.error().message();
                        fetch->Fail(selected.error(), run->error);
                        co_return;
                    }
                    found = *selected;
                }
                auto next = NextPosition(
                    child.pagination,
                    position,
                    &fetched->body,
                    fetched->response,
                    RecordCount(found),
                    fetched->url
                );
                const json::array records = TakeRecords(found, child);
                auto gather = GatherChildPage(run, fetch, c, &records, &parent, fetched->bytes);
                if (auto gathered = co_await std::move(gather); !gathered) {
                    fetch->Fail(gathered.error(), run->error);
                    co_return;
                }
                if (!next) {
                    break;
                }
                position = *next;
            }
        }
        if (!fetch->failure) {
            fetch->done[index] = true;
        }
    }
}

Task<Result<void>> SourceRunner::GatherChildPage(
    RunContext* run,
    ChildFetch* fetch,
    std::size_t child,
    const json::array* records,
    const json::value* parent,
    std::size_t bytes
) {
    std::size_t start = 0;
    while (start < records->size()) {
        auto& rows = *fetch->rows;
        // No await between this check and the append: what it finds holds for the append.
        const std::size_t room = fetch->max_rows > rows.rows ? fetch->max_rows - rows.rows : 0;
        if (rows.rows > 0 && (room == 0 || rows.bytes + bytes > fetch->max_bytes)) {
            auto flush = FlushChildren(run, fetch);
            if (auto flushed = co_await std::move(flush); !flushed) {
                co_return flushed.error();
            }
            // Other workers may have added rows meanwhile: look again.
            continue;
        }
        const std::size_t end = std::min(records->size(), start + std::max<std::size_t>(room, 1));
        RowBatch batch;
        const std::span<const json::value> part(records->data() + start, end - start);
        if (auto r = AppendRecords(batch, part, *fetch->children[child], parent); !r) {
            run->error = r.error().message();
            co_return r.error();
        }
        rows.tables[child].second.Append(std::move(batch));
        rows.rows += end - start;
        rows.bytes += bytes;
        // The page's bytes count once, with its first part.
        bytes = 0;
        start = end;
    }
    co_return Result<void>{};
}

Task<Result<void>> SourceRunner::FlushChildren(RunContext* run, ChildFetch* fetch) {
    if (fetch->flushing) {
        auto wait = fetch->flushed.async_wait(kAsTuple);
        auto [ec] = co_await std::move(wait);
        // Cancelled when the flush in progress ends: the wake-up this waits for.
        (void)ec;
        if (fetch->failure) {
            co_return *fetch->failure;
        }
        co_return Result<void>{};
    }
    fetch->flushing = true;
    // Parents whose rows are all in this commit (or an earlier one) are no longer pending;
    // the others, some of whose rows it may hold, are fetched again after a crash.
    auto checkpoint = Encode(fetch->Pending());
    auto commit =
        CommitRows(run, run->resource, RowBatch{}, std::move(checkpoint), false, fetch->Take());
    auto written = co_await std::move(commit);
    fetch->flushing = false;
    fetch->flushed.cancel();
    if (!written) {
        co_return written.error();
    }
    co_return Result<void>{};
}

}  // namespace chatsync::connectors
