// What to supervise: the declarative description of a child and of a
// (possibly nested) supervisor.
//
// A child is an in-process task registered through the C++ API, an external
// process, a built-in drill, the control endpoint, or a nested supervisor with
// children of its own. Specs are plain values; the daemon builds them from
// its JSON config, an embedding program builds them in code:
//
//   sup::ChildSpec worker;
//   worker.id = "ingest";
//   worker.kind = sup::ChildKind::Process;
//   worker.process.argv = {"/usr/bin/ingest", "--queue", "main"};
//   worker.restart = sup::RestartType::Permanent;
//   worker.backoff = {.initial_ms = 100, .max_ms = 10'000, .multiplier = 2.0};
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sup {

enum class Strategy : std::uint8_t { OneForOne, OneForAll, RestForOne };
enum class RestartType : std::uint8_t { Permanent, Transient, Temporary };
// Endpoint: the tree's control endpoint (endpoint.hpp), at most one.
enum class ChildKind : std::uint8_t { Task, Process, Drill, Endpoint, Supervisor };
enum class DrillKind : std::uint8_t { CrashAfter, Panic, Flaky, BlockForever, IgnoreCancel, Busy };

// Per-child token bucket: a restart spends one token; tokens refill
// continuously. An empty bucket quarantines the child.
struct BudgetSpec {
  double capacity = 5.0;
  double refill_per_sec = 0.1;
};

// Exponential backoff with full jitter: the n-th consecutive restart waits a
// uniformly random time in [0, min(max_ms, initial_ms * multiplier^(n-1))].
// After `reset_after_ms` of healthy running the sequence starts over.
struct BackoffSpec {
  std::uint32_t initial_ms = 100;
  std::uint32_t max_ms = 30'000;
  double multiplier = 2.0;
  std::uint32_t reset_after_ms = 30'000;
};

// Crash-loop detection: `max_failures` abnormal exits within `window_ms`
// quarantine the child. max_failures == 0 disables it.
struct CrashLoopSpec {
  std::uint32_t max_failures = 5;
  std::uint32_t window_ms = 10'000;
};

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is resolved through PATH
  std::map<std::string, std::string> env;  // added to the daemon's environment
  std::string cwd;                         // empty: the daemon's working directory
  bool shell = false;                      // run argv joined by spaces through /bin/sh -c
};

// How many lines of a process child's output (stdout and stderr together)
// reach the log: a token bucket per child (RuntimeOptions::process_output).
// Lines over the limit are dropped, counted and reported as "dropped N lines".
struct OutputRateLimit {
  std::uint32_t lines_per_sec = 1000;  // refill rate; 0: unlimited
  std::uint32_t burst_lines = 5000;    // bucket size
};

struct DrillSpec {
  DrillKind kind = DrillKind::CrashAfter;
  std::uint32_t ms = 1000;  // crash_after, panic, busy: delay or busy period; flaky: period
  double p = 0.5;           // flaky: probability of failing each period
};

struct ChildSpec {
  std::string id;  // unique within the whole tree; [A-Za-z0-9_.-], 1..64 chars
  ChildKind kind = ChildKind::Task;
  RestartType restart = RestartType::Permanent;
  std::uint32_t shutdown_timeout_ms = 5'000;
  BudgetSpec budget;
  BackoffSpec backoff;
  CrashLoopSpec crash_loop;
  // A child that reports heartbeats is stale after this long without one
  // (0: the child does not report heartbeats).
  std::uint32_t heartbeat_timeout_ms = 0;

  std::string task;     // kind Task: name in the TaskRegistry
  ProcessSpec process;  // kind Process
  DrillSpec drill;      // kind Drill

  // kind Supervisor: a nested supervisor and its children, started in order.
  Strategy strategy = Strategy::OneForOne;
  std::uint32_t intensity = 10;     // at most `intensity` restarts ...
  std::uint32_t period_ms = 5'000;  // ... within `period_ms`, else escalate
  std::vector<ChildSpec> children;
};

// The root of a tree: a supervisor with no parent. When its own
// intensity/period is exceeded the runtime fuses (see Runtime::wait()).
struct SupervisorSpec {
  Strategy strategy = Strategy::OneForOne;
  std::uint32_t intensity = 10;
  std::uint32_t period_ms = 5'000;
  std::vector<ChildSpec> children;
};

// Canonical spellings, used by the config, JSON and logs:
// "one_for_one", "permanent", "task"/"process"/"drill"/"supervisor" (the
// Endpoint kind is spelled as the daemon's config names it, docs/config.md),
// "crash_after"/"panic"/"flaky"/"block_forever"/"ignore_cancel"/"busy".
std::string_view to_string(Strategy value);
std::string_view to_string(RestartType value);
std::string_view to_string(ChildKind value);
std::string_view to_string(DrillKind value);
std::optional<Strategy> strategy_from_string(std::string_view text);
std::optional<RestartType> restart_type_from_string(std::string_view text);
std::optional<ChildKind> child_kind_from_string(std::string_view text);
std::optional<DrillKind> drill_kind_from_string(std::string_view text);

}  // namespace sup
