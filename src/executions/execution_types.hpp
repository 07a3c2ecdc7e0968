// The plain values the execution service takes and answers: what the IPC
// and HTTP layers encode, without the service's dependencies (store,
// processes, threads).
//
//   sup::executions::SubmitRequest request{.spec = text, .execution_id = "deploy-42"};
//   sup::executions::ControlAck ack{.state = "PAUSED", .changed = true};
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sup::executions {

// One committed transition, of the execution (node_id empty) or of a node.
struct TransitionEvent {
  std::string execution_id{};
  std::string node_id{};
  std::string from_state{};
  std::string to_state{};
  std::uint32_t attempt = 0;  // node transitions from RUNNING on
  std::string reason{};
};

struct SubmitRequest {
  std::string spec{};  // the DAG spec, JSON text (docs/dag.md)
  // Override the spec's params (merged key by key).
  nlohmann::json params = nlohmann::json::object();
  // Client-chosen id: a repeated submission returns the first execution.
  // Empty: one is generated.
  std::string execution_id{};
};

struct SubmitAck {
  std::string execution_id{};
  // The id was submitted before: this is that execution, nothing started.
  bool existing = false;
};

// Why an execution is listed as STUCK (docs/dag.md, "Stuck executions").
// X(enumerator, "name"): the one vocabulary, spelled once.
#define SUP_STUCK_REASONS(X)                            \
  X(QueuedTooLong, "queued_too_long")                   \
  X(RunningWithoutProgress, "running_without_progress") \
  X(OwnerProcessDead, "owner_process_dead")             \
  X(BreakerOpen, "breaker_open")                        \
  X(Maintenance, "maintenance")

#define SUP_STUCK_ENUMERATOR(name, text) name,
enum class StuckReason : std::uint8_t { SUP_STUCK_REASONS(SUP_STUCK_ENUMERATOR) };
#undef SUP_STUCK_ENUMERATOR

// Inline: the socket's encoding names reasons without linking the service.
#define SUP_STUCK_NAME(name, text) text,
inline constexpr std::string_view kStuckReasonNames[] = {SUP_STUCK_REASONS(SUP_STUCK_NAME)};
#undef SUP_STUCK_NAME

inline std::string_view to_string(StuckReason reason) {
  auto index = static_cast<std::size_t>(reason);
  return index < std::size(kStuckReasonNames) ? kStuckReasonNames[index]
                                              : std::string_view("unknown");
}

inline std::optional<StuckReason> stuck_reason_from_string(std::string_view text) {
  for (std::size_t i = 0; i < std::size(kStuckReasonNames); ++i)
    if (kStuckReasonNames[i] == text) return static_cast<StuckReason>(i);
  return std::nullopt;
}

// STUCK is derived, never stored: what an execution's committed records
// and the time say (assess_stuck in executions/stuck.hpp).
struct StuckFinding {
  StuckReason reason = StuckReason::RunningWithoutProgress;
  std::string detail{};       // what the operator looks at ("node b past its timeout ...")
  std::int64_t since_ns = 0;  // Unix ns of the transition it has been waiting since
};

// The state name a listing filter uses for stuck executions.
inline constexpr std::string_view kStuckListing = "STUCK";

struct ExecutionInfo {
  std::string execution_id{};
  std::string state{};  // PENDING, RUNNING, ... (as last committed)
  bool finished = false;
  std::int64_t created_at_ns = 0;  // Unix ns
  std::int64_t updated_at_ns = 0;
  std::optional<StuckFinding> stuck{};  // unfinished executions only
};

// Maintenance mode: new submissions are committed and queued, not started,
// until it is off; running executions continue. Persisted in the store.
struct MaintenanceMode {
  bool enabled = false;
  std::string reason{};
  std::string requested_by{};
  std::int64_t changed_at_ns = 0;  // Unix ns of the last change (0: never changed)
};

struct MaintenanceChange {
  bool enabled = false;
  std::string reason{};
  std::string requested_by{};
};

struct MaintenanceAck {
  MaintenanceMode mode{};  // as committed
  bool changed = false;    // false: it already was so (nothing written)
  // Turned off: the queued executions that started.
  std::vector<std::string> started{};
};

// resume-all: what was done to each stuck execution.
struct ResumeOutcome {
  std::string execution_id{};
  StuckReason reason = StuckReason::RunningWithoutProgress;
  bool resumed = false;  // rebuilt from its records and running again
  std::string detail{};  // what was done, or why not
};

struct ResumeAllAck {
  std::vector<ResumeOutcome> executions{};  // every execution that was stuck
  std::size_t resumed() const {
    std::size_t count = 0;
    for (const ResumeOutcome& outcome : executions) count += outcome.resumed ? 1 : 0;
    return count;
  }
};

// retry --from: re-run a node and its descendants.
struct RetryRequest {
  std::string execution_id{};
  std::string from_node{};
  std::string reason{};
};

struct RetryAck {
  std::string state{};               // the execution's state afterwards
  std::vector<std::string> nodes{};  // reset to run again (topological order)
};

enum class ControlAction : std::uint8_t { Pause, Resume, Cancel };
std::string_view to_string(ControlAction action);  // "pause", "resume", "cancel"

struct ControlAck {
  std::string state{};   // the execution's state afterwards
  bool changed = false;  // false: nothing to do (already paused, finished, ...)
  std::string reason{};  // why not, when unchanged
};

struct ListFilter {
  std::optional<std::string> state{};  // exact state name (PENDING, RUNNING, ...)
  std::size_t limit = 0;               // 0: all
};

struct OutputLine {
  std::uint32_t attempt = 0;
  bool stderr_stream = false;
  std::string text{};
};

struct NodeOutput {
  std::vector<OutputLine> lines{};  // oldest first, over every attempt
  bool truncated = false;           // older lines (or an attempt's excess) left out
};

// Captured output kept per attempt (beyond it the attempt's lines are
// counted, not kept).
inline constexpr std::size_t kMaxAttemptOutputBytes = 1u << 20;

struct NodeView {
  std::string node_id{};
  std::string state = "PENDING";
  std::uint32_t attempt = 0;       // the latest attempt (0: never started)
  std::string reason{};            // of its latest transition
  std::string result{};            // JSON text published with COMPLETED; empty if none
  std::int64_t updated_at_ns = 0;  // Unix ns of its latest transition (0: none)
  std::uint64_t timeout_ms = 0;    // the spec's (0: none)
  std::vector<std::string> deps{};  // the spec's: the graph's edges into this node
};

struct ExecutionView {
  std::string execution_id{};
  std::string name{};  // the spec's `name` (may be empty)
  std::string state = "PENDING";
  bool finished = false;
  std::string reason{};  // of the execution's latest transition
  std::int64_t submitted_at_ns = 0;
  std::int64_t updated_at_ns = 0;
  std::uint64_t records = 0;
  std::vector<NodeView> nodes{};  // in spec order
  std::optional<StuckFinding> stuck{};
};

}  // namespace sup::executions
