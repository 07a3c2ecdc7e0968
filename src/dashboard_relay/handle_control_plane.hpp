// The relay's ControlPlane over the real runtime: queries, commands and
// event subscriptions go to a sup::Handle; logs come from the daemon's
// LogHistory. In its own source so the relay's tests, which use the fake,
// do not need the runtime library.
//
//   auto plane = std::make_shared<sup::relay::HandleControlPlane>(handle, history);
//   sup::relay::SocketServer server(options, plane);
#pragma once

#include <memory>

#include "ipc/control_plane.hpp"
#include "ipc/log_history.hpp"
#include "sup/handle.hpp"

namespace sup::relay {

class HandleControlPlane : public ipc::ControlPlane {
 public:
  // `history` may be null: logs.tail then answers no records.
  HandleControlPlane(Handle handle, std::shared_ptr<ipc::LogHistory> history);

  Expected<SupervisorState> current_state() override;
  Expected<Health> health() override;
  CommandResult execute(const ipc::Command& command) override;
  Expected<std::uint64_t> last_event_sequence() override;
  Expected<ipc::Subscription> subscribe_events(std::function<void(const Event&)> fn,
                                               std::uint64_t after_sequence) override;
  ipc::LogTail tail_logs(const ipc::LogQuery& query) override;
  ipc::Subscription follow_logs(std::optional<std::string> child_id, std::uint64_t after_sequence,
                                std::function<void(const ipc::LogEntryPtr&)> fn) override;
  void report_endpoint_status(EndpointStatus status) override;

 private:
  Handle handle_;
  std::shared_ptr<ipc::LogHistory> history_;
};

}  // namespace sup::relay
