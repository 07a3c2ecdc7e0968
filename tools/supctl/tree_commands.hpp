// The commands that change the tree: add, remove, restart, pause, resume,
// quarantine, release, kill (a drill) and shutdown-tree.
//
// Each is sent with a command_id (random unless --command-id, so a retry is
// safe: the daemon acts on an id once), who asked (--requested-by) and why
// (--reason), all three non-blank and audited. Dangerous ones ask y/N first
// (see confirm.hpp). Killing the relay drops the very connection the answer
// would come on, so `kill relay` instead waits for the relay to be back and
// says how long it took.
//
//   for (const TreeCommand& command : tree_commands()) add_subcommand(command.name, ...);
//   // "restart" for restart_child, "shutdown-tree" for shutdown_tree
//   return run_tree_command(context, command, "crasher");
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sup/command.hpp"
#include "supctl/command_context.hpp"

namespace sup::cli {

// A command of the vocabulary (sup/command.hpp) as a subcommand.
struct TreeCommand {
  std::string name;    // the subcommand: "remove", "shutdown-tree"
  std::string method;  // "command.remove_child"
  const CommandInfo* info;
};

// Every command of the vocabulary that acts on a child or the tree (add
// has its own options), in the vocabulary's order.
std::span<const TreeCommand> tree_commands();
ExitCode run_tree_command(CommandContext& context, const TreeCommand& command,
                          const std::string& child);

struct AddOptions {
  std::string spec;       // --spec: the child spec as JSON text
  std::string spec_file;  // --spec-file: a file holding it ("-": stdin)
  std::string parent;     // --parent: the supervisor to add under; empty: root
};
ExitCode add_child(CommandContext& context, const AddOptions& options);

}  // namespace sup::cli
