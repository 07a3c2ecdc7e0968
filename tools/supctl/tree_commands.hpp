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
//   return run_tree_command(context, command, "crasher");
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "supctl/command_context.hpp"

namespace sup::cli {

struct TreeCommand {
  std::string_view name;     // the subcommand: "remove"
  std::string_view method;   // "command.remove_child"
  std::string_view summary;  // for --help
  // The y/N question of a dangerous command, "{}" standing for the child;
  // empty when the command is not dangerous.
  std::string_view question;
  bool takes_child = true;
};

// Every tree command but add, in the order --help lists them.
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
