// The daemon's Prometheus series (docs/metrics.md lists every one): one
// prometheus-cpp registry, fed from what the daemon already produces (the
// event stream, the sampled health/state/store views, the store's commit
// hook) rather than from calls sprinkled through the control loop. Served
// by prometheus-cpp's Exposer on metrics.listen and rendered as text for
// /metrics on the HTTP port.
//
//   auto metrics = std::make_shared<DaemonMetrics>();
//   metrics->on_event(event);              // from Handle::subscribe_events
//   metrics->on_sample(sample, state);     // from metrics::Sampler
//   std::string text = metrics->render();  // the exposition format
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "metrics/daemon_sample.hpp"
#include "sup/error.hpp"
#include "sup/state.hpp"

namespace prometheus {
class Registry;
class Collectable;
}  // namespace prometheus

namespace sup::metrics {

class DaemonMetrics {
 public:
  DaemonMetrics();
  ~DaemonMetrics();
  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

  // Any thread; never blocks beyond the registry's own locks.
  void on_event(const Event& event);
  // The sampled views: health and store every sample, the tree's state
  // when one was taken (per-child series come from the newest one).
  void on_sample(const DaemonSample& sample);
  void on_state(std::shared_ptr<const SupervisorState> state);
  void on_store_commit(std::size_t appends, std::chrono::nanoseconds took);
  void on_checkpoint_durable(std::size_t transitions, std::chrono::nanoseconds latency);
  // How long a recovery took (the initial resume after a restart:
  // failure_type "daemon_restart").
  void on_recovery(std::string_view failure_type, std::chrono::nanoseconds took);
  void on_http_request(std::string_view endpoint, unsigned status);

  // The exposition text of every series (what /metrics answers).
  std::string render() const;
  // For prometheus::Exposer::RegisterCollectable.
  std::shared_ptr<prometheus::Registry> registry() const;
  std::shared_ptr<prometheus::Collectable> per_child_series() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// prometheus-cpp's Exposer on `listen` ("127.0.0.1:9090", port 0: any),
// serving `metrics`. InvalidConfig naming metrics.listen when it cannot bind.
class MetricsExposer {
 public:
  static Expected<std::unique_ptr<MetricsExposer>> start(const std::string& listen,
                                                         const DaemonMetrics& metrics);
  ~MetricsExposer();
  std::uint16_t port() const;

  struct Impl;

 private:
  explicit MetricsExposer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sup::metrics
