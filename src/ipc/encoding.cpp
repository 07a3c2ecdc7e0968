#include "ipc/encoding.hpp"

namespace sup::ipc {
namespace {

// config_version of the seed's event record: the daemon has no config
// reload yet, so every event belongs to the one config it started with.
constexpr std::uint64_t kConfigVersion = 1;

// A typical child record encodes to ~480 bytes; reserving for the whole
// state at once keeps a 10,000-child answer to one allocation.
constexpr std::size_t kChildRecordBytesEstimate = 512;

void write_error_object(JsonWriter& w, const ProtocolError& error, std::string_view target_id) {
  w.begin_object()
      .field("code", code_name(error.code))
      .field("stage", stage_of(error.code))
      .field("target_id", target_id)
      .field("message", error.message)
      .field("retryable", is_retryable(error.code));
  if (!error.field_path.empty()) w.field("field_path", error.field_path);
  w.end_object();
}

template <class T>
void write_optional(JsonWriter& w, std::string_view name, const std::optional<T>& value) {
  w.key(name);
  if (value)
    w.value(*value);
  else
    w.null();
}

template <class Write>
std::string push_line(Write&& write) {
  JsonWriter w;
  write(w);
  return w.take_line();
}

void write_string_array(JsonWriter& w, std::string_view name,
                        const std::vector<std::string>& items) {
  w.key(name).begin_array();
  for (const auto& item : items) w.value(item);
  w.end_array();
}

void write_child_record(JsonWriter& w, const ChildRuntimeRecord& r) {
  w.begin_object()
      .field("id", r.id)
      .field("path", r.path)
      .field("parent", r.parent)
      .field("kind", to_string(r.kind))
      .field("restart", to_string(r.restart))
      .field("state", to_string(r.state))
      .field("restart_count", r.restart_count);
  w.key("last_exit");
  if (r.last_exit) {
    w.begin_object()
        .field("kind", to_string(r.last_exit->kind))
        .field("reason", r.last_exit->reason)
        .field("at", r.last_exit->at_unix_ms)
        .end_object();
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
  write_optional(w, "started_at", r.started_at_unix_ms);
  if (r.pid) w.field("pid", *r.pid);
  w.field("generation", r.generation).field("attempt", r.attempt);
  w.key("liveness").begin_object();
  write_optional(w, "last_heartbeat_at", r.liveness.last_heartbeat_at_unix_ms);
  w.field("heartbeat_stale", r.liveness.heartbeat_stale)
      .field("readiness", to_string(r.liveness.readiness))
      .end_object();
  w.field("quarantine_reason", r.quarantine_reason).end_object();
}

// The seed's correlation_id ties the events of one operation together; ours
// is the command that caused the event, when there was one.
std::string_view correlation_id_of(const Event& event) {
  auto it = event.payload.find("command_id");
  return it == event.payload.end() ? std::string_view("") : std::string_view(it->second);
}

}  // namespace

std::string error_response_line(const std::optional<std::string>& request_id,
                                const ProtocolError& error, std::string_view target_id) {
  return push_line([&](JsonWriter& w) {
    w.begin_object().key("request_id");
    if (request_id)
      w.value(*request_id);
    else
      w.null();
    w.field("ok", false).key("error");
    write_error_object(w, error, target_id);
    w.end_object();
  });
}

std::string error_push_line(const ProtocolError& error, std::string_view target_id) {
  return push_line([&](JsonWriter& w) {
    w.begin_object().field("type", "error").field("target_id", target_id).key("error");
    write_error_object(w, error, target_id);
    w.end_object();
  });
}

std::string event_push_line(const Event& event, std::string_view target_id) {
  return push_line([&](JsonWriter& w) { write_event(w, event, target_id); });
}

std::string log_push_line(const LogEntry& entry, std::string_view target_id) {
  return push_line([&](JsonWriter& w) { write_log_entry(w, entry, target_id); });
}

void write_event(JsonWriter& w, const Event& event, std::string_view target_id) {
  w.begin_object()
      .field("type", "event")
      .field("target_id", target_id)
      .field("sequence", event.sequence)
      .field("correlation_id", correlation_id_of(event))
      .field("event_type", event.event_type)
      .field("severity", event.severity)
      .field("target_path", event.target_path);
  if (!event.child_id.empty()) w.field("child_id", event.child_id);
  w.field("occurred_at_unix_nanos", event.occurred_at_unix_nanos)
      .field("config_version", kConfigVersion);
  w.key("payload").begin_object();
  for (const auto& [name, value] : event.payload) w.field(name, value);
  w.end_object().end_object();
}

void write_log_entry(JsonWriter& w, const LogEntry& entry, std::string_view target_id) {
  w.begin_object()
      .field("type", "log")
      .field("target_id", target_id)
      .field("sequence", entry.sequence)
      .field("severity", to_string(entry.level))
      .field("message", entry.message);
  w.key("fields").begin_object();
  for (const auto& [name, value] : entry.fields) w.field(name, value);
  w.end_object().field("occurred_at_unix_nanos", entry.at_unix_nanos).end_object();
}

void write_state_fields(JsonWriter& w, const SupervisorState& state) {
  w.reserve_more(state.child_runtime_records.size() * kChildRecordBytesEstimate);
  const auto& c = state.children;
  w.key("children")
      .begin_object()
      .field("running", c.running)
      .field("failed", c.failed)
      .field("restarting", c.restarting)
      .field("quarantined", c.quarantined)
      .field("stopped", c.stopped)
      .field("target_count", c.target_count)
      .end_object();
  w.key("child_runtime_records").begin_array();
  for (const auto& record : state.child_runtime_records) write_child_record(w, record);
  w.end_array();
  w.field("state_generation", state.state_generation)
      .field("captured_at", state.captured_at_unix_ms);
}

void write_health_fields(JsonWriter& w, const Health& health) {
  w.field("status", health.status)
      .field("uptime_secs", health.uptime_secs)
      .field("control_loop_iterations", health.control_loop_iterations)
      .field("iterations_per_sec", health.iterations_per_sec)
      .field("dashboard_link", to_string(health.endpoint.link));
  write_string_array(w, "reasons", health.reasons);
  write_string_array(w, "suspects", health.suspects);
  w.field("dashboard_clients", health.endpoint.clients)
      .field("audit_write_failures", health.audit_write_failures);
}

void write_command_result_fields(JsonWriter& w, const CommandResult& result,
                                 std::string_view command_id,
                                 std::int64_t completed_at_unix_nanos) {
  w.field("command_id", command_id)
      .field("accepted", result.kind == CommandResult::Accepted)
      .field("status", to_string(result.kind));
  if (!result.reason.empty()) w.field("reason", result.reason);
  w.field("idempotent", result.idempotent)
      .field("completed_at_unix_nanos", completed_at_unix_nanos);
}

}  // namespace sup::ipc
