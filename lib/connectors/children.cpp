#include <boost/json/array.hpp>

#include "connectors/page.hpp"
#include "connectors/request_builder.hpp"
#include "connectors/run_context.hpp"

namespace chatsync::connectors {

namespace json = boost::json;
using detail::ChildrenOf;
using detail::FindRecords;
using detail::RecordCount;
using detail::TakeRecords;

Task<Result<void>>
SourceRunner::RunChildren(RunContext& run, const json::array& parents, Checkpoint checkpoint) {
    const auto children = ChildrenOf(settings_.spec, run.resource->name);
    // The children see of each parent what a resumed run would see: what the checkpoint keeps.
    json::array pending = detail::ParentKeys(settings_.spec, run.resource->name, parents);
    while (!pending.empty()) {
        const auto parent = pending.front();
        pending.erase(pending.begin());
        for (const auto* child : children) {
            auto position = FirstPosition(child->pagination);
            while (true) {
                if (fetcher_.stopping()) {
                    co_return Errc::kCancelled;
                }
                json::object ctx;
                ctx["config"] = settings_.values;
                ctx["parent"] = parent;
                ctx["page"] = connectors::PageContext(child->pagination, position);
                auto fetched = co_await fetcher_.Fetch(run, *child, ctx, position);
                if (!fetched) {
                    co_return fetched.error();
                }
                json::value* found = nullptr;
                if (!fetched->ignored) {
                    auto selected = FindRecords(fetched->body, *child, run.error);
                    if (!selected) {
                        co_return selected.error();
                    }
                    found = *selected;
                }
                auto next = NextPosition(
                    child->pagination,
                    position,
                    &fetched->body,
                    fetched->response,
                    RecordCount(found),
                    fetched->url
                );
                json::array records = TakeRecords(found, *child);
                // The parent stays pending until its last child page commits, so a restart
                // fetches its children again (upserts make that harmless).
                checkpoint.pending = pending;
                checkpoint.pending.insert(checkpoint.pending.begin(), parent);
                const auto resume = Encode(checkpoint);
                if (!next && child == children.back()) {
                    checkpoint.pending = pending;
                }
                auto written =
                    co_await CommitRecords(run, *child, records, &parent, resume, Encode(checkpoint));
                if (!written) {
                    co_return written.error();
                }
                if (!next) {
                    break;
                }
                position = *next;
            }
        }
    }
    co_return Result<void>{};
}

}  // namespace chatsync::connectors
