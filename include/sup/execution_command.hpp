// The operations on DAG executions: the one vocabulary the socket's
// `executions.<name>` methods, supctl's subcommands and help texts derive
// from (as sup/command.hpp is for the supervision commands).
//
// Mutating ones (submit, pause, resume, cancel, retry, resume_all,
// set_maintenance) carry who asked and why, as
// every command does (`{command_id, requested_by, reason}`, audited), and
// are open only to root and the daemon's uid.
//
//   const sup::ExecutionOpInfo& info = sup::execution_op_info(sup::ExecutionOp::Cancel);
//   // info.name == "cancel", info.mutating == true
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sup {

enum class ExecutionOp : std::uint8_t {
  Submit,
  List,
  Get,
  Pause,
  Resume,
  Cancel,
  Logs,
  Retry,           // retry --from NODE: the node and its descendants run again
  ResumeAll,       // every STUCK execution rebuilt from its records
  SetMaintenance,  // maintenance mode on or off
  Maintenance,     // the maintenance mode as committed
};

struct ExecutionOpInfo {
  ExecutionOp op;
  std::string_view name;  // bare: the method is "executions.<name>"
  bool mutating;          // a command: audited, root and the daemon's uid only
  // Reads the store or captured output files: answered in the socket's
  // snapshot lane, away from health checks and commands.
  bool reads_history;
  std::uint32_t timeout_seconds;  // how long a client should wait for the answer
  std::string_view summary;       // one line, for help texts
};

// In ExecutionOp's order.
std::span<const ExecutionOpInfo> execution_ops();
const ExecutionOpInfo& execution_op_info(ExecutionOp op);
std::string_view to_string(ExecutionOp op);  // the bare name

}  // namespace sup
