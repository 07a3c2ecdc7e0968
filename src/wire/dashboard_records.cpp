#include "wire/dashboard_records.hpp"

#include <nlohmann/json.hpp>

#include "wire/json_access.hpp"

namespace sup::wire {

using namespace detail;

namespace {

// Writes items, then rows' items made by `fill` into one reused row.
template <class T, class Fill>
void write_rows(JsonWriter& w, std::string_view name, const std::vector<T>& items,
                const ChildRows* rows, Fill fill) {
  w.key(name).begin_array();
  for (const auto& item : items) write(w, item);
  if (rows) {
    T row;
    for (std::size_t i = 0; i < rows->size(); ++i) {
      fill(i, row);
      write(w, row);
    }
  }
  w.end_array();
}

}  // namespace

// ---- records ---------------------------------------------------------------

void write(JsonWriter& w, const ErrorObject& error) {
  w.begin_object().field("code", error.code).field("stage", error.stage);
  if (!error.target_id.empty()) w.field("target_id", error.target_id);
  w.field("message", error.message).field("retryable", error.retryable);
  if (!error.field_path.empty()) w.field("field_path", error.field_path);
  w.end_object();
}

void write(JsonWriter& w, const EventRecord& event) {
  w.begin_object()
      .field("target_id", event.target_id)
      .field("sequence", event.sequence)
      .field("correlation_id", event.correlation_id)
      .field("event_type", event.event_type)
      .field("severity", event.severity)
      .field("target_path", event.target_path);
  if (!event.child_id.empty()) w.field("child_id", event.child_id);
  w.field("occurred_at_unix_nanos", event.occurred_at_unix_nanos)
      .field("config_version", event.config_version);
  write_fields_object(w, "payload", event.payload);
  w.end_object();
}

void write(JsonWriter& w, const LogRecord& log) {
  w.begin_object().field("target_id", log.target_id);
  if (log.sequence) w.field("sequence", *log.sequence);
  if (!log.correlation_id.empty()) w.field("correlation_id", log.correlation_id);
  w.field("severity", log.severity).field("message", log.message);
  write_fields_object(w, "fields", log.fields);
  w.field("occurred_at_unix_nanos", log.occurred_at_unix_nanos).end_object();
}

void write(JsonWriter& w, const Node& node) {
  w.begin_object().field("node_id", node.node_id);
  write_optional(w, "child_id", node.child_id);
  w.field("path", node.path).field("name", node.name).field("kind", node.kind);
  write_strings(w, "tags", node.tags);
  w.field("criticality", node.criticality).field("state_summary", node.state_summary);
  write_fields_object(w, "diagnostics", node.diagnostics);
  w.end_object();
}

void write(JsonWriter& w, const Edge& edge) {
  w.begin_object()
      .field("edge_id", edge.edge_id)
      .field("source_path", edge.source_path)
      .field("target_path", edge.target_path)
      .field("kind", edge.kind)
      .field("order", edge.order)
      .end_object();
}

void write(JsonWriter& w, const RuntimeState& row) {
  w.begin_object()
      .field("child_path", row.child_path)
      .field("lifecycle_state", row.lifecycle_state)
      .field("health", row.health)
      .field("readiness", row.readiness)
      .field("generation", row.generation)
      .field("attempt", row.attempt)
      .field("child_start_count", row.child_start_count)
      .field("restart_count", row.restart_count);
  if (row.last_failure) w.field("last_failure", *row.last_failure);
  if (row.last_policy_decision) w.field("last_policy_decision", *row.last_policy_decision);
  w.field("shutdown_state", row.shutdown_state).end_object();
}

void write(JsonWriter& w, const ChildRecord& r) {
  w.begin_object()
      .field("child_id", r.id)
      .field("child_path", r.path)
      .field("generation", r.generation)
      .field("attempt", r.attempt)
      .field("status", r.status)
      .field("operation", r.operation)
      .field("managed_child_state", r.managed_child_state);
  w.key("liveness").begin_object();
  write_optional(w, "last_heartbeat_at_unix_nanos", r.liveness.last_heartbeat_at_unix_nanos);
  w.field("heartbeat_stale", r.liveness.heartbeat_stale).field("readiness", r.liveness.readiness);
  write_optional(w, "last_heartbeat_at", r.liveness.last_heartbeat_at_ms);
  w.end_object();
  const RestartLimit& limit = r.restart_limit;
  w.key("restart_limit")
      .begin_object()
      .field("window_millis", limit.window_millis)
      .field("limit", limit.limit)
      .field("used", limit.used)
      .field("remaining", limit.remaining)
      .field("exhausted", limit.exhausted)
      .field("updated_at_unix_nanos", limit.updated_at_unix_nanos)
      .end_object();
  w.field("stop_state", r.stop_state).key("failure").null();
  w.field("generation_fence_phase", r.generation_fence_phase).key("pending_restart");
  if (r.pending_restart_backoff_ms)
    w.begin_object().field("backoff_ms", *r.pending_restart_backoff_ms).end_object();
  else
    w.null();
  // Ours.
  w.field("id", r.id)
      .field("path", r.path)
      .field("parent", r.parent)
      .field("kind", r.kind)
      .field("restart", r.restart)
      .field("state", r.state)
      .field("restart_count", r.restart_count);
  w.key("last_exit");
  if (r.last_exit) {
    w.begin_object().field("kind", r.last_exit->kind).field("reason", r.last_exit->reason);
    write_optional(w, "at", r.last_exit->at_ms);
    w.end_object();
  } else {
    w.null();
  }
  w.key("restart_budget")
      .begin_object()
      .field("tokens", r.restart_budget.tokens)
      .field("capacity", r.restart_budget.capacity)
      .field("refill_per_sec", r.restart_budget.refill_per_sec)
      .end_object();
  w.field("backoff_ms", r.backoff_ms);
  write_optional(w, "started_at", r.started_at_ms);
  if (r.pid) w.field("pid", *r.pid);
  w.field("quarantine_reason", r.quarantine_reason).end_object();
}

void write(JsonWriter& w, const CommandResult& result) {
  w.begin_object()
      .field("command_id", result.command_id)
      .field("target_id", result.target_id)
      .field("accepted", result.accepted)
      .field("status", result.status);
  if (result.error) {
    w.key("error");
    write(w, *result.error);
  }
  write_optional(w, "completed_at_unix_nanos", result.completed_at_unix_nanos);
  if (result.correlation_id) w.field("correlation_id", *result.correlation_id);
  if (!result.outcome.empty()) w.field("outcome", result.outcome);
  if (!result.reason.empty()) w.field("reason", result.reason);
  w.field("idempotent", result.idempotent);
  if (const auto& execution = result.execution) {
    w.field("execution_id", execution->execution_id);
    if (!execution->state.empty()) w.field("state", execution->state);
    w.field("existing", execution->existing);
    if (!execution->nodes.empty()) write_strings(w, "nodes", execution->nodes);
  }
  if (result.maintenance) {
    w.key("maintenance");
    write(w, *result.maintenance);
    write_strings(w, "started", result.started);
  }
  if (const auto& resumed = result.resumed) {
    std::uint64_t count = 0;
    w.key("executions").begin_array();
    for (const ResumeOutcome& outcome : *resumed) {
      count += outcome.resumed ? 1 : 0;
      w.begin_object()
          .field("execution_id", outcome.execution_id)
          .field("reason", outcome.reason)
          .field("resumed", outcome.resumed)
          .field("detail", outcome.detail)
          .end_object();
    }
    w.end_array().field("resumed", count);
  }
  w.end_object();
}

void write(JsonWriter& w, const MaintenanceMode& mode) {
  w.begin_object()
      .field("enabled", mode.enabled)
      .field("reason", mode.reason)
      .field("requested_by", mode.requested_by)
      .field("changed_at_unix_nanos", mode.changed_at_unix_nanos)
      .end_object();
}

void write(JsonWriter& w, const DashboardState& state, const ChildRows* rows) {
  w.begin_object();
  const TargetIdentity& target = state.target;
  w.key("target")
      .begin_object()
      .field("target_id", target.target_id)
      .field("display_name", target.display_name)
      .field("registration_state", target.registration_state)
      .field("connection_state", target.connection_state)
      .end_object();
  w.key("topology").begin_object().key("root");
  write(w, state.root);
  write_rows(w, "nodes", state.nodes, rows,
             [rows](std::size_t i, Node& row) { rows->node(i, row); });
  write_rows(w, "edges", state.edges, rows,
             [rows](std::size_t i, Edge& row) { rows->edge(i, row); });
  w.key("declaration_order").begin_array();
  for (const auto& path : state.declaration_order) w.value(path);
  if (rows) {
    Node row;
    for (std::size_t i = 0; i < rows->size(); ++i) {
      rows->node(i, row);
      w.value(row.path);
    }
  }
  w.end_array().end_object();
  write_rows(w, "runtime_state", state.runtime_state, rows,
             [rows](std::size_t i, RuntimeState& row) { rows->runtime_state(i, row); });
  write_rows(w, "child_runtime_records", state.child_runtime_records, rows,
             [rows](std::size_t i, ChildRecord& row) { rows->record(i, row); });
  write_array(w, "recent_events", state.recent_events);
  write_array(w, "recent_logs", state.recent_logs);
  w.field("dropped_event_count", state.dropped_event_count)
      .field("dropped_log_count", state.dropped_log_count)
      .field("config_version", state.config_version)
      .field("generated_at_unix_nanos", state.generated_at_unix_nanos)
      .field("state_generation", state.state_generation);
  const ChildrenCounts& c = state.children;
  w.key("children")
      .begin_object()
      .field("running", c.running)
      .field("failed", c.failed)
      .field("restarting", c.restarting)
      .field("quarantined", c.quarantined)
      .field("stopped", c.stopped)
      .field("target_count", c.target_count)
      .end_object();
  w.field("captured_at", state.captured_at_ms).key("dashboard_registration");
  write(w, state.dashboard_registration);
  w.end_object();
}

void write(JsonWriter& w, const Registration& registration) {
  w.begin_object().field("state", registration.state);
  write_optional(w, "relay_path", registration.relay_path);
  write_optional(w, "last_error", registration.last_error);
  write_optional(w, "lease_expires_at_unix_ms", registration.lease_expires_at_unix_ms);
  w.field("consecutive_failures", registration.consecutive_failures)
      .field("registrations", registration.registrations)
      .end_object();
}

void write_fields(JsonWriter& w, const Subscription& subscription) {
  w.field("subscription", subscription.subscription);
  if (subscription.subscription == "logs") {
    write_array(w, "records", subscription.records);
    w.field("truncated", subscription.truncated);
  }
  w.field("last_sequence", subscription.last_sequence);
}

void write_fields(JsonWriter& w, const Health& health) {
  w.field("status", health.status)
      .field("uptime_secs", health.uptime_secs)
      .field("control_loop_iterations", health.control_loop_iterations)
      .field("iterations_per_sec", health.iterations_per_sec)
      .field("dashboard_link", health.dashboard_link);
  write_strings(w, "reasons", health.reasons);
  write_strings(w, "suspects", health.suspects);
  w.field("dashboard_clients", health.dashboard_clients)
      .field("audit_write_failures", health.audit_write_failures)
      .key("dashboard_registration");
  write(w, health.dashboard_registration);
  if (health.maintenance) {
    w.key("maintenance");
    write(w, *health.maintenance);
  }
}

// ---- reading ---------------------------------------------------------------

ErrorObject read_error(const json& o) {
  return {text(o, "code"),    text(o, "stage"),     text(o, "target_id"),
          text(o, "message"), flag(o, "retryable"), text(o, "field_path")};
}

EventRecord read_event(const json& o) {
  EventRecord e;
  e.target_id = text(o, "target_id");
  e.sequence = count(o, "sequence");
  e.correlation_id = text(o, "correlation_id");
  e.event_type = text(o, "event_type");
  e.severity = text(o, "severity");
  e.target_path = text(o, "target_path");
  e.child_id = text(o, "child_id");
  e.occurred_at_unix_nanos = integer(o, "occurred_at_unix_nanos").value_or(0);
  e.config_version = text(o, "config_version");
  e.payload = fields_of(o, "payload");
  return e;
}

LogRecord read_log(const json& o) {
  LogRecord l;
  l.target_id = text(o, "target_id");
  if (member(o, "sequence")) l.sequence = count(o, "sequence");
  l.correlation_id = text(o, "correlation_id");
  l.severity = text(o, "severity");
  l.message = text(o, "message");
  l.fields = fields_of(o, "fields");
  l.occurred_at_unix_nanos = integer(o, "occurred_at_unix_nanos").value_or(0);
  return l;
}

Node read_node(const json& o) {
  return {text(o, "node_id"),
          optional_text(o, "child_id"),
          text(o, "path"),
          text(o, "name"),
          text(o, "kind"),
          texts(o, "tags"),
          text(o, "criticality"),
          text(o, "state_summary"),
          fields_of(o, "diagnostics")};
}

Edge read_edge(const json& o) {
  return {text(o, "edge_id"), text(o, "source_path"), text(o, "target_path"), text(o, "kind"),
          count(o, "order")};
}

RuntimeState read_runtime_state(const json& o) {
  RuntimeState r;
  r.child_path = text(o, "child_path");
  r.lifecycle_state = text(o, "lifecycle_state");
  r.health = text(o, "health");
  r.readiness = text(o, "readiness");
  r.generation = count(o, "generation");
  r.attempt = count(o, "attempt");
  r.child_start_count = count(o, "child_start_count");
  r.restart_count = count(o, "restart_count");
  r.last_failure = optional_text(o, "last_failure");
  r.last_policy_decision = optional_text(o, "last_policy_decision");
  r.shutdown_state = text(o, "shutdown_state");
  return r;
}

ChildRecord read_child_record(const json& o) {
  ChildRecord r;
  r.id = text(o, "child_id");
  if (r.id.empty()) r.id = text(o, "id");
  r.path = text(o, "child_path");
  if (r.path.empty()) r.path = text(o, "path");
  r.generation = count(o, "generation");
  r.attempt = count(o, "attempt");
  r.status = text(o, "status");
  r.operation = text(o, "operation");
  r.managed_child_state = text(o, "managed_child_state");
  const json& liveness = child(o, "liveness");
  r.liveness.last_heartbeat_at_unix_nanos = integer(liveness, "last_heartbeat_at_unix_nanos");
  r.liveness.heartbeat_stale = flag(liveness, "heartbeat_stale");
  r.liveness.readiness = text(liveness, "readiness");
  r.liveness.last_heartbeat_at_ms = integer(liveness, "last_heartbeat_at");
  const json& limit = child(o, "restart_limit");
  r.restart_limit = {
      count(limit, "window_millis"), count32(limit, "limit"),
      count32(limit, "used"),        count32(limit, "remaining"),
      flag(limit, "exhausted"),      integer(limit, "updated_at_unix_nanos").value_or(0)};
  r.stop_state = text(o, "stop_state");
  r.generation_fence_phase = text(o, "generation_fence_phase");
  if (const json& pending = child(o, "pending_restart"); pending.is_object())
    r.pending_restart_backoff_ms = count(pending, "backoff_ms");
  r.parent = text(o, "parent");
  r.kind = text(o, "kind");
  r.restart = text(o, "restart");
  r.state = text(o, "state");
  r.restart_count = count(o, "restart_count");
  if (const json& exit = child(o, "last_exit"); exit.is_object())
    r.last_exit = LastExit{text(exit, "kind"), text(exit, "reason"), integer(exit, "at")};
  const json& budget = child(o, "restart_budget");
  r.restart_budget = {number(budget, "tokens").value_or(0), number(budget, "capacity").value_or(0),
                      number(budget, "refill_per_sec").value_or(0)};
  r.backoff_ms = count(o, "backoff_ms");
  r.started_at_ms = integer(o, "started_at");
  r.pid = integer(o, "pid");
  r.quarantine_reason = text(o, "quarantine_reason");
  return r;
}

DashboardState read_dashboard_state(const json& o) {
  DashboardState s;
  const json& target = child(o, "target");
  s.target = {text(target, "target_id"), text(target, "display_name"),
              text(target, "registration_state"), text(target, "connection_state")};
  const json& topology = child(o, "topology");
  s.root = read_node(child(topology, "root"));
  s.nodes = objects<Node>(topology, "nodes", read_node);
  s.edges = objects<Edge>(topology, "edges", read_edge);
  s.declaration_order = texts(topology, "declaration_order");
  s.runtime_state = objects<RuntimeState>(o, "runtime_state", read_runtime_state);
  s.child_runtime_records = objects<ChildRecord>(o, "child_runtime_records", read_child_record);
  s.recent_events = objects<EventRecord>(o, "recent_events", read_event);
  s.recent_logs = objects<LogRecord>(o, "recent_logs", read_log);
  s.dropped_event_count = count(o, "dropped_event_count");
  s.dropped_log_count = count(o, "dropped_log_count");
  s.config_version = text(o, "config_version");
  s.generated_at_unix_nanos = integer(o, "generated_at_unix_nanos").value_or(0);
  s.state_generation = count(o, "state_generation");
  const json& c = child(o, "children");
  s.children = {count(c, "running"),     count(c, "failed"),  count(c, "restarting"),
                count(c, "quarantined"), count(c, "stopped"), count(c, "target_count")};
  s.captured_at_ms = integer(o, "captured_at").value_or(0);
  s.dashboard_registration = read_registration(child(o, "dashboard_registration"));
  return s;
}

CommandResult read_command_result(const json& o) {
  CommandResult r;
  r.command_id = text(o, "command_id");
  r.target_id = text(o, "target_id");
  r.accepted = flag(o, "accepted");
  r.status = text(o, "status");
  if (const json& error = child(o, "error"); error.is_object()) r.error = read_error(error);
  r.completed_at_unix_nanos = integer(o, "completed_at_unix_nanos");
  r.correlation_id = optional_text(o, "correlation_id");
  r.outcome = text(o, "outcome");
  r.reason = text(o, "reason");
  r.idempotent = flag(o, "idempotent");
  if (member(o, "execution_id"))
    r.execution = ExecutionOutcome{text(o, "execution_id"), text(o, "state"), flag(o, "existing"),
                                   texts(o, "nodes")};
  if (const json& mode = child(o, "maintenance"); mode.is_object()) {
    r.maintenance = read_maintenance(mode);
    r.started = texts(o, "started");
  }
  if (child(o, "executions").is_array())
    r.resumed = objects<ResumeOutcome>(o, "executions", [](const json& item) {
      return ResumeOutcome{text(item, "execution_id"), text(item, "reason"), flag(item, "resumed"),
                           text(item, "detail")};
    });
  return r;
}

MaintenanceMode read_maintenance(const json& o) {
  return {flag(o, "enabled"), text(o, "reason"), text(o, "requested_by"),
          integer(o, "changed_at_unix_nanos").value_or(0)};
}

Subscription read_subscription(const json& o) {
  Subscription s;
  s.subscription = text(o, "subscription");
  s.last_sequence = count(o, "last_sequence");
  s.records = objects<LogRecord>(o, "records", read_log);
  s.truncated = flag(o, "truncated");
  return s;
}

Health read_health(const json& o) {
  Health h;
  h.status = text(o, "status");
  h.uptime_secs = count(o, "uptime_secs");
  h.control_loop_iterations = count(o, "control_loop_iterations");
  h.iterations_per_sec = number(o, "iterations_per_sec").value_or(0);
  h.dashboard_link = text(o, "dashboard_link");
  h.reasons = texts(o, "reasons");
  h.suspects = texts(o, "suspects");
  h.dashboard_clients = count(o, "dashboard_clients");
  h.audit_write_failures = count(o, "audit_write_failures");
  h.dashboard_registration = read_registration(child(o, "dashboard_registration"));
  if (const json& mode = child(o, "maintenance"); mode.is_object())
    h.maintenance = read_maintenance(mode);
  return h;
}

Registration read_registration(const json& o) {
  Registration r;
  if (auto state = optional_text(o, "state")) r.state = *state;
  r.relay_path = optional_text(o, "relay_path");
  r.last_error = optional_text(o, "last_error");
  r.lease_expires_at_unix_ms = integer(o, "lease_expires_at_unix_ms");
  r.consecutive_failures = count(o, "consecutive_failures");
  r.registrations = count(o, "registrations");
  return r;
}

const json& nested(const json& message, std::string_view key) {
  return child(message, key);
}

std::size_t ChildRecord::depth() const {
  const auto separators = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
  return separators > 0 ? separators - 1 : 0;
}

}  // namespace sup::wire
