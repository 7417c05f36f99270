#include <chrono>

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "connectors/page.hpp"
#include "connectors/run_context.hpp"
#include "metrics/metrics.hpp"
#include "sink/sink.hpp"

/// @file
/// How a run ends: the run log, the committed cursor, the soft-delete sweeps and the metrics.

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

}  // namespace

using detail::ChildrenOf;

Task<RunReport> SourceRunner::Finish(RunContext* run, RunOutcome outcome) {
    const auto& source = settings_.name;
    const auto& resource = *run->resource;
    const auto& inc = resource.incremental;
    run->report.outcome = outcome;
    run->report.error = redactor_.Redact(run->error);
    run->report.requests = run->requests;
    run->report.shifts = run->checkpoint.shifts;
    sink::RunEnd end;
    end.source = source;
    end.resource = resource.name;
    end.run_id = run->run_id;
    // The run log knows success, failed and cancelled; a run that a latch or a hold stopped
    // half-way failed, and its error says why.
    end.outcome = outcome == RunOutcome::kSuccess || outcome == RunOutcome::kCancelled
                      ? outcome
                      : RunOutcome::kFailed;
    end.pages = run->report.pages;
    end.rows_written = run->report.rows_written;
    end.rows_unchanged = run->report.rows_unchanged;
    end.tables = run->report.tables;
    end.error = run->report.error;
    end.schema = source;
    end.next_run_at =
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(resource.schedule.interval);
    if (outcome == RunOutcome::kSuccess) {
        std::optional<CursorValue> committed;
        if (inc && run->committed_cursor) {
            committed = ParseCursorText(*run->committed_cursor, inc->format, inc->format_pattern);
        }
        if (run->run_cursor && (!committed || *committed < *run->run_cursor)) {
            committed = run->run_cursor;
        }
        // A time cursor stops at the listing's start: a record updated while it was read may
        // have been read before the update, and the next run must read it again.
        const SysTime began = run->checkpoint.StartedAt();
        if (committed && committed->is_time && run->checkpoint.started_at_us > 0 &&
            began < committed->time) {
            committed->time = began;
        }
        // A listing not proven complete moves the cursor no further than where the proof ends.
        if (const auto& from = run->checkpoint.unverified_from; from && inc) {
            const auto limit = from->empty()
                                   ? std::nullopt
                                   : ParseCursorText(*from, inc->format, inc->format_pattern);
            std::optional<CursorValue> old;
            if (run->committed_cursor) {
                old = ParseCursorText(*run->committed_cursor, inc->format, inc->format_pattern);
            }
            if (!limit || (committed && *limit < *committed)) {
                committed = limit;
            }
            if (old && (!committed || *committed < *old)) {
                committed = old;
            }
        }
        if (run->last_record) {
            end.cursor = run->last_record;
            run->report.cursor = *run->last_record;
        }
        if (committed) {
            end.cursor = committed->Canonical();
            run->report.cursor = *end.cursor;
            if (committed->is_time) {
                metrics_.CursorLag(
                    source,
                    resource.name,
                    std::chrono::duration<double>(
                        std::chrono::system_clock::now() - committed->time
                    )
                        .count()
                );
            }
        }
        // Rows a listing did not return are deleted only when the listing is proven
        // complete; one that moved unseen may have skipped them.
        // A table that was empty when the pass began holds nothing the pass did not write.
        const bool complete = !run->checkpoint.unverified_from;
        const auto sweep = [&](const ResourceSpec& r) {
            if (r.soft_delete && complete && !run->checkpoint.BeganEmpty(r.name)) {
                end.sweeps.push_back({r.name, run->checkpoint.pass});
            }
        };
        sweep(resource);
        // Children listed for every parent (the parser allows soft delete only then) were
        // listed in full by this pass too.
        for (const auto* child : ChildrenOf(settings_.spec, resource.name)) {
            sweep(*child);
        }
        if (!complete && resource.soft_delete) {
            spdlog::warn(
                "listing not proven complete, deletions not swept source={} resource={}",
                source,
                resource.name
            );
        }
    }
    auto finished = co_await sink_.FinishRun(end);
    if (!finished) {
        run->error = "database: could not finish the run: " + finished.error().message();
        run->Fail(finished.error(), RunOutcome::kFailed);
        run->report.error = redactor_.Redact(run->error);
    } else {
        run->report.rows_deleted = finished->rows_deleted;
        for (const auto& swept : finished->swept) {
            sink::CountsFor(run->report.tables, swept.name).deleted += swept.deleted;
        }
        if (finished->rows_deleted > 0) {
            metrics_.RowsDeleted(source, resource.name, finished->rows_deleted);
        }
    }
    run->report.seconds = SecondsSince(run->started);
    metrics_.Running(source, resource.name, false);
    metrics_.Run(
        source,
        resource.name,
        run->report.outcome,
        run->report.seconds,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()
    );
    if (run->report.outcome != RunOutcome::kSuccess && run->report.outcome != RunOutcome::kHeld) {
        metrics_.Error(source, resource.name, run->report.error_kind);
    }
    co_return run->report;
}

RunReport SourceRunner::Abort(RunContext& run) {
    run.report.error = redactor_.Redact(run.error);
    run.report.requests = run.requests;
    run.report.seconds = SecondsSince(run.started);
    metrics_.Run(
        settings_.name,
        run.report.resource,
        run.report.outcome,
        run.report.seconds,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()
    );
    // A held run sent nothing: the refusal that started the hold was counted already. A run
    // not due yet is no error at all.
    if (run.report.outcome != RunOutcome::kHeld && run.report.outcome != RunOutcome::kNotDue) {
        metrics_.Error(settings_.name, run.report.resource, run.report.error_kind);
    }
    return run.report;
}

Task<RunReport> SourceRunner::RecordAndAbort(RunContext* run) {
    sink::RunEnd end;
    end.source = settings_.name;
    end.resource = run->report.resource;
    end.outcome = run->report.outcome;
    end.error = redactor_.Redact(run->error);
    if (run->resource != nullptr) {
        end.next_run_at = std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              run->resource->schedule.interval
                          );
    }
    auto recorded = co_await sink_.RecordRun(std::move(end));
    if (!recorded) {
        // The run's own outcome stands; only its row is missing. Said once, here.
        spdlog::warn(
            "run not recorded in the run log source={} resource={} outcome={} error=\"{}\"",
            settings_.name,
            run->report.resource,
            OutcomeName(run->report.outcome),
            recorded.error().message()
        );
    }
    co_return Abort(*run);
}

void SourceRunner::ExportScalar(const ResourceSpec& resource, const json::array& records) {
    if (records.empty() || !records.back().is_object()) {
        return;
    }
    const auto* v = records.back().get_object().if_contains(resource.scalar_field);
    if (v == nullptr) {
        return;
    }
    if (v->is_number()) {
        metrics_.StatusValue(settings_.name, resource.name, v->to_number<double>());
    } else if (v->is_bool()) {
        metrics_.StatusValue(settings_.name, resource.name, v->get_bool() ? 1.0 : 0.0);
    }
}

void SourceRunner::KeepOnlyAChange(RunContext& run, json::array& records) {
    if (records.empty()) {
        return;
    }
    json::value record = records.back();
    const auto now = json::serialize(record);
    // The last change written: by an earlier run (the cursor), or by this run's own page
    // when a crash came between that page and the end of the run (the checkpoint).
    std::optional<std::string> last = run.committed_cursor;
    if (run.checkpoint.last_record) {
        last = run.checkpoint.last_record;
    }
    run.last_record = now;
    if (last && *last == now) {
        records.clear();
        ++run.report.rows_unchanged;
        ++sink::CountsFor(run.report.tables, sink_.NameOf(settings_.name, run.resource->name))
              .unchanged;
        return;
    }
    run.checkpoint.last_record = now;
    const SysTime began = run.checkpoint.StartedAt();
    record.as_object()["changed_at"] =
        FormatCursor(CursorValue{true, began, 0}, CursorFormat::kIso8601, "");
    records = json::array{std::move(record)};
}

}  // namespace chatsync::connectors
