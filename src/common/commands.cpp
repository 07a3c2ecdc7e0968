// The command vocabulary (include/sup/command.hpp): the one table every
// layer derives its commands from.
#include <algorithm>
#include <array>

#include "sup/command.hpp"

namespace sup {
namespace {

using enum CommandKind;
using enum CommandSubject;

// Order: CommandKind's, so command_info() is an index.
constexpr std::array<CommandInfo, 9> kCommands{{
    {AddChild, "add_child", NewChild, true, false, true, 10, "Add a child to the running tree",
     "Add child '{}' to the running tree?"},
    {RemoveChild, "remove_child", Child, true, true, true, 30,
     "Stop a child and remove it from the tree",
     "Remove child '{}' from the tree (it is stopped and its spec dropped)?"},
    {RestartChild, "restart_child", Child, false, false, true, 30,
     "Restart a child now (a new generation)", ""},
    {PauseChild, "pause_child", Child, false, true, true, 30,
     "Stop a child until `supctl resume` starts it again", ""},
    {ResumeChild, "resume_child", Child, false, true, true, 10, "Start a paused child again", ""},
    {QuarantineChild, "quarantine_child", Child, false, true, true, 30,
     "Stop a child and keep it from restarting until `supctl release`", ""},
    {ReleaseChild, "release_child", Child, false, true, false, 10,
     "Take a child out of quarantine and start it again", ""},
    {KillChild, "kill_child", Child, true, false, false, 10,
     "Drill: hard-kill a child (SIGKILL for processes); it is restarted like any failed child",
     "Hard-kill '{}' (SIGKILL, no graceful stop; it is then restarted like any failed child)?"},
    {ShutdownTree, "shutdown_tree", Tree, true, true, true, 60,
     "Stop every child in reverse declaration order; the supervisor then exits",
     "Shut down the whole tree (every child is stopped, then the supervisor exits)?"},
}};

constexpr bool indexed_by_kind() {
  for (std::size_t i = 0; i < kCommands.size(); ++i)
    if (static_cast<std::size_t>(kCommands[i].kind) != i) return false;
  return true;
}
static_assert(indexed_by_kind(), "kCommands must list the commands in CommandKind's order");

}  // namespace

std::span<const CommandInfo> commands() {
  return kCommands;
}

const CommandInfo& command_info(CommandKind kind) {
  return kCommands[static_cast<std::size_t>(kind)];
}

const CommandInfo* find_command(std::string_view name) {
  auto it = std::find_if(kCommands.begin(), kCommands.end(),
                         [name](const CommandInfo& info) { return info.name == name; });
  return it == kCommands.end() ? nullptr : &*it;
}

std::string_view to_string(CommandKind kind) {
  return command_info(kind).name;
}

}  // namespace sup
