// The supervision tree as a pure state machine: the functional core of the
// root supervisor actor.
//
// It holds every node (workers and nested supervisors), decides what happens
// on each exit, command and timer, and answers with effects for the shell to
// carry out (start this incarnation, stop that one, kill, emit an event,
// fuse). It never blocks, never reads a clock and knows nothing of CAF:
// callers pass monotonic and wall time in, so every decision is testable.
//
//   SupervisionTree tree(root_spec, {.jitter_seed = 42}, now);
//   tree.start(now);
//   for (auto& effect : tree.take_effects()) shell.apply(effect);
//   ...
//   tree.on_exit(node, generation, exit, now);   // an incarnation ended
//   tree.on_tick(now);                           // timers: backoff, stop deadlines
//
// Semantics (OTP's, plus budgets):
// - children start in declaration order and stop in reverse, one at a time;
// - a restart needs a whole token of the child's budget, passes its
//   crash-loop window, and counts against the parent's intensity/period;
//   an exhausted budget or a crash loop quarantines the child, an exceeded
//   intensity stops the parent and escalates to its own parent; at the root
//   that is a fuse (Fused effect);
// - one_for_all / rest_for_one stop the affected siblings (reverse order)
//   and restart the group in declaration order once all have stopped and
//   the failed child's backoff has passed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "sup/child_spec.hpp"
#include "sup/command.hpp"
#include "sup/state.hpp"
#include "sup/task_exit.hpp"
#include "supervisor/event_window.hpp"
#include "supervisor/token_bucket.hpp"

namespace sup::core {

using NodeIndex = std::uint32_t;
inline constexpr NodeIndex kRootNode = 0;

// Effects for the shell.
struct StartIncarnation {
  NodeIndex node;
  std::uint64_t generation;
};
struct StopIncarnation {  // cooperative; the tree sends KillIncarnation at the deadline
  NodeIndex node;
  std::uint64_t generation;
};
struct KillIncarnation {  // the shell must still report the exit (as Killed)
  NodeIndex node;
  std::uint64_t generation;
};
struct EmitEvent {
  Event event;  // sequence and time are filled by the shell
};
struct TreeStopped {  // shutdown_tree finished, or the root fused (reason non-empty)
  bool fused = false;
  std::string reason;
};
using Effect =
    std::variant<StartIncarnation, StopIncarnation, KillIncarnation, EmitEvent, TreeStopped>;

struct TreeOptions {
  std::uint64_t jitter_seed = 1;
};

// Wall and monotonic time of one call.
struct Now {
  std::int64_t mono_ms = 0;
  std::int64_t unix_ms = 0;
};

class SupervisionTree {
 public:
  // Takes the specs over: with 100,000 children a copy costs tens of MB.
  SupervisionTree(SupervisorSpec root, TreeOptions options, Now now);

  void start(Now now);

  // An incarnation ended. Exits of stale generations are ignored.
  void on_exit(NodeIndex node, std::uint64_t generation, TaskExit exit, Now now);
  // The shell learned the pid of a process incarnation.
  void set_pid(NodeIndex node, std::uint64_t generation, int pid);
  // Fires due timers. Cheap when nothing is due.
  void on_tick(Now now);
  // Monotonic time of the earliest pending timer, if any.
  std::optional<std::int64_t> next_deadline() const;

  // Operator commands (meta already validated and deduplicated by the caller).
  CommandResult add_child(const ChildSpec& spec, std::string_view parent_id, Now now);
  CommandResult remove_child(std::string_view id, Now now);
  CommandResult restart_child(std::string_view id, Now now);
  CommandResult pause_child(std::string_view id, Now now);
  CommandResult resume_child(std::string_view id, Now now);
  CommandResult quarantine_child(std::string_view id, std::string_view reason, Now now);
  CommandResult release_child(std::string_view id, Now now);
  CommandResult kill_child(std::string_view id, Now now);
  CommandResult shutdown_tree(Now now);

  std::vector<Effect> take_effects() { return std::exchange(effects_, {}); }

  // Lookups for the shell.
  std::optional<NodeIndex> find(std::string_view id) const;
  const ChildSpec& spec(NodeIndex node) const { return nodes_[node].spec; }
  const std::string& id(NodeIndex node) const { return nodes_[node].spec.id; }
  std::uint64_t generation(NodeIndex node) const { return nodes_[node].generation; }
  // Exited and waiting out its backoff (or its group's restart).
  bool awaiting_restart(NodeIndex node) const {
    return !nodes_[node].removed && nodes_[node].state == ChildState::Restarting;
  }
  bool shutting_down() const { return shutting_down_; }

  // A child's condition is its ChildState plus whether an incarnation is
  // live and what follows its stop; these must agree (Running: live and not
  // stopping; Restarting, Stopped, Failed: not live; a pending stop only
  // while live; group membership both ways; no live child under a stopped
  // supervisor). Empty when they do; a line per broken rule otherwise.
  // Linear; for tests.
  std::vector<std::string> invariant_violations() const;

  // Visits live nodes (not root) depth first in declaration order.
  template <class Fn>
  void for_each_child(Fn&& fn) const {
    visit_children(kRootNode, fn);
  }
  ChildRuntimeRecord record(NodeIndex node, Now now) const;
  // O(children) after a change, O(1) until the next one: health is asked
  // for every 100 ms and after every command, also with 100,000 children.
  ChildrenSummary summary() const;
  std::uint64_t state_generation() const { return state_generation_; }

 private:
  // What happens once a node's current incarnation has stopped.
  enum class AfterStop : std::uint8_t {
    None,          // not stopping
    Restart,       // start again (operator restart)
    GroupRestart,  // wait for the parent's group restart
    Pause,
    Quarantine,
    Remove,
    Stop,      // shutdown or parent stopping: stay Stopped
    Escalate,  // supervisor whose intensity blew: report failure to the parent
  };

  struct Node {
    Node(ChildSpec child_spec, NodeIndex parent_node, std::int64_t now_mono_ms)
        : spec(std::move(child_spec)),
          parent(parent_node),
          budget(spec.budget, now_mono_ms),
          crash_window(spec.crash_loop.max_failures, spec.crash_loop.window_ms) {
      if (spec.kind == ChildKind::Supervisor) supervision = std::make_unique<Supervision>(spec);
    }

    // What only a supervisor needs, apart: a large tree is mostly leaves.
    struct Supervision {
      explicit Supervision(const ChildSpec& spec) : intensity(spec.intensity + 1, spec.period_ms) {}
      EventWindow intensity;
      std::string escalation_reason;
      // Children to stop one at a time, next at the back.
      std::vector<NodeIndex> stop_queue;
      AfterStop queue_intent = AfterStop::Stop;
      // A pending group restart (one_for_all / rest_for_one).
      std::vector<NodeIndex> group;
      std::int64_t group_due_mono_ms = 0;
    };

    ChildSpec spec;  // `children` is emptied: the tree holds them as nodes
    NodeIndex parent = kRootNode;
    std::vector<NodeIndex> children;  // supervisors, declaration order
    ChildState state = ChildState::Stopped;
    bool live = false;  // an incarnation exists that has not reported its exit
    bool removed = false;
    bool in_group = false;  // a member of its parent's pending group restart
    AfterStop after_stop = AfterStop::None;
    std::uint64_t generation = 0;
    std::uint32_t attempt = 0;
    std::uint64_t restart_count = 0;
    std::uint64_t backoff_ms = 0;
    std::int64_t started_at_mono_ms = 0;
    std::optional<std::int64_t> started_at_unix_ms;
    std::optional<int> pid;
    std::optional<TaskExit> last_exit;
    std::string quarantine_reason;
    TokenBucket budget;
    EventWindow crash_window;
    std::int64_t restart_due_mono_ms = 0;
    std::unique_ptr<Supervision> supervision;  // null unless a supervisor
  };

  enum class TimerKind : std::uint8_t { Restart, GroupRestart, StopDeadline };
  struct Timer {
    std::int64_t due_mono_ms;
    NodeIndex node;
    std::uint64_t generation;
    TimerKind kind;
    bool operator>(const Timer& other) const { return due_mono_ms > other.due_mono_ms; }
  };

  // Moves `spec` and its subtree in, one node each.
  NodeIndex add_node(ChildSpec spec, NodeIndex parent, Now now);
  void forget_node(NodeIndex node);
  bool is_supervisor(NodeIndex node) const {
    return nodes_[node].spec.kind == ChildKind::Supervisor;
  }

  void start_node(NodeIndex node, Now now);
  void begin_stop(NodeIndex node, AfterStop after, Now now);
  void pump_stop_queue(NodeIndex supervisor, Now now);
  void finish_stop(NodeIndex node, Now now);
  // An exit nobody asked for (or a supervisor's escalation): restart policy,
  // crash loop, budget, parent intensity, backoff, strategy.
  void handle_exit(NodeIndex node, const TaskExit& exit, Now now);
  // Backoff, then the parent's strategy: one function per strategy.
  void schedule_restart(NodeIndex node, Now now);
  void restart_one_for_one(NodeIndex node, std::int64_t due, Now now);
  void restart_one_for_all(NodeIndex node, std::int64_t due, Now now);
  void restart_rest_for_one(NodeIndex node, std::int64_t due, Now now);
  void restart_group(NodeIndex node, std::size_t first_sibling, std::int64_t due, Now now);
  void clear_group(NodeIndex supervisor);
  void try_group_restart(NodeIndex supervisor, Now now);
  void quarantine(NodeIndex node, std::string reason, Now now);
  // Resume/release: start again now, or once the old incarnation has exited.
  void bring_back(NodeIndex node, Now now);
  void escalate(NodeIndex supervisor, std::string reason, Now now);
  void set_state(NodeIndex node, ChildState state);
  std::string record_path(NodeIndex node) const;
  // True when a supervisor above `node` is stopping or down: no restarts then.
  bool ancestor_stopping(NodeIndex node) const;

  void emit(std::string type, std::string severity, NodeIndex node,
            std::initializer_list<std::pair<const std::string, std::string>> payload = {});
  void arm(Timer timer) { timers_.push(timer); }
  std::optional<NodeIndex> find_command_target(std::string_view id, CommandResult& refusal) const;

  template <class Fn>
  void visit_children(NodeIndex supervisor, Fn& fn) const {
    for (NodeIndex child : nodes_[supervisor].children) {
      fn(child);
      if (is_supervisor(child)) visit_children(child, fn);
    }
  }

  std::vector<Node> nodes_;
  std::unordered_map<std::string, NodeIndex> index_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<Effect> effects_;
  std::mt19937_64 rng_;
  std::uint64_t state_generation_ = 0;
  // summary() as of state_generation_ == summary_generation_.
  mutable ChildrenSummary summary_cache_;
  mutable std::optional<std::uint64_t> summary_generation_;
  bool shutting_down_ = false;
  bool stopped_ = false;  // TreeStopped was emitted
};

}  // namespace sup::core
