#include "actors/control_loop.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <csignal>

#include "actors/drills.hpp"
#include "common/clock.hpp"
#include "sup/log.hpp"

namespace sup::actors {
namespace {

constexpr std::int64_t kWatchPeriodMs = 100;
constexpr std::size_t kEventRing = 4096;
constexpr std::size_t kRememberedCommands = 10'000;

std::string upper(std::string_view key) {
  std::string out(key);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Journal field names of the payload keys the runtime emits, spelled once
// instead of upper-cased for every event.
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kJournalKeys{{
    {"task_exit", "TASK_EXIT"},
    {"exit_reason", "EXIT_REASON"},
    {"restart_count", "RESTART_COUNT"},
    {"generation", "GENERATION"},
    {"backoff_ms", "BACKOFF_MS"},
    {"backoff_ceiling_ms", "BACKOFF_CEILING_MS"},
    {"attempt", "ATTEMPT"},
    {"reason", "REASON"},
    {"shutdown_timeout_ms", "SHUTDOWN_TIMEOUT_MS"},
    {"from", "FROM"},
    {"to", "TO"},
}};

LogLevel level_for(std::string_view severity) {
  if (severity == "error") return LogLevel::Error;
  if (severity == "warning") return LogLevel::Warn;
  return LogLevel::Info;
}

const std::string* payload_value(const Event& event, const std::string& key) {
  auto it = event.payload.find(key);
  return it == event.payload.end() ? nullptr : &it->second;
}

// One journal line per event: the message reads well in `journalctl`, the
// fields (CHILD_ID, TASK_EXIT, EXIT_REASON, RESTART_COUNT, ...) filter well.
// Every restart journals three of these, so they are built with as few
// allocations as the LogField type allows.
void log_event(const Event& event) {
  LogLevel level = level_for(event.severity);
  if (!log_enabled(level)) return;
  static const std::string kTaskExit = "task_exit";
  static const std::string kExitReason = "exit_reason";
  static const std::string kReason = "reason";
  static const std::string kBackoff = "backoff_ms";
  std::string message;
  message.reserve(96);
  message += event.event_type;
  if (!event.child_id.empty()) {
    message += ' ';
    message += event.child_id;
  }
  if (const std::string* exit = payload_value(event, kTaskExit)) {
    message += ": ";
    message += *exit;
    if (const std::string* reason = payload_value(event, kExitReason)) {
      message += " (";
      message += *reason;
      message += ')';
    }
  } else if (const std::string* reason = payload_value(event, kReason)) {
    message += ": ";
    message += *reason;
  } else if (const std::string* backoff = payload_value(event, kBackoff)) {
    message += " in ";
    message += *backoff;
    message += " ms";
  }
  std::vector<LogField> fields;
  fields.reserve(event.payload.size() + 3);
  std::vector<std::string> unknown_keys;  // storage for keys outside kJournalKeys
  fields.push_back({"EVENT_TYPE", event.event_type});
  fields.push_back({"EVENT_SEQUENCE", std::to_string(event.sequence)});
  if (!event.child_id.empty()) fields.push_back({"CHILD_ID", event.child_id});
  for (const auto& [key, value] : event.payload) {
    auto known = std::find_if(kJournalKeys.begin(), kJournalKeys.end(),
                              [&](const auto& entry) { return entry.first == key; });
    if (known != kJournalKeys.end()) {
      fields.push_back({known->second, value});
    } else {
      // Reserved once, before the first push: the fields point into it.
      if (unknown_keys.empty()) unknown_keys.reserve(event.payload.size());
      unknown_keys.push_back(upper(key));
      fields.push_back({unknown_keys.back(), value});
    }
  }
  log(level, message, std::span<const LogField>(fields));
}

}  // namespace

ControlLoop::ControlLoop(const RuntimeOptions& options, SupervisorSpec root, TaskDefinition relay,
                         TaskRunner& runner, process::ProcessReactor& reactor,
                         std::function<void(RunOutcome)> on_stopped)
    : options_(options),
      relay_(std::move(relay)),
      runner_(runner),
      reactor_(reactor),
      on_stopped_(std::move(on_stopped)),
      tree_(
          std::move(root),
          {.jitter_seed = options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()},
          {mono_now_ms(), unix_now_ms()}),
      ledger_(kRememberedCommands),
      events_(kEventRing),
      started_at_mono_ms_(mono_now_ms()),
      sample_at_mono_ms_(started_at_mono_ms_) {
  if (!options.audit_log_path.empty()) {
    audit_.open(options.audit_log_path, std::ios::app);
    if (!audit_) {
      log(LogLevel::Error, "cannot open the audit log; commands are audited to this log only",
          {{"PATH", options.audit_log_path}});
    }
  }
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
          publish(std::move(emitted->event));
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
    case ChildKind::Relay:
      return relay_.start ? &relay_ : nullptr;
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
  if (spec.kind == ChildKind::Relay) reported_link_ = DashboardLink::Disconnected;
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
  tree_.on_exit(*node, exit.generation, exit.exit, now());
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
  tree_.on_exit(node, tree_.generation(node),
                classify_process_exit(exit, s.requests, unix_now_ms()), now());
  apply_effects();
}

void ControlLoop::publish(Event event) {
  event.occurred_at_unix_nanos = unix_now_nanos();
  log_event(events_.publish(std::move(event)));
}

void ControlLoop::tree_stopped(const core::TreeStopped& stopped) {
  flush_audit_log();
  if (on_stopped_) {
    on_stopped_(stopped.fused ? RunOutcome{RunOutcome::Fused, stopped.reason}
                              : RunOutcome{RunOutcome::ShutdownRequested, {}});
  }
}

void ControlLoop::tick() {
  ++iterations_;
  core::Now at = now();
  tree_.on_tick(at);
  apply_effects();
  if (at.mono_ms - sample_at_mono_ms_ >= 1000) {
    iterations_per_sec_ = static_cast<double>(iterations_ - iterations_at_sample_) * 1000.0 /
                          static_cast<double>(at.mono_ms - sample_at_mono_ms_);
    iterations_at_sample_ = iterations_;
    sample_at_mono_ms_ = at.mono_ms;
  }
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
  struct Suspect {
    core::NodeIndex node;
    std::string reason;
  };
  std::vector<Suspect> found;
  std::int64_t now_mono_ns = now_mono_ms * 1'000'000;
  std::int64_t now_unix = unix_now_ms();
  for_each_probe([&](core::NodeIndex node, const IncarnationProbe& probe) {
    std::int64_t busy_since = probe.busy_since_mono_ns.load(std::memory_order_relaxed);
    if (busy_since != 0) {
      std::int64_t busy_ms = (now_mono_ns - busy_since) / 1'000'000;
      if (busy_ms >= options_.blocking_threshold_ms) {
        found.push_back({node, "child " + tree_.id(node) + " has blocked a runtime thread for " +
                                   std::to_string(busy_ms) + " ms"});
        return;
      }
    }
    std::int64_t last = probe.last_heartbeat_unix_ms.load(std::memory_order_relaxed);
    if (last == 0) return;
    std::uint32_t timeout = tree_.spec(node).heartbeat_timeout_ms;
    if (timeout > 0 && now_unix - last > timeout) {
      found.push_back({node, "child " + tree_.id(node) + " missed its heartbeat for " +
                                 std::to_string(now_unix - last) + " ms"});
    }
  });
  if (found.size() > 1) {  // reported in declaration order
    std::vector<std::uint32_t> position(slots_.size());
    std::uint32_t next = 0;
    tree_.for_each_child([&](core::NodeIndex node) {
      if (node < position.size()) position[node] = next++;
    });
    std::sort(found.begin(), found.end(), [&](const Suspect& a, const Suspect& b) {
      return position[a.node] < position[b.node];
    });
  }
  std::vector<std::string> suspects;
  std::vector<std::string> reasons;
  for (auto& suspect : found) {
    suspects.push_back(tree_.id(suspect.node));
    reasons.push_back(std::move(suspect.reason));
  }
  if (suspects != suspects_) {
    for (const auto& id : suspects) {
      if (std::find(suspects_.begin(), suspects_.end(), id) == suspects_.end()) {
        log(LogLevel::Warn, "child suspected of starving the runtime or stalled",
            {{"CHILD_ID", id}});
      }
    }
  }
  suspects_ = std::move(suspects);
  suspect_reasons_ = std::move(reasons);
}

void ControlLoop::update_health_status() {
  std::string status;
  ChildrenSummary summary = tree_.summary();
  if (!started_) {
    status = "starting";
  } else if (draining_ || tree_.shutting_down()) {
    status = "stopping";
  } else if (!suspects_.empty() || summary.quarantined > 0) {
    status = "degraded";
  } else {
    status = "ready";
  }
  if (status == status_) return;
  Event event;
  event.event_type = "health_changed";
  event.severity = status == "degraded" ? "warning" : "info";
  event.target_path = "root";
  event.payload = {{"from", status_}, {"to", status}};
  status_ = std::move(status);
  publish(std::move(event));
}

Health ControlLoop::health() {
  ++iterations_;
  Health h;
  h.status = status_;
  h.uptime_secs = static_cast<std::uint64_t>((mono_now_ms() - started_at_mono_ms_) / 1000);
  h.control_loop_iterations = iterations_;
  // The current window once it is long enough to mean something, else the last full one.
  std::int64_t window_ms = mono_now_ms() - sample_at_mono_ms_;
  h.iterations_per_sec = window_ms >= 200
                             ? static_cast<double>(iterations_ - iterations_at_sample_) * 1000.0 /
                                   static_cast<double>(window_ms)
                             : iterations_per_sec_;
  h.suspects = suspects_;
  h.reasons = suspect_reasons_;
  ChildrenSummary summary = tree_.summary();
  if (summary.quarantined > 0) {
    tree_.for_each_child([&](core::NodeIndex node) {
      auto record = tree_.record(node, now());
      if (record.state == ChildState::Quarantined) {
        h.reasons.push_back("child " + record.id + " is quarantined: " + record.quarantine_reason);
      }
    });
  }
  auto relay = tree_.find("relay");
  bool relay_up = relay && tree_.record(*relay, now()).state == ChildState::Running;
  h.dashboard_link =
      std::string(to_string(relay_up ? reported_link_ : DashboardLink::Disconnected));
  h.dashboard_clients = relay_up ? dashboard_clients_ : 0;
  return h;
}

void ControlLoop::report_dashboard_link(DashboardLink link, std::uint32_t clients) {
  reported_link_ = link;
  dashboard_clients_ = clients;
}

SupervisorState ControlLoop::current_state() {
  ++iterations_;
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
  ++iterations_;
  if (auto refusal_or_replay = ledger_.admit(request.meta)) return *refusal_or_replay;
  core::Now at = now();
  CommandResult result =
      draining_ ? CommandResult::rejected("the daemon is shutting down") : carry_out(request, at);
  apply_effects();
  std::string line =
      ledger_.record(request.meta, to_string(request.kind), request.target, result, at.unix_ms);
  if (audit_) {
    audit_ << line << '\n';
    audit_.flush();
  }
  log(result.kind == CommandResult::Accepted ? LogLevel::Info : LogLevel::Warn, "command " + line,
      {{"COMMAND", std::string(to_string(request.kind))},
       {"COMMAND_ID", request.meta.command_id},
       {"REQUESTED_BY", request.meta.requested_by},
       {"CHILD_ID", request.target},
       {"COMMAND_RESULT", std::string(to_string(result.kind))}});
  update_health_status();
  return result;
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
      if (request.spec->kind == ChildKind::Relay) {
        return CommandResult::rejected(
            "the relay is configured by dashboard.*, not added at run time");
      }
      return tree_.add_child(*request.spec, request.parent, at);
    }
    case CommandKind::RemoveChild:
      if (id == "relay") {
        return CommandResult::rejected("the relay cannot be removed (set dashboard.enabled=false)");
      }
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

void ControlLoop::flush_audit_log() {
  if (audit_) audit_.flush();
}

}  // namespace sup::actors
