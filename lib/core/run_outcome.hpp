#pragma once

#include <iosfwd>
#include <optional>
#include <string_view>

/// @file
/// How a run of a resource ended: the values of chatsync.runs.outcome and
/// resource_state.last_outcome, and what `once` and `status` print.

namespace chatsync {

/// How one run of a resource ended (or, for kRunning, that it has not ended yet).
enum class RunOutcome {
    /// The run has begun and not finished: the run log's value until FinishRun.
    kRunning,
    /// Every page was fetched and committed.
    kSuccess,
    /// A fetch, a write or a guard failed; the checkpoint stays for the next run.
    kFailed,
    /// The daemon was shutting down; the checkpoint stays for the next run.
    kCancelled,
    /// A later process found the run still running: its process ended without finishing it.
    kInterrupted,
    /// The source is held after a refusal of its credentials or account; nothing was sent.
    kHeld,
    /// A latch stops the source until an operator clears it; nothing was sent.
    kLatched,
    /// Another process is running the resource; this run left it alone.
    kSkipped,
    /// The resource's min_interval has not passed since its last call; nothing was sent.
    /// Reported only, never stored.
    kNotDue,
};

/// The outcome's name, as stored in PostgreSQL and printed ("success", "not_due"...). The view
/// is of a string literal, so its data() is NUL-terminated (fit for printf's %s).
std::string_view OutcomeName(RunOutcome outcome) noexcept;

/// The outcome a stored or printed name stands for; nullopt for any other text.
std::optional<RunOutcome> ParseOutcome(std::string_view name) noexcept;

/// Prints OutcomeName (for test failure messages and logs written through streams).
std::ostream& operator<<(std::ostream& os, RunOutcome outcome);

}  // namespace chatsync
