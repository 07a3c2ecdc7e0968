// The daemon's HTTP API and metrics endpoints (docs/http.md,
// docs/metrics.md): bound before the store is opened and the tree started,
// so that /health/live and /health/startup answer from the first moment
// and a port in use stops the daemon at once (exit 78 naming the key).
//
//   auto serving = Serving::start(config);          // binds, or the error
//   serving->hook(options);                         // store/checkpoint timings
//   serving->attach_executions(*service);           // startup finished
//   serving->attach_runtime(runtime->handle());
//   serving->stop();  // before the runtime and the service go
// The Serving object itself must outlive the execution service: answers
// still queued there hold connections of its server.
#pragma once

#include <memory>

#include "config/daemon_config.hpp"
#include "executions/execution_service.hpp"
#include "sup/error.hpp"
#include "sup/handle.hpp"

namespace sup::daemon {

class Serving {
 public:
  static Expected<std::unique_ptr<Serving>> start(const config::DaemonConfig& config);
  ~Serving();
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;

  // Feeds the store's commit and checkpoint timings to the metrics.
  void hook(executions::ExecutionServiceOptions& options) const;
  void attach_executions(executions::ExecutionService& service);
  void attach_runtime(Handle handle);
  // Closes the listeners and stops calling into the runtime and the
  // service. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Serving(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sup::daemon
