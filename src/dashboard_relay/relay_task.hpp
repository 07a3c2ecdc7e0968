// The relay as a blocking task over any ControlPlane: what
// make_relay_task(config, handle, history) in relay.hpp runs, separate so
// tests can run the real task lifecycle against a fake control plane.
//
//   auto task = sup::relay::make_relay_task(dashboard, std::make_shared<FakeControlPlane>());
//   std::thread([&] { task.start(ctx); });  // until ctx is cancelled
#pragma once

#include <functional>
#include <memory>

#include "config/daemon_config.hpp"
#include "ipc/control_plane.hpp"
#include "ipc/execution_plane.hpp"
#include "registration/registration_lease.hpp"
#include "sup/task.hpp"

namespace sup::relay {

using RegistrationStatusSource = std::function<registration::RegistrationStatus()>;

// start(ctx): binds (failing the task with a reason naming
// field_path="dashboard.path" when the path cannot be taken), reports
// readiness, heartbeats, serves until cancelled, then cleans up. Ends
// Failed when its socket file was removed or taken by a newer relay, so
// the supervisor restarts it.
// `registration_status`: the daemon's registration with a relay, reported in
// health and state (unset: disabled).
TaskDefinition make_relay_task(config::DashboardConfig config,
                               std::shared_ptr<ipc::ControlPlane> plane,
                               std::shared_ptr<ipc::ExecutionPlane> executions = nullptr,
                               RegistrationStatusSource registration_status = {});

}  // namespace sup::relay
