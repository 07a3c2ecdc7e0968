// The records of the executions.* methods and of execution events, as the
// socket writes them (docs/ipc.md, "Executions"). Results nest their
// record under a key named for it, as `state` does; mutating ops answer a
// `command_result` whose `result` carries the seed's `status`.
//
//   std::string line = sup::ipc::response_line(id, "execution", target, [&](JsonWriter& w) {
//     w.key("execution");
//     sup::ipc::write_execution_view(w, view);
//   });
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "executions/execution_types.hpp"
#include "json/json_writer.hpp"
#include "sup/state.hpp"

namespace sup::ipc {

void write_execution_info(JsonWriter& w, const executions::ExecutionInfo& info);
void write_execution_view(JsonWriter& w, const executions::ExecutionView& view);
void write_node_output(JsonWriter& w, const executions::NodeOutput& output);

// The seed's ControlCommandResult shape: {command_id, target_id, accepted,
// status: accepted|rejected|completed|failed, completed_at_unix_nanos,
// reason?} plus our execution fields.
struct ExecutionCommandOutcome {
  std::string_view command_id;
  std::string_view status;  // accepted | rejected | completed | failed
  std::string_view execution_id;
  std::string_view state;   // the execution's state after it (may be empty)
  std::string_view reason;  // why not, or what happened
  bool existing = false;    // submit: the id named an earlier execution
};
void write_execution_command_result(JsonWriter& w, const ExecutionCommandOutcome& outcome,
                                    std::string_view target_id,
                                    std::int64_t completed_at_unix_nanos);

// The event published for a committed transition: event_type
// "execution_state_changed" or "node_state_changed", target_path
// "executions/<id>[/<node>]", payload {execution_id, node_id?, from_state,
// to_state, attempt?, reason}. Sequence and time are the event journal's.
Event execution_event(const executions::TransitionEvent& transition);

}  // namespace sup::ipc
