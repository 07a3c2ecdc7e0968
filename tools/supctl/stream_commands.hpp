// supctl events and logs: the daemon's event stream and log records, one
// line each (one JSON object per line under --json).
//
// With --follow they run until interrupted and outlive the link: when the
// relay restarts they reconnect with backoff (saying so on stderr), resume
// events after the last one shown and mark what was lost ("missed events
// 41-43"); an idle link is probed so a daemon that stopped answering is
// noticed within --timeout.
//
//   return static_cast<int>(show_events(context, {.follow = true}));
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "supctl/command_context.hpp"

namespace sup::cli {

struct EventsOptions {
  bool follow = false;
  std::optional<std::uint64_t> since;  // every event after this sequence
  std::uint64_t last = 20;             // without --since: the most recent ones
};
ExitCode show_events(CommandContext& context, const EventsOptions& options);

struct LogsOptions {
  std::string child;  // empty: every record
  bool follow = false;
  std::uint64_t lines = 100;
};
ExitCode show_logs(CommandContext& context, const LogsOptions& options);

}  // namespace sup::cli
