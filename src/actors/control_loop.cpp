#include "actors/control_loop.hpp"

#include <algorithm>
#include <array>
#include <csignal>

#include "actors/drills.hpp"
#include "audit/audit_writer.hpp"
#include "common/clock.hpp"
#include "sup/log.hpp"

namespace sup::actors {
namespace {

constexpr std::int64_t kWatchPeriodMs = 100;
constexpr std::size_t kEventRing = 4096;
constexpr std::size_t kRememberedCommands = 10'000;

}  // namespace

ControlLoop::ControlLoop(const RuntimeOptions& options, SupervisorSpec root,
                         TaskDefinition endpoint, TaskRunner& runner,
                         process::ProcessReactor& reactor, audit::AuditWriter* audit,
                         std::function<void(RunOutcome)> on_stopped)
    : options_(options),
      endpoint_(std::move(endpoint)),
      runner_(runner),
      reactor_(reactor),
      audit_(audit),
      on_stopped_(std::move(on_stopped)),
      tree_(
          std::move(root),
          {.jitter_seed = options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()},
          {mono_now_ms(), unix_now_ms()}),
      ledger_(kRememberedCommands),
      journal_(kEventRing),
      health_(mono_now_ms()) {
  tree_.for_each_child([&](core::NodeIndex node) {
    if (!endpoint_node_ && tree_.spec(node).kind == ChildKind::Endpoint) endpoint_node_ = node;
  });
}

bool ControlLoop::is_endpoint(std::string_view id) const {
  return endpoint_node_ && tree_.id(*endpoint_node_) == id;
}

core::Now ControlLoop::now() const {
  return {mono_now_ms(), unix_now_ms()};
}

ControlLoop::Slot& ControlLoop::slot(core::NodeIndex node) {
  if (node >= slots_.size()) slots_.resize(node + 1);
  return slots_[node];
}

void ControlLoop::start() {
  tree_.start(now());
  apply_effects();
  started_ = true;
  update_health_status();
}

void ControlLoop::apply_effects() {
  // Incarnations go first: a restarted child is already on its way while
  // the events before it (allocations, journal lines) are published. Events
  // keep their order, among themselves and with TreeStopped, and lag at
  // most kDeferredEvents behind, so that starting 100,000 children does not
  // hold 100,000 events at once.
  constexpr std::size_t kDeferredEvents = 64;
  for (auto effects = tree_.take_effects(); !effects.empty(); effects = tree_.take_effects()) {
    std::size_t published = 0;  // the events before this index are out
    auto publish_up_to = [&](std::size_t end) {
      for (; published < end; ++published) {
        if (auto* emitted = std::get_if<core::EmitEvent>(&effects[published])) {
          journal_.publish(std::move(emitted->event));
        } else if (auto* stopped = std::get_if<core::TreeStopped>(&effects[published])) {
          tree_stopped(*stopped);
        }
      }
    };
    for (std::size_t i = 0; i < effects.size(); ++i) {
      core::Effect& effect = effects[i];
      if (auto* start = std::get_if<core::StartIncarnation>(&effect)) {
        start_incarnation(start->node, start->generation);
      } else if (auto* stop = std::get_if<core::StopIncarnation>(&effect)) {
        stop_incarnation(stop->node, stop->generation);
      } else if (auto* kill = std::get_if<core::KillIncarnation>(&effect)) {
        kill_incarnation(kill->node, kill->generation);
      }
      if (i + 1 - published >= kDeferredEvents) publish_up_to(i + 1);
    }
    publish_up_to(effects.size());
  }
}

const TaskDefinition* ControlLoop::definition_for(const ChildSpec& spec,
                                                  TaskDefinition& scratch) const {
  switch (spec.kind) {
    case ChildKind::Task:
      return options_.tasks.find(spec.task);
    case ChildKind::Endpoint:
      return endpoint_.start ? &endpoint_ : nullptr;
    case ChildKind::Drill:
      scratch =
          make_drill_task(spec.drill, options_.jitter_seed ^ std::hash<std::string>{}(spec.id));
      return &scratch;
    default:
      return nullptr;
  }
}

void ControlLoop::start_incarnation(core::NodeIndex node, std::uint64_t generation) {
  const ChildSpec& spec = tree_.spec(node);
  Slot& s = slot(node);
  s.requests = {};
  if (spec.kind == ChildKind::Process) {
    auto pid = reactor_.spawn(spec.id, spec.process);
    if (!pid) {
      tree_.on_exit(node, generation,
                    {TaskExit::Failed, "spawn failed: " + pid.error().message, unix_now_ms()},
                    now());
      return;
    }
    s.pid = *pid;
    pids_[*pid] = node;
    tree_.set_pid(node, generation, *pid);
    return;
  }
  if (node == endpoint_node_) endpoint_status_.endpoint_started();
  TaskDefinition scratch;
  const TaskDefinition* definition = definition_for(spec, scratch);
  if (definition == nullptr) {
    tree_.on_exit(
        node, generation,
        {TaskExit::Failed, "no task registered under \"" + spec.task + "\"", unix_now_ms()}, now());
    return;
  }
  std::shared_ptr<Incarnation> previous = take_ended_task(node);
  auto incarnation = runner_.start(spec.id, generation, *definition, previous.get());
  if (!incarnation) {
    tree_.on_exit(node, generation, {TaskExit::Failed, incarnation.error().message, unix_now_ms()},
                  now());
    return;
  }
  const IncarnationProbe& probe = runner_.probe(**incarnation);
  s.hold(std::move(*incarnation), probe);
}

void ControlLoop::stop_incarnation(core::NodeIndex node, std::uint64_t /*generation*/) {
  Slot& s = slot(node);
  if (s.pid > 0) {
    s.requests.stop_requested = true;
    (void)reactor_.signal_group(s.pid, SIGTERM);
  } else if (s.task) {
    runner_.request_stop(*s.task);
  }
}

void ControlLoop::kill_incarnation(core::NodeIndex node, std::uint64_t generation) {
  Slot& s = slot(node);
  if (s.pid > 0) {
    s.requests.kill_requested = true;
    (void)reactor_.signal_group(s.pid, SIGKILL);
    return;
  }
  if (!s.task) return;
  bool was_blocked = runner_.probe(*s.task).busy_since_mono_ns.load() != 0;
  runner_.abandon(*s.task);
  if (was_blocked) {
    abandoned_while_blocked_.push_back(s.release());
  } else {
    s.release();
  }
  tree_.on_exit(
      node, generation,
      {TaskExit::Killed,
       was_blocked ? "killed: abandoned while blocking its thread (the thread cannot be reclaimed)"
                   : "killed",
       unix_now_ms()},
      now());
}

void ControlLoop::on_task_exit(const IncarnationExit& exit) {
  auto node = tree_.find(exit.child_id);
  if (!node || tree_.generation(*node) != exit.generation) return;
  if (auto task = slot(*node).release()) ended_tasks_.insert_or_assign(*node, std::move(task));
  core::Now at = now();
  health_.count_loop_pass(at.mono_ms);
  tree_.on_exit(*node, exit.generation, exit.exit, at);
  apply_effects();
  // Restarted at once (no backoff), or not at all: either way done with it.
  if (auto it = ended_tasks_.find(*node);
      it != ended_tasks_.end() && !tree_.awaiting_restart(*node)) {
    ended_tasks_.erase(it);
  }
}

std::shared_ptr<Incarnation> ControlLoop::take_ended_task(core::NodeIndex node) {
  auto it = ended_tasks_.find(node);
  if (it == ended_tasks_.end()) return nullptr;
  std::shared_ptr<Incarnation> task = std::move(it->second);
  ended_tasks_.erase(it);
  return task;
}

void ControlLoop::release_ended_tasks() {
  std::erase_if(ended_tasks_,
                [&](const auto& entry) { return !tree_.awaiting_restart(entry.first); });
}

void ControlLoop::on_process_exit(const process::ProcessExit& exit) {
  auto it = pids_.find(exit.pid);
  if (it == pids_.end()) return;
  core::NodeIndex node = it->second;
  pids_.erase(it);
  Slot& s = slot(node);
  if (s.pid != exit.pid) return;
  s.pid = -1;
  core::Now at = now();
  health_.count_loop_pass(at.mono_ms);
  tree_.on_exit(node, tree_.generation(node), classify_process_exit(exit, s.requests, at.unix_ms),
                at);
  apply_effects();
}

void ControlLoop::tree_stopped(const core::TreeStopped& stopped) {
  if (on_stopped_) {
    on_stopped_(stopped.fused ? RunOutcome{RunOutcome::Fused, stopped.reason}
                              : RunOutcome{RunOutcome::ShutdownRequested, {}});
  }
}

void ControlLoop::tick() {
  core::Now at = now();
  health_.count_loop_pass(at.mono_ms);
  tree_.on_tick(at);
  apply_effects();
  if (at.mono_ms - watched_at_mono_ms_ >= kWatchPeriodMs) {
    watched_at_mono_ms_ = at.mono_ms;
    watch_children(at.mono_ms);
    release_ended_tasks();
    update_health_status();
  }
}

void ControlLoop::watch_children(std::int64_t now_mono_ms) {
  // Straight through the slots: one probe read per running in-process
  // child (the spec only for those that report heartbeats), as this runs
  // every 100 ms with up to 100,000 children.
  struct Found {
    core::NodeIndex node;
    std::string why;
  };
  std::vector<Found> found;
  std::int64_t now_mono_ns = now_mono_ms * 1'000'000;
  std::int64_t now_unix = unix_now_ms();
  for_each_probe([&](core::NodeIndex node, const IncarnationProbe& probe) {
    ProbeReading reading{probe.busy_since_mono_ns.load(std::memory_order_relaxed),
                         probe.last_heartbeat_unix_ms.load(std::memory_order_relaxed), 0};
    if (reading.busy_since_mono_ns == 0 && reading.last_heartbeat_unix_ms == 0) return;
    if (reading.last_heartbeat_unix_ms != 0)
      reading.heartbeat_timeout_ms = tree_.spec(node).heartbeat_timeout_ms;
    if (auto why = suspicion(reading, now_mono_ns, now_unix, options_.blocking_threshold_ms))
      found.push_back({node, std::move(*why)});
  });
  if (found.size() > 1) {  // reported in declaration order
    std::vector<std::uint32_t> position(slots_.size());
    std::uint32_t next = 0;
    tree_.for_each_child([&](core::NodeIndex node) {
      if (node < position.size()) position[node] = next++;
    });
    std::sort(found.begin(), found.end(),
              [&](const Found& a, const Found& b) { return position[a.node] < position[b.node]; });
  }
  std::vector<Suspect> suspects;
  suspects.reserve(found.size());
  for (auto& f : found) {
    const std::string& id = tree_.id(f.node);
    suspects.push_back({id, "child " + id + " " + f.why});
  }
  health_.set_suspects(std::move(suspects));
}

void ControlLoop::update_health_status() {
  HealthInputs inputs;
  inputs.started = started_;
  inputs.stopping = draining_ || tree_.shutting_down();
  inputs.quarantined = tree_.summary().quarantined;
  if (audit_ && audit_->failing()) {
    audit::AuditStatus audit = audit_->status();
    inputs.faults.push_back(
        "the audit log " + audit_->name() + " cannot be written (" + audit.last_error + "; " +
        std::to_string(audit.write_failures) + " failed writes, " +
        std::to_string(audit.dropped_lines) + " lines dropped)" +
        (options_.refuse_commands_without_audit ? ": commands are refused until it can" : ""));
  }
  auto change = health_.update_status(inputs);
  if (!change) return;
  Event event;
  event.event_type = "health_changed";
  event.severity = change->second == "degraded" ? "warning" : "info";
  event.target_path = "root";
  event.payload = {{"from", std::move(change->first)}, {"to", std::move(change->second)}};
  journal_.publish(std::move(event));
}

Health ControlLoop::health() {
  core::Now at = now();
  Health h = health_.report(at.mono_ms);
  if (tree_.summary().quarantined > 0) {
    tree_.for_each_child([&](core::NodeIndex node) {
      auto record = tree_.record(node, at);
      if (record.state == ChildState::Quarantined) {
        h.reasons.push_back("child " + record.id + " is quarantined: " + record.quarantine_reason);
      }
    });
  }
  bool endpoint_up =
      endpoint_node_ && tree_.record(*endpoint_node_, at).state == ChildState::Running;
  h.endpoint = endpoint_status_.seen(endpoint_up);
  if (audit_) h.audit_write_failures = audit_->status().write_failures;
  return h;
}

SupervisorState ControlLoop::current_state() {
  core::Now at = now();
  SupervisorState state;
  state.children = tree_.summary();
  state.state_generation = tree_.state_generation();
  state.captured_at_unix_ms = at.unix_ms;
  struct Sample {
    std::int64_t last_heartbeat_unix_ms = 0;
    std::uint8_t readiness = 0;
    bool running = false;
  };
  std::vector<Sample> samples(slots_.size());
  for_each_probe([&](core::NodeIndex node, const IncarnationProbe& probe) {
    samples[node] = {probe.last_heartbeat_unix_ms.load(std::memory_order_relaxed),
                     probe.readiness.load(std::memory_order_relaxed), true};
  });
  // Every node but the root at most: no reallocation of 10,000 records.
  state.child_runtime_records.reserve(slots_.size());
  tree_.for_each_child([&](core::NodeIndex node) {
    ChildRuntimeRecord& record = state.child_runtime_records.emplace_back(tree_.record(node, at));
    if (node < samples.size() && samples[node].running) {
      std::int64_t last = samples[node].last_heartbeat_unix_ms;
      if (last != 0) record.liveness.last_heartbeat_at_unix_ms = last;
      record.liveness.readiness = static_cast<Readiness>(samples[node].readiness);
      std::uint32_t timeout = tree_.spec(node).heartbeat_timeout_ms;
      record.liveness.heartbeat_stale = timeout > 0 && last != 0 && at.unix_ms - last > timeout;
    }
  });
  return state;
}

CommandResult ControlLoop::command(const CommandRequest& request) {
  if (auto refusal_or_replay = ledger_.admit(request.meta)) return *refusal_or_replay;
  core::Now at = now();
  health_.count_loop_pass(at.mono_ms);
  std::optional<CommandResult> refused = refusal(request);
  CommandResult result = refused ? std::move(*refused) : carry_out(request, at);
  apply_effects();
  audit(request.meta, to_string(request.kind), request.target, result, at.unix_ms,
        {"CHILD_ID", request.target});
  update_health_status();
  return result;
}

void ControlLoop::record_external_command(const CommandMeta& meta, std::string_view command,
                                          std::string_view target, const CommandResult& result) {
  audit(meta, command, target, result, now().unix_ms, {"TARGET", std::string(target)});
}

void ControlLoop::audit(const CommandMeta& meta, std::string_view command, std::string_view target,
                        const CommandResult& result, std::int64_t at_unix_ms,
                        LogField target_field) {
  std::string line = ledger_.record(meta, command, target, result, at_unix_ms);
  if (audit_) audit_->append(line);
  log(result.kind == CommandResult::Accepted ? LogLevel::Info : LogLevel::Warn, "command " + line,
      {{"COMMAND", std::string(command)},
       {"COMMAND_ID", meta.command_id},
       {"REQUESTED_BY", meta.requested_by},
       std::move(target_field),
       {"COMMAND_RESULT", std::string(to_string(result.kind))}});
}

std::optional<CommandResult> ControlLoop::refusal(const CommandRequest& request) const {
  if (draining_) return CommandResult::rejected("the daemon is shutting down");
  // shutdown_tree stays possible: it is the way out, and SIGTERM would do
  // the same unaudited.
  if (audit_ && options_.refuse_commands_without_audit && audit_->failing() &&
      request.kind != CommandKind::ShutdownTree) {
    return CommandResult::rejected("the audit log " + audit_->name() + " cannot be written (" +
                                   audit_->status().last_error +
                                   "): commands are refused until it can be");
  }
  if (is_endpoint(request.target)) {
    switch (request.kind) {
      case CommandKind::RemoveChild:
        return CommandResult::rejected(
            "child " + request.target +
            " is the control endpoint (the daemon's relay): it cannot "
            "be removed, only configured away (dashboard.enabled=false)");
      case CommandKind::PauseChild:
      case CommandKind::QuarantineChild:
        return CommandResult::rejected(
            "child " + request.target +
            " is the control endpoint (the daemon's relay), serving the socket commands come "
            "over: paused or quarantined, nothing could bring it back (restart_child or "
            "kill_child restart it instead)");
      default:
        break;
    }
  }
  return std::nullopt;
}

CommandResult ControlLoop::carry_out(const CommandRequest& request, const core::Now& at) {
  const std::string& id = request.target;
  switch (request.kind) {
    case CommandKind::AddChild: {
      if (!request.spec) return CommandResult::rejected("add_child needs a child spec");
      TaskDefinition scratch;
      if (request.spec->kind == ChildKind::Task && !definition_for(*request.spec, scratch)) {
        return CommandResult::rejected("no task registered under \"" + request.spec->task + "\"");
      }
      if (request.spec->kind == ChildKind::Endpoint) {
        return CommandResult::rejected(
            "the control endpoint (the daemon's relay) is configured (dashboard.*), not added "
            "at run time");
      }
      return tree_.add_child(*request.spec, request.parent, at);
    }
    case CommandKind::RemoveChild:
      return tree_.remove_child(id, at);
    case CommandKind::RestartChild:
      return tree_.restart_child(id, at);
    case CommandKind::PauseChild:
      return tree_.pause_child(id, at);
    case CommandKind::ResumeChild:
      return tree_.resume_child(id, at);
    case CommandKind::QuarantineChild:
      return tree_.quarantine_child(id, request.meta.reason, at);
    case CommandKind::ReleaseChild:
      return tree_.release_child(id, at);
    case CommandKind::KillChild:
      return tree_.kill_child(id, at);
    case CommandKind::ShutdownTree:
      return tree_.shutdown_tree(at);
  }
  return CommandResult::rejected("unknown command");
}

void ControlLoop::shutdown_tree() {
  draining_ = true;
  tree_.shutdown_tree(now());
  apply_effects();
  update_health_status();
}

std::vector<std::shared_ptr<Incarnation>> ControlLoop::take_incarnations() {
  ended_tasks_.clear();  // not running: nothing to wait for, their actors just go
  std::vector<std::shared_ptr<Incarnation>> held = std::move(abandoned_while_blocked_);
  for (auto& s : slots_)
    if (auto task = s.release()) held.push_back(std::move(task));
  return held;
}

}  // namespace sup::actors
