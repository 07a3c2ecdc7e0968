// The root supervisor's control loop: the actor shell around the pure
// SupervisionTree.
//
// It carries out the tree's effects (start an in-process incarnation or a
// process, stop, kill, publish an event), feeds exits and timer ticks back
// in, and answers queries and commands. It runs on one thread of its own
// (a detached actor, see runtime.cpp), so no child can starve it: user code
// runs on the worker pool or on threads of its own, and every call here is
// non-blocking. It also watches the children: an in-process callback running
// longer than `blocking_threshold_ms`, or a heartbeat older than the child's
// `heartbeat_timeout_ms`, names the child as a suspect and degrades health.
//
// Single-threaded: every member function is called from the loop's thread.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/event_hub.hpp"
#include "actors/process_exit.hpp"
#include "actors/task_runner.hpp"
#include "process/process_reactor.hpp"
#include "sup/command.hpp"
#include "sup/handle.hpp"
#include "sup/runtime.hpp"
#include "supervisor/command_ledger.hpp"
#include "supervisor/supervision_tree.hpp"

namespace sup::actors {

// The command vocabulary is sup's (include/sup/command.hpp); carry_out()
// is the handler of each command.
using CommandRequest = sup::CommandRequest;

class ControlLoop {
 public:
  // `options` must outlive the loop; the tree is built from `root` (moved
  // out of options.root by the caller, so the specs exist once).
  ControlLoop(const RuntimeOptions& options, SupervisorSpec root, TaskDefinition relay,
              TaskRunner& runner, process::ProcessReactor& reactor,
              std::function<void(RunOutcome)> on_stopped);

  void start();
  void tick();
  // Counts one processed message toward control_loop_iterations.
  void count_iteration() { ++iterations_; }

  void on_task_exit(const IncarnationExit& exit);
  void on_process_exit(const process::ProcessExit& exit);

  SupervisorState current_state();
  Health health();
  CommandResult command(const CommandRequest& request);
  // Planned shutdown: commands are refused from now on.
  void drain() { draining_ = true; }
  void shutdown_tree();
  void flush_audit_log();

  EventHub::SubscriberId subscribe(EventHub::Subscriber subscriber, std::uint64_t after_sequence) {
    return events_.subscribe(std::move(subscriber), after_sequence);
  }
  void unsubscribe(EventHub::SubscriberId id) { events_.unsubscribe(id); }
  std::uint64_t last_event_sequence() const { return events_.last_sequence(); }
  void report_dashboard_link(DashboardLink link, std::uint32_t clients);
  // Every in-process incarnation still held, the ones killed while blocked
  // included, for the teardown to check whether their threads let go.
  std::vector<std::shared_ptr<Incarnation>> take_incarnations();

 private:
  struct Slot {
    std::shared_ptr<Incarnation> task;
    // task's probe while it runs: the 100 ms watch reads it with no detour.
    const IncarnationProbe* probe = nullptr;
    pid_t pid = -1;
    StopRequests requests;

    void hold(std::shared_ptr<Incarnation> incarnation, const IncarnationProbe& its_probe) {
      task = std::move(incarnation);
      probe = &its_probe;
    }
    std::shared_ptr<Incarnation> release() {
      probe = nullptr;
      return std::move(task);
    }
  };

  core::Now now() const;
  void apply_effects();
  void start_incarnation(core::NodeIndex node, std::uint64_t generation);
  void stop_incarnation(core::NodeIndex node, std::uint64_t generation);
  void kill_incarnation(core::NodeIndex node, std::uint64_t generation);
  void publish(Event event);
  void tree_stopped(const core::TreeStopped& stopped);
  const TaskDefinition* definition_for(const ChildSpec& spec, TaskDefinition& scratch) const;
  void watch_children(std::int64_t now_mono_ms);
  void update_health_status();
  CommandResult carry_out(const CommandRequest& request, const core::Now& now);
  Slot& slot(core::NodeIndex node);
  // Calls fn(node, probe) for every running in-process child, in node order.
  // The probes live inside tens of thousands of scattered actors; reading
  // them ahead turns one cache miss after another into misses in parallel,
  // which is most of the cost of a snapshot or a watch pass.
  template <class Fn>
  void for_each_probe(Fn&& fn) const {
    constexpr std::size_t kAhead = 16;
    for (std::size_t node = 0; node < slots_.size(); ++node) {
      if (node + kAhead < slots_.size()) {
        if (const IncarnationProbe* later = slots_[node + kAhead].probe) __builtin_prefetch(later);
      }
      if (const IncarnationProbe* probe = slots_[node].probe)
        fn(static_cast<core::NodeIndex>(node), *probe);
    }
  }
  std::shared_ptr<Incarnation> take_ended_task(core::NodeIndex node);
  // Lets go of ended incarnations whose child no longer waits for a restart.
  void release_ended_tasks();

  const RuntimeOptions& options_;
  TaskDefinition relay_;
  TaskRunner& runner_;
  process::ProcessReactor& reactor_;
  std::function<void(RunOutcome)> on_stopped_;

  core::SupervisionTree tree_;
  core::CommandLedger ledger_;
  EventHub events_;
  std::vector<Slot> slots_;
  // In-process incarnations that ended by themselves, of children waiting
  // for their restart: the restart runs on the same actor (TaskRunner::start).
  std::unordered_map<core::NodeIndex, std::shared_ptr<Incarnation>> ended_tasks_;
  std::unordered_map<pid_t, core::NodeIndex> pids_;
  std::ofstream audit_;

  std::int64_t started_at_mono_ms_;
  std::uint64_t iterations_ = 0;
  std::uint64_t iterations_at_sample_ = 0;
  std::int64_t sample_at_mono_ms_;
  double iterations_per_sec_ = 0;
  std::int64_t watched_at_mono_ms_ = 0;
  std::vector<std::string> suspects_;
  std::vector<std::string> suspect_reasons_;
  std::string status_ = "starting";
  bool started_ = false;
  bool draining_ = false;
  DashboardLink reported_link_ = DashboardLink::Disconnected;
  std::uint32_t dashboard_clients_ = 0;
  std::vector<std::shared_ptr<Incarnation>> abandoned_while_blocked_;
};

}  // namespace sup::actors
