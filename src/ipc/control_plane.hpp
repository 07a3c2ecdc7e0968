// What the IPC server needs from the supervisor, as an interface: the
// dispatcher and the relay's socket server talk to this, never to the
// runtime directly, so both are testable with a fake (fake_control_plane.hpp)
// and the daemon plugs in the adapter over sup::Handle
// (dashboard_relay/handle_control_plane.hpp).
//
// Every method may be called from any thread. Queries and commands may block
// briefly (a round trip to the control loop); subscription callbacks run on
// runtime or logging threads and must not block.
//
//   sup::ipc::Command restart{sup::CommandKind::RestartChild, "ingest", {"c-1", "alice", "stuck"}};
//   sup::CommandResult r = plane.execute(restart);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/log_history.hpp"
#include "sup/child_spec.hpp"
#include "sup/command.hpp"
#include "sup/error.hpp"
#include "sup/handle.hpp"
#include "sup/state.hpp"

namespace sup::ipc {

// RAII: the subscription ends when this is destroyed or reset().
using Subscription = EventSubscription;

// A command as the runtime takes it (the vocabulary is sup/command.hpp).
using Command = CommandRequest;

class ControlPlane {
 public:
  virtual ~ControlPlane() = default;

  // Queries: ErrorCode::Timeout when the runtime did not answer in time.
  virtual Expected<SupervisorState> current_state() = 0;
  virtual Expected<Health> health() = 0;
  virtual CommandResult execute(const Command& command) = 0;

  virtual Expected<std::uint64_t> last_event_sequence() = 0;
  // Events after `after_sequence` still in the runtime's replay ring first,
  // then new ones, in order.
  virtual Expected<Subscription> subscribe_events(std::function<void(const Event&)> fn,
                                                  std::uint64_t after_sequence) = 0;

  virtual LogTail tail_logs(const LogQuery& query) = 0;
  virtual Subscription follow_logs(std::optional<std::string> child_id,
                                   std::uint64_t after_sequence,
                                   std::function<void(const LogEntryPtr&)> fn) = 0;

  // The relay is the runtime's control endpoint (sup/endpoint.hpp).
  virtual void report_endpoint_status(EndpointStatus status) = 0;
};

}  // namespace sup::ipc
