// The functional core of one execution: node states, attempts and fencing
// epochs, driven by events, answering with effects for the shell (the
// coordinator actor) to carry out. No clock, no I/O, no randomness: the
// shell passes the random number full jitter needs and the free slots of
// the daemon-wide budget.
//
// Durability rule: every transition is a Record the shell checkpoints in
// sequence order; an attempt starts only once the record of its RUNNING
// transition is durable (the shell acknowledges with on_durable), and that
// record comes after its deps' COMPLETED records, so a dependent never runs
// on a completion that a crash could lose.
//
//   ExecutionCore core(spec, "e-17");
//   Effects fx = core.start(free_slots);
//   store.append(fx.records, [&] { apply(core.on_durable(fx.records.back().sequence)); });
//   ... process exited:
//   apply(core.on_attempt_exit(node, epoch, outcome, uniform01(), free_slots));
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dag/retry.hpp"
#include "dag/scheduler.hpp"
#include "dag/spec.hpp"
#include "dag/states.hpp"
#include "sup/error.hpp"

namespace sup::dag {

// One durable transition: of the execution (node empty) or of a node.
struct Record {
  std::uint64_t sequence = 0;  // 1, 2, ... per execution
  std::optional<NodeIndex> node;
  ExecutionState execution_from = ExecutionState::Pending;
  ExecutionState execution_to = ExecutionState::Pending;
  NodeState node_from = NodeState::Pending;
  NodeState node_to = NodeState::Pending;
  // Node records: the attempt and its fencing epoch (RUNNING and after).
  std::uint32_t attempt = 0;
  std::uint64_t epoch = 0;
  std::string reason;
  // COMPLETED records: the node's published result (JSON text), if any.
  std::string result;
};

struct StartAttempt {
  NodeIndex node;
  std::uint32_t attempt;
  std::uint64_t epoch;
};

struct StopAttempt {
  NodeIndex node;
  std::uint64_t epoch;
};

struct RetryTimer {
  NodeIndex node;
  std::uint64_t epoch;
  std::uint64_t delay_ms;
};

struct Effects {
  // Checkpoint these in order, then call on_durable(last sequence).
  std::vector<Record> records;
  // Only ever from on_durable: attempts whose RUNNING record is durable.
  std::vector<StartAttempt> starts;
  // Attempts to stop (SIGTERM, then SIGKILL after the grace period).
  std::vector<StopAttempt> stops;
  // Call on_retry_timer(node, epoch) after delay_ms.
  std::vector<RetryTimer> timers;
  // Slots of the daemon-wide budget taken by new RUNNING transitions, and
  // freed by attempts that ended.
  std::uint32_t slots_taken = 0;
  std::uint32_t slots_freed = 0;
  // The event changed nothing (a result under an older epoch, a pause of
  // a paused execution, ...), and why.
  bool ignored = false;
  std::string ignored_reason;
};

class ExecutionCore {
 public:
  // Keeps a reference to `spec`, which must outlive the core.
  ExecutionCore(const DagSpec& spec, std::string execution_id);

  // Rebuilds an execution from its recorded history (checked transition by
  // transition; a history the tables refuse is an error naming the record).
  // Then call resume_after_restart.
  static Expected<ExecutionCore> restore(const DagSpec& spec, std::string execution_id,
                                         std::span<const Record> history);

  // PENDING → RUNNING, the roots READY, the first attempts selected.
  Effects start(std::uint32_t global_free_slots);
  // After a daemon restart: nodes RUNNING at the crash run again (RUNNING →
  // READY, next attempt, new epoch), retry timers are armed again, a PENDING
  // execution starts, a PAUSED one stays paused.
  // `why`: the reason recorded for the nodes that run again (resume-all
  // rebuilds a stuck execution the same way).
  Effects resume_after_restart(
      std::uint32_t global_free_slots, double uniform,
      std::string_view why = "interrupted by a daemon restart; runs again as the next attempt");
  // Records up to `sequence` are durable: releases the attempts they allow.
  Effects on_durable(std::uint64_t sequence);
  // An attempt ended. `result`: what the node wrote to SUP_OUTPUT, for a
  // success. Ignored unless `epoch` is the node's current attempt's.
  Effects on_attempt_exit(NodeIndex node, std::uint64_t epoch, const AttemptOutcome& outcome,
                          double uniform, std::uint32_t global_free_slots, std::string result = {});
  Effects on_retry_timer(NodeIndex node, std::uint64_t epoch, std::uint32_t global_free_slots);
  // Daemon-wide slots freed up (another execution's attempt ended).
  Effects on_slots_available(std::uint32_t global_free_slots);
  Effects pause(std::string_view reason);
  Effects resume(std::uint32_t global_free_slots);
  Effects cancel(std::string_view reason);
  // retry --from: `from` and every node downstream of it go back to
  // PENDING (their results dropped) and run again as new attempts, with
  // their retry budgets fresh; every other node keeps its state and
  // result. A finished execution runs again (COMPLETED/FAILED → RUNNING),
  // a paused one stays paused. Ignored, with the reason, when a node in
  // scope is READY, RUNNING or waiting for a retry, or the execution is
  // PENDING or in a rollback.
  Effects retry_from(NodeIndex from, std::string_view reason, std::uint32_t global_free_slots);
  // `from` and its descendants, in topological order.
  std::vector<NodeIndex> downstream_of(NodeIndex from) const;

  ExecutionState state() const { return state_; }
  NodeState node_state(NodeIndex node) const { return nodes_[node].state; }
  std::uint32_t node_attempt(NodeIndex node) const { return nodes_[node].attempt; }
  std::uint64_t node_epoch(NodeIndex node) const { return nodes_[node].epoch; }
  const std::string& execution_id() const { return execution_id_; }

 private:
  struct NodeRuntime {
    NodeState state = NodeState::Pending;
    std::uint32_t attempt = 0;
    std::uint64_t epoch = 0;
    // Attempts before the latest reset (retry --from): the retry policy
    // counts from here.
    std::uint32_t attempt_base = 0;
  };
  struct HeldStart {
    std::uint64_t sequence;  // its RUNNING record
    StartAttempt start;
  };

  Record& record_node(Effects& fx, NodeIndex node, NodeState to, std::string reason);
  void record_execution(Effects& fx, ExecutionState to, std::string reason);
  void schedule(Effects& fx, std::uint32_t global_free_slots);
  void start_nodes(Effects& fx, std::uint32_t global_free_slots);
  void mark_ready(Effects& fx, const std::vector<NodeIndex>& nodes);
  void skip_dependents(Effects& fx, NodeIndex failed);
  void finish_if_settled(Effects& fx);
  bool accepting_starts() const;
  void recount_outcomes();
  void rebuild_scheduler(std::vector<NodeIndex>& became_ready);
  static Effects ignored(std::string reason);

  const DagSpec& spec_;
  std::string execution_id_;
  ExecutionState state_ = ExecutionState::Pending;
  std::vector<NodeRuntime> nodes_;
  ReadyScheduler scheduler_;
  std::vector<HeldStart> held_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t next_epoch_ = 1;
  std::size_t settled_ = 0;
  bool any_failed_ = false;
  // The roots have been made ready (the execution has run at some point).
  bool started_ = false;
  // restore: PENDING nodes whose deps had all completed, made READY by
  // resume_after_restart.
  std::vector<NodeIndex> restored_ready_;
  std::vector<NodeIndex> scratch_;
};

}  // namespace sup::dag
