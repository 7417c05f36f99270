#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include "connectors/page.hpp"
#include "connectors/run_context.hpp"

/// @file
/// The steps of the page loop (see page_loop.cpp) that commit: the gathered pages, the
/// children owed, and what was read before a failure.

namespace chatsync::connectors {
namespace {

namespace json = boost::json;
using detail::ParentKeys;

}  // namespace

json::array SourceRunner::UnseenParents(ListingState& state, const json::array& parents, bool mark)
    const {
    if (state.children.empty()) {
        return parents;
    }
    const auto keys = ParentKeys(settings_.spec, state.resource->name, parents);
    json::array out;
    for (std::size_t i = 0; i < parents.size(); ++i) {
        auto key = json::serialize(keys[i]);
        const bool seen = mark ? !state.parents_done.insert(std::move(key)).second
                               : state.parents_done.contains(key);
        if (!seen) {
            out.push_back(parents[i]);
        }
    }
    return out;
}

Task<Result<void>> SourceRunner::CommitOwedChildren(RunContext* run, ListingState* state) {
    auto& owed = state->children_checkpoint;
    if (!owed) {
        co_return Result<void>{};  // No children are owed.
    }
    std::string checkpoint = std::move(*owed);
    owed.reset();
    auto write = CommitRows(
        run,
        state->resource,
        RowBatch{},
        std::move(checkpoint),
        false,
        std::exchange(state->child_rows, ChildRows{})
    );
    if (auto written = co_await std::move(write); !written) {
        co_return written.error();
    }
    co_return Result<void>{};
}

Task<Result<void>> SourceRunner::MakeRoom(RunContext* run, ListingState* state, std::size_t rows) {
    if (!state->children_checkpoint || state->child_rows.rows == 0 ||
        rows + state->child_rows.rows <= settings_.max_batch_rows) {
        co_return Result<void>{};
    }
    co_return co_await CommitOwedChildren(run, state);
}

Task<Result<void>> SourceRunner::FetchBatchChildren(
    RunContext* run,
    ListingState* state,
    json::array keys,
    std::vector<std::size_t> changed,
    Checkpoint committed
) {
    json::array parents;
    if (state->all_children) {
        parents = UnseenParents(*state, keys, true);
    } else {
        for (const auto index : changed) {
            parents.push_back(keys[index]);
        }
        parents = UnseenParents(*state, parents, true);
    }
    // The batch's commit left all its parents pending; those whose children are fetched
    // leave the list as their rows commit, the others with the next commit.
    auto fetch = FetchChildren(run, std::move(parents), committed, &state->child_rows);
    if (auto r = co_await std::move(fetch); !r) {
        co_return r.error();
    }
    committed.pending.clear();
    state->children_checkpoint = Encode(committed);
    co_return Result<void>{};
}

Task<Result<void>>
SourceRunner::CommitGathered(RunContext* run, ListingState* state, std::optional<ReadAhead> read) {
    if (auto room = co_await MakeRoom(run, state, state->gathered.size()); !room) {
        co_return room.error();
    }
    state->children_checkpoint.reset();
    auto write = CommitRows(
        run,
        state->resource,
        std::exchange(state->gathered, RowBatch{}),
        state->gathered_checkpoint,
        !state->children.empty(),
        std::exchange(state->child_rows, ChildRows{})
    );
    Changed written = Errc::kCancelled;
    if (read) {
        auto both = WriteWhileReading(
            run, state->resource, std::move(write), std::move(*read), &state->ahead
        );
        written = co_await std::move(both);
    } else {
        written = co_await std::move(write);
    }
    if (!written) {
        co_return written.error();
    }
    if (state->children.empty()) {
        co_return Result<void>{};
    }
    json::array keys = std::exchange(state->gathered_keys, json::array{});
    state->gathered_pending = json::array{};
    auto batch_children =
        FetchBatchChildren(run, state, std::move(keys), std::move(*written), state->gathered_state);
    co_return co_await std::move(batch_children);
}

/// The write in flight: the coroutine that runs it sets `done` and `result` and cancels
/// `signal`, which AwaitWriting waits on until then (all on the runner's executor).
struct SourceRunner::ListingState::Writing {
    explicit Writing(const Executor& executor)
        : signal(executor, std::chrono::steady_clock::time_point::max()) {}

    net::steady_timer signal;
    bool done = false;
    Result<void> result;
    /// The run's error as the failed write left it.
    std::string error;
    std::exception_ptr exception;
};

bool SourceRunner::ListingState::StillWriting() const {
    return writing && !writing->done;
}

void SourceRunner::StartWriting(RunContext* run, ListingState* state) {
    auto writing = std::make_shared<ListingState::Writing>(executor_);
    state->writing = writing;
    state->gathered_bytes = 0;
    // The arguments are moved into the write's frame here, before the loop gathers again.
    auto write = CommitRows(
        run,
        state->resource,
        std::exchange(state->gathered, RowBatch{}),
        state->gathered_checkpoint,
        false,
        ChildRows{}
    );
    // A coroutine with no captures: what it uses lives in its frame.
    auto run_write = [](Task<Changed> commit,
                        const RunContext* context,
                        std::shared_ptr<ListingState::Writing> into) -> Task<void> {
        auto written = co_await std::move(commit);
        if (!written) {
            into->result = written.error();
            into->error = context->error;
        }
    };
    net::co_spawn(
        executor_,
        run_write(std::move(write), run, writing),
        [writing](const std::exception_ptr& e) {
            writing->exception = e;
            writing->done = true;
            writing->signal.cancel();
        }
    );
}

Task<Result<void>> SourceRunner::AwaitWriting(RunContext* run, ListingState* state) {
    const auto writing = std::exchange(state->writing, nullptr);
    if (!writing) {
        co_return Result<void>{};
    }
    if (!writing->done) {
        // Ends when the write's completion cancels the timer.
        co_await writing->signal.async_wait(kAsTuple);
    }
    if (writing->exception) {
        std::rethrow_exception(writing->exception);
    }
    if (!writing->result) {
        run->error = writing->error;
        // What was gathered since comes after the pages the write lost: written with its
        // checkpoint, it would make a resumed run skip them.
        state->gathered = RowBatch{};
        state->gathered_bytes = 0;
    }
    co_return writing->result;
}

Task<RunReport> SourceRunner::FailListing(
    RunContext* run,
    ListingState* state,
    boost::system::error_code ec,
    RunOutcome outcome
) {
    const auto& resource = *state->resource;
    if (auto written = co_await AwaitWriting(run, state); !written) {
        // The run fails for the write, not for what happened while it ran.
        ec = written.error();
        outcome = detail::OutcomeOf(ec);
    }
    auto& owed = state->children_checkpoint;
    const bool gathered = !state->gathered.empty();
    // The children owed commit alone first when no gathered page carries them, or when
    // together with the gathered pages they would pass max_batch_rows.
    if (owed &&
        (!gathered || state->gathered.size() + state->child_rows.rows > settings_.max_batch_rows)) {
        std::string checkpoint = std::move(*owed);
        owed.reset();
        auto flush = FlushGathered(
            run,
            &resource,
            RowBatch{},
            std::exchange(state->child_rows, ChildRows{}),
            std::move(checkpoint)
        );
        co_await std::move(flush);
    }
    if (gathered) {
        // With the children still owed (their parents are no longer pending in it).
        auto flush = FlushGathered(
            run,
            &resource,
            std::exchange(state->gathered, RowBatch{}),
            std::exchange(state->child_rows, ChildRows{}),
            state->gathered_checkpoint
        );
        co_await std::move(flush);
    }
    run->Fail(ec, outcome);
    auto finish = Finish(run, run->report.outcome);
    co_return co_await std::move(finish);
}

}  // namespace chatsync::connectors
