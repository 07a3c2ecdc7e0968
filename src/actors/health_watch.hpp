// Health of the runtime, apart from the loop that carries out the tree's
// effects: which children starve the runtime or miss their heartbeats, the
// status that follows (starting / ready / degraded / stopping), and how
// busy the control loop is.
//
// Plain C++ (no CAF, no clock of its own): the control loop feeds it what
// it observed and the time, every 100 ms, and asks it for the Health answer.
//
//   HealthWatch watch({.blocking_threshold_ms = 500});
//   watch.count_loop_pass(now_ms);                          // per tick, exit, command
//   if (auto why = suspicion(probe_reading, now_mono_ns, now_unix_ms, 500)) ...
//   watch.set_suspects(std::move(found));                   // declaration order
//   if (auto change = watch.update_status(inputs)) publish(health_changed);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sup/state.hpp"

namespace sup::actors {

// What the watch reads of one running in-process child.
struct ProbeReading {
  std::int64_t busy_since_mono_ns = 0;      // 0: no callback running
  std::int64_t last_heartbeat_unix_ms = 0;  // 0: none yet
  std::uint32_t heartbeat_timeout_ms = 0;   // 0: not watched
};

// Why the child is suspect ("has blocked a runtime thread for 812 ms",
// "missed its heartbeat for 3100 ms"), or nothing.
std::optional<std::string> suspicion(const ProbeReading& probe, std::int64_t now_mono_ns,
                                     std::int64_t now_unix_ms, std::int64_t blocking_threshold_ms);

struct Suspect {
  std::string id;
  std::string reason;  // "child <id> has blocked a runtime thread for 812 ms"
};

// What the status depends on besides the suspects.
struct HealthInputs {
  bool started = false;
  bool stopping = false;            // draining, or the tree is shutting down
  std::uint32_t quarantined = 0;    // children in quarantine (the loop lists them)
  std::vector<std::string> faults;  // each makes the status degraded, one reason line each
};

// "starting" | "ready" | "degraded" | "stopping"
std::string status_for(const HealthInputs& inputs, bool any_suspect);

// Control-loop passes per second: a tick, an exit carried out, a command.
// Queries (health, state, subscriptions) are not passes: asking often must
// not make a stalled loop look busy.
class LoopRate {
 public:
  explicit LoopRate(std::int64_t now_mono_ms) : sample_at_ms_(now_mono_ms) {}
  void count(std::int64_t now_mono_ms);
  std::uint64_t passes() const { return passes_; }
  // The current window once it is long enough to mean something (200 ms),
  // else the last full one (1 s).
  double per_sec(std::int64_t now_mono_ms) const;

 private:
  std::uint64_t passes_ = 0;
  std::uint64_t passes_at_sample_ = 0;
  std::int64_t sample_at_ms_;
  double per_sec_ = 0;
};

class HealthWatch {
 public:
  explicit HealthWatch(std::int64_t now_mono_ms)
      : started_at_ms_(now_mono_ms), rate_(now_mono_ms) {}

  void count_loop_pass(std::int64_t now_mono_ms) { rate_.count(now_mono_ms); }
  // The suspects of one watch pass, in declaration order; logs the new ones.
  void set_suspects(std::vector<Suspect> suspects);
  // The status for `inputs`; the change (from, to) when it changed.
  std::optional<std::pair<std::string, std::string>> update_status(const HealthInputs& inputs);

  // The answer to Handle::health, but for the dashboard link; `faults` as
  // last given to update_status come after the suspects' reasons.
  Health report(std::int64_t now_mono_ms) const;
  const std::string& status() const { return status_; }

 private:
  std::int64_t started_at_ms_;
  LoopRate rate_;
  std::vector<Suspect> suspects_;
  std::vector<std::string> faults_;
  std::string status_ = "starting";
};

}  // namespace sup::actors
