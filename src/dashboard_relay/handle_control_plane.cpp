#include "dashboard_relay/handle_control_plane.hpp"

namespace sup::relay {

HandleControlPlane::HandleControlPlane(Handle handle, std::shared_ptr<ipc::LogHistory> history)
    : handle_(std::move(handle)), history_(std::move(history)) {}

Expected<SupervisorState> HandleControlPlane::current_state() {
  return handle_.current_state();
}

Expected<Health> HandleControlPlane::health() {
  return handle_.health();
}

CommandResult HandleControlPlane::execute(const ipc::Command& command) {
  return handle_.execute(command);
}

Expected<std::uint64_t> HandleControlPlane::last_event_sequence() {
  return handle_.last_event_sequence();
}

Expected<ipc::Subscription> HandleControlPlane::subscribe_events(
    std::function<void(const Event&)> fn, std::uint64_t after_sequence) {
  return handle_.subscribe_events(std::move(fn), after_sequence);
}

ipc::LogTail HandleControlPlane::tail_logs(const ipc::LogQuery& query) {
  if (!history_) return {};
  return history_->tail(query);
}

ipc::Subscription HandleControlPlane::follow_logs(std::optional<std::string> child_id,
                                                  std::uint64_t after_sequence,
                                                  std::function<void(const ipc::LogEntryPtr&)> fn) {
  if (!history_) return {};
  return history_->follow(std::move(child_id), after_sequence, std::move(fn));
}

void HandleControlPlane::report_endpoint_status(EndpointStatus status) {
  handle_.report_endpoint_status(status);
}

}  // namespace sup::relay
