#include "supervisor/supervision_tree.hpp"

#include <algorithm>
#include <utility>

#include "supervisor/backoff.hpp"

namespace sup::core {
namespace {

std::string exit_payload_reason(const TaskExit& exit) {
  return exit.reason.empty() ? std::string(to_string(exit.kind)) : exit.reason;
}

bool is_dangling_stop(ChildState state) {
  return state == ChildState::Restarting || state == ChildState::Running;
}

}  // namespace

namespace {

std::size_t count_specs(const std::vector<ChildSpec>& children) {
  std::size_t count = children.size();
  for (const auto& child : children) count += count_specs(child.children);
  return count;
}

}  // namespace

SupervisionTree::SupervisionTree(SupervisorSpec root, TreeOptions options, Now now)
    : rng_(options.jitter_seed) {
  // Exactly: vector growth would leave up to half the nodes' size unused.
  const std::size_t nodes = 1 + count_specs(root.children);
  nodes_.reserve(nodes);
  index_.reserve(nodes);
  ChildSpec root_spec;
  root_spec.id = "root";
  root_spec.kind = ChildKind::Supervisor;
  root_spec.strategy = root.strategy;
  root_spec.intensity = root.intensity;
  root_spec.period_ms = root.period_ms;
  root_spec.children = std::move(root.children);
  add_node(std::move(root_spec), kRootNode, now);
}

NodeIndex SupervisionTree::add_node(ChildSpec spec, NodeIndex parent, Now now) {
  auto index = static_cast<NodeIndex>(nodes_.size());
  std::vector<ChildSpec> children = std::exchange(spec.children, {});
  nodes_.emplace_back(std::move(spec), parent, now.mono_ms);
  index_.emplace(nodes_.back().spec.id, index);
  if (index != kRootNode) nodes_[parent].children.push_back(index);
  for (auto& child : children) add_node(std::move(child), index, now);
  return index;
}

void SupervisionTree::forget_node(NodeIndex node) {
  // Slots are never reused, so a late exit of a removed incarnation can never
  // be mistaken for a newer child's.
  auto& siblings = nodes_[nodes_[node].parent].children;
  std::erase(siblings, node);
  for (NodeIndex child : std::vector<NodeIndex>(nodes_[node].children)) forget_node(child);
  index_.erase(nodes_[node].spec.id);
  Node& n = nodes_[node];
  n.removed = true;
  n.children.clear();
  n.in_group = false;
  if (n.supervision) {
    n.supervision->stop_queue.clear();
    clear_group(node);
  }
  ++state_generation_;
}

std::optional<NodeIndex> SupervisionTree::find(std::string_view id) const {
  auto it = index_.find(std::string(id));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void SupervisionTree::set_state(NodeIndex node, ChildState state) {
  nodes_[node].state = state;
  ++state_generation_;
}

void SupervisionTree::emit(
    std::string type, std::string severity, NodeIndex node,
    std::initializer_list<std::pair<const std::string, std::string>> payload) {
  Event event;
  event.event_type = std::move(type);
  event.severity = std::move(severity);
  if (node != kRootNode) event.child_id = nodes_[node].spec.id;
  event.target_path = record_path(node);
  event.payload = payload;
  effects_.emplace_back(EmitEvent{std::move(event)});
  ++state_generation_;
}

std::string SupervisionTree::record_path(NodeIndex node) const {
  // Built back to front in one allocation: every event and every record of
  // a state snapshot asks for one.
  std::size_t length = 0;
  for (NodeIndex at = node;; at = nodes_[at].parent) {
    length += nodes_[at].spec.id.size() + (at == node ? 0 : 1);
    if (at == kRootNode) break;
  }
  std::string path(length, '/');
  std::size_t end = length;
  for (NodeIndex at = node;; at = nodes_[at].parent) {
    const std::string& id = nodes_[at].spec.id;
    end -= id.size();
    id.copy(path.data() + end, id.size());
    if (at == kRootNode) break;
    --end;  // the '/' before it
  }
  return path;
}

bool SupervisionTree::ancestor_stopping(NodeIndex node) const {
  for (NodeIndex at = nodes_[node].parent;; at = nodes_[at].parent) {
    if (nodes_[at].after_stop != AfterStop::None || !nodes_[at].live) return true;
    if (at == kRootNode) return false;
  }
}

void SupervisionTree::start(Now now) {
  start_node(kRootNode, now);
}

void SupervisionTree::start_node(NodeIndex node, Now now) {
  Node& n = nodes_[node];
  if (n.removed || n.live) return;
  ++n.generation;
  n.live = true;
  n.after_stop = AfterStop::None;
  n.pid.reset();
  n.started_at_mono_ms = now.mono_ms;
  n.started_at_unix_ms = now.unix_ms;
  set_state(node, ChildState::Running);
  if (node != kRootNode) {
    emit("child_started", "info", node, {{"generation", std::to_string(n.generation)}});
  }
  if (!is_supervisor(node)) {
    effects_.emplace_back(StartIncarnation{node, n.generation});
    return;
  }
  n.supervision->intensity.clear();
  for (NodeIndex child : std::vector<NodeIndex>(n.children)) {
    ChildState state = nodes_[child].state;
    if (state == ChildState::Quarantined || state == ChildState::Paused) continue;
    start_node(child, now);
  }
}

void SupervisionTree::set_pid(NodeIndex node, std::uint64_t generation, int pid) {
  if (node >= nodes_.size() || nodes_[node].generation != generation || !nodes_[node].live) return;
  nodes_[node].pid = pid;
  ++state_generation_;
}

void SupervisionTree::begin_stop(NodeIndex node, AfterStop after, Now now) {
  Node& n = nodes_[node];
  bool already_stopping = n.live && n.after_stop != AfterStop::None;
  if (n.after_stop != AfterStop::Remove) n.after_stop = after;
  if (!n.live) {
    finish_stop(node, now);
    return;
  }
  switch (after) {
    case AfterStop::Quarantine:
      set_state(node, ChildState::Quarantined);
      break;
    case AfterStop::Pause:
      set_state(node, ChildState::Paused);
      break;
    default:
      set_state(node, ChildState::Stopping);
      break;
  }
  if (already_stopping && !is_supervisor(node)) return;
  if (is_supervisor(node)) {
    clear_group(node);
    n.supervision->stop_queue = n.children;
    n.supervision->queue_intent = AfterStop::Stop;
    pump_stop_queue(node, now);
    return;
  }
  effects_.emplace_back(StopIncarnation{node, n.generation});
  arm({now.mono_ms + n.spec.shutdown_timeout_ms, node, n.generation, TimerKind::StopDeadline});
}

void SupervisionTree::pump_stop_queue(NodeIndex supervisor, Now now) {
  Node::Supervision& supervision = *nodes_[supervisor].supervision;
  while (!supervision.stop_queue.empty()) {
    NodeIndex child = supervision.stop_queue.back();
    Node& c = nodes_[child];
    AfterStop intent = supervision.queue_intent;
    if (!c.live || c.removed) {
      if (intent == AfterStop::Stop && c.state == ChildState::Restarting && !c.removed) {
        set_state(child, ChildState::Stopped);
      }
      supervision.stop_queue.pop_back();
      continue;
    }
    bool stopping_for_other_reason = c.after_stop != AfterStop::None;
    if (intent == AfterStop::Stop || !stopping_for_other_reason) begin_stop(child, intent, now);
    if (nodes_[child].live) return;
  }
  Node& s = nodes_[supervisor];
  if (s.live && s.after_stop != AfterStop::None) {
    bool any_live = std::any_of(s.children.begin(), s.children.end(),
                                [&](NodeIndex child) { return nodes_[child].live; });
    if (!any_live) finish_stop(supervisor, now);
  } else {
    try_group_restart(supervisor, now);
  }
}

void SupervisionTree::finish_stop(NodeIndex node, Now now) {
  Node& n = nodes_[node];
  n.live = false;
  n.pid.reset();
  AfterStop after = std::exchange(n.after_stop, AfterStop::None);
  NodeIndex parent = n.parent;
  switch (after) {
    case AfterStop::Restart:
      if (!shutting_down_ && !ancestor_stopping(node)) {
        start_node(node, now);
      } else {
        set_state(node, ChildState::Stopped);
      }
      break;
    case AfterStop::GroupRestart:
      set_state(node, ChildState::Restarting);
      break;
    case AfterStop::Pause:
      set_state(node, ChildState::Paused);
      break;
    case AfterStop::Quarantine:
      set_state(node, ChildState::Quarantined);
      break;
    case AfterStop::Remove:
      emit("child_removed", "info", node);
      forget_node(node);
      break;
    case AfterStop::None:
    case AfterStop::Stop:
      set_state(node, ChildState::Stopped);
      if (node == kRootNode) {
        stopped_ = true;
        effects_.emplace_back(TreeStopped{false, {}});
        return;
      }
      break;
    case AfterStop::Escalate: {
      set_state(node, ChildState::Failed);
      TaskExit exit{TaskExit::Failed, n.supervision->escalation_reason, now.unix_ms};
      n.last_exit = exit;
      if (node == kRootNode) {
        stopped_ = true;
        effects_.emplace_back(TreeStopped{true, n.supervision->escalation_reason});
        return;
      }
      handle_exit(node, exit, now);
      break;
    }
  }
  if (node != kRootNode) pump_stop_queue(parent, now);
}

void SupervisionTree::on_exit(NodeIndex node, std::uint64_t generation, TaskExit exit, Now now) {
  if (node >= nodes_.size()) return;
  Node& n = nodes_[node];
  if (n.generation != generation || !n.live || is_supervisor(node)) return;
  n.last_exit = exit;
  emit("child_exited", exit.abnormal() ? "warning" : "info", node,
       {{"task_exit", std::string(to_string(exit.kind))},
        {"exit_reason", exit_payload_reason(exit)},
        {"restart_count", std::to_string(n.restart_count)},
        {"generation", std::to_string(generation)}});
  if (n.after_stop != AfterStop::None) {
    finish_stop(node, now);
    return;
  }
  n.live = false;
  n.pid.reset();
  if (shutting_down_ || ancestor_stopping(node)) {
    set_state(node, exit.abnormal() ? ChildState::Failed : ChildState::Stopped);
    pump_stop_queue(n.parent, now);
    return;
  }
  handle_exit(node, exit, now);
}

void SupervisionTree::handle_exit(NodeIndex node, const TaskExit& exit, Now now) {
  Node& n = nodes_[node];
  bool restart = n.spec.restart == RestartType::Permanent ||
                 (n.spec.restart == RestartType::Transient && exit.abnormal());
  if (!restart) {
    set_state(node, exit.abnormal() ? ChildState::Failed : ChildState::Stopped);
    return;
  }
  if (exit.abnormal() && n.crash_window.record(now.mono_ms)) {
    quarantine(node,
               "crash loop: " + std::to_string(n.spec.crash_loop.max_failures) +
                   " failures within " + std::to_string(n.spec.crash_loop.window_ms) + " ms",
               now);
    return;
  }
  if (!n.budget.try_take(now.mono_ms)) {
    quarantine(node,
               "restart budget exhausted (0 of " + std::to_string(int(n.spec.budget.capacity)) +
                   " tokens)",
               now);
    return;
  }
  NodeIndex parent = n.parent;
  if (nodes_[parent].supervision->intensity.record(now.mono_ms)) {
    set_state(node, ChildState::Failed);
    const ChildSpec& p = nodes_[parent].spec;
    escalate(parent,
             "intensity exceeded: more than " + std::to_string(p.intensity) + " restarts within " +
                 std::to_string(p.period_ms) + " ms",
             now);
    return;
  }
  schedule_restart(node, now);
}

void SupervisionTree::schedule_restart(NodeIndex node, Now now) {
  Node& n = nodes_[node];
  if (now.mono_ms - n.started_at_mono_ms >= n.spec.backoff.reset_after_ms) n.attempt = 0;
  ++n.attempt;
  ++n.restart_count;
  std::uint64_t ceiling = backoff_ceiling_ms(n.spec.backoff, n.attempt);
  n.backoff_ms = backoff_delay_ms(n.spec.backoff, n.attempt, rng_);
  std::int64_t due = now.mono_ms + static_cast<std::int64_t>(n.backoff_ms);
  set_state(node, ChildState::Restarting);
  emit("child_restarting", "warning", node,
       {{"backoff_ms", std::to_string(n.backoff_ms)},
        {"backoff_ceiling_ms", std::to_string(ceiling)},
        {"attempt", std::to_string(n.attempt)},
        {"restart_count", std::to_string(n.restart_count)}});

  switch (nodes_[n.parent].spec.strategy) {
    case Strategy::OneForOne:
      restart_one_for_one(node, due, now);
      break;
    case Strategy::OneForAll:
      restart_one_for_all(node, due, now);
      break;
    case Strategy::RestForOne:
      restart_rest_for_one(node, due, now);
      break;
  }
}

void SupervisionTree::restart_one_for_one(NodeIndex node, std::int64_t due, Now now) {
  Node& n = nodes_[node];
  n.restart_due_mono_ms = due;
  if (n.backoff_ms == 0) {
    start_node(node, now);
  } else {
    arm({due, node, n.generation, TimerKind::Restart});
  }
}

void SupervisionTree::restart_one_for_all(NodeIndex node, std::int64_t due, Now now) {
  restart_group(node, 0, due, now);
}

void SupervisionTree::restart_rest_for_one(NodeIndex node, std::int64_t due, Now now) {
  const std::vector<NodeIndex>& siblings = nodes_[nodes_[node].parent].children;
  auto position = std::find(siblings.begin(), siblings.end(), node);
  restart_group(node, static_cast<std::size_t>(position - siblings.begin()), due, now);
}

// The siblings from `first` on that run (or wait for their own restart) go
// down, the last declared first, and the group comes back in declaration
// order. Linear in the siblings, and O(1) for a member whose group restart
// is already pending (a storm of failures in one group stays linear).
void SupervisionTree::restart_group(NodeIndex node, std::size_t first, std::int64_t due, Now now) {
  NodeIndex parent = nodes_[node].parent;
  Node& p = nodes_[parent];
  Node::Supervision& supervision = *p.supervision;
  // One timer per later due time, not per failure: each firing walks the group.
  bool due_later = due > supervision.group_due_mono_ms;
  supervision.group_due_mono_ms = std::max(supervision.group_due_mono_ms, due);
  const bool joins_now = !nodes_[node].in_group;
  if (joins_now) {
    bool joined = false;
    for (std::size_t i = first; i < p.children.size(); ++i) {
      NodeIndex sibling = p.children[i];
      Node& s = nodes_[sibling];
      if (s.in_group || (sibling != node && !is_dangling_stop(s.state))) continue;
      s.in_group = joined = true;
      if (sibling != node) ++s.restart_count;
    }
    if (joined) {
      supervision.group.clear();
      for (NodeIndex sibling : p.children)
        if (nodes_[sibling].in_group) supervision.group.push_back(sibling);
      supervision.stop_queue.clear();
      for (NodeIndex member : supervision.group)
        if (nodes_[member].live) supervision.stop_queue.push_back(member);
      supervision.queue_intent = AfterStop::GroupRestart;
    }
  }
  if (joins_now || due_later)
    arm({supervision.group_due_mono_ms, parent, p.generation, TimerKind::GroupRestart});
  pump_stop_queue(parent, now);
}

void SupervisionTree::clear_group(NodeIndex supervisor) {
  std::vector<NodeIndex>& group = nodes_[supervisor].supervision->group;
  for (NodeIndex member : group) nodes_[member].in_group = false;
  group.clear();
}

void SupervisionTree::try_group_restart(NodeIndex supervisor, Now now) {
  Node& s = nodes_[supervisor];
  std::vector<NodeIndex>& group = s.supervision->group;
  if (group.empty() || now.mono_ms < s.supervision->group_due_mono_ms) return;
  bool any_live = std::any_of(group.begin(), group.end(),
                              [&](NodeIndex member) { return nodes_[member].live; });
  if (any_live || s.after_stop != AfterStop::None) return;
  for (NodeIndex member : std::exchange(group, {})) {
    Node& m = nodes_[member];
    m.in_group = false;
    if (m.removed || m.state != ChildState::Restarting) continue;
    if (m.after_stop == AfterStop::None && !m.live) start_node(member, now);
  }
}

void SupervisionTree::quarantine(NodeIndex node, std::string reason, Now now) {
  Node& n = nodes_[node];
  n.quarantine_reason = std::move(reason);
  emit("child_quarantined", "error", node,
       {{"reason", n.quarantine_reason}, {"restart_count", std::to_string(n.restart_count)}});
  if (n.live) {
    begin_stop(node, AfterStop::Quarantine, now);
  } else {
    set_state(node, ChildState::Quarantined);
  }
}

void SupervisionTree::escalate(NodeIndex supervisor, std::string reason, Now now) {
  Node& s = nodes_[supervisor];
  s.supervision->escalation_reason = std::move(reason);
  emit(supervisor == kRootNode ? "tree_fused" : "supervisor_escalated", "error", supervisor,
       {{"reason", s.supervision->escalation_reason}});
  begin_stop(supervisor, AfterStop::Escalate, now);
}

void SupervisionTree::on_tick(Now now) {
  while (!timers_.empty() && timers_.top().due_mono_ms <= now.mono_ms) {
    Timer timer = timers_.top();
    timers_.pop();
    Node& n = nodes_[timer.node];
    if (n.removed || n.generation != timer.generation) continue;
    switch (timer.kind) {
      case TimerKind::Restart:
        if (n.state == ChildState::Restarting && !n.live && !ancestor_stopping(timer.node)) {
          start_node(timer.node, now);
        }
        break;
      case TimerKind::GroupRestart:
        try_group_restart(timer.node, now);
        break;
      case TimerKind::StopDeadline:
        if (n.live && n.after_stop != AfterStop::None) {
          emit("child_kill_escalated", "warning", timer.node,
               {{"shutdown_timeout_ms", std::to_string(n.spec.shutdown_timeout_ms)}});
          effects_.emplace_back(KillIncarnation{timer.node, n.generation});
        }
        break;
    }
  }
}

std::optional<std::int64_t> SupervisionTree::next_deadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.top().due_mono_ms;
}

std::optional<NodeIndex> SupervisionTree::find_command_target(std::string_view id,
                                                              CommandResult& refusal) const {
  if (id == "root") {
    refusal = CommandResult::rejected("the root supervisor is not a child; use shutdown_tree");
    return std::nullopt;
  }
  auto node = find(id);
  if (!node) {
    refusal = CommandResult::not_found("no child with id \"" + std::string(id) + "\"");
    return std::nullopt;
  }
  if (shutting_down_) {
    refusal = CommandResult::rejected("the tree is shutting down");
    return std::nullopt;
  }
  if (nodes_[*node].after_stop == AfterStop::Remove) {
    refusal = CommandResult::rejected("child \"" + std::string(id) + "\" is being removed");
    return std::nullopt;
  }
  return node;
}

CommandResult SupervisionTree::add_child(const ChildSpec& spec, std::string_view parent_id,
                                         Now now) {
  if (shutting_down_) return CommandResult::rejected("the tree is shutting down");
  auto parent = find(parent_id);
  if (!parent)
    return CommandResult::not_found("no supervisor with id \"" + std::string(parent_id) + "\"");
  if (!is_supervisor(*parent)) {
    return CommandResult::rejected("\"" + std::string(parent_id) + "\" is not a supervisor");
  }
  std::vector<const ChildSpec*> pending{&spec};
  while (!pending.empty()) {
    const ChildSpec* s = pending.back();
    pending.pop_back();
    if (find(s->id))
      return CommandResult::rejected("a child with id \"" + s->id + "\" already exists");
    for (const auto& child : s->children) pending.push_back(&child);
  }
  NodeIndex node = add_node(spec, *parent, now);
  emit("child_added", "info", node);
  if (nodes_[*parent].live && !ancestor_stopping(node) &&
      nodes_[*parent].after_stop == AfterStop::None) {
    start_node(node, now);
  }
  return CommandResult::accepted();
}

CommandResult SupervisionTree::remove_child(std::string_view id, Now now) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  if (std::exchange(nodes_[*node].in_group, false))
    std::erase(nodes_[nodes_[*node].parent].supervision->group, *node);
  begin_stop(*node, AfterStop::Remove, now);
  return CommandResult::accepted();
}

CommandResult SupervisionTree::restart_child(std::string_view id, Now now) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  Node& n = nodes_[*node];
  if (n.state == ChildState::Quarantined) {
    return CommandResult::rejected("child is quarantined; release_child brings it back");
  }
  if (!n.live && ancestor_stopping(*node)) {
    return CommandResult::rejected("the supervisor of \"" + std::string(id) +
                                   "\" is not running; restart it instead");
  }
  n.attempt = 0;
  ++n.restart_count;
  if (n.live) {
    begin_stop(*node, AfterStop::Restart, now);
  } else {
    start_node(*node, now);
  }
  return CommandResult::accepted();
}

CommandResult SupervisionTree::pause_child(std::string_view id, Now now) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  Node& n = nodes_[*node];
  if (n.state == ChildState::Paused) return CommandResult::accepted();
  if (n.state == ChildState::Quarantined) return CommandResult::rejected("child is quarantined");
  emit("child_paused", "info", *node);
  if (n.live) {
    begin_stop(*node, AfterStop::Pause, now);
  } else {
    set_state(*node, ChildState::Paused);
  }
  return CommandResult::accepted();
}

void SupervisionTree::bring_back(NodeIndex node, Now now) {
  Node& n = nodes_[node];
  if (n.live) {  // the old incarnation is still stopping: start once it is gone
    n.after_stop = AfterStop::Restart;
    set_state(node, ChildState::Stopping);
  } else if (ancestor_stopping(node)) {
    set_state(node, ChildState::Stopped);
  } else {
    start_node(node, now);
  }
}

CommandResult SupervisionTree::resume_child(std::string_view id, Now now) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  Node& n = nodes_[*node];
  if (n.state != ChildState::Paused) {
    return CommandResult::rejected("child is not paused (state " + std::string(to_string(n.state)) +
                                   ")");
  }
  emit("child_resumed", "info", *node);
  bring_back(*node, now);
  return CommandResult::accepted();
}

CommandResult SupervisionTree::quarantine_child(std::string_view id, std::string_view reason,
                                                Now now) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  if (nodes_[*node].state == ChildState::Quarantined) return CommandResult::accepted();
  quarantine(*node, "operator: " + std::string(reason), now);
  return CommandResult::accepted();
}

CommandResult SupervisionTree::release_child(std::string_view id, Now now) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  Node& n = nodes_[*node];
  if (n.state != ChildState::Quarantined) {
    return CommandResult::rejected("child is not quarantined (state " +
                                   std::string(to_string(n.state)) + ")");
  }
  n.budget.refill_fully(now.mono_ms);
  n.crash_window.clear();
  n.attempt = 0;
  n.quarantine_reason.clear();
  emit("child_released", "info", *node);
  bring_back(*node, now);
  return CommandResult::accepted();
}

CommandResult SupervisionTree::kill_child(std::string_view id, Now /*now*/) {
  CommandResult refusal;
  auto node = find_command_target(id, refusal);
  if (!node) return refusal;
  Node& n = nodes_[*node];
  if (is_supervisor(*node))
    return CommandResult::rejected("kill targets a worker, not a supervisor");
  if (!n.live) {
    return CommandResult::rejected("child is not running (state " +
                                   std::string(to_string(n.state)) + ")");
  }
  effects_.emplace_back(KillIncarnation{*node, n.generation});
  return CommandResult::accepted();
}

CommandResult SupervisionTree::shutdown_tree(Now now) {
  if (shutting_down_) return CommandResult::accepted();
  shutting_down_ = true;
  emit("tree_stopping", "info", kRootNode);
  begin_stop(kRootNode, AfterStop::Stop, now);
  return CommandResult::accepted();
}

ChildRuntimeRecord SupervisionTree::record(NodeIndex node, Now now) const {
  const Node& n = nodes_[node];
  ChildRuntimeRecord r;
  r.id = n.spec.id;
  r.path = record_path(node);
  r.parent = nodes_[n.parent].spec.id;
  r.kind = n.spec.kind;
  r.restart = n.spec.restart;
  r.state = n.state;
  r.restart_count = n.restart_count;
  r.last_exit = n.last_exit;
  r.restart_budget = {n.budget.available(now.mono_ms), n.spec.budget.capacity,
                      n.spec.budget.refill_per_sec};
  r.backoff_ms = n.backoff_ms;
  r.started_at_unix_ms = n.started_at_unix_ms;
  r.pid = n.pid;
  r.generation = n.generation;
  r.attempt = n.attempt;
  r.quarantine_reason = n.quarantine_reason;
  return r;
}

ChildrenSummary SupervisionTree::summary() const {
  // Every change the summary depends on (a state, a pending stop, a node
  // added or removed) bumps state_generation_.
  if (summary_generation_ == state_generation_) return summary_cache_;
  ChildrenSummary s;
  for_each_child([&](NodeIndex node) {
    const Node& n = nodes_[node];
    if (n.after_stop == AfterStop::Remove) return;
    bool coming_back =
        n.after_stop == AfterStop::Restart || n.after_stop == AfterStop::GroupRestart;
    switch (n.state) {
      case ChildState::Starting:
      case ChildState::Running:
        ++s.running;
        break;
      case ChildState::Restarting:
        ++s.restarting;
        break;
      case ChildState::Quarantined:
        ++s.quarantined;
        break;
      case ChildState::Failed:
        ++s.failed;
        break;
      case ChildState::Stopped:
      case ChildState::Paused:
        ++s.stopped;
        break;
      case ChildState::Stopping:
        if (coming_back) {
          ++s.restarting;
        } else {
          ++s.stopped;
        }
        break;
    }
    bool wanted = n.state == ChildState::Running || n.state == ChildState::Starting ||
                  n.state == ChildState::Restarting || coming_back;
    if (wanted) ++s.target_count;
  });
  summary_cache_ = s;
  summary_generation_ = state_generation_;
  return s;
}

}  // namespace sup::core

namespace sup::core {

std::vector<std::string> SupervisionTree::invariant_violations() const {
  std::vector<std::string> broken;
  auto fail = [&](NodeIndex node, std::string_view rule) {
    broken.push_back(nodes_[node].spec.id + " (" + std::string(to_string(nodes_[node].state)) +
                     "): " + std::string(rule));
  };
  for (NodeIndex node = 0; node < nodes_.size(); ++node) {
    const Node& n = nodes_[node];
    if (n.removed) {
      if (find(n.spec.id) == node) fail(node, "removed but still found by id");
      continue;
    }
    const bool stopping = n.after_stop != AfterStop::None;
    switch (n.state) {
      case ChildState::Starting:
      case ChildState::Running:
        if (!n.live || stopping) fail(node, "running without a live incarnation, or stopping");
        break;
      case ChildState::Restarting:
      case ChildState::Stopped:
      case ChildState::Failed:
        if (n.live) fail(node, "has a live incarnation");
        break;
      case ChildState::Stopping:
        if (!n.live || n.after_stop == AfterStop::Pause || n.after_stop == AfterStop::Quarantine ||
            !stopping) {
          fail(node, "stopping without a live incarnation or with the wrong intent");
        }
        break;
      case ChildState::Paused:
        if (n.live && n.after_stop != AfterStop::Pause) fail(node, "live but not pausing");
        break;
      case ChildState::Quarantined:
        if (n.live && n.after_stop != AfterStop::Quarantine)
          fail(node, "live but not being quarantined");
        break;
    }
    if (!n.live && stopping) fail(node, "a pending stop without a live incarnation");
    if (node != kRootNode) {
      const Node& parent = nodes_[n.parent];
      const auto& group = parent.supervision->group;
      bool listed = std::find(group.begin(), group.end(), node) != group.end();
      if (listed != n.in_group) fail(node, "group membership flag and list disagree");
      if (std::find(parent.children.begin(), parent.children.end(), node) == parent.children.end())
        fail(node, "missing from its parent's children");
    }
    if (n.supervision && !n.live) {
      for (NodeIndex child : n.children)
        if (nodes_[child].live) fail(node, "stopped supervisor with a live child");
    }
  }
  return broken;
}

}  // namespace sup::core
