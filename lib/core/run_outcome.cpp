#include "core/run_outcome.hpp"

#include <array>
#include <ostream>
#include <utility>

namespace chatsync {

namespace {

// The one name table: OutcomeName and ParseOutcome both read it, so the two cannot disagree.
constexpr std::array<std::pair<RunOutcome, std::string_view>, 9> kNames{{
    {RunOutcome::kRunning, "running"},
    {RunOutcome::kSuccess, "success"},
    {RunOutcome::kFailed, "failed"},
    {RunOutcome::kCancelled, "cancelled"},
    {RunOutcome::kInterrupted, "interrupted"},
    {RunOutcome::kHeld, "held"},
    {RunOutcome::kLatched, "latched"},
    {RunOutcome::kSkipped, "skipped"},
    {RunOutcome::kNotDue, "not_due"},
}};

}  // namespace

std::string_view OutcomeName(RunOutcome outcome) noexcept {
    for (const auto& entry : kNames) {
        if (entry.first == outcome) {
            return entry.second;
        }
    }
    return "unknown";
}

std::optional<RunOutcome> ParseOutcome(std::string_view name) noexcept {
    for (const auto& entry : kNames) {
        if (entry.second == name) {
            return entry.first;
        }
    }
    return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, RunOutcome outcome) {
    return os << OutcomeName(outcome);
}

}  // namespace chatsync
