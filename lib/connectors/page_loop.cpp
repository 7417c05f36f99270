#include <algorithm>
#include <chrono>
#include <limits>

#include <spdlog/spdlog.h>

#include "connectors/cursor.hpp"
#include "connectors/listing.hpp"
#include "connectors/page.hpp"
#include "connectors/partition.hpp"
#include "connectors/run_context.hpp"
#include "core/json.hpp"
#include "http/url.hpp"
#include "metrics/metrics.hpp"

/// @file
/// The page loop: a resource's listing read page by page, each page judged by the
/// ListingGuard and committed with the checkpoint after it.

namespace chatsync::connectors {
namespace {

namespace json = boost::json;
using detail::AppendRecords;
using detail::ChildrenOf;
using detail::FindRecords;
using detail::ParentKeys;
using detail::RecordCount;
using detail::TakeRecords;

/// Listings read again from their first page at most this often in one run, and pages read
/// again while stepping back at most this many more than half the pages written; past either,
/// a listing that moves faster than it can be proven goes on unproven (the cursor is held back
/// and nothing is swept), so that it still ends.
constexpr int kMaxRestarts = 3;
constexpr std::int64_t kMaxExtraRereads = 16;

/// For make_room: rows that leave no room for the children owed.
constexpr std::size_t kNoRoom = std::numeric_limits<std::size_t>::max() / 2;

/// Whether a ListingGuard judges this resource's pages: every paginated listing that is not
/// partitioned (a partition's answer is complete or split, never paged).
bool Guarded(const ResourceSpec& resource) {
    return resource.pagination.kind != PaginationKind::kNone && !resource.partition;
}

}  // namespace

Task<RunReport> SourceRunner::ReadListing(RunContext* run) {
    const auto& resource = *run->resource;
    const auto& source = settings_.name;
    const auto& inc = resource.incremental;
    auto& checkpoint = run->checkpoint;
    ListingState state;
    state.resource = &resource;
    state.children = ChildrenOf(settings_.spec, resource.name);
    state.all_children =
        std::any_of(state.children.begin(), state.children.end(), [](const auto* c) {
            return !c->parent->only_changed;
        });
    const auto& children = state.children;
    const auto& partition = resource.partition;
    if (partition && checkpoint.partitions.empty()) {
        checkpoint.partitions = EncodePartitions(FirstPartitions(*partition));
    }
    const bool guarded = Guarded(resource);
    // Whether pages are still being proven; a listing that moves too much to prove is not.
    bool proving = guarded;
    ListingGuard guard(resource.pagination, inc && inc->keyset);
    std::optional<PagePosition> position = checkpoint.position;
    if (position && guarded && run->report.resumed) {
        if (checkpoint.boundary.tail_keys.empty() && checkpoint.pages > 0) {
            // Written before boundaries were kept: nothing proves where the listing stands.
            spdlog::info(
                "checkpoint has no boundary, reading the listing again source={} resource={}",
                source,
                resource.name
            );
            position = FirstPosition(resource.pagination);
        } else {
            position = guard.Resume(checkpoint.boundary, *position);
            if (guard.ProvesByKeys() && checkpoint.pages > 0 && !checkpoint.unverified_from) {
                // The keys read before the crash are gone: a record read then that moves now
                // comes again unseen, and what stood after its old place shifts back past the
                // reader. The listing is read on, but not proven complete.
                checkpoint.unverified_from = checkpoint.window_start.value_or("");
                metrics_.ListingShift(source, resource.name, "unverified");
                spdlog::info(
                    "resumed listing, not proven complete source={} resource={} page={}",
                    source,
                    resource.name,
                    checkpoint.pages + 1
                );
            }
        }
    }
    int restarts = 0;
    std::int64_t rereads = 0;
    bool untracked_logged = false;
    const auto page_context = [&](const PagePosition& at) {
        return PageContext(*run, at);
    };
    const auto following =
        [&](const PagePosition& at, const FetchedPage& page, const json::value* found) {
            return Following(*run, guard, at, page, found);
        };
    auto& ahead = state.ahead;
    const bool gathers = !partition && resource.scalar_field.empty() && !resource.changes_only;
    const std::size_t gather_bytes =
        gathers ? std::min<std::size_t>(kGatherBytes, settings_.max_in_flight_bytes / 2) : 0;
    auto& gathered = state.gathered;
    auto& child_rows = state.child_rows;
    auto& children_checkpoint = state.children_checkpoint;
    while (position) {
        if (fetcher_.stopping()) {
            co_return co_await FailListing(run, &state, Errc::kCancelled, RunOutcome::kCancelled);
        }
        auto fetch = FetchUnlessAhead(&ahead, run, &resource, page_context(*position), *position);
        Result<FetchedPage> fetched = co_await std::move(fetch);
        if (!fetched) {
            const auto ec = fetched.error();
            co_return co_await FailListing(run, &state, ec, detail::OutcomeOf(ec));
        }
        json::value* found = nullptr;
        if (!fetched->ignored) {
            auto selected = FindRecords(fetched->body, resource);
            if (!selected) {
                run->error = "page " + std::to_string(position->pages + 1) + " from " +
                             http::RedactUrl(fetched->url) + ": " + selected.error().message();
                co_return co_await FailListing(run, &state, selected.error(), RunOutcome::kFailed);
            }
            found = *selected;
        }
        std::vector<std::string> keys;
        PageVerdict verdict;
        const auto total = ReportedTotal(resource.pagination, &fetched->body);
        if (proving) {
            if (found != nullptr && found->is_array()) {
                for (const auto& record : found->get_array()) {
                    keys.push_back(RecordKey(record, resource.primary_key));
                }
            } else if (found != nullptr && found->is_object()) {
                keys.push_back(RecordKey(*found, resource.primary_key));
            }
            verdict = guard.Check(*position, keys, total);
        }
        if (verdict.kind != PageVerdict::Kind::kAccept) {
            const bool restart = verdict.kind == PageVerdict::Kind::kRestart;
            ++checkpoint.shifts;
            metrics_.ListingShift(source, resource.name, restart ? "restarted" : "stepped_back");
            spdlog::info(
                "listing moved while read source={} resource={} page={} reason=\"{}\" action={}",
                source,
                resource.name,
                position->pages + 1,
                verdict.reason,
                restart ? "restart" : "step_back"
            );
            // Pages read ahead were placed by the old listing.
            ahead.clear();
            const bool exhausted = restart ? ++restarts > kMaxRestarts
                                           : ++rereads > kMaxExtraRereads + run->report.pages / 2;
            if (!exhausted && !restart) {
                position = verdict.position;
                continue;
            }
            if (!exhausted) {
                guard.Restart();
                position = FirstPosition(resource.pagination);
                continue;
            }
            // The listing keeps moving: take the pages as they come, and prove nothing.
            spdlog::warn(
                "listing keeps moving, reading on without proof source={} resource={} page={}",
                source,
                resource.name,
                position->pages + 1
            );
            guard.Restart();
            proving = false;
            verdict = PageVerdict{};
            if (!checkpoint.unverified_from) {
                checkpoint.unverified_from = checkpoint.window_start.value_or("");
                metrics_.ListingShift(source, resource.name, "unverified");
            }
        } else if (!verdict.reason.empty()) {
            ++checkpoint.shifts;
            metrics_.ListingShift(source, resource.name, "shifted_forward");
        }
        auto next = Following(*run, guard, *position, *fetched, found);
        if (next && !next->keyset.empty() && next->keyset == position->keyset &&
            next->number == position->number && next->offset == position->offset &&
            next->url == position->url && next->token == position->token) {
            // The page would restart where it started: the API answered records from before
            // cursor.start, so it does not filter by it, and keyset reading cannot go on.
            run->error = "keyset listing does not advance: page " +
                         std::to_string(position->pages + 1) +
                         " has records before cursor.start; does the API filter by it?";
            co_return co_await FailListing(
                run, &state, Errc::kUpstreamBadPayload, RunOutcome::kFailed
            );
        }
        if (next && !position->keyset.empty() && next->keyset == position->keyset) {
            // More records share this cursor value than a page holds, and they are paged
            // within it, where a record that moves or goes shifts the rest unseen. The cursor
            // stops at the value, so that the next run reads them again.
            const auto tied = ParseCursorText(position->keyset, inc->format, inc->format_pattern);
            const auto held =
                checkpoint.unverified_from && !checkpoint.unverified_from->empty()
                    ? ParseCursorText(*checkpoint.unverified_from, inc->format, inc->format_pattern)
                    : std::nullopt;
            const bool unheld = !checkpoint.unverified_from;
            if (tied && (unheld || (held && *tied < *held))) {
                checkpoint.unverified_from = position->keyset;
            }
        }
        json::array records = TakeRecords(found, resource);
        if (verdict.skip > 0) {
            records.erase(
                records.begin(),
                records.begin() +
                    static_cast<std::ptrdiff_t>(std::min(verdict.skip, records.size()))
            );
            fetched->rows.reset();
        }
        if (proving && guard.Accept(*position, keys, verdict.skip, total) > 0 &&
            !checkpoint.unverified_from) {
            // A record came again: it moved while the listing was read, and what stood after
            // its old place shifted back unseen. Nothing here proves the listing complete.
            checkpoint.unverified_from = checkpoint.window_start.value_or("");
            ++checkpoint.shifts;
            metrics_.ListingShift(source, resource.name, "unverified");
            spdlog::info(
                "a record came twice, listing not proven complete source={} resource={} page={}",
                source,
                resource.name,
                position->pages + 1
            );
        }
        if (proving && !next && !checkpoint.unverified_from && guard.ShortOfTotal()) {
            // Fewer records came than the listing holds: one moved from ahead of the reader
            // to the end, and what stood between shifted back past it unseen.
            checkpoint.unverified_from = checkpoint.window_start.value_or("");
            ++checkpoint.shifts;
            metrics_.ListingShift(source, resource.name, "unverified");
            spdlog::info(
                "listing ended short of its total, not proven complete source={} resource={} "
                "page={}",
                source,
                resource.name,
                position->pages + 1
            );
        }
        if (proving && !guard.Tracking() && !untracked_logged) {
            untracked_logged = true;
            spdlog::info(
                "listing longer than {} records, a record read twice is no longer seen source={} "
                "resource={}",
                ListingGuard::kMaxTrackedKeys,
                source,
                resource.name
            );
        }
        if (partition && !next) {
            // This call is done: a full answer is replaced by narrower calls and probes,
            // depth first so that the queue stays short.
            auto queue = DecodePartitions(checkpoint.partitions);
            auto notes = PartitionNotes::FromJson(checkpoint.partition_notes);
            const auto before = notes;
            const auto step = Advance(*partition, notes, queue, records);
            if (step.too_deep) {
                spdlog::warn(
                    "partition still full at the longest prefix; records beyond the cap are "
                    "not listed source={} resource={} prefix_bytes={}",
                    source,
                    resource.name,
                    partition->max_prefix
                );
            }
            if (notes.folds_case != before.folds_case ||
                notes.honours_escapes != before.honours_escapes) {
                spdlog::info(
                    "partition filter probed source={} resource={} folds_case={} "
                    "honours_escapes={}",
                    source,
                    resource.name,
                    notes.folds_case == PartitionNotes::Finding::kYes,
                    notes.honours_escapes == PartitionNotes::Finding::kYes
                );
            }
            checkpoint.partitions = EncodePartitions(queue);
            checkpoint.partition_notes = notes.ToJson();
            if (!queue.empty()) {
                next = FirstPosition(resource.pagination);
            }
        }

        if (!resource.scalar_field.empty()) {
            ExportScalar(resource, records);
        }
        if (resource.changes_only) {
            KeepOnlyAChange(*run, records);
        }
        // Every parent of the page is pending in the page's own transactions, from the
        // first part of a page written in several on: which rows changed is known only once
        // they commit, and a crash right after must not lose their children. The list is
        // narrowed to the parents whose children are still to come as those commit. A
        // resource without children owes none (and its page is not copied to find that out).
        checkpoint.pending =
            state.children.empty()
                ? json::array()
                : ParentKeys(settings_.spec, resource.name, UnseenParents(state, records, false));
        const bool gather_page = gathers && records.size() <= settings_.max_batch_rows;
        // The checkpoint that repeats this page, for a page written in several parts.
        const auto resume = gather_page ? std::string() : Encode(checkpoint);
        if (inc) {
            for (const auto& item : records) {
                if (auto c = RecordCursor(*inc, item);
                    c && (!run->run_cursor || *run->run_cursor < *c)) {
                    run->run_cursor = c;
                }
            }
            if (run->run_cursor) {
                checkpoint.run_cursor = run->run_cursor->Canonical();
            }
        }
        checkpoint.position = next;
        checkpoint.boundary = guard.boundary();
        checkpoint.pages = run->report.pages + 1;
        if (gather_page) {
            RowBatch rows;
            if (fetched->rows) {
                rows = std::move(*fetched->rows);
            } else if (auto r = AppendRecords(rows, records, resource, nullptr); !r) {
                run->error =
                    "page " + std::to_string(position->pages + 1) + ": " + r.error().message();
                co_return co_await FailListing(run, &state, r.error(), RunOutcome::kFailed);
            }
            if (children.empty()) {
                // Without children the loop itself reads ahead: a batch is written while
                // the next is read and prepared, and starts as soon as the one before has
                // committed (or at once, when the database was waiting for it).
                const bool full = !gathered.empty() &&
                                  (gathered.size() + rows.size() > settings_.max_batch_rows ||
                                   state.gathered_bytes + fetched->bytes > gather_bytes);
                if (full) {
                    if (auto written = co_await AwaitWriting(run, &state); !written) {
                        co_return co_await FailListing(
                            run, &state, written.error(), detail::OutcomeOf(written.error())
                        );
                    }
                    StartWriting(run, &state);
                }
                gathered.Append(std::move(rows));
                state.gathered_bytes += fetched->bytes;
                state.gathered_checkpoint = Encode(checkpoint);
                ++run->report.pages;
                position = next;
                // Reading on while a batch is written holds two batches and a page; without
                // room for that (or at the end) each write is awaited before reading on.
                const bool overlap = next && !fetcher_.stopping() &&
                                     2 * fetched->bytes <= settings_.max_in_flight_bytes;
                if (!state.StillWriting() || !overlap) {
                    if (auto written = co_await AwaitWriting(run, &state); !written) {
                        co_return co_await FailListing(
                            run, &state, written.error(), detail::OutcomeOf(written.error())
                        );
                    }
                    StartWriting(run, &state);
                }
                if (!overlap) {
                    if (auto written = co_await AwaitWriting(run, &state); !written) {
                        co_return co_await FailListing(
                            run, &state, written.error(), detail::OutcomeOf(written.error())
                        );
                    }
                }
                continue;
            }
            if (!gathered.empty() && gathered.size() + rows.size() > settings_.max_batch_rows) {
                auto write = CommitGathered(run, &state, std::nullopt);
                if (auto written = co_await std::move(write); !written) {
                    co_return co_await FailListing(
                        run, &state, written.error(), detail::OutcomeOf(written.error())
                    );
                }
            }
            gathered.Append(std::move(rows));
            if (!children.empty()) {
                for (auto& key : ParentKeys(settings_.spec, resource.name, records)) {
                    state.gathered_keys.push_back(std::move(key));
                }
                for (auto& parent : checkpoint.pending) {
                    state.gathered_pending.push_back(std::move(parent));
                }
                checkpoint.pending = state.gathered_pending;
                state.gathered_state = checkpoint;
            }
            state.gathered_checkpoint = Encode(checkpoint);
            ++run->report.pages;
            position = next;
            if (next && !ahead.empty() && !fetcher_.stopping()) {
                continue;
            }
            std::optional<ReadAhead> read;
            if (next && !fetcher_.stopping() &&
                2 * fetched->bytes <= settings_.max_in_flight_bytes) {
                read = ReadAhead{*next, page_context, following, gather_bytes};
            }
            auto write = CommitGathered(run, &state, std::move(read));
            if (auto written = co_await std::move(write); !written) {
                co_return co_await FailListing(
                    run, &state, written.error(), detail::OutcomeOf(written.error())
                );
            }
            continue;
        }
        if (auto written = co_await AwaitWriting(run, &state); !written) {
            co_return co_await FailListing(
                run, &state, written.error(), detail::OutcomeOf(written.error())
            );
        }
        if (!gathered.empty()) {
            auto write = CommitGathered(run, &state, std::nullopt);
            if (auto written = co_await std::move(write); !written) {
                co_return co_await FailListing(
                    run, &state, written.error(), detail::OutcomeOf(written.error())
                );
            }
        }
        // The children of the batch before go with this page when both fit in one
        // transaction (a page of more than max_batch_rows rows is written in several).
        const bool with_children =
            !children.empty() && records.size() + child_rows.rows <= settings_.max_batch_rows;
        if (auto room = co_await MakeRoom(run, &state, with_children ? records.size() : kNoRoom);
            !room) {
            co_return co_await FailListing(run, &state, room.error(), RunOutcome::kFailed);
        }
        RowBatch rows;
        if (with_children) {
            if (fetched->rows) {
                rows = std::move(*fetched->rows);
            } else if (auto r = AppendRecords(rows, records, resource, nullptr); !r) {
                run->error =
                    "page " + std::to_string(position->pages + 1) + ": " + r.error().message();
                co_return co_await FailListing(run, &state, r.error(), RunOutcome::kFailed);
            }
        }
        // This page's checkpoint follows the one the children owed would have committed
        // with: they are in this commit, or committed, or there are none.
        children_checkpoint.reset();
        Changed changed = Errc::kCancelled;
        // Reading ahead overlaps the API's time with the database's: the next page is read
        // while this one (and the children of the batch before) is written.
        auto commit = with_children ? CommitRows(
                                          run,
                                          &resource,
                                          std::move(rows),
                                          Encode(checkpoint),
                                          true,
                                          std::exchange(child_rows, ChildRows{})
                                      )
                                    : CommitRecords(
                                          run,
                                          &resource,
                                          &records,
                                          nullptr,
                                          resume,
                                          Encode(checkpoint),
                                          std::move(fetched->rows)
                                      );
        if (next && !fetcher_.stopping() && 2 * fetched->bytes <= settings_.max_in_flight_bytes) {
            auto both = WriteWhileReading(
                run,
                &resource,
                std::move(commit),
                ReadAhead{*next, page_context, following, 0},
                &ahead
            );
            changed = co_await std::move(both);
        } else {
            changed = co_await std::move(commit);
        }
        if (!changed) {
            if (changed.error() == Errc::kUpstreamBadPayload) {
                run->error = "page " + std::to_string(position->pages + 1) + ": " + run->error;
            }
            co_return co_await FailListing(run, &state, changed.error(), RunOutcome::kFailed);
        }
        ++run->report.pages;
        if (!children.empty()) {
            auto page_children = FetchBatchChildren(
                run, &state, std::move(records), std::move(*changed), checkpoint
            );
            if (auto r = co_await std::move(page_children); !r) {
                co_return co_await FailListing(
                    run, &state, r.error(), detail::OutcomeOf(r.error())
                );
            }
        }
        position = next;
    }
    if (auto written = co_await AwaitWriting(run, &state); !written) {
        co_return co_await FailListing(
            run, &state, written.error(), detail::OutcomeOf(written.error())
        );
    }
    if (children_checkpoint && child_rows.rows > 0) {
        // The last page's children. (With none, finishing clears the checkpoint anyway.)
        if (auto written = co_await CommitOwedChildren(run, &state); !written) {
            co_return co_await FailListing(run, &state, written.error(), RunOutcome::kFailed);
        }
    }
    auto finish = Finish(run, RunOutcome::kSuccess);
    co_return co_await std::move(finish);
}

}  // namespace chatsync::connectors
