#include "dashboard_relay/handle_control_plane.hpp"

namespace sup::relay {

HandleControlPlane::HandleControlPlane(Handle handle, std::shared_ptr<ipc::LogHistory> history)
    : handle_(std::move(handle)), history_(std::move(history)) {}

SupervisorState HandleControlPlane::current_state() {
  return handle_.current_state();
}

Health HandleControlPlane::health() {
  return handle_.health();
}

CommandResult HandleControlPlane::execute(const ipc::Command& command) {
  const auto& meta = command.meta;
  switch (command.kind) {
    case ipc::CommandKind::AddChild:
      if (!command.spec) return CommandResult::rejected("add_child without a spec");
      return handle_.add_child(*command.spec, meta, command.parent);
    case ipc::CommandKind::RemoveChild:
      return handle_.remove_child(command.target, meta);
    case ipc::CommandKind::RestartChild:
      return handle_.restart_child(command.target, meta);
    case ipc::CommandKind::PauseChild:
      return handle_.pause_child(command.target, meta);
    case ipc::CommandKind::ResumeChild:
      return handle_.resume_child(command.target, meta);
    case ipc::CommandKind::QuarantineChild:
      return handle_.quarantine_child(command.target, meta);
    case ipc::CommandKind::ReleaseChild:
      return handle_.release_child(command.target, meta);
    case ipc::CommandKind::KillChild:
      return handle_.kill_child(command.target, meta);
    case ipc::CommandKind::ShutdownTree:
      return handle_.shutdown_tree(meta);
  }
  return CommandResult::rejected("unknown command");
}

std::uint64_t HandleControlPlane::last_event_sequence() {
  return handle_.last_event_sequence();
}

ipc::Subscription HandleControlPlane::subscribe_events(std::function<void(const Event&)> fn,
                                                       std::uint64_t after_sequence) {
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

void HandleControlPlane::report_dashboard_link(DashboardLink link, std::uint32_t clients) {
  handle_.report_dashboard_link(link, clients);
}

}  // namespace sup::relay
