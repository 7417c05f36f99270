#include "connectors/runner.hpp"

#include <chrono>

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "connectors/cursor.hpp"
#include "connectors/error_rules.hpp"
#include "connectors/listing.hpp"
#include "connectors/page.hpp"
#include "connectors/partition.hpp"
#include "connectors/request_builder.hpp"
#include "connectors/run_context.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "metrics/metrics.hpp"
#include "sink/sink.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

/// The time now, as a cursor would hold it.
SysTime Now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()
    );
}

}  // namespace

SourceRunner::SourceRunner(
    Executor executor,
    SourceSettings settings,
    sink::Sink& sink,
    metrics::Metrics& metrics,
    const Redactor& redactor
)
    : executor_(std::move(executor))
    , settings_(std::move(settings))
    , sink_(sink)
    , metrics_(metrics)
    , redactor_(redactor)
    , fetcher_(executor_, settings_, sink, metrics, redactor) {
    // The fetcher classifies responses with these rules: their messages name this source.
    BindSource(settings_.spec, settings_.name);
    // start_param and end_param are shorthands for query templates.
    for (auto& resource : settings_.spec.resources) {
        if (!resource.incremental) {
            continue;
        }
        if (!resource.incremental->start_param.empty()) {
            resource.request.query.emplace_back(
                resource.incremental->start_param, "{{ cursor.start }}"
            );
        }
        if (!resource.incremental->end_param.empty()) {
            resource.request.query.emplace_back(
                resource.incremental->end_param, "{{ cursor.end }}"
            );
        }
    }
    // Every config value the redactor treats as a secret, and every one the spec declares
    // secret, is kept out of checkpoints by name.
    for (const auto& [key, value] : settings_.values) {
        if (const auto* text = value.if_string()) {
            const auto param = settings_.spec.params.find(std::string(key));
            const bool declared = param != settings_.spec.params.end() && param->second.secret;
            if (declared || redactor_.Redact(*text) != std::string_view(*text)) {
                secrets_.Add("config." + std::string(key), std::string(*text));
            }
        }
    }
}

SourceRunner::~SourceRunner() = default;

void SourceRunner::RequestStop() {
    fetcher_.RequestStop();
}

std::string SourceRunner::Encode(const Checkpoint& checkpoint) const {
    auto text = checkpoint.Encode(secrets_);
    // A secret the templates do not know (a sign-in token in a next URL, say) is masked: the
    // position is then unusable, and a resumed run starts its listing again.
    return redactor_.Redact(text);
}

json::object SourceRunner::PageContext(const RunContext& run, const PagePosition& at) const {
    const auto& resource = *run.resource;
    json::object ctx;
    ctx["config"] = settings_.values;
    ctx["cursor"] = run.cursor;
    if (const auto& inc = resource.incremental; inc && !at.keyset.empty()) {
        if (const auto from = ParseCursorText(at.keyset, inc->format, inc->format_pattern)) {
            ctx["cursor"].as_object()["start"] =
                FormatCursor(*from, inc->format, inc->format_pattern);
        }
    }
    ctx["page"] = connectors::PageContext(resource.pagination, at);
    if (resource.partition && !run.checkpoint.partitions.empty()) {
        ctx["partition"] = PartitionContext(
            *resource.partition, Partition::FromJson(run.checkpoint.partitions.front())
        );
    }
    return ctx;
}

std::optional<PagePosition> SourceRunner::Following(
    const RunContext& run,
    const ListingGuard& guard,
    const PagePosition& at,
    const FetchedPage& page,
    const json::value* found
) const {
    const auto& resource = *run.resource;
    const auto count = detail::RecordCount(found);
    auto next = NextPosition(resource.pagination, at, &page.body, page.response, count, page.url);
    std::optional<std::string> first;
    std::optional<std::string> last;
    const auto& inc = resource.incremental;
    if (inc && inc->keyset && found != nullptr && found->is_array() &&
        !found->get_array().empty()) {
        const auto read = [&](const json::value& record) -> std::optional<std::string> {
            const auto c = RecordCursor(*inc, record);
            return c ? std::optional(c->Canonical()) : std::nullopt;
        };
        first = read(found->get_array().front());
        last = read(found->get_array().back());
    }
    return guard.Follow(std::move(next), count, first, last);
}

Task<RunReport> SourceRunner::Run(std::string resource_name) {
    RunContext run;
    run.report.source = settings_.name;
    run.report.resource = resource_name;
    run.resource = settings_.spec.FindResource(resource_name);
    const auto& source = settings_.name;
    run.resource_name = resource_name;

    if (run.resource == nullptr) {
        run.error = "unknown resource";
        run.Fail(Errc::kUpstreamBadPayload, RunOutcome::kFailed);
        co_return Abort(run);
    }
    const auto& resource = *run.resource;

    const auto latches_stored = fetcher_.LatchesStored();
    auto latch = co_await sink_.GetLatch(source);
    if (!latch) {
        run.error = "database: " + latch.error().message();
        run.Fail(latch.error(), RunOutcome::kFailed);
        co_return Abort(run);
    }
    if (const auto& held = *latch) {
        run.error = "source is latched since a previous error: " + held->reason;
        metrics_.Latched(source, true);
        run.Fail(Errc::kUpstreamLatched, RunOutcome::kLatched);
        co_return co_await RecordAndAbort(&run);
    }
    fetcher_.LatchClearedInDatabase(latches_stored);
    if (fetcher_.LatchedMeanwhile(run)) {
        metrics_.Latched(source, true);
        run.Fail(Errc::kUpstreamLatched, RunOutcome::kLatched);
        co_return co_await RecordAndAbort(&run);
    }
    if (fetcher_.HeldMeanwhile(run)) {
        run.Fail(Errc::kSourceHeld, RunOutcome::kHeld);
        co_return co_await RecordAndAbort(&run);
    }
    if (resource.min_interval.count() > 0) {
        auto claim = co_await sink_.ClaimInterval(source, resource_name, resource.min_interval);
        if (!claim) {
            run.error = "database: " + claim.error().message();
            run.Fail(claim.error(), RunOutcome::kFailed);
            co_return Abort(run);
        }
        if (!claim->due) {
            const auto& last = claim->last;
            run.error =
                "not due: the API allows one call every " + FormatDuration(resource.min_interval) +
                ", and the last one was " +
                (last
                     ? FormatIso8601(std::chrono::time_point_cast<std::chrono::microseconds>(*last))
                     : std::string("moments ago"));
            run.report.outcome = RunOutcome::kNotDue;
            co_return Abort(run);
        }
    }
    auto state = co_await sink_.LoadState(source, resource_name);
    if (!state) {
        run.error = "database: " + state.error().message();
        run.Fail(state.error(), RunOutcome::kFailed);
        co_return Abort(run);
    }
    auto run_id = co_await sink_.BeginRun(source, resource_name);
    if (!run_id && run_id.error() == Errc::kResourceBusy) {
        // Another chatsyncd on this database is syncing it: not a failure of ours.
        run.error = run_id.error().message();
        run.Fail(run_id.error(), RunOutcome::kSkipped);
        co_return co_await RecordAndAbort(&run);
    }
    if (!run_id) {
        run.error = "database: " + run_id.error().message();
        run.Fail(run_id.error(), RunOutcome::kFailed);
        co_return Abort(run);
    }
    run.run_id = *run_id;
    metrics_.Running(source, resource_name, true);
    // Every table the run may write is in its report, with zeros when nothing came for it.
    run.report.tables.push_back({.name = sink_.NameOf(source, resource_name)});
    for (const auto* child : detail::ChildrenOf(settings_.spec, resource_name)) {
        sink::CountsFor(run.report.tables, sink_.NameOf(source, child->name));
    }

    // Where this run's requests leave from, checked against where the source's earlier runs
    // sent from (see EgressGuardSpec), and recorded with the run.
    if (const auto& guard = settings_.spec.egress_guard) {
        const auto& address = settings_.egress;
        auto claim = co_await sink_.ClaimEgress(source, address, guard->max_addresses, run.run_id);
        if (!claim) {
            run.error = "database: " + claim.error().message();
            run.Fail(claim.error(), RunOutcome::kFailed);
            co_return co_await Finish(&run, RunOutcome::kFailed);
        }
        if (claim->refused) {
            std::string used;
            for (const auto& a : claim->others) {
                used += (used.empty() ? "" : ", ") + a;
            }
            run.error = "egress guard: the source has sent from " + used + "; sending from " +
                        address + " too would exceed its " + std::to_string(guard->max_addresses) +
                        " addresses (the platform disables a token used from too many); retire "
                        "the old ones, then run 'chatsyncd breach clear --source " +
                        source + "'";
            run.Fail(Errc::kGuardRefused, RunOutcome::kFailed);
            co_return co_await Finish(&run, RunOutcome::kFailed);
        }
        if (!claim->previous.empty() && claim->previous != address) {
            spdlog::warn(
                "egress address changed source={} previous={} now={}",
                source,
                claim->previous,
                address
            );
            metrics_.EgressChange(source);
        }
    }

    auto& checkpoint = run.checkpoint;
    const auto& inc = resource.incremental;
    run.committed_cursor = state->cursor;
    bool migrated = false;
    std::optional<Checkpoint> stored;
    if (const auto& text = state->checkpoint) {
        stored = Checkpoint::Decode(*text, secrets_, &migrated);
    }
    if (stored) {
        checkpoint = std::move(*stored);
        run.report.resumed = true;
        run.last_record = checkpoint.last_record;
        if (inc && checkpoint.run_cursor) {
            run.run_cursor =
                ParseCursorText(*checkpoint.run_cursor, inc->format, inc->format_pattern);
        }
        spdlog::info(
            "resuming run source={} resource={} run_id={} from_page={}",
            source,
            resource_name,
            run.run_id,
            checkpoint.position ? checkpoint.position->pages : -1
        );
    } else {
        checkpoint.pass = run.run_id;
        checkpoint.started_at_us = Now().time_since_epoch().count();
        checkpoint.position = FirstPosition(resource.pagination);
        if (inc) {
            if (const auto start = WindowStart(*inc, state->cursor)) {
                checkpoint.window_start = start->Canonical();
            }
        }
        // The tables this pass lists in full that hold no row yet: nothing in them can be
        // missing from the listing, so the pass neither remembers their keys nor sweeps them.
        std::vector<const ResourceSpec*> listed;
        if (resource.soft_delete) {
            listed.push_back(&resource);
        }
        for (const auto* child : detail::ChildrenOf(settings_.spec, resource_name)) {
            if (child->soft_delete) {
                listed.push_back(child);
            }
        }
        if (!listed.empty()) {
            std::vector<sink::TableName> tables;
            tables.reserve(listed.size());
            for (const auto* r : listed) {
                tables.push_back(sink_.NameOf(source, r->name));
            }
            auto empty = co_await sink_.EmptyTables(std::move(tables));
            if (!empty) {
                run.error = "database: " + empty.error().message();
                run.Fail(empty.error(), RunOutcome::kFailed);
                co_return co_await Finish(&run, RunOutcome::kFailed);
            }
            for (std::size_t i = 0; i < listed.size() && i < empty->size(); ++i) {
                if ((*empty)[i]) {
                    checkpoint.began_empty.push_back(listed[i]->name);
                }
            }
        }
    }
    if (checkpoint.started_at_us == 0) {
        checkpoint.started_at_us = Now().time_since_epoch().count();
    }
    if (inc) {
        if (checkpoint.window_start) {
            if (const auto start =
                    ParseCursorText(*checkpoint.window_start, inc->format, inc->format_pattern)) {
                run.cursor["start"] = FormatCursor(*start, inc->format, inc->format_pattern);
            }
        }
        run.cursor["end"] = FormatCursor(
            CursorValue{true, checkpoint.StartedAt(), 0}, inc->format, inc->format_pattern
        );
    }
    if (migrated) {
        // An older checkpoint is written again at once: it may hold a secret in the clear.
        auto rewrite = CommitRows(&run, &resource, RowBatch{}, Encode(checkpoint));
        if (auto r = co_await std::move(rewrite); !r) {
            run.Fail(r.error(), RunOutcome::kFailed);
            co_return co_await Finish(&run, RunOutcome::kFailed);
        }
    }

    // Children left pending by an interrupted run come first.
    if (!checkpoint.pending.empty()) {
        ChildRows rows;
        auto fetch = FetchChildren(&run, checkpoint.pending, checkpoint, &rows);
        if (auto r = co_await std::move(fetch); !r) {
            run.Fail(r.error(), detail::OutcomeOf(r.error()));
            co_return co_await Finish(&run, run.report.outcome);
        }
        checkpoint.pending.clear();
        auto write =
            CommitRows(&run, &resource, RowBatch{}, Encode(checkpoint), false, std::move(rows));
        if (auto r = co_await std::move(write); !r) {
            run.Fail(r.error(), RunOutcome::kFailed);
            co_return co_await Finish(&run, RunOutcome::kFailed);
        }
    }
    co_return co_await ReadListing(&run);
}

}  // namespace chatsync::connectors
