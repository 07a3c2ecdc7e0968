// supctl dashboard: the live terminal view of the tree.
//
// One poll(2) loop over the socket, the keyboard and a signal pipe. On
// (re)connect it asks hello, state and health and subscribes to events after
// the last one it showed; every event redraws (at most 10 frames a second)
// and asks for fresh state and health (coalesced); a 1 s tick refreshes
// them and the ages on screen. When the link drops it reconnects with
// backoff (100 ms doubling to 2 s), showing
// "link: reconnecting (attempt N, next in X ms): why" over the last data it
// had. A request unanswered within --timeout counts as a dropped link.
// q, Ctrl-C, SIGTERM or SIGHUP quit and restore the terminal; r retries at
// once.
//
// `--once` prints a single frame as plain text and exits (for `watch` and
// scripts); it is not a substitute for the live view.
//
//   return static_cast<int>(run_dashboard(context, /*once=*/false));
#pragma once

#include "supctl/command_context.hpp"

namespace sup::cli {

ExitCode run_dashboard(CommandContext& context, bool once);

}  // namespace sup::cli
