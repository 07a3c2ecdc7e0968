// The execution operations (include/sup/execution_command.hpp): the one
// table the socket methods and supctl derive from.
#include <array>

#include "sup/execution_command.hpp"

namespace sup {
namespace {

using enum ExecutionOp;

// Order: ExecutionOp's, so execution_op_info() is an index.
constexpr std::array<ExecutionOpInfo, 11> kOps{{
    {Submit, "submit", true, false, 10,
     "Submit a DAG (answered once its PENDING record is committed)"},
    {List, "list", false, true, 10, "List executions (optionally of one state)"},
    {Get, "get", false, true, 10, "An execution's state and its nodes' states, attempts, results"},
    {Pause, "pause", true, false, 10,
     "Pause an execution: running nodes finish, nothing new starts"},
    {Resume, "resume", true, false, 10, "Resume a paused execution"},
    {Cancel, "cancel", true, false, 10,
     "Cancel an execution: running nodes are stopped, it ends FAILED"},
    {Logs, "logs", false, true, 10, "The captured output of one node (every attempt)"},
    {Retry, "retry", true, false, 10,
     "Re-run a node and its descendants; every other node keeps its result"},
    {ResumeAll, "resume_all", true, true, 30,
     "Rebuild every STUCK execution from its records and run it again"},
    {SetMaintenance, "set_maintenance", true, false, 10,
     "Maintenance mode on (submissions are queued, not started) or off (they start)"},
    {Maintenance, "maintenance", false, false, 10,
     "The maintenance mode: on or off, reason, who, since when"},
}};

constexpr bool indexed_by_op() {
  for (std::size_t i = 0; i < kOps.size(); ++i)
    if (static_cast<std::size_t>(kOps[i].op) != i) return false;
  return true;
}
static_assert(indexed_by_op(), "kOps must list the operations in ExecutionOp's order");

}  // namespace

std::span<const ExecutionOpInfo> execution_ops() {
  return kOps;
}

const ExecutionOpInfo& execution_op_info(ExecutionOp op) {
  return kOps[static_cast<std::size_t>(op)];
}

std::string_view to_string(ExecutionOp op) {
  return execution_op_info(op).name;
}

}  // namespace sup
