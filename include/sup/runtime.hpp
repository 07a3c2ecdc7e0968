// The supervision runtime: an actor system, the root supervisor's control
// loop, and the children it keeps alive.
//
//   sup::RuntimeOptions options;
//   options.root.children = {my_child_spec};
//   options.tasks.add("worker", {.start = ...});
//   auto runtime = sup::Runtime::start(std::move(options));
//   if (!runtime) { std::cerr << runtime.error().describe(); return 1; }
//   sup::Handle h = (*runtime)->handle();
//   ...
//   (*runtime)->shutdown([](sup::ShutdownPhase p) { std::cout << to_string(p) << "\n"; });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sup/child_spec.hpp"
#include "sup/error.hpp"
#include "sup/handle.hpp"
#include "sup/state.hpp"
#include "sup/task.hpp"

namespace sup {

namespace actors {
class Incarnation;
}

struct RuntimeOptions {
  SupervisorSpec root;
  TaskRegistry tasks;
  // Makes the task that runs the child of kind Endpoint (endpoint.hpp).
  // Called once, with a Handle to the runtime being started.
  std::function<TaskDefinition(Handle)> endpoint_factory;

  unsigned worker_threads = 0;  // actor worker pool; 0: max(4, hardware threads)
  std::uint32_t tick_ms = 10;   // control loop period
  // A child whose callback has run longer than this is reported as blocking.
  std::uint32_t blocking_threshold_ms = 500;
  // Audit records of commands (JSON lines, file mode 0600, written off the
  // control loop's thread); empty: audited to the log only.
  std::string audit_log_path;
  // While the audit log cannot be written (a full disk, say), commands other
  // than shutdown_tree are refused; false: they are carried out, audited to
  // the log only. Either way health is `degraded`, naming the audit log.
  bool refuse_commands_without_audit = true;
  // Seed of the backoff jitter; 0: from std::random_device.
  std::uint64_t jitter_seed = 0;
  // Per-child limit on the output lines of process children passed to the log.
  OutputRateLimit process_output;
  // Where running process children are recorded, so that a runtime started
  // after a crash of the previous one kills what that one left running
  // (the daemon: $STATE_DIR/processes). Empty: not recorded.
  std::string process_record_dir;
};

// Why Runtime::wait() returned.
struct RunOutcome {
  enum Kind : unsigned char { ShutdownRequested, Fused };
  Kind kind = ShutdownRequested;
  std::string reason;
};

class Runtime {
 public:
  static Expected<std::unique_ptr<Runtime>> start(RuntimeOptions options);
  ~Runtime();  // shuts down if shutdown() was not called
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  Handle handle() const;

  // Blocks until shutdown_tree() completed or the root's intensity fuse
  // blew (all children are stopped by then), or `timeout` passed.
  std::optional<RunOutcome> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Planned shutdown: ShutdownPhase::Draining, StoppingChildren (reverse
  // declaration order, each child within its shutdown_timeout_ms),
  // FlushingState, Completed; `on_phase` sees each phase as it begins.
  // Idempotent. Threads of in-process tasks that ignore cancellation cannot
  // be joined; they are abandoned.
  void shutdown(const std::function<void(ShutdownPhase)>& on_phase = {});

 private:
  explicit Runtime(std::shared_ptr<detail::RuntimeCore> core);
  void teardown(std::vector<std::shared_ptr<actors::Incarnation>> incarnations);
  std::shared_ptr<detail::RuntimeCore> core_;
};

}  // namespace sup
