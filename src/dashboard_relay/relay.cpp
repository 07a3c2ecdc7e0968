#include "dashboard_relay/relay.hpp"

#include "dashboard_relay/handle_control_plane.hpp"
#include "dashboard_relay/relay_task.hpp"

namespace sup::relay {

TaskDefinition make_relay_task(config::DashboardConfig config, Handle handle,
                               std::shared_ptr<LogHistory> history,
                               std::shared_ptr<ipc::ExecutionPlane> executions,
                               RegistrationStatusSource registration_status) {
  return make_relay_task(
      std::move(config),
      std::make_shared<HandleControlPlane>(std::move(handle), std::move(history)),
      std::move(executions), std::move(registration_status));
}

}  // namespace sup::relay
