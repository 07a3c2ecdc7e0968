#include "ipc/execution_encoding.hpp"

namespace sup::ipc {
namespace {

// A published result is JSON text the service checked when it stored it;
// it is written as the value itself, not as a string.
void write_result(JsonWriter& w, const std::string& result) {
  w.key("result");
  if (result.empty()) {
    w.null();
    return;
  }
  auto value = nlohmann::json::parse(result, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    w.value(result);
  } else {
    w.raw(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

bool is_failure(std::string_view state) {
  return state == "FAILED" || state == "CANCELLED" || state == "COMPENSATION_FAILED";
}

}  // namespace

void write_execution_info(JsonWriter& w, const executions::ExecutionInfo& info) {
  w.begin_object()
      .field("execution_id", info.execution_id)
      .field("state", info.state)
      .field("finished", info.finished)
      .field("created_at_unix_nanos", info.created_at_ns)
      .field("updated_at_unix_nanos", info.updated_at_ns)
      .end_object();
}

void write_execution_view(JsonWriter& w, const executions::ExecutionView& view) {
  w.begin_object()
      .field("execution_id", view.execution_id)
      .field("name", view.name)
      .field("state", view.state)
      .field("finished", view.finished)
      .field("reason", view.reason)
      .field("submitted_at_unix_nanos", view.submitted_at_ns)
      .field("updated_at_unix_nanos", view.updated_at_ns)
      .field("records", view.records);
  w.key("nodes").begin_array();
  for (const executions::NodeView& node : view.nodes) {
    w.begin_object()
        .field("node_id", node.node_id)
        .field("state", node.state)
        .field("attempt", node.attempt)
        .field("reason", node.reason);
    write_result(w, node.result);
    w.field("updated_at_unix_nanos", node.updated_at_ns).end_object();
  }
  w.end_array().end_object();
}

void write_node_output(JsonWriter& w, const executions::NodeOutput& output) {
  w.key("lines").begin_array();
  for (const executions::OutputLine& line : output.lines) {
    w.begin_object()
        .field("attempt", line.attempt)
        .field("stream", line.stderr_stream ? "stderr" : "stdout")
        .field("text", line.text)
        .end_object();
  }
  w.end_array().field("truncated", output.truncated);
}

void write_execution_command_result(JsonWriter& w, const ExecutionCommandOutcome& outcome,
                                    std::string_view target_id,
                                    std::int64_t completed_at_unix_nanos) {
  bool accepted = outcome.status == "accepted" || outcome.status == "completed";
  w.key("result")
      .begin_object()
      .field("command_id", outcome.command_id)
      .field("target_id", target_id)
      .field("accepted", accepted)
      .field("status", outcome.status)
      .field("completed_at_unix_nanos", completed_at_unix_nanos)
      .field("execution_id", outcome.execution_id);
  if (!outcome.state.empty()) w.field("state", outcome.state);
  if (!outcome.reason.empty()) w.field("reason", outcome.reason);
  w.field("existing", outcome.existing).end_object();
}

Event execution_event(const executions::TransitionEvent& transition) {
  Event event;
  bool node = !transition.node_id.empty();
  event.event_type = node ? "node_state_changed" : "execution_state_changed";
  event.severity = is_failure(transition.to_state) ? "warning" : "info";
  event.target_path = "executions/" + transition.execution_id;
  if (node) event.target_path += "/" + transition.node_id;
  event.payload["execution_id"] = transition.execution_id;
  if (node) {
    event.payload["node_id"] = transition.node_id;
    event.payload["attempt"] = std::to_string(transition.attempt);
  }
  event.payload["from_state"] = transition.from_state;
  event.payload["to_state"] = transition.to_state;
  event.payload["reason"] = transition.reason;
  return event;
}

}  // namespace sup::ipc
