// Snapshots of a running tree: what `Handle::current_state()` and
// `Handle::health()` return, and the events the runtime emits.
//
//   sup::SupervisorState s = handle.current_state();
//   if (s.children.running != s.children.target_count) { ... }
//   for (const auto& r : s.child_runtime_records)
//     if (r.state == sup::ChildState::Quarantined) page_someone(r.id);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sup/child_spec.hpp"
#include "sup/endpoint.hpp"
#include "sup/task_exit.hpp"

namespace sup {

enum class ChildState : std::uint8_t {
  Starting,  // incarnation requested, not yet confirmed running
  Running,
  Restarting,   // exited; waiting out its backoff before the next start
  Stopping,     // cooperative stop requested; killed after shutdown_timeout_ms
  Stopped,      // not running and not meant to (completed, or stopped by a command)
  Paused,       // stopped by pause_child; resume_child starts it again
  Failed,       // exited abnormally and will not be restarted (temporary child,
                // or its supervisor gave up)
  Quarantined,  // isolated after budget exhaustion, a crash loop, or a command
};
std::string_view to_string(ChildState state);  // "Running", "Quarantined", ...

enum class Readiness : std::uint8_t { Unknown, Ready, NotReady };
std::string_view to_string(Readiness readiness);  // "unknown", "ready", "not_ready"

struct Liveness {
  std::optional<std::int64_t> last_heartbeat_at_unix_ms;
  bool heartbeat_stale = false;
  Readiness readiness = Readiness::Unknown;
};

struct RestartBudgetState {
  double tokens = 0;
  double capacity = 0;
  double refill_per_sec = 0;
};

struct ChildRuntimeRecord {
  std::string id;
  std::string path;    // "root/workers/ingest"
  std::string parent;  // id of the supervising node ("root" for top level)
  ChildKind kind = ChildKind::Task;
  RestartType restart = RestartType::Permanent;
  ChildState state = ChildState::Starting;
  std::uint64_t restart_count = 0;
  std::optional<TaskExit> last_exit;
  RestartBudgetState restart_budget;
  std::uint64_t backoff_ms = 0;  // the current (or last) backoff delay
  std::optional<std::int64_t> started_at_unix_ms;
  std::optional<int> pid;        // process children while running
  std::uint64_t generation = 0;  // bumped on each (re)start; fences stale exits
  std::uint32_t attempt = 0;     // consecutive failed starts since last healthy period
  Liveness liveness;
  std::string quarantine_reason;  // why it is quarantined, when it is
};

struct ChildrenSummary {
  std::uint32_t running = 0;
  std::uint32_t failed = 0;
  std::uint32_t restarting = 0;
  std::uint32_t quarantined = 0;
  std::uint32_t stopped = 0;  // Stopped and Paused
  // Children that should be running right now: everything except those
  // stopped, paused, failed for good, or quarantined.
  std::uint32_t target_count = 0;
};

struct SupervisorState {
  ChildrenSummary children;
  std::vector<ChildRuntimeRecord> child_runtime_records;  // declaration order, depth first
  std::uint64_t state_generation = 0;                     // bumped on every change
  std::int64_t captured_at_unix_ms = 0;
};

struct Health {
  std::string status = "starting";  // "starting" | "ready" | "degraded" | "stopping"
  std::uint64_t uptime_secs = 0;
  // Control-loop passes that carried out work: timer ticks (every tick_ms),
  // exits and commands. Queries are not counted: asking often cannot make a
  // stalled loop look busy.
  std::uint64_t control_loop_iterations = 0;
  double iterations_per_sec = 0;
  // What the control endpoint last reported while it runs (endpoint.hpp).
  EndpointStatus endpoint;
  std::vector<std::string> reasons;        // why degraded, one line each
  std::vector<std::string> suspects;       // child ids blocking a runtime thread or stale
  std::uint64_t audit_write_failures = 0;  // failed writes of the audit log since start
};

// Something that happened in the tree, in order. `sequence` increases by one
// per event for the lifetime of the runtime, so a client can see gaps.
struct Event {
  std::uint64_t sequence = 0;
  std::string event_type;  // "child_started", "child_exited", "child_restarting",
                           // "child_quarantined", "child_released", "health_changed", ...
  std::string severity;    // "info" | "warning" | "error"
  std::string child_id;    // empty for tree-wide events
  std::string target_path;
  std::int64_t occurred_at_unix_nanos = 0;
  std::map<std::string, std::string> payload;
};

enum class ShutdownPhase : std::uint8_t { Draining, StoppingChildren, FlushingState, Completed };
std::string_view to_string(ShutdownPhase phase);  // "ShutdownPhase::Draining", ...

}  // namespace sup
