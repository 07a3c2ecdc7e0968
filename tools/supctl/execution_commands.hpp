// The commands on DAG executions: execute (with --wait: a live progress
// line per node transition, and the execution's outcome as exit code),
// status, executions, pause/resume/cancel of an execution, a node's
// output, and operating them: executions retry --from, executions
// resume-all, maintenance on/off (docs/supctl.md, "Executions").
//
//   ExecuteOptions options{.file = "config/dags/hello.json", .wait = true};
//   return execute_dag(context, options);  // Ok when COMPLETED, NotDone when FAILED
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sup/execution_command.hpp"
#include "supctl/command_context.hpp"

namespace sup::cli {

struct ExecuteOptions {
  std::string file;                 // the DAG (JSON); "-": stdin
  bool wait = false;                // follow it to its end
  std::vector<std::string> params;  // --param k=v (values are strings)
  std::string execution_id;         // --id: client-chosen, makes a retry safe
};

ExitCode execute_dag(CommandContext& context, const ExecuteOptions& options);
ExitCode show_execution(CommandContext& context, const std::string& execution_id);
ExitCode list_executions(CommandContext& context, const std::string& state);
// op: Pause, Resume or Cancel.
ExitCode control_execution(CommandContext& context, ExecutionOp op,
                           const std::string& execution_id);
ExitCode show_node_output(CommandContext& context, const std::string& execution_id,
                          const std::string& node_id, std::uint32_t lines);
// executions retry ID --from NODE
ExitCode retry_execution(CommandContext& context, const std::string& execution_id,
                         const std::string& from_node);
// executions resume-all
ExitCode resume_all_executions(CommandContext& context);
// maintenance on|off (needs --reason), or without a mode: the mode.
ExitCode set_maintenance(CommandContext& context, bool enabled);
ExitCode show_maintenance(CommandContext& context);

// Whether the daemon knows an execution of this id (pause/resume take a
// child's id or an execution's); nullopt after a failure already reported.
std::optional<bool> is_execution(CommandContext& context, const std::string& id);

}  // namespace sup::cli
