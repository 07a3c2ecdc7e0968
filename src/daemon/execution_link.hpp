// The execution service's links to the rest of the daemon: its committed
// transitions become events on the runtime's one numbered stream, and the
// socket's executions.* methods reach it (with their commands audited in
// the runtime's audit log).
//
// The service starts (and resumes unfinished executions) before the
// runtime exists: transitions committed until attach() are kept (the most
// recent kMaxPendingEvents) and published then.
//
//   ExecutionLink link;
//   link.install(options);                       // before ExecutionService::start
//   ... runtime started:
//   link.attach(runtime->handle());
//   relay_factory: make_relay_task(..., link.plane(*service, handle));
//   link.detach();                               // before the runtime goes
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "executions/execution_service.hpp"
#include "ipc/execution_plane.hpp"
#include "sup/handle.hpp"

namespace sup::daemon {

class ExecutionLink {
 public:
  static constexpr std::size_t kMaxPendingEvents = 4096;

  ExecutionLink();
  // Sets options.on_transition to forward here.
  void install(executions::ExecutionServiceOptions& options);
  void attach(Handle handle);
  void detach();

  // The socket's view of `service`; commands are audited through `handle`.
  static std::shared_ptr<ipc::ExecutionPlane> plane(executions::ExecutionService& service,
                                                    Handle handle);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace sup::daemon
