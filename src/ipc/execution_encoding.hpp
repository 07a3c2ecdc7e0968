// The executions.* answers and execution events, mapped onto the wire
// records (wire/execution_records.hpp, docs/ipc.md "Executions"): results
// nest their record under a key named for it, as `state` does; mutating
// ops answer a `command_result` whose `result` is the seed's
// ControlCommandResult with the execution beside it.
//
//   std::string line = sup::ipc::response_line(id, "execution", target, [&](JsonWriter& w) {
//     w.key("execution");
//     sup::wire::write(w, sup::ipc::to_wire(view));
//   });
#pragma once

#include <cstdint>
#include <string_view>

#include "executions/execution_types.hpp"
#include "sup/state.hpp"
#include "wire/execution_records.hpp"

namespace sup::ipc {

wire::ExecutionSummary to_wire(const executions::ExecutionInfo& info);
wire::Execution to_wire(const executions::ExecutionView& view);
wire::ExecutionLogs to_wire(std::string_view execution_id, std::string_view node_id,
                            const executions::NodeOutput& output);
wire::MaintenanceMode to_wire(const executions::MaintenanceMode& mode);
std::optional<wire::ExecutionStuck> to_wire(const std::optional<executions::StuckFinding>& stuck);

// What an executions.* command did, for its ControlCommandResult.
struct ExecutionCommandOutcome {
  std::string_view command_id{};
  std::string_view status{};  // accepted | rejected | completed | failed
  std::string_view execution_id{};
  std::string_view state{};   // the execution's state after it (may be empty)
  std::string_view reason{};  // why not, or what happened
  bool existing = false;      // submit: the id named an earlier execution
};
wire::CommandResult to_wire(const ExecutionCommandOutcome& outcome, std::string_view target_id,
                            std::int64_t completed_at_unix_nanos);

// The event published for a committed transition (wire::transition_event).
// Sequence and time are the event journal's.
Event execution_event(const executions::TransitionEvent& transition);

}  // namespace sup::ipc
