#include "ipc/execution_encoding.hpp"

namespace sup::ipc {

std::optional<wire::ExecutionStuck> to_wire(const std::optional<executions::StuckFinding>& stuck) {
  if (!stuck) return std::nullopt;
  return wire::ExecutionStuck{std::string(executions::to_string(stuck->reason)), stuck->detail,
                              stuck->since_ns};
}

wire::MaintenanceMode to_wire(const executions::MaintenanceMode& mode) {
  return {mode.enabled, mode.reason, mode.requested_by, mode.changed_at_ns};
}

wire::ExecutionSummary to_wire(const executions::ExecutionInfo& info) {
  return {info.execution_id,  info.state,         info.finished,
          info.created_at_ns, info.updated_at_ns, to_wire(info.stuck)};
}

wire::Execution to_wire(const executions::ExecutionView& view) {
  wire::Execution out{view.execution_id,  view.name,    view.state,
                      view.finished,      view.reason,  view.submitted_at_ns,
                      view.updated_at_ns, view.records, {},
                      to_wire(view.stuck)};
  out.nodes.reserve(view.nodes.size());
  for (const executions::NodeView& node : view.nodes)
    out.nodes.push_back({node.node_id, node.state, node.attempt, node.reason, node.result,
                         node.updated_at_ns, node.deps});
  return out;
}

wire::ExecutionLogs to_wire(std::string_view execution_id, std::string_view node_id,
                            const executions::NodeOutput& output) {
  wire::ExecutionLogs out{std::string(execution_id), std::string(node_id), {}, output.truncated};
  out.lines.reserve(output.lines.size());
  for (const executions::OutputLine& line : output.lines)
    out.lines.push_back({line.attempt, line.stderr_stream ? "stderr" : "stdout", line.text});
  return out;
}

wire::CommandResult to_wire(const ExecutionCommandOutcome& outcome, std::string_view target_id,
                            std::int64_t completed_at_unix_nanos) {
  wire::CommandResult out;
  out.command_id = outcome.command_id;
  out.target_id = target_id;
  out.accepted = outcome.status == "accepted" || outcome.status == "completed";
  out.status = outcome.status;
  out.completed_at_unix_nanos = completed_at_unix_nanos;
  out.reason = outcome.reason;
  out.execution = wire::ExecutionOutcome{std::string(outcome.execution_id),
                                         std::string(outcome.state), outcome.existing};
  return out;
}

Event execution_event(const executions::TransitionEvent& transition) {
  wire::EventRecord record =
      wire::transition_event({transition.execution_id, transition.node_id, transition.from_state,
                              transition.to_state, transition.attempt, transition.reason});
  Event event;
  event.event_type = std::move(record.event_type);
  event.severity = std::move(record.severity);
  event.target_path = std::move(record.target_path);
  for (auto& [key, value] : record.payload) event.payload[key] = std::move(value);
  return event;
}

}  // namespace sup::ipc
