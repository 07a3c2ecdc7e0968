// The one thread that asks the daemon how it is: the control loop's health
// (every health_interval), its state and the store (every state_interval),
// and the event stream (counted as it comes). Probes and metrics read the
// newest sample without waiting: a stuck control loop or a slow disk
// delays this thread, never an HTTP request.
//
// The parts appear as the daemon starts: attach_executions() once the
// store is open and resumed (startup finished), attach_runtime() once the
// tree runs; detach() before they are torn down.
//
//   Sampler sampler(metrics, {.state_interval = 1s, .dashboard_enabled = true});
//   sampler.attach_executions(service.get());
//   sampler.attach_runtime(runtime->handle());
//   auto sample = sampler.latest();  // std::shared_ptr<const DaemonSample>
#pragma once

#include <chrono>
#include <memory>

#include "metrics/daemon_metrics.hpp"
#include "metrics/daemon_sample.hpp"
#include "sup/handle.hpp"

namespace sup::executions {
class ExecutionService;
}

namespace sup::metrics {

struct SamplerOptions {
  std::chrono::milliseconds health_interval{100};
  std::chrono::milliseconds state_interval{1000};  // metrics.refresh_ms
  bool dashboard_enabled = true;
};

class Sampler {
 public:
  Sampler(std::shared_ptr<DaemonMetrics> metrics, SamplerOptions options);
  ~Sampler();  // detaches and joins
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Marks startup finished (the initial resume is done).
  void attach_executions(executions::ExecutionService* service);
  void attach_runtime(Handle handle);
  // Stops sampling the runtime and the service (they are about to go);
  // returns once no call into them is under way.
  void detach();

  std::shared_ptr<const DaemonSample> latest() const;
  const DaemonMetrics& metrics() const { return *metrics_; }

  struct Impl;

 private:
  std::shared_ptr<DaemonMetrics> metrics_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sup::metrics
