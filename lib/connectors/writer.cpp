#include <algorithm>
#include <span>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/json/array.hpp>
#include <spdlog/spdlog.h>

#include "connectors/page.hpp"
#include "connectors/run_context.hpp"
#include "metrics/metrics.hpp"
#include "sink/sink.hpp"

/// @file
/// The runner's writes: pages and their checkpoints committed through the sink, and the
/// pages read ahead while the database writes.

namespace chatsync::connectors {

namespace json = boost::json;
using detail::AppendRecords;
using detail::ChildrenOf;
using detail::FindRecords;
using detail::RecordCount;

Task<SourceRunner::Changed> SourceRunner::CommitRecords(
    RunContext* run,
    const ResourceSpec* resource,
    const json::array* records,
    const json::value* parent,
    std::string resume_checkpoint,
    std::string checkpoint,
    std::optional<RowBatch> prepared
) {
    const bool has_children = !ChildrenOf(settings_.spec, resource->name).empty();
    const std::size_t batch = std::max<std::size_t>(1, settings_.max_batch_rows);
    std::vector<std::size_t> changed;
    std::size_t start = 0;
    do {
        const std::size_t end = std::min(records->size(), start + batch);
        const bool last = end == records->size();
        RowBatch rows;
        const std::span<const json::value> part(records->data() + start, end - start);
        if (prepared && start == 0 && last) {
            rows = std::move(*prepared);
        } else if (auto r = AppendRecords(rows, part, *resource, parent); !r) {
            run->error = r.error().message();
            co_return r.error();
        }
        // Parts before the last keep the checkpoint that repeats this page, so a crash
        // between them resumes at the same page.
        auto write = CommitRows(
            run, resource, std::move(rows), last ? checkpoint : resume_checkpoint, has_children
        );
        auto written = co_await std::move(write);
        if (!written) {
            co_return written.error();
        }
        for (const auto index : *written) {
            changed.push_back(start + index);
        }
        start = end;
    } while (start < records->size());
    co_return changed;
}

void SourceRunner::Preflatten(FetchedPage& fetched, const ResourceSpec& resource) const {
    // Records that a run still changes (scalar and changes-only resources) or splits over
    // several transactions are flattened when they are written.
    if (fetched.ignored || !resource.scalar_field.empty() || resource.changes_only) {
        return;
    }
    const auto found = FindRecords(fetched.body, resource);
    if (!found || *found == nullptr || !(*found)->is_array()) {
        return;
    }
    const auto& records = (*found)->get_array();
    if (records.empty() || records.size() > settings_.max_batch_rows) {
        return;
    }
    RowBatch rows;
    // On failure CommitRecords meets the same error again, and reports it.
    if (AppendRecords(rows, records, resource, nullptr)) {
        fetched.rows = std::move(rows);
    }
}

Task<Result<FetchedPage>> SourceRunner::FetchUnlessAhead(
    Pages* ahead,
    RunContext* run,
    const ResourceSpec* resource,
    json::object context,
    PagePosition position
) {
    if (!ahead->empty()) {
        Result<FetchedPage> fetched(std::move(ahead->front()));
        ahead->pop_front();
        co_return fetched;
    }
    auto fetch = fetcher_.Fetch(run, resource, std::move(context), position);
    co_return co_await std::move(fetch);
}

Task<SourceRunner::Changed>
SourceRunner::AwaitWrite(Task<Changed> write, const RunContext* run, std::string* error) {
    auto written = co_await std::move(write);
    if (!written) {
        *error = run->error;
    }
    co_return written;
}

Task<void> SourceRunner::ReadAheadInto(
    RunContext* run,
    const ResourceSpec* resource,
    ReadAhead read,
    Pages* ahead
) {
    // One page, or as many as make a batch of read.gather_bytes or max_batch_rows rows (the
    // first always).
    PagePosition at = read.from;
    std::size_t bytes = 0;
    std::size_t rows = 0;
    while (true) {
        auto task = fetcher_.Fetch(run, resource, read.context(at), at);
        auto fetched = co_await std::move(task);
        std::optional<PagePosition> following;
        std::size_t page_bytes = 0;
        std::size_t page_rows = 0;
        if (fetched) {
            Preflatten(*fetched, *resource);
            json::value* found = nullptr;
            if (!fetched->ignored) {
                auto selected = FindRecords(fetched->body, *resource);
                found = selected ? *selected : nullptr;
            }
            page_bytes = fetched->bytes;
            page_rows = RecordCount(found);
            if (fetched->rows && read.following) {
                following = read.following(at, *fetched, found);
            }
        }
        ahead->push_back(std::move(fetched));
        bytes += page_bytes;
        rows += page_rows;
        // Another page of the same size must still fit.
        if (!following || fetcher_.stopping() || bytes + page_bytes > read.gather_bytes ||
            rows + page_rows > settings_.max_batch_rows) {
            co_return;
        }
        at = *following;
    }
}

Task<SourceRunner::Changed> SourceRunner::WriteWhileReading(
    RunContext* run,
    const ResourceSpec* resource,
    Task<Changed> write,
    ReadAhead read,
    Pages* ahead
) {
    std::string write_error;
    // The next pages are read and flattened while the database writes.
    auto group = net::experimental::make_parallel_group(
        net::co_spawn(executor_, AwaitWrite(std::move(write), run, &write_error), net::deferred),
        net::co_spawn(
            executor_, ReadAheadInto(run, resource, std::move(read), ahead), net::deferred
        )
    );
    auto wait = group.async_wait(net::experimental::wait_for_all(), kUseAwaitable);
    auto [order, write_exception, written, read_exception] = co_await std::move(wait);
    (void)order;
    for (const auto& e : {write_exception, read_exception}) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    // The run fails for the write, not for a page it would have read next.
    if (!written) {
        run->error = std::move(write_error);
    }
    co_return std::move(written);
}

Task<SourceRunner::Changed> SourceRunner::CommitRows(
    RunContext* run,
    const ResourceSpec* resource,
    RowBatch rows,
    std::string checkpoint,
    bool want_changed_rows,
    ChildRows children
) {
    sink::PageCommit commit;
    commit.schema = settings_.name;
    commit.source = settings_.name;
    commit.resource = run->resource->name;
    commit.run_id = run->run_id;
    commit.checkpoint = std::move(checkpoint);
    // The resource each TableWrite is for, in order.
    std::vector<const ResourceSpec*> written_for;
    const auto add = [&](const ResourceSpec& r, RowBatch batch, bool want_changed) {
        if (batch.empty()) {
            return;
        }
        sink::TableWrite write;
        write.table = r.name;
        write.key_paths = r.primary_key;
        if (r.soft_delete) {
            write.seen_pass = run->checkpoint.pass;
            write.pass_began_empty = run->checkpoint.BeganEmpty(r.name);
        }
        write.want_changed_rows = want_changed;
        write.rows = std::move(batch);
        commit.tables.push_back(std::move(write));
        written_for.push_back(&r);
    };
    add(*resource, std::move(rows), want_changed_rows);
    for (auto& [child, batch] : children.tables) {
        add(*child, std::move(batch), false);
    }
    auto written = co_await sink_.CommitPage(std::move(commit));
    if (!written) {
        run->error = "database: " + written.error().message();
        co_return written.error();
    }
    std::vector<std::size_t> changed;
    for (std::size_t i = 0; i < written->tables.size() && i < written_for.size(); ++i) {
        const auto& t = written->tables[i];
        const auto& table = written_for[i]->name;
        run->report.rows_written += t.inserted + t.updated;
        run->report.rows_unchanged += t.unchanged;
        auto& counts = sink::CountsFor(run->report.tables, sink_.NameOf(settings_.name, table));
        counts.written += t.inserted + t.updated;
        counts.unchanged += t.unchanged;
        metrics_.Page(settings_.name, table, t.inserted + t.updated, t.unchanged);
        // Only the resource's own write asks for them.
        changed.insert(changed.end(), t.changed_rows.begin(), t.changed_rows.end());
        for (const auto& c : t.converted) {
            spdlog::info(
                "converted a column to its declared type source={} table={} column={} from=\"{}\" "
                "to=\"{}\"",
                settings_.name,
                table,
                c.column,
                c.from,
                c.to
            );
        }
    }
    co_return changed;
}

Task<void> SourceRunner::FlushGathered(
    RunContext* run,
    const ResourceSpec* resource,
    RowBatch rows,
    ChildRows children,
    std::string checkpoint
) {
    // The failure being reported stays the run's error; should this write fail too, its
    // pages are read again by the next run.
    const std::string error = run->error;
    auto task = CommitRows(
        run, resource, std::move(rows), std::move(checkpoint), false, std::move(children)
    );
    auto written = co_await std::move(task);
    if (!written) {
        spdlog::warn(
            "could not write the pages read before a failure source={} resource={} error=\"{}\"",
            settings_.name,
            resource->name,
            redactor_.Redact(run->error)
        );
    }
    run->error = error;
}

}  // namespace chatsync::connectors
