#include "ipc/encoding.hpp"

#include <algorithm>
#include <unordered_map>

namespace sup::ipc {
namespace {

// config_version of the seed's records: the daemon has no config reload
// yet, so everything belongs to the one config it started with.
constexpr std::string_view kConfigVersion = "1";

// A typical child encodes to ~1.6 KB across its node, edge, runtime row and
// record; reserving for the whole state at once keeps a 10,000-child answer
// to one allocation.
constexpr std::size_t kChildBytesEstimate = 1700;
constexpr std::int64_t kNanosPerMilli = 1'000'000;
constexpr std::string_view kRootPath = "root";

template <class Write>
std::string line_of(Write&& write) {
  JsonWriter w;
  write(w);
  return w.take_line();
}

// The seed's correlation_id ties the events of one operation together; ours
// is the command that caused the event, when there was one.
std::string_view correlation_id_of(const Event& event) {
  auto it = event.payload.find("command_id");
  return it == event.payload.end() ? std::string_view("") : std::string_view(it->second);
}

// The seed's lifecycle_state: starting|running|paused|quarantined|failed|
// restarting|stopping|stopped|completed|removed.
std::string_view lifecycle_of(const ChildRuntimeRecord& r) {
  switch (r.state) {
    case ChildState::Starting:
      return "starting";
    case ChildState::Running:
      return "running";
    case ChildState::Restarting:
      return "restarting";
    case ChildState::Stopping:
      return "stopping";
    case ChildState::Stopped:
      return r.last_exit && r.last_exit->kind == TaskExit::Completed ? "completed" : "stopped";
    case ChildState::Paused:
      return "paused";
    case ChildState::Failed:
      return "failed";
    case ChildState::Quarantined:
      return "quarantined";
  }
  return "stopped";
}

// The seed's control operation (active|paused|quarantined|removed) and the
// managed child state derived from it (running|paused|quarantined|removed).
std::string_view operation_of(ChildState state) {
  switch (state) {
    case ChildState::Paused:
      return "paused";
    case ChildState::Quarantined:
      return "quarantined";
    default:
      return "active";
  }
}
std::string_view managed_state_of(ChildState state) {
  std::string_view operation = operation_of(state);
  return operation == "active" ? "running" : operation;
}

// The seed's attempt status: starting|running|ready|cancelling|stopped.
std::string_view attempt_status_of(const ChildRuntimeRecord& r) {
  switch (r.state) {
    case ChildState::Starting:
      return "starting";
    case ChildState::Running:
      return r.liveness.readiness == Readiness::Ready ? "ready" : "running";
    case ChildState::Stopping:
      return "cancelling";
    default:
      return "stopped";
  }
}

// The seed's stop state: idle|no_active_attempt|cancel_delivered|completed|failed.
std::string_view stop_state_of(ChildState state) {
  switch (state) {
    case ChildState::Starting:
    case ChildState::Running:
      return "idle";
    case ChildState::Stopping:
      return "cancel_delivered";
    default:
      return "no_active_attempt";
  }
}

// runtime_state's readiness is the UI's (unknown|ready|not_ready); the
// records' liveness.readiness is the seed server's (unreported|ready|not_ready).
std::string_view liveness_readiness_of(Readiness readiness) {
  return readiness == Readiness::Unknown ? "unreported" : to_string(readiness);
}

std::string_view health_of(const ChildRuntimeRecord& r) {
  if (r.liveness.heartbeat_stale) return "stale";
  if (r.state == ChildState::Running) return "healthy";
  if (r.state == ChildState::Failed || r.state == ChildState::Quarantined) return "unhealthy";
  return "unknown";
}

std::string_view parent_path_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? kRootPath : path.substr(0, slash);
}

wire::RestartLimit restart_limit_of(const RestartBudgetState& budget,
                                    std::int64_t updated_at_unix_nanos) {
  const auto limit = static_cast<std::uint32_t>(std::max(budget.capacity, 0.0));
  const double tokens = std::max(budget.tokens, 0.0);
  const auto remaining = std::min(limit, static_cast<std::uint32_t>(tokens));
  const double window_ms =
      budget.refill_per_sec > 0 ? budget.capacity / budget.refill_per_sec * 1000.0 : 0.0;
  return {static_cast<std::uint64_t>(window_ms),
          limit,
          limit - remaining,
          remaining,
          tokens < 1.0,
          updated_at_unix_nanos};
}

void assign(std::string& out, std::string_view text) {
  out.assign(text.data(), text.size());
}

// The per-child rows of a SupervisorState, made one at a time into the
// writer's reused rows (their strings keep their capacity).
class StateRows final : public wire::ChildRows {
 public:
  explicit StateRows(const SupervisorState& state)
      : records_(state.child_runtime_records),
        captured_at_nanos_(state.captured_at_unix_ms * kNanosPerMilli) {
    // Records are depth first in declaration order, so a child's order
    // among its siblings is a count per parent.
    sibling_order_.reserve(records_.size());
    std::unordered_map<std::string_view, std::uint64_t> seen;
    for (const auto& record : records_)
      sibling_order_.push_back(seen[parent_path_of(record.path)]++);
  }

  std::size_t size() const override { return records_.size(); }

  void node(std::size_t i, wire::Node& out) const override {
    const ChildRuntimeRecord& r = records_[i];
    out.node_id = r.path;
    out.child_id = r.id;
    out.path = r.path;
    out.name = r.id;
    out.kind = "child_task";
    out.tags.resize(2);
    assign(out.tags[0], to_string(r.kind));
    assign(out.tags[1], to_string(r.restart));
    out.criticality = r.restart == RestartType::Temporary ? "best_effort" : "standard";
    assign(out.state_summary, lifecycle_of(r));
    out.diagnostics.clear();
    if (!r.quarantine_reason.empty()) out.diagnostics.emplace_back("message", r.quarantine_reason);
  }

  void edge(std::size_t i, wire::Edge& out) const override {
    const ChildRuntimeRecord& r = records_[i];
    std::string_view parent = parent_path_of(r.path);
    out.edge_id.assign(parent.data(), parent.size());
    out.edge_id.append("->").append(r.path);
    assign(out.source_path, parent);
    out.target_path = r.path;
    out.kind = "parent_child";
    out.order = sibling_order_[i];
  }

  void runtime_state(std::size_t i, wire::RuntimeState& out) const override {
    const ChildRuntimeRecord& r = records_[i];
    out.child_path = r.path;
    assign(out.lifecycle_state, lifecycle_of(r));
    assign(out.health, health_of(r));
    assign(out.readiness, to_string(r.liveness.readiness));
    out.generation = r.generation;
    out.attempt = r.attempt;
    out.child_start_count = r.generation;
    out.restart_count = r.restart_count;
    out.last_failure.reset();
    if (r.last_exit && r.last_exit->kind != TaskExit::Completed)
      out.last_failure = std::string(to_string(r.last_exit->kind)) + ": " + r.last_exit->reason;
    out.last_policy_decision.reset();
    if (r.state == ChildState::Quarantined && !r.quarantine_reason.empty())
      out.last_policy_decision = "quarantined: " + r.quarantine_reason;
    else if (r.state == ChildState::Restarting)
      out.last_policy_decision = "restart after " + std::to_string(r.backoff_ms) + " ms";
    out.shutdown_state = "running";
  }

  void record(std::size_t i, wire::ChildRecord& out) const override {
    const ChildRuntimeRecord& r = records_[i];
    out.id = r.id;
    out.path = r.path;
    out.generation = r.generation;
    out.attempt = r.attempt;
    assign(out.status, attempt_status_of(r));
    assign(out.operation, operation_of(r.state));
    assign(out.managed_child_state, managed_state_of(r.state));
    const auto& heartbeat = r.liveness.last_heartbeat_at_unix_ms;
    out.liveness.last_heartbeat_at_unix_nanos =
        heartbeat ? std::optional<std::int64_t>(*heartbeat * kNanosPerMilli) : std::nullopt;
    out.liveness.heartbeat_stale = r.liveness.heartbeat_stale;
    assign(out.liveness.readiness, liveness_readiness_of(r.liveness.readiness));
    out.liveness.last_heartbeat_at_ms = heartbeat;
    out.restart_limit = restart_limit_of(r.restart_budget, captured_at_nanos_);
    assign(out.stop_state, stop_state_of(r.state));
    out.generation_fence_phase = "current";
    out.pending_restart_backoff_ms = r.state == ChildState::Restarting
                                         ? std::optional<std::uint64_t>(r.backoff_ms)
                                         : std::nullopt;
    out.parent = r.parent;
    assign(out.kind, to_string(r.kind));
    assign(out.restart, to_string(r.restart));
    assign(out.state, to_string(r.state));
    out.restart_count = r.restart_count;
    if (r.last_exit)
      out.last_exit = wire::LastExit{std::string(to_string(r.last_exit->kind)), r.last_exit->reason,
                                     r.last_exit->at_unix_ms};
    else
      out.last_exit.reset();
    out.restart_budget = {r.restart_budget.tokens, r.restart_budget.capacity,
                          r.restart_budget.refill_per_sec};
    out.backoff_ms = r.backoff_ms;
    out.started_at_ms = r.started_at_unix_ms;
    out.pid = r.pid ? std::optional<std::int64_t>(*r.pid) : std::nullopt;
    out.quarantine_reason = r.quarantine_reason;
  }

 private:
  const std::vector<ChildRuntimeRecord>& records_;
  std::int64_t captured_at_nanos_;
  std::vector<std::uint64_t> sibling_order_;
};

wire::Node root_node(const SupervisorState& state) {
  wire::Node root;
  root.node_id = kRootPath;
  root.path = kRootPath;
  root.name = kRootPath;
  root.kind = "root_supervisor";
  root.tags = {"supervisor"};
  root.criticality = "critical";
  root.state_summary =
      state.children.running == state.children.target_count ? "running" : "degraded";
  return root;
}

}  // namespace

std::string_view severity_of(LogLevel level) {
  switch (level) {
    case LogLevel::Warn:
      return "warning";
    case LogLevel::Critical:
      return "error";
    default:
      return to_string(level);
  }
}

wire::ErrorObject to_wire(const ProtocolError& error, std::string_view target_id) {
  return {std::string(code_name(error.code)),
          std::string(stage_of(error.code)),
          std::string(target_id),
          error.message,
          is_retryable(error.code),
          error.field_path};
}

wire::EventRecord to_wire(const Event& event, std::string_view target_id) {
  wire::EventRecord out;
  out.target_id = target_id;
  out.sequence = event.sequence;
  out.correlation_id = correlation_id_of(event);
  out.event_type = event.event_type;
  out.severity = event.severity;
  out.target_path = event.target_path;
  out.child_id = event.child_id;
  out.occurred_at_unix_nanos = event.occurred_at_unix_nanos;
  out.config_version = kConfigVersion;
  out.payload.assign(event.payload.begin(), event.payload.end());
  return out;
}

wire::LogRecord to_wire(const LogEntry& entry, std::string_view target_id) {
  wire::LogRecord out;
  out.target_id = target_id;
  out.sequence = entry.sequence;
  out.severity = severity_of(entry.level);
  out.message = entry.message;
  out.fields = entry.fields;
  out.occurred_at_unix_nanos = entry.at_unix_nanos;
  return out;
}

wire::Registration to_wire(const registration::RegistrationStatus& status) {
  wire::Registration out;
  out.state = registration::to_string(status.state);
  if (!status.relay_path.empty()) out.relay_path = status.relay_path;
  if (!status.last_error.empty()) out.last_error = status.last_error;
  out.lease_expires_at_unix_ms = status.lease_expires_at_unix_ms;
  out.consecutive_failures = status.consecutive_failures;
  out.registrations = status.registrations;
  return out;
}

wire::Health to_wire(const Health& health,
                     const registration::RegistrationStatus& relay_registration) {
  return {health.status,
          health.uptime_secs,
          health.control_loop_iterations,
          health.iterations_per_sec,
          std::string(to_string(health.endpoint.link)),
          health.reasons,
          health.suspects,
          health.endpoint.clients,
          health.audit_write_failures,
          to_wire(relay_registration)};
}

std::string_view registration_state_of(const registration::RegistrationStatus& status,
                                       std::int64_t now_unix_ms) {
  if (!status.lease_expires_at_unix_ms) return "pending";
  return *status.lease_expires_at_unix_ms > now_unix_ms ? "active" : "expired";
}

wire::CommandResult to_wire(const CommandResult& result, std::string_view target_id,
                            std::string_view command_id,
                            const std::optional<std::string>& correlation_id,
                            std::int64_t completed_at_unix_nanos) {
  const bool accepted = result.kind == CommandResult::Accepted;
  wire::CommandResult out;
  out.command_id = command_id;
  out.target_id = target_id;
  out.accepted = accepted;
  out.status = accepted ? "completed" : "rejected";
  if (!accepted)
    out.error = wire::ErrorObject{result.kind == CommandResult::NotFound ? "not_found" : "rejected",
                                  "command",
                                  std::string(target_id),
                                  result.reason,
                                  false,
                                  {}};
  out.completed_at_unix_nanos = completed_at_unix_nanos;
  out.correlation_id = correlation_id;
  out.outcome = to_string(result.kind);
  out.reason = result.reason;
  out.idempotent = result.idempotent;
  return out;
}

std::string error_response_line(const std::optional<std::string>& request_id,
                                const ProtocolError& error, std::string_view target_id) {
  return line_of([&](JsonWriter& w) {
    w.begin_object()
        .field("request_id", request_id ? std::string_view(*request_id) : kInvalidRequestId)
        .field("ok", false)
        .key("error");
    wire::write(w, to_wire(error, target_id));
    w.end_object();
  });
}

std::string error_push_line(const ProtocolError& error, std::string_view target_id) {
  return line_of([&](JsonWriter& w) {
    w.begin_object().field("type", "error").field("target_id", target_id).key("error");
    wire::write(w, to_wire(error, target_id));
    w.end_object();
  });
}

std::string event_push_line(const Event& event, std::string_view target_id) {
  return line_of([&](JsonWriter& w) {
    w.begin_object().field("type", "event").field("target_id", target_id).key("event");
    wire::write(w, to_wire(event, target_id));
    w.end_object();
  });
}

std::string log_push_line(const LogEntry& entry, std::string_view target_id) {
  return line_of([&](JsonWriter& w) {
    w.begin_object().field("type", "log").field("target_id", target_id).key("log");
    wire::write(w, to_wire(entry, target_id));
    w.end_object();
  });
}

void write_dashboard_state(JsonWriter& w, const SupervisorState& state,
                           const DashboardContext& context) {
  w.reserve_more(state.child_runtime_records.size() * kChildBytesEstimate);
  wire::DashboardState head;
  const registration::RegistrationStatus relay_registration =
      context.registration ? *context.registration : registration::RegistrationStatus{};
  head.target = {std::string(context.target_id), std::string(context.display_name),
                 std::string(registration_state_of(relay_registration, state.captured_at_unix_ms)),
                 "connected"};
  head.dashboard_registration = to_wire(relay_registration);
  head.root = root_node(state);
  head.nodes.push_back(head.root);
  head.declaration_order.emplace_back(kRootPath);
  if (context.recent_logs)
    for (const auto& entry : *context.recent_logs)
      head.recent_logs.push_back(to_wire(*entry, context.target_id));
  head.config_version = kConfigVersion;
  head.generated_at_unix_nanos = state.captured_at_unix_ms * kNanosPerMilli;
  head.state_generation = state.state_generation;
  const ChildrenSummary& c = state.children;
  head.children = {c.running, c.failed, c.restarting, c.quarantined, c.stopped, c.target_count};
  head.captured_at_ms = state.captured_at_unix_ms;
  StateRows rows(state);
  wire::write(w, head, &rows);
}

}  // namespace sup::ipc
