// The root supervisor's control loop: the actor shell around the pure
// SupervisionTree.
//
// Its one job: carry out the tree's effects (start an in-process
// incarnation or a process, stop, kill, publish an event), feed exits and
// timer ticks back in, and answer Handle calls. Everything else is a
// component it drives: HealthWatch (starvation and heartbeat suspects,
// status, loop rate), EventJournal (sequence, replay, log line per event),
// the AuditWriter (commands' audit lines, written on a thread of its own)
// and EndpointStatusView (what the control endpoint reports). It runs on one thread of
// its own (a detached actor, see runtime.cpp), so no child can starve it,
// and every call here is non-blocking.
//
// Single-threaded: every member function is called from the loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/endpoint_status_view.hpp"
#include "actors/event_journal.hpp"
#include "actors/health_watch.hpp"
#include "actors/process_exit.hpp"
#include "actors/task_runner.hpp"
#include "process/process_reactor.hpp"
#include "sup/command.hpp"
#include "sup/handle.hpp"
#include "sup/runtime.hpp"
#include "supervisor/command_ledger.hpp"
#include "supervisor/supervision_tree.hpp"

namespace sup::audit {
class AuditWriter;
}

namespace sup::actors {

// The command vocabulary is sup's (include/sup/command.hpp); carry_out()
// is the handler of each command.
using CommandRequest = sup::CommandRequest;

class ControlLoop {
 public:
  // `options` must outlive the loop; the tree is built from `root` (moved
  // out of options.root by the caller, so the specs exist once). `audit`
  // (null: commands are audited to the log only) must outlive the loop.
  ControlLoop(const RuntimeOptions& options, SupervisorSpec root, TaskDefinition endpoint,
              TaskRunner& runner, process::ProcessReactor& reactor, audit::AuditWriter* audit,
              std::function<void(RunOutcome)> on_stopped);

  void start();
  void tick();

  void on_task_exit(const IncarnationExit& exit);
  void on_process_exit(const process::ProcessExit& exit);

  SupervisorState current_state();
  Health health();
  CommandResult command(const CommandRequest& request);
  // Planned shutdown: commands are refused from now on.
  void drain() { draining_ = true; }
  void shutdown_tree();

  EventHub::SubscriberId subscribe(EventHub::Subscriber subscriber, std::uint64_t after_sequence) {
    return journal_.subscribe(std::move(subscriber), after_sequence);
  }
  void unsubscribe(EventHub::SubscriberId id) { journal_.unsubscribe(id); }
  std::uint64_t last_event_sequence() const { return journal_.last_sequence(); }
  void report_endpoint_status(EndpointStatus status) { endpoint_status_.reported(status); }
  // What runs beside the tree (DAG executions): its events join the one
  // numbered stream, its commands the one audit log.
  void publish_external(Event event) { journal_.publish(std::move(event)); }
  void record_external_command(const CommandMeta& meta, std::string_view command,
                               std::string_view target, const CommandResult& result);
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
  void tree_stopped(const core::TreeStopped& stopped);
  const TaskDefinition* definition_for(const ChildSpec& spec, TaskDefinition& scratch) const;
  void watch_children(std::int64_t now_mono_ms);
  void update_health_status();
  // One audit line and log record per command.
  void audit(const CommandMeta& meta, std::string_view command, std::string_view target,
             const CommandResult& result, std::int64_t at_unix_ms, LogField target_field);
  // Why a command cannot be carried out now, before the tree sees it.
  std::optional<CommandResult> refusal(const CommandRequest& request) const;
  bool is_endpoint(std::string_view id) const;
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
  TaskDefinition endpoint_;
  TaskRunner& runner_;
  process::ProcessReactor& reactor_;
  audit::AuditWriter* audit_;
  std::function<void(RunOutcome)> on_stopped_;

  core::SupervisionTree tree_;
  // The control endpoint (the daemon's relay), found by its kind (a library
  // user's child may be called "relay"); fixed, as it is neither added nor
  // removed.
  std::optional<core::NodeIndex> endpoint_node_;
  core::CommandLedger ledger_;
  EventJournal journal_;
  HealthWatch health_;
  EndpointStatusView endpoint_status_;
  std::vector<Slot> slots_;
  // In-process incarnations that ended by themselves, of children waiting
  // for their restart: the restart runs on the same actor (TaskRunner::start).
  std::unordered_map<core::NodeIndex, std::shared_ptr<Incarnation>> ended_tasks_;
  std::unordered_map<pid_t, core::NodeIndex> pids_;

  std::int64_t watched_at_mono_ms_ = 0;
  bool started_ = false;
  bool draining_ = false;
  std::vector<std::shared_ptr<Incarnation>> abandoned_while_blocked_;
};

}  // namespace sup::actors
