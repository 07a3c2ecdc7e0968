// Which ready nodes of one execution start next, and when a node becomes
// ready. Pure and incremental: each node keeps a counter of deps not yet
// completed, so a completion costs O(its dependents) and a start
// O(log ready), never a rescan of the graph.
//
// Order among ready nodes (docs/dag.md, "Ready order"): higher risk first,
// then the longer critical path (the most nodes on a path from the node to
// a sink, itself included), then declaration order.
//
//   ReadyScheduler scheduler(spec);
//   scheduler.start(ready);                       // the roots
//   scheduler.select(global_free_slots, to_start);
//   ... attempt of n succeeded:
//   scheduler.attempt_ended();
//   scheduler.node_completed(n, ready);           // dependents now ready
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dag/spec.hpp"
#include "dag/states.hpp"

namespace sup::dag {

// Per node, the most nodes on a path from it to a sink (a sink: 1).
std::vector<std::uint32_t> critical_path_lengths(const DagSpec& spec);

class ReadyScheduler {
 public:
  // Keeps a reference to `spec`, which must outlive the scheduler.
  explicit ReadyScheduler(const DagSpec& spec);

  // A fresh execution: appends the nodes without deps to `became_ready`
  // (declaration order) and queues them.
  void start(std::vector<NodeIndex>& became_ready);

  // An execution rebuilt from recorded node states: READY nodes are queued,
  // RUNNING ones hold a slot (the caller re-queues them with make_ready once
  // it has decided to run them again), and PENDING nodes whose deps have all
  // completed are appended to `became_ready` and queued.
  void restore(std::span<const NodeState> states, std::vector<NodeIndex>& became_ready);

  // `node` completed: appends the dependents whose last dep this was to
  // `became_ready` and queues them.
  void node_completed(NodeIndex node, std::vector<NodeIndex>& became_ready);

  // Queues a node again (retry backoff elapsed, or interrupted by a restart).
  void make_ready(NodeIndex node);

  // An attempt ended (whatever its outcome): frees its slot.
  void attempt_ended();

  // Moves the best ready nodes, as many as the execution's max_parallel and
  // `global_free_slots` allow, to `to_start` (best first); each holds a slot
  // until attempt_ended.
  void select(std::uint32_t global_free_slots, std::vector<NodeIndex>& to_start);

  std::size_t ready_count() const { return ready_.size(); }
  std::uint32_t running_count() const { return running_; }

  // The order key of a node: greater starts first.
  std::uint64_t priority(NodeIndex node) const { return priority_[node]; }

 private:
  void queue(NodeIndex node);

  const DagSpec& spec_;
  std::vector<std::uint64_t> priority_;
  std::vector<std::uint32_t> deps_left_;
  // A binary max-heap of priorities; a node's index is in the low 32 bits.
  std::vector<std::uint64_t> ready_;
  std::uint32_t running_ = 0;
};

}  // namespace sup::dag
