// What the probes answer, from one sampled view of the daemon: pure
// functions of a `DaemonSample` and the time it is read at, unit-tested
// without a daemon. The sample is taken by metrics::Sampler on a thread of
// its own, so a probe never waits for the control loop or the disk.
//
//   ProbeAnswer ready = probe_ready(sample, now_ms);
//   // ready.ok == false, ready.failing == {"relay"}: 503 naming the relay
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "metrics/daemon_sample.hpp"

namespace sup::http {

struct ProbeAnswer {
  bool ok = false;
  std::vector<std::string> failing;  // "supervision", "store", "relay", "startup"
  nlohmann::ordered_json body;       // what the probe answers (200 or 503)
  unsigned status() const { return ok ? 200 : 503; }
};

// Process up and the control loop answering: its last answer is younger
// than `stale_after_ms`.
ProbeAnswer probe_live(const metrics::DaemonSample& sample, std::int64_t now_ms,
                       std::int64_t stale_after_ms);
// Supervision running (the loop answers, health ready or degraded), the
// store open and answering, the relay up (dashboard link not disconnected;
// skipped when the dashboard is disabled).
ProbeAnswer probe_ready(const metrics::DaemonSample& sample, std::int64_t now_ms,
                        std::int64_t stale_after_ms);
// The initial resume of unfinished executions finished.
ProbeAnswer probe_startup(const metrics::DaemonSample& sample);

}  // namespace sup::http
