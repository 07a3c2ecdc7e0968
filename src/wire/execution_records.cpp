#include "wire/execution_records.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "wire/json_access.hpp"

namespace sup::wire {

using namespace detail;

namespace {

bool is_failure(std::string_view state) {
  return state == "FAILED" || state == "CANCELLED" || state == "COMPENSATION_FAILED";
}

// A published result is JSON text the service checked when it stored it:
// it goes out as the value itself, not as a string.
void write_result(JsonWriter& w, const std::string& result) {
  w.key("result");
  if (result.empty()) {
    w.null();
    return;
  }
  json value = json::parse(result, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    w.value(result);
  else
    w.raw(to_line(value));
}

std::uint32_t attempt_of(std::string_view text) {
  std::uint64_t attempt = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), attempt);
  if (error != std::errc() || end != text.data() + text.size()) return 0;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(attempt, UINT32_MAX));
}

std::string field(const Fields& fields, std::string_view key) {
  for (const auto& [name, value] : fields)
    if (name == key) return value;
  return {};
}

void write_stuck(JsonWriter& w, const std::optional<ExecutionStuck>& stuck) {
  w.key("stuck");
  if (!stuck) {
    w.null();
    return;
  }
  w.begin_object()
      .field("reason", stuck->reason)
      .field("detail", stuck->detail)
      .field("since_unix_nanos", stuck->since_unix_nanos)
      .end_object();
}

std::optional<ExecutionStuck> read_stuck(const json& o) {
  const json& stuck = child(o, "stuck");
  if (!stuck.is_object()) return std::nullopt;
  return ExecutionStuck{text(stuck, "reason"), text(stuck, "detail"),
                        integer(stuck, "since_unix_nanos").value_or(0)};
}

}  // namespace

void write(JsonWriter& w, const ExecutionSummary& summary) {
  w.begin_object()
      .field("execution_id", summary.execution_id)
      .field("state", summary.state)
      .field("finished", summary.finished)
      .field("created_at_unix_nanos", summary.created_at_unix_nanos)
      .field("updated_at_unix_nanos", summary.updated_at_unix_nanos);
  write_stuck(w, summary.stuck);
  w.end_object();
}

void write(JsonWriter& w, const ExecutionNode& node) {
  w.begin_object()
      .field("node_id", node.node_id)
      .field("state", node.state)
      .field("attempt", node.attempt)
      .field("reason", node.reason);
  write_result(w, node.result);
  w.field("updated_at_unix_nanos", node.updated_at_unix_nanos);
  write_strings(w, "deps", node.deps);
  w.end_object();
}

void write(JsonWriter& w, const Execution& execution) {
  w.begin_object()
      .field("execution_id", execution.execution_id)
      .field("name", execution.name)
      .field("state", execution.state)
      .field("finished", execution.finished)
      .field("reason", execution.reason)
      .field("submitted_at_unix_nanos", execution.submitted_at_unix_nanos)
      .field("updated_at_unix_nanos", execution.updated_at_unix_nanos)
      .field("records", execution.records);
  write_stuck(w, execution.stuck);
  write_array(w, "nodes", execution.nodes);
  w.end_object();
}

void write(JsonWriter& w, const ExecutionLogLine& line) {
  w.begin_object()
      .field("attempt", line.attempt)
      .field("stream", line.stream)
      .field("text", line.text)
      .end_object();
}

void write_fields(JsonWriter& w, const ExecutionLogs& logs) {
  w.field("execution_id", logs.execution_id).field("node_id", logs.node_id);
  write_array(w, "lines", logs.lines);
  w.field("truncated", logs.truncated);
}

ExecutionSummary read_execution_summary(const json& o) {
  return {text(o, "execution_id"),
          text(o, "state"),
          flag(o, "finished"),
          integer(o, "created_at_unix_nanos").value_or(0),
          integer(o, "updated_at_unix_nanos").value_or(0),
          read_stuck(o)};
}

ExecutionNode read_execution_node(const json& o) {
  ExecutionNode node;
  node.node_id = text(o, "node_id");
  node.state = text(o, "state");
  node.attempt = count32(o, "attempt");
  node.reason = text(o, "reason");
  if (const json& result = child(o, "result"); !result.is_null()) node.result = to_line(result);
  node.updated_at_unix_nanos = integer(o, "updated_at_unix_nanos").value_or(0);
  node.deps = texts(o, "deps");
  return node;
}

Execution read_execution(const json& o) {
  Execution e;
  e.execution_id = text(o, "execution_id");
  e.name = text(o, "name");
  e.state = text(o, "state");
  e.finished = flag(o, "finished");
  e.reason = text(o, "reason");
  e.submitted_at_unix_nanos = integer(o, "submitted_at_unix_nanos").value_or(0);
  e.updated_at_unix_nanos = integer(o, "updated_at_unix_nanos").value_or(0);
  e.records = count(o, "records");
  e.nodes = objects<ExecutionNode>(o, "nodes", read_execution_node);
  e.stuck = read_stuck(o);
  return e;
}

ExecutionLogs read_execution_logs(const json& o) {
  ExecutionLogs logs;
  logs.execution_id = text(o, "execution_id");
  logs.node_id = text(o, "node_id");
  logs.lines = objects<ExecutionLogLine>(o, "lines", [](const json& line) {
    return ExecutionLogLine{count32(line, "attempt"), text(line, "stream"), text(line, "text")};
  });
  logs.truncated = flag(o, "truncated");
  return logs;
}

std::vector<ExecutionSummary> read_execution_summaries(const json& result) {
  return objects<ExecutionSummary>(result, "executions", read_execution_summary);
}

EventRecord transition_event(const ExecutionTransition& t) {
  const bool node = !t.node_id.empty();
  EventRecord event;
  event.event_type = node ? kNodeStateChanged : kExecutionStateChanged;
  event.severity = is_failure(t.to_state) ? "warning" : "info";
  event.target_path = "executions/" + t.execution_id;
  if (node) event.target_path += "/" + t.node_id;
  event.payload.emplace_back("execution_id", t.execution_id);
  if (node) {
    event.payload.emplace_back("node_id", t.node_id);
    event.payload.emplace_back("attempt", std::to_string(t.attempt));
  }
  event.payload.emplace_back("from_state", t.from_state);
  event.payload.emplace_back("to_state", t.to_state);
  event.payload.emplace_back("reason", t.reason);
  return event;
}

std::optional<ExecutionTransition> read_transition(const EventRecord& event) {
  const bool node = event.event_type == kNodeStateChanged;
  if (!node && event.event_type != kExecutionStateChanged) return std::nullopt;
  ExecutionTransition t;
  t.execution_id = field(event.payload, "execution_id");
  if (t.execution_id.empty()) return std::nullopt;
  if (node) {
    t.node_id = field(event.payload, "node_id");
    t.attempt = attempt_of(field(event.payload, "attempt"));
  }
  t.from_state = field(event.payload, "from_state");
  t.to_state = field(event.payload, "to_state");
  t.reason = field(event.payload, "reason");
  return t;
}

}  // namespace sup::wire
