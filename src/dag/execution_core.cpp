#include "dag/execution_core.hpp"

#include <algorithm>
#include <utility>

namespace sup::dag {

ExecutionCore::ExecutionCore(const DagSpec& spec, std::string execution_id)
    : spec_(spec),
      execution_id_(std::move(execution_id)),
      nodes_(spec.nodes.size()),
      scheduler_(spec) {}

Effects ExecutionCore::ignored(std::string reason) {
  Effects fx;
  fx.ignored = true;
  fx.ignored_reason = std::move(reason);
  return fx;
}

Record& ExecutionCore::record_node(Effects& fx, NodeIndex node, NodeState to, std::string reason) {
  NodeRuntime& runtime = nodes_[node];
  Record& record = fx.records.emplace_back();
  record.sequence = next_sequence_++;
  record.node = node;
  record.node_from = runtime.state;
  record.node_to = to;
  record.attempt = runtime.attempt;
  record.epoch = runtime.epoch;
  record.reason = std::move(reason);
  if (is_settled(to) && !is_settled(runtime.state)) ++settled_;
  if (!is_settled(to) && is_settled(runtime.state)) --settled_;
  if (to == NodeState::Failed) any_failed_ = true;
  if (to == NodeState::Pending) runtime.attempt_base = runtime.attempt;
  runtime.state = to;
  return record;
}

void ExecutionCore::record_execution(Effects& fx, ExecutionState to, std::string reason) {
  Record& record = fx.records.emplace_back();
  record.sequence = next_sequence_++;
  record.execution_from = state_;
  record.execution_to = to;
  record.reason = std::move(reason);
  state_ = to;
}

bool ExecutionCore::accepting_starts() const {
  return state_ == ExecutionState::Running || state_ == ExecutionState::Resumed;
}

void ExecutionCore::mark_ready(Effects& fx, const std::vector<NodeIndex>& nodes) {
  for (NodeIndex node : nodes) record_node(fx, node, NodeState::Ready, "every dep completed");
}

void ExecutionCore::schedule(Effects& fx, std::uint32_t global_free_slots) {
  if (!accepting_starts()) return;
  scratch_.clear();
  scheduler_.select(global_free_slots, scratch_);
  for (NodeIndex node : scratch_) {
    NodeRuntime& runtime = nodes_[node];
    ++runtime.attempt;
    runtime.epoch = next_epoch_++;
    Record& record = record_node(fx, node, NodeState::Running,
                                 "attempt " + std::to_string(runtime.attempt) + " started");
    held_.push_back({record.sequence, {node, runtime.attempt, runtime.epoch}});
    ++fx.slots_taken;
  }
}

void ExecutionCore::skip_dependents(Effects& fx, NodeIndex failed) {
  std::vector<NodeIndex> frontier{failed};
  while (!frontier.empty()) {
    NodeIndex node = frontier.back();
    frontier.pop_back();
    for (NodeIndex dependent : spec_.nodes[node].dependents) {
      if (nodes_[dependent].state != NodeState::Pending) continue;
      record_node(fx, dependent, NodeState::Skipped,
                  "dep " + spec_.nodes[node].id + " " +
                      std::string(node == failed ? "failed" : "was skipped"));
      frontier.push_back(dependent);
    }
  }
}

void ExecutionCore::finish_if_settled(Effects& fx) {
  if (!accepting_starts() || settled_ != nodes_.size()) return;
  if (any_failed_) {
    record_execution(fx, ExecutionState::Failed, "a node failed");
  } else {
    record_execution(fx, ExecutionState::Completed, "every node completed");
  }
}

Effects ExecutionCore::start(std::uint32_t global_free_slots) {
  TransitionCheck check = validate_transition(state_, ExecutionState::Running);
  if (!check.valid || started_) return ignored(check.reason);
  Effects fx;
  record_execution(fx, ExecutionState::Running, "started");
  start_nodes(fx, global_free_slots);
  return fx;
}

void ExecutionCore::start_nodes(Effects& fx, std::uint32_t global_free_slots) {
  started_ = true;
  scratch_.clear();
  scheduler_.start(scratch_);
  std::vector<NodeIndex> roots = scratch_;
  mark_ready(fx, roots);
  schedule(fx, global_free_slots);
}

Effects ExecutionCore::on_durable(std::uint64_t sequence) {
  Effects fx;
  auto released = std::find_if(held_.begin(), held_.end(),
                               [&](const HeldStart& held) { return held.sequence > sequence; });
  for (auto it = held_.begin(); it != released; ++it) {
    const NodeRuntime& runtime = nodes_[it->start.node];
    if (runtime.state == NodeState::Running && runtime.epoch == it->start.epoch)
      fx.starts.push_back(it->start);
  }
  held_.erase(held_.begin(), released);
  return fx;
}

Effects ExecutionCore::on_attempt_exit(NodeIndex node, std::uint64_t epoch,
                                       const AttemptOutcome& outcome, double uniform,
                                       std::uint32_t global_free_slots, std::string result) {
  if (node >= nodes_.size()) return ignored("no node " + std::to_string(node));
  NodeRuntime& runtime = nodes_[node];
  if (runtime.state != NodeState::Running || runtime.epoch != epoch)
    return ignored("stale result of " + spec_.nodes[node].id + " under epoch " +
                   std::to_string(epoch) + " (node is " + std::string(to_string(runtime.state)) +
                   ", epoch " + std::to_string(runtime.epoch) + ")");
  Effects fx;
  scheduler_.attempt_ended();
  fx.slots_freed = 1;
  std::string attempt = "attempt " + std::to_string(runtime.attempt);
  if (outcome.kind == AttemptOutcome::Kind::Succeeded) {
    record_node(fx, node, NodeState::Completed, attempt + " succeeded").result = std::move(result);
    scratch_.clear();
    scheduler_.node_completed(node, scratch_);
    std::vector<NodeIndex> ready = scratch_;
    mark_ready(fx, ready);
  } else {
    RetryDecision decision = decide_retry(spec_.nodes[node].retry,
                                          runtime.attempt - runtime.attempt_base, outcome, uniform);
    if (decision.retry) {
      record_node(fx, node, NodeState::RetryWait,
                  attempt + " failed; retry in " + std::to_string(decision.delay_ms) + " ms");
      fx.timers.push_back({node, runtime.epoch, decision.delay_ms});
    } else {
      record_node(fx, node, NodeState::Failed, attempt + " failed: " + decision.reason);
      skip_dependents(fx, node);
    }
  }
  schedule(fx, global_free_slots);
  finish_if_settled(fx);
  return fx;
}

Effects ExecutionCore::on_retry_timer(NodeIndex node, std::uint64_t epoch,
                                      std::uint32_t global_free_slots) {
  if (node >= nodes_.size()) return ignored("no node " + std::to_string(node));
  NodeRuntime& runtime = nodes_[node];
  if (runtime.state != NodeState::RetryWait || runtime.epoch != epoch)
    return ignored("stale retry timer of " + spec_.nodes[node].id);
  Effects fx;
  record_node(fx, node, NodeState::Ready, "backoff elapsed");
  scheduler_.make_ready(node);
  schedule(fx, global_free_slots);
  return fx;
}

Effects ExecutionCore::on_slots_available(std::uint32_t global_free_slots) {
  Effects fx;
  schedule(fx, global_free_slots);
  return fx;
}

Effects ExecutionCore::pause(std::string_view reason) {
  TransitionCheck check = validate_transition(state_, ExecutionState::Paused);
  if (!check.valid) return ignored(check.reason);
  Effects fx;
  record_execution(fx, ExecutionState::Paused, reason.empty() ? check.reason : std::string(reason));
  return fx;
}

Effects ExecutionCore::resume(std::uint32_t global_free_slots) {
  TransitionCheck check = validate_transition(state_, ExecutionState::Resumed);
  if (!check.valid) return ignored(check.reason);
  Effects fx;
  record_execution(fx, ExecutionState::Resumed, check.reason);
  if (!started_) {
    start_nodes(fx, global_free_slots);
  } else {
    schedule(fx, global_free_slots);
  }
  finish_if_settled(fx);
  return fx;
}

Effects ExecutionCore::cancel(std::string_view reason) {
  TransitionCheck check = validate_transition(state_, ExecutionState::Failed);
  if (!check.valid) return ignored(check.reason);
  Effects fx;
  std::string why = reason.empty() ? std::string("cancelled") : std::string(reason);
  for (NodeIndex node = 0; node < nodes_.size(); ++node) {
    NodeRuntime& runtime = nodes_[node];
    switch (runtime.state) {
      case NodeState::Running: {
        bool started = std::none_of(held_.begin(), held_.end(), [&](const HeldStart& held) {
          return held.start.node == node && held.start.epoch == runtime.epoch;
        });
        if (started) fx.stops.push_back({node, runtime.epoch});
        scheduler_.attempt_ended();
        ++fx.slots_freed;
        record_node(fx, node, NodeState::Cancelled, why);
        break;
      }
      case NodeState::Pending:
      case NodeState::Ready:
      case NodeState::RetryWait:
        record_node(fx, node, NodeState::Cancelled, why);
        break;
      default:
        break;
    }
  }
  held_.clear();
  record_execution(fx, ExecutionState::Failed, why);
  return fx;
}

Expected<ExecutionCore> ExecutionCore::restore(const DagSpec& spec, std::string execution_id,
                                               std::span<const Record> history) {
  ExecutionCore core(spec, std::move(execution_id));
  auto refuse = [&](const Record& record, std::string why) {
    return make_error(ErrorCode::DataLoss, "record " + std::to_string(record.sequence) +
                                               " of execution " + core.execution_id_ + ": " + why);
  };
  for (const Record& record : history) {
    if (record.sequence != core.next_sequence_)
      return refuse(record, "expected sequence " + std::to_string(core.next_sequence_));
    if (record.node) {
      if (*record.node >= core.nodes_.size()) return refuse(record, "no such node");
      NodeRuntime& runtime = core.nodes_[*record.node];
      if (record.node_from != runtime.state)
        return refuse(record, "node " + spec.nodes[*record.node].id + " is " +
                                  std::string(to_string(runtime.state)) + ", not " +
                                  std::string(to_string(record.node_from)));
      TransitionCheck check = validate_transition(record.node_from, record.node_to);
      if (!check.valid) return refuse(record, check.reason);
      if (is_settled(record.node_to) && !is_settled(runtime.state)) ++core.settled_;
      if (!is_settled(record.node_to) && is_settled(runtime.state)) --core.settled_;
      if (record.node_to == NodeState::Pending) runtime.attempt_base = record.attempt;
      runtime.state = record.node_to;
      runtime.attempt = record.attempt;
      runtime.epoch = record.epoch;
      core.next_epoch_ = std::max(core.next_epoch_, record.epoch + 1);
    } else {
      if (record.execution_from != core.state_)
        return refuse(record, "execution is " + std::string(to_string(core.state_)) + ", not " +
                                  std::string(to_string(record.execution_from)));
      TransitionCheck check = validate_transition(record.execution_from, record.execution_to);
      if (!check.valid) return refuse(record, check.reason);
      core.state_ = record.execution_to;
    }
    if (record.node || record.execution_to == ExecutionState::Running) core.started_ = true;
    ++core.next_sequence_;
  }
  core.recount_outcomes();
  // Never started: the scheduler stays fresh, start() queues the roots.
  if (!core.started_) return core;
  core.rebuild_scheduler(core.restored_ready_);
  return core;
}

void ExecutionCore::recount_outcomes() {
  any_failed_ = std::any_of(nodes_.begin(), nodes_.end(),
                            [](const NodeRuntime& n) { return n.state == NodeState::Failed; });
}

void ExecutionCore::rebuild_scheduler(std::vector<NodeIndex>& became_ready) {
  std::vector<NodeState> states(nodes_.size());
  for (std::size_t i = 0; i < states.size(); ++i) states[i] = nodes_[i].state;
  scheduler_.restore(states, became_ready);
}

std::vector<NodeIndex> ExecutionCore::downstream_of(NodeIndex from) const {
  std::vector<bool> in_scope(nodes_.size(), false);
  in_scope[from] = true;
  std::vector<NodeIndex> scope;
  // Topological order: a node's deps come before it, so one pass finds
  // every descendant.
  for (NodeIndex node : spec_.topological_order) {
    if (!in_scope[node])
      for (NodeIndex dep : spec_.nodes[node].deps)
        if (in_scope[dep]) in_scope[node] = true;
    if (in_scope[node]) scope.push_back(node);
  }
  return scope;
}

Effects ExecutionCore::retry_from(NodeIndex from, std::string_view reason,
                                  std::uint32_t global_free_slots) {
  if (from >= nodes_.size()) return ignored("no node " + std::to_string(from));
  if (state_ == ExecutionState::Pending)
    return ignored("the execution has not started: nothing to re-run");
  if (state_ == ExecutionState::Recovering || state_ == ExecutionState::Recovered)
    return ignored("the execution is " + std::string(to_string(state_)) +
                   ": re-run after the rollback with resume");
  std::vector<NodeIndex> scope = downstream_of(from);
  bool any_reset = false;
  for (NodeIndex node : scope) {
    NodeState state = nodes_[node].state;
    if (state == NodeState::Pending) continue;
    TransitionCheck check = validate_transition(state, NodeState::Pending);
    if (!check.valid)
      return ignored("node " + spec_.nodes[node].id + " is " + std::string(to_string(state)) +
                     ": it cannot run again now (" + check.reason + ")");
    any_reset = true;
  }
  if (!any_reset)
    return ignored("node " + spec_.nodes[from].id + " and its descendants are PENDING already");
  Effects fx;
  std::string why = "retry --from " + spec_.nodes[from].id;
  if (!reason.empty()) why += ": " + std::string(reason);
  if (!is_unfinished(state_)) record_execution(fx, ExecutionState::Running, why);
  for (NodeIndex node : scope)
    if (nodes_[node].state != NodeState::Pending) record_node(fx, node, NodeState::Pending, why);
  recount_outcomes();
  started_ = true;
  scratch_.clear();
  rebuild_scheduler(scratch_);
  std::vector<NodeIndex> ready = scratch_;
  mark_ready(fx, ready);
  schedule(fx, global_free_slots);
  return fx;
}

Effects ExecutionCore::resume_after_restart(std::uint32_t global_free_slots, double uniform,
                                            std::string_view why) {
  Effects fx;
  if (!is_unfinished(state_)) return ignored("execution is " + std::string(to_string(state_)));
  if (!started_) {
    if (state_ == ExecutionState::Pending) return start(global_free_slots);
    return fx;  // paused before it started: resume() starts it
  }
  std::vector<NodeIndex> ready = std::move(restored_ready_);
  restored_ready_.clear();
  mark_ready(fx, ready);
  for (NodeIndex node = 0; node < nodes_.size(); ++node) {
    NodeRuntime& runtime = nodes_[node];
    if (runtime.state == NodeState::Running) {
      // At least once: the attempt may or may not have finished its work.
      scheduler_.attempt_ended();
      record_node(fx, node, NodeState::Ready, std::string(why));
      scheduler_.make_ready(node);
    } else if (runtime.state == NodeState::RetryWait) {
      fx.timers.push_back({node, runtime.epoch,
                           backoff_delay_ms(spec_.nodes[node].retry, runtime.attempt, uniform)});
    }
  }
  schedule(fx, global_free_slots);
  finish_if_settled(fx);
  return fx;
}

}  // namespace sup::dag
