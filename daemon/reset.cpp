#include <cstdio>

#include "daemon/commands.hpp"

namespace chatsync::daemon {

int Reset(App& app, const Arguments& args) {
    if (!args.source) {
        return kExitUsage;  // ParseArguments refuses `reset` without --source.
    }
    const auto* source = app.config().FindSource(*args.source);
    if (source == nullptr) {
        std::fprintf(stderr, "chatsyncd: no source named '%s'\n", args.source->c_str());
        return kExitUsage;
    }
    if (args.resource && source->connector.FindResource(*args.resource) == nullptr) {
        std::fprintf(
            stderr,
            "chatsyncd: source '%s' has no resource '%s'\n",
            args.source->c_str(),
            args.resource->c_str()
        );
        return kExitUsage;
    }
    if (const int rc = app.OpenDatabase(); rc != kExitOk) {
        return rc;
    }
    auto& db = app.db();
    const auto reset = app.Await(db.ResetState(*args.source, args.resource.value_or("")));
    if (!reset) {
        std::fprintf(stderr, "chatsyncd: reset failed: %s\n", reset.error().message().c_str());
        return kExitUnavailable;
    }
    std::printf(
        "reset %lld resource(s) of source %s: the next run re-syncs in full\n",
        static_cast<long long>(*reset),
        args.source->c_str()
    );
    return kExitOk;
}

}  // namespace chatsync::daemon
