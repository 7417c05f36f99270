#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "connectors/checkpoint.hpp"
#include "connectors/cursor.hpp"
#include "connectors/fetcher.hpp"
#include "connectors/runner.hpp"
#include "core/error.hpp"

/// @file
/// The state of one run of a resource, shared by the runner's files.

namespace chatsync::connectors {

struct SourceRunner::RunContext : FetchNotes {
    const ResourceSpec* resource = nullptr;
    std::string run_id;
    RunReport report;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    /// The cursor committed before this run.
    std::optional<std::string> committed_cursor;
    /// The largest cursor value seen by this run (and the runs it resumed).
    std::optional<CursorValue> run_cursor;
    /// Where the listing stands; committed with every page.
    Checkpoint checkpoint;
    /// The template context's `cursor` object: the window's start and end.
    boost::json::object cursor;
    /// For changes_only resources: the record this run read, serialized, to be committed
    /// as the resource's cursor.
    std::optional<std::string> last_record;

    void Fail(boost::system::error_code ec, RunOutcome outcome) {
        report.outcome = outcome;
        report.error_kind = ErrorKind(ec);
        if (error.empty()) {
            error = ec.message();
        }
    }
};

}  // namespace chatsync::connectors
