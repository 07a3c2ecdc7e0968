// supctl state, children, health: one question to the daemon, answered as
// tables and key/value lines for people or the raw result under --json.
//
//   CommandContext context(options, io);
//   return static_cast<int>(show_state(context));
#pragma once

#include "supctl/command_context.hpp"

namespace sup::cli {

// Summary line, the children table, and why quarantined children are.
ExitCode show_state(CommandContext& context);
// The children table alone.
ExitCode show_children(CommandContext& context);
ExitCode show_health(CommandContext& context);

}  // namespace sup::cli
