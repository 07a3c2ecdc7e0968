// The shell of DAG executions: carries out what each execution's functional
// core (dag::ExecutionCore) decides, against the durable store
// (store::CheckpointStore) and real processes (process::ProcessReactor).
//
// One dedicated thread runs every coordinator: each execution is a core plus
// its running attempts, driven by events posted to that thread (store
// acknowledgements, process exits, timers, submissions). Nothing on it
// blocks: appends are acknowledged through callbacks, processes are watched
// by the reactor's epoll thread. An effect is carried out only after the
// store acknowledged the records it depends on: a submission is answered
// once its PENDING record is committed, an attempt starts once its RUNNING
// record (and so its deps' COMPLETED records) is committed.
//
// start() opens the store, kills what a crashed predecessor's node
// processes left (their process groups are recorded under the state dir),
// rebuilds every unfinished execution from its durable history and resumes
// it; it returns once that resume is handed over (the daemon's `ready`).
//
//   auto service = ExecutionService::start({.state_dir = "/var/lib/sup"});
//   auto ack = submit_and_wait(**service, {.spec = text, .execution_id = "deploy-42"});
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "executions/execution_types.hpp"
#include "executions/stuck.hpp"
#include "sup/error.hpp"

namespace sup::executions {

struct ExecutionServiceOptions {
  // Holds the node work files (`executions/<id>/`: SUP_OUTPUT, SUP_INPUTS,
  // SUP_PARAMS) and the records of running node processes
  // (`execution-processes/`).
  std::filesystem::path state_dir{};
  // The LMDB store (store.path); empty: state_dir / "store".
  std::filesystem::path store_path{};
  std::uint64_t store_max_bytes = std::uint64_t{1} << 30;  // store.max_bytes
  // Node attempts running at once over all executions
  // (executions.max_parallel_nodes).
  std::uint32_t max_parallel_nodes = 16;

  // Metrics hooks (src/metrics); each must be short and never block.
  // On the store's writer thread after each commit: append requests it
  // held and how long the transaction took.
  std::function<void(std::size_t appends, std::chrono::nanoseconds took)> on_store_commit{};
  // On the service thread when a checkpoint is acknowledged: the
  // transitions it held and how long from hand-over to acknowledgement.
  std::function<void(std::size_t transitions, std::chrono::nanoseconds latency)>
      on_checkpoint_durable{};
  // Between SIGTERM and SIGKILL when an attempt times out or is stopped.
  std::chrono::milliseconds stop_grace{2000};
  // An unfinished execution without a transition for longer than this is
  // listed as STUCK (executions.stuck_after_ms; 0: only the node timeout
  // rule applies). See executions/stuck.hpp.
  std::uint64_t stuck_after_ms = 600'000;
  // Called on the service thread each time an execution's records are
  // committed: its state as of those records. Keep it short.
  std::function<void(const std::string& execution_id, std::string_view state, bool finished)>
      on_state_durable{};
  // Called on the service thread for every transition, in order, once its
  // record is committed (never before). Keep it short and non-blocking.
  std::function<void(const TransitionEvent&)> on_transition{};
};

// The store as the metrics and probes see it (store_usage()).
struct StoreUsage {
  std::uint64_t map_bytes = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t free_pages = 0;
  std::uint64_t commits = 0;
  std::uint64_t appends_failed = 0;  // append requests answered with an error
  std::map<std::string, std::uint64_t> executions_by_state;  // every stored execution
  std::uint64_t bad_summaries = 0;                           // summaries that failed their checks
};

// Checksums and structure of recent executions' records (/healthz/deep).
struct RecentValidation {
  std::uint64_t executions_checked = 0;
  std::uint64_t records_checked = 0;
  std::vector<std::string> bad;  // "<execution_id>:<seq>: reason"
};

struct ResumeReport {
  std::size_t resumed = 0;  // unfinished executions rebuilt and resumed
  std::size_t failed = 0;   // could not be rebuilt (logged with the reason)
};

class ExecutionService {
 public:
  static Expected<std::unique_ptr<ExecutionService>> start(ExecutionServiceOptions options);
  // Stops the thread, kills running node processes (they run again as the
  // next attempt after the next start) and closes the store after its
  // pending commits.
  ~ExecutionService();
  ExecutionService(const ExecutionService&) = delete;
  ExecutionService& operator=(const ExecutionService&) = delete;

  // Thread-safe. `done` is called once, on the service thread: after the
  // PENDING record is committed, or with the error (invalid_dag naming the
  // field, a store error).
  void submit(SubmitRequest request, std::function<void(Expected<SubmitAck>)> done);
  // The execution's state as committed (store summary). Thread-safe.
  Expected<ExecutionInfo> get(std::string_view execution_id) const;
  // Per node states, attempts and results as committed (fold_history).
  // NotFound for an unknown id. Thread-safe; reads the whole history.
  Expected<ExecutionView> describe(std::string_view execution_id) const;
  // Summaries in execution id order, unfinished ones with their STUCK
  // finding; filter.state "STUCK" lists only those. Thread-safe; reads the
  // history of each unfinished execution listed.
  Expected<std::vector<ExecutionInfo>> list(const ListFilter& filter) const;
  // Pause (running nodes finish, nothing new starts), resume, or cancel
  // (running nodes are stopped, the execution ends FAILED). `done` is
  // called once on the service thread: after the transition's record is
  // committed, at once when there is nothing to do, or with the error
  // (NotFound, FailedPrecondition for a stalled execution).
  void control(std::string execution_id, ControlAction action, std::string reason,
               std::function<void(Expected<ControlAck>)> done);
  // The newest `max_lines` captured lines of a node (stdout and stderr of
  // every attempt). NotFound for an unknown execution or node. Thread-safe.
  Expected<NodeOutput> node_output(std::string_view execution_id, std::string_view node_id,
                                   std::size_t max_lines) const;
  // Maintenance mode on or off (`done` once on the service thread, after
  // the mode is committed to the store, or with the error: InvalidArgument
  // for a missing reason, a store error). Turning it on takes effect at
  // once (a submission arriving meanwhile is queued); turning it off starts
  // the queued executions once it is committed.
  void set_maintenance(MaintenanceChange change,
                       std::function<void(Expected<MaintenanceAck>)> done);
  // The mode as last committed (or being turned on). Thread-safe.
  MaintenanceMode maintenance() const;
  // resume-all: every STUCK execution (but those queued by maintenance
  // mode) stops its running attempts and is rebuilt from its committed
  // records as a daemon restart would rebuild it: its RUNNING nodes run
  // again as new attempts, retry timers are armed again, a queued one
  // starts. The stuck listing is read on the calling thread; `done` is
  // called once on the service thread.
  void resume_all(std::string reason, std::function<void(Expected<ResumeAllAck>)> done);
  // retry --from: `request.from_node` and its descendants run again, every
  // other node keeps its state and result. `done` after the records are
  // committed, or with the error: NotFound (execution_id, node_id),
  // FailedPrecondition naming why not (a node in scope still running, ...).
  void retry(RetryRequest request, std::function<void(Expected<RetryAck>)> done);
  // What STUCK means for this service (its options and maintenance mode).
  StuckPolicy stuck_policy() const;

  const ResumeReport& resume_report() const;
  // How long start() took to rebuild and resume unfinished executions.
  std::chrono::nanoseconds resume_duration() const;

  // Space, counters and executions by state, read from the store (one
  // short read transaction each; reads every summary). Thread-safe; an
  // error when the store does not answer.
  Expected<StoreUsage> store_usage() const;
  // Nodes of unfinished executions by state ("RUNNING": 3, ...), counted on
  // the service thread; `done` is called there. Thread-safe.
  void count_nodes(std::function<void(std::map<std::string, std::uint64_t>)> done) const;
  // Stored executions (summaries) in id order: those in `state` when
  // given, at most `limit` (0: all). Thread-safe; reads from disk.
  Expected<std::vector<ExecutionInfo>> list_summaries(std::string_view state,
                                                      std::size_t limit) const;
  // Checks every record of the `executions` most recently updated ones.
  // Thread-safe; reads from disk.
  Expected<RecentValidation> validate_recent(std::size_t executions) const;

  struct Impl;

 private:
  explicit ExecutionService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks until `service` answers. For tools and tests, never from the
// service's own thread (on_state_durable).
Expected<SubmitAck> submit_and_wait(ExecutionService& service, SubmitRequest request);

}  // namespace sup::executions
