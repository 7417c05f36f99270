#include <algorithm>
#include <chrono>
#include <unordered_set>

#include <boost/json/serialize.hpp>
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

/// How much response a gathered transaction holds at most (less when max_in_flight_bytes is
/// smaller): about a thousand typical records. Past that a transaction's fixed cost is small
/// next to its rows, and more would only hold more memory.
constexpr std::size_t kGatherBytes = std::size_t{1} << 20U;

/// Listings read again from their first page at most this often in one run, and pages read
/// again while stepping back at most this many more than half the pages written; past either,
/// a listing that moves faster than it can be proven goes on unproven (the cursor is held back
/// and nothing is swept), so that it still ends.
constexpr int kMaxRestarts = 3;
constexpr std::int64_t kMaxExtraRereads = 16;

/// Whether a ListingGuard judges this resource's pages: every paginated listing that is not
/// partitioned (a partition's answer is complete or split, never paged).
bool Guarded(const ResourceSpec& resource) {
    return resource.pagination.kind != PaginationKind::kNone && !resource.partition;
}

}  // namespace

Task<RunReport> SourceRunner::ReadListing(RunContext& run) {
    const auto& resource = *run.resource;
    const auto& source = settings_.name;
    const auto& inc = resource.incremental;
    auto& checkpoint = run.checkpoint;
    const auto children = ChildrenOf(settings_.spec, resource.name);
    const auto& partition = resource.partition;
    if (partition && checkpoint.partitions.empty()) {
        checkpoint.partitions = EncodePartitions(FirstPartitions(*partition));
    }
    const bool guarded = Guarded(resource);
    // Whether pages are still being proven; a listing that moves too much to prove is not.
    bool proving = guarded;
    ListingGuard guard(resource.pagination, inc && inc->keyset);
    std::optional<PagePosition> position = checkpoint.position;
    if (position && guarded && run.report.resumed) {
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
        }
    }
    int restarts = 0;
    std::int64_t rereads = 0;
    bool untracked_logged = false;
    const auto page_context = [&](const PagePosition& at) {
        return PageContext(run, at);
    };
    const auto following =
        [&](const PagePosition& at, const FetchedPage& page, const json::value* found) {
            return Following(run, guard, at, page, found);
        };
    // Pages read while the previous write ran, in order.
    Pages ahead;
    // Pages that go to the table as they are, of a resource listed in one sequence, are
    // gathered into one transaction for as many as were read ahead during the previous
    // write: the rows, and the checkpoint after the last of them.
    const bool gathers =
        children.empty() && !partition && resource.scalar_field.empty() && !resource.changes_only;
    const std::size_t gather_bytes =
        gathers ? std::min<std::size_t>(kGatherBytes, settings_.max_in_flight_bytes / 2) : 0;
    RowBatch gathered;
    std::string gathered_checkpoint;
    // Parents whose children were fetched in this run, by the fields the children read: a
    // parent listed twice (overlapping partitions, a page read again) gets its children
    // once. With `mark`, the ones returned are recorded as fetched.
    std::unordered_set<std::string> parents_done;
    const auto unseen_parents = [&](const json::array& parents, bool mark) {
        if (children.empty()) {
            return parents;
        }
        const auto keys = ParentKeys(settings_.spec, resource.name, parents);
        json::array out;
        for (std::size_t i = 0; i < parents.size(); ++i) {
            auto key = json::serialize(keys[i]);
            const bool seen =
                mark ? !parents_done.insert(std::move(key)).second : parents_done.contains(key);
            if (!seen) {
                out.push_back(parents[i]);
            }
        }
        return out;
    };
    // Ends the run as failed or cancelled, writing the pages gathered before the failure.
    const auto fail = [&](boost::system::error_code ec, std::string outcome) -> Task<RunReport> {
        auto flush = FlushGathered(run, resource, gathered, gathered_checkpoint);
        co_await std::move(flush);
        run.Fail(ec, std::move(outcome));
        auto finish = Finish(run, run.report.outcome);
        co_return co_await std::move(finish);
    };
    while (position) {
        if (fetcher_.stopping()) {
            co_return co_await fail(Errc::kCancelled, "cancelled");
        }
        auto fetch = FetchUnlessAhead(ahead, run, resource, page_context(*position), *position);
        Result<FetchedPage> fetched = co_await std::move(fetch);
        if (!fetched) {
            const auto ec = fetched.error();
            co_return co_await fail(ec, detail::OutcomeOf(ec));
        }
        json::value* found = nullptr;
        if (!fetched->ignored) {
            auto selected = FindRecords(fetched->body, resource, run.error);
            if (!selected) {
                run.error = "page " + std::to_string(position->pages + 1) + " from " +
                            http::RedactUrl(fetched->url) + ": " + run.error;
                co_return co_await fail(selected.error(), "failed");
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
                                           : ++rereads > kMaxExtraRereads + run.report.pages / 2;
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
        auto next = Following(run, guard, *position, *fetched, found);
        if (next && !next->keyset.empty() && next->keyset == position->keyset &&
            next->number == position->number && next->offset == position->offset &&
            next->url == position->url && next->token == position->token) {
            // The page would restart where it started: the API answered records from before
            // cursor.start, so it does not filter by it, and keyset reading cannot go on.
            run.error = "keyset listing does not advance: page " +
                        std::to_string(position->pages + 1) +
                        " has records before cursor.start; does the API filter by it?";
            co_return co_await fail(Errc::kUpstreamBadPayload, "failed");
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
            KeepOnlyAChange(run, records);
        }
        const auto resume = Encode(checkpoint);
        if (inc) {
            for (const auto& item : records) {
                if (auto c = RecordCursor(*inc, item);
                    c && (!run.run_cursor || *run.run_cursor < *c)) {
                    run.run_cursor = c;
                }
            }
            if (run.run_cursor) {
                checkpoint.run_cursor = run.run_cursor->Canonical();
            }
        }
        checkpoint.position = next;
        checkpoint.boundary = guard.boundary();
        checkpoint.pages = run.report.pages + 1;
        // Every parent of the page is pending in the page's own transaction: which rows
        // changed is known only once it commits, and a crash right after must not lose
        // their children. The list is narrowed to the changed rows just after.
        checkpoint.pending =
            ParentKeys(settings_.spec, resource.name, unseen_parents(records, false));
        if (gathers && records.size() <= settings_.max_batch_rows) {
            RowBatch rows;
            if (fetched->rows) {
                rows = std::move(*fetched->rows);
            } else if (auto r = AppendRecords(rows, records, resource, nullptr, run.error); !r) {
                run.error = "page " + std::to_string(position->pages + 1) + ": " + run.error;
                co_return co_await fail(r.error(), "failed");
            }
            if (gathered.size() + rows.size() > settings_.max_batch_rows) {
                auto write = CommitRows(
                    run, resource, std::exchange(gathered, RowBatch{}), gathered_checkpoint
                );
                if (auto written = co_await std::move(write); !written) {
                    co_return co_await fail(written.error(), "failed");
                }
            }
            gathered.Append(std::move(rows));
            gathered_checkpoint = Encode(checkpoint);
            ++run.report.pages;
            position = next;
            if (next && !ahead.empty() && !fetcher_.stopping()) {
                continue;
            }
            auto write =
                CommitRows(run, resource, std::exchange(gathered, RowBatch{}), gathered_checkpoint);
            Changed written = Errc::kCancelled;
            if (next && !fetcher_.stopping() &&
                2 * fetched->bytes <= settings_.max_in_flight_bytes) {
                auto both = WriteWhileReading(
                    run,
                    resource,
                    std::move(write),
                    ReadAhead{*next, page_context, following, gather_bytes},
                    ahead
                );
                written = co_await std::move(both);
            } else {
                written = co_await std::move(write);
            }
            if (!written) {
                co_return co_await fail(written.error(), "failed");
            }
            continue;
        }
        if (!gathered.empty()) {
            auto write =
                CommitRows(run, resource, std::exchange(gathered, RowBatch{}), gathered_checkpoint);
            if (auto written = co_await std::move(write); !written) {
                co_return co_await fail(written.error(), "failed");
            }
        }
        Changed changed = Errc::kCancelled;
        // Reading ahead overlaps the API's time with the database's. Not for parents: their
        // children come between two of their pages.
        auto commit = CommitRecords(
            run, resource, records, nullptr, resume, Encode(checkpoint), std::move(fetched->rows)
        );
        if (next && children.empty() && !fetcher_.stopping() &&
            2 * fetched->bytes <= settings_.max_in_flight_bytes) {
            auto both = WriteWhileReading(
                run,
                resource,
                std::move(commit),
                ReadAhead{*next, page_context, following, 0},
                ahead
            );
            changed = co_await std::move(both);
        } else {
            changed = co_await std::move(commit);
        }
        if (!changed) {
            if (changed.error() == Errc::kUpstreamBadPayload) {
                run.error = "page " + std::to_string(position->pages + 1) + ": " + run.error;
            }
            co_return co_await fail(changed.error(), "failed");
        }
        ++run.report.pages;
        if (!children.empty()) {
            const bool all_children =
                std::any_of(children.begin(), children.end(), [](const auto* c) {
                    return !c->parent->only_changed;
                });
            json::array parents;
            if (all_children) {
                parents = unseen_parents(records, true);
            } else {
                for (const auto index : *changed) {
                    parents.push_back(records[index]);
                }
                parents = unseen_parents(parents, true);
                checkpoint.pending = ParentKeys(settings_.spec, resource.name, parents);
                const json::array no_records;
                auto narrowed = co_await CommitRecords(
                    run, resource, no_records, nullptr, "", Encode(checkpoint)
                );
                if (!narrowed) {
                    co_return co_await fail(narrowed.error(), "failed");
                }
            }
            auto r = co_await RunChildren(run, parents, checkpoint);
            if (!r) {
                co_return co_await fail(r.error(), detail::OutcomeOf(r.error()));
            }
            checkpoint.pending.clear();
        }
        position = next;
    }
    auto finish = Finish(run, "success");
    co_return co_await std::move(finish);
}

}  // namespace chatsync::connectors
