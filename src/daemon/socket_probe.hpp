// Is the dashboard socket path free? Checked at startup, before anything
// starts, so that a second daemon on the same path fails fast with a config
// error (runbook P1-003) instead of stealing the socket.
//
//   if (auto free = sup::daemon::check_dashboard_path(config.dashboard.path); !free) {
//     std::cerr << free.error().describe();  // field_path="dashboard.path": ...
//     return 78;
//   }
#pragma once

#include <cstdint>
#include <string>

#include "sup/error.hpp"

namespace sup::daemon {

enum class SocketPathState : std::uint8_t {
  Free,   // nothing there
  Stale,  // a socket file nobody listens on (the relay replaces it)
  Live,   // a process accepts connections on it
};

// connect() decides: success (or a full backlog) is Live, ECONNREFUSED is
// Stale. A path that exists but is not a socket, or that we may not
// connect to, is an error.
Expected<SocketPathState> probe_socket_path(const std::string& path);

// Live, not-a-socket and unreachable paths are errors with code
// "invalid_config" and field_path "dashboard.path".
Status check_dashboard_path(const std::string& path);

}  // namespace sup::daemon
