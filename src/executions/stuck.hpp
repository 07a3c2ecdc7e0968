// Whether an unfinished execution is stuck, and why: a pure reading of its
// committed records (fold_history's view) at a given time. STUCK is a
// listing status, never a stored state: nothing is written as time passes,
// the transition table stays the engine's, and a restarted daemon sees the
// same thing the old one did.
//
//   StuckPolicy policy{.stuck_after_ms = 600'000, .stop_grace_ms = 2000};
//   auto finding = assess_stuck(view, unix_now_nanos(), policy);
//   // finding->reason == StuckReason::RunningWithoutProgress
#pragma once

#include <cstdint>
#include <optional>

#include "executions/execution_types.hpp"

namespace sup::executions {

struct StuckPolicy {
  // No transition for longer than this (executions.stuck_after_ms); 0: the
  // idle rule is off (the node timeout rule still holds).
  std::uint64_t stuck_after_ms = 600'000;
  // Between SIGTERM and SIGKILL of a timed-out node: beyond its timeout
  // plus this, a node still RUNNING has a process that did not die.
  std::uint64_t stop_grace_ms = 2000;
  // Maintenance mode is on: queued executions wait for it.
  bool maintenance = false;
};

// Empty for a finished or PAUSED execution (an operator's pause is not
// stuck), and for one that moved within the policy's limits.
std::optional<StuckFinding> assess_stuck(const ExecutionView& view, std::int64_t now_ns,
                                         const StuckPolicy& policy);

}  // namespace sup::executions
