// One sampled view of the daemon, taken by metrics::Sampler on its own
// thread and read by the probes and the metrics without any wait.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "sup/state.hpp"

namespace sup::metrics {

struct StoreSample {
  bool open = false;       // the execution service started (store opened)
  bool answering = false;  // the last read of the store succeeded
  std::string error{};     // why not, when it did not
  std::uint64_t map_bytes = 0;
  std::uint64_t used_bytes = 0;  // pages in use × page size
  std::uint64_t free_pages = 0;  // pages on LMDB's free list
  std::uint64_t appends_failed = 0;
  std::uint64_t corrupt_records = 0;  // bad summaries seen by the last listing
  std::map<std::string, std::uint64_t> executions_by_state{};
  std::map<std::string, std::uint64_t> nodes_by_state{};
  // Unfinished executions listed as STUCK, and by reason (docs/dag.md).
  std::uint64_t stuck = 0;
  std::map<std::string, std::uint64_t> stuck_by_reason{};
};

// The execution service's maintenance mode (executions::MaintenanceMode).
struct MaintenanceSample {
  bool enabled = false;
  std::string reason{};
  std::string requested_by{};
  std::int64_t changed_at_ns = 0;
};

struct DaemonSample {
  std::int64_t taken_at_ms = 0;  // monotonic ms
  // The control loop's last answer and when it came (monotonic ms).
  std::optional<Health> health;
  std::int64_t health_at_ms = 0;
  std::string health_error;  // the last failed call's error
  bool dashboard_enabled = true;
  bool startup_finished = false;  // initial resume of executions done
  std::uint64_t executions_resumed = 0;
  std::uint64_t executions_not_resumed = 0;
  StoreSample store;
  MaintenanceSample maintenance;
};

}  // namespace sup::metrics
