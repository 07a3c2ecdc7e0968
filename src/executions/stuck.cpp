#include "executions/stuck.hpp"

namespace sup::executions {
namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;

std::string millis(std::int64_t nanos) {
  return std::to_string(nanos / kNanosPerMilli) + " ms";
}

bool any_node_in(const ExecutionView& view, std::string_view state) {
  for (const NodeView& node : view.nodes)
    if (node.state == state) return true;
  return false;
}

// A RUNNING node past its timeout and the stop grace: the engine sent
// SIGTERM, then SIGKILL, and the attempt still did not end.
std::optional<StuckFinding> node_past_timeout(const ExecutionView& view, std::int64_t now_ns,
                                              const StuckPolicy& policy) {
  for (const NodeView& node : view.nodes) {
    if (node.state != "RUNNING" || node.timeout_ms == 0 || node.updated_at_ns == 0) continue;
    std::int64_t limit =
        static_cast<std::int64_t>(node.timeout_ms + policy.stop_grace_ms) * kNanosPerMilli;
    std::int64_t running = now_ns - node.updated_at_ns;
    if (running <= limit) continue;
    return StuckFinding{StuckReason::RunningWithoutProgress,
                        "node " + node.node_id + " has run " + millis(running) +
                            ", past its timeout of " + std::to_string(node.timeout_ms) +
                            " ms and the stop grace: its process did not die",
                        node.updated_at_ns};
  }
  return std::nullopt;
}

}  // namespace

std::optional<StuckFinding> assess_stuck(const ExecutionView& view, std::int64_t now_ns,
                                         const StuckPolicy& policy) {
  if (view.finished || view.state == "PAUSED") return std::nullopt;
  if (auto past = node_past_timeout(view, now_ns, policy)) return past;
  if (policy.stuck_after_ms == 0) return std::nullopt;
  std::int64_t idle = now_ns - view.updated_at_ns;
  if (idle <= static_cast<std::int64_t>(policy.stuck_after_ms) * kNanosPerMilli)
    return std::nullopt;
  std::string quiet = "no transition for " + millis(idle) + " (executions.stuck_after_ms " +
                      std::to_string(policy.stuck_after_ms) + ")";
  if (view.state == "PENDING") {
    if (policy.maintenance)
      return StuckFinding{StuckReason::Maintenance,
                          quiet + ": queued until maintenance mode is off", view.updated_at_ns};
    return StuckFinding{StuckReason::QueuedTooLong, quiet + ": submitted, never started",
                        view.updated_at_ns};
  }
  if (!any_node_in(view, "RUNNING") && !any_node_in(view, "RETRY_WAIT") &&
      any_node_in(view, "READY"))
    return StuckFinding{StuckReason::QueuedTooLong,
                        quiet +
                            ": nodes are READY and none runs (waiting for a slot of "
                            "executions.max_parallel_nodes)",
                        view.updated_at_ns};
  return StuckFinding{StuckReason::RunningWithoutProgress, quiet + " while " + view.state,
                      view.updated_at_ns};
}

}  // namespace sup::executions
