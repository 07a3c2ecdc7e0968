#include "dashboard_relay/relay_task.hpp"

#include "dashboard_relay/socket_server.hpp"
#include "sup/log.hpp"

namespace sup::relay {
namespace {

void run_relay(TaskContext& ctx, const config::DashboardConfig& config,
               const std::shared_ptr<ipc::ControlPlane>& plane,
               const std::shared_ptr<ipc::ExecutionPlane>& executions,
               const RegistrationStatusSource& registration_status) {
  ServerOptions options;
  options.dashboard = config;
  options.executions = executions;
  options.registration_status = registration_status;
  options.on_tick = [&ctx] {
    ctx.heartbeat();
    return !ctx.cancel_requested();
  };
  auto server = std::make_shared<SocketServer>(std::move(options), plane);
  // on_cancel may fire after start() returned: hold the server weakly.
  ctx.on_cancel([weak = std::weak_ptr<SocketServer>(server)](TaskContext&) {
    if (auto alive = weak.lock()) alive->stop();
  });

  if (auto bound = server->bind(); !bound) {
    log(LogLevel::Error, "dashboard relay cannot listen",
        {{"SOCKET_PATH", config.path}, {"ERROR", bound.error().describe()}});
    ctx.fail(bound.error().describe());
    return;
  }
  ctx.set_readiness(Readiness::Ready);
  log(LogLevel::Info, "dashboard relay listening", {{"SOCKET_PATH", config.path}});
  if (ctx.cancel_requested()) server->stop();  // cancelled before on_cancel was set

  RunEnd end = server->run();
  if (end == RunEnd::PathLost && !ctx.cancel_requested())
    ctx.fail("socket file " + config.path + " was removed or taken over by a newer relay");
}

}  // namespace

TaskDefinition make_relay_task(config::DashboardConfig config,
                               std::shared_ptr<ipc::ControlPlane> plane,
                               std::shared_ptr<ipc::ExecutionPlane> executions,
                               RegistrationStatusSource registration_status) {
  return {
      .start =
          [config = std::move(config), plane = std::move(plane), executions = std::move(executions),
           registration_status = std::move(registration_status)](TaskContext& ctx) {
            run_relay(ctx, config, plane, executions, registration_status);
          },
      .blocking = true};
}

}  // namespace sup::relay
