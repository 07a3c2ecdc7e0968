// The dashboard relay: the supervised child `relay` (kind Relay) that owns
// the daemon's Unix socket (dashboard.path) and serves dashboard-ipc.v1 with
// our extensions (docs/ipc.md) to dashboards and supctl.
//
// It is a blocking task: start() binds the socket (replacing a stale file,
// refusing a path another daemon listens on), reports readiness and
// health.dashboard_link, serves until cancelled, then closes every client
// and removes the socket file if it is still its own. When it dies the
// supervisor restarts it like any child and clients reconnect.
//
// The daemon wires it in before starting the runtime; the log history is
// created once so it survives relay restarts:
//
//   auto history = std::make_shared<sup::relay::LogHistory>();
//   history->attach();
//   options.endpoint_factory = [dashboard = config.dashboard, history](sup::Handle handle) {
//     return sup::relay::make_relay_task(dashboard, std::move(handle), history);
//   };
#pragma once

#include <memory>

#include "config/daemon_config.hpp"
#include "dashboard_relay/relay_task.hpp"
#include "ipc/execution_plane.hpp"
#include "ipc/log_history.hpp"
#include "sup/handle.hpp"
#include "sup/task.hpp"

namespace sup::relay {

using LogHistory = ipc::LogHistory;

// `executions` serves the executions.* methods (null: not served).
TaskDefinition make_relay_task(config::DashboardConfig config, Handle handle,
                               std::shared_ptr<LogHistory> history,
                               std::shared_ptr<ipc::ExecutionPlane> executions = nullptr,
                               RegistrationStatusSource registration_status = {});

}  // namespace sup::relay
