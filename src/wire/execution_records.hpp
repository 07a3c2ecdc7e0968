// The records of the executions.* methods and of execution events as they
// travel (docs/ipc.md, "Executions"): written by the daemon (sup_ipc),
// read by supctl and the tests, like the dashboard records beside them.
// Reading is lenient in the same way (defaults for missing fields).
//
//   sup::wire::write(w, execution);                        // the daemon
//   sup::wire::Execution e = sup::wire::read_execution(nested(result, "execution"));
//   if (auto t = sup::wire::read_transition(sup::wire::read_event(push["event"]))) ...
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json/json_writer.hpp"
#include "wire/dashboard_records.hpp"

namespace sup::wire {

// Why an unfinished execution is listed as STUCK (`stuck`, null when it
// is not): reason one of queued_too_long, running_without_progress,
// owner_process_dead, breaker_open, maintenance (docs/dag.md).
struct ExecutionStuck {
  std::string reason;
  std::string detail;
  std::int64_t since_unix_nanos = 0;

  bool operator==(const ExecutionStuck&) const = default;
};

// A row of executions.list (`executions[]`).
struct ExecutionSummary {
  std::string execution_id;
  std::string state;  // PENDING, RUNNING, ... (as last committed)
  bool finished = false;
  std::int64_t created_at_unix_nanos = 0;
  std::int64_t updated_at_unix_nanos = 0;
  std::optional<ExecutionStuck> stuck{};

  bool operator==(const ExecutionSummary&) const = default;
};

// A node of an execution (`execution.nodes[]`).
struct ExecutionNode {
  std::string node_id;
  std::string state;
  std::uint32_t attempt = 0;  // the latest (0: never started)
  std::string reason;
  // The JSON the node published, as compact JSON text; empty: null. Text
  // that is not JSON goes out as a JSON string.
  std::string result;
  std::int64_t updated_at_unix_nanos = 0;
  std::vector<std::string> deps{};  // the spec's: the graph's edges into this node

  bool operator==(const ExecutionNode&) const = default;
};

// The `execution` of executions.get: the execution as committed.
struct Execution {
  std::string execution_id;
  std::string name;
  std::string state;
  bool finished = false;
  std::string reason;
  std::int64_t submitted_at_unix_nanos = 0;
  std::int64_t updated_at_unix_nanos = 0;
  std::uint64_t records = 0;
  std::vector<ExecutionNode> nodes;  // spec order
  std::optional<ExecutionStuck> stuck{};

  bool operator==(const Execution&) const = default;
};

// executions.logs: {execution_id, node_id, lines[{attempt, stream, text}], truncated}.
struct ExecutionLogLine {
  std::uint32_t attempt = 0;
  std::string stream;  // stdout|stderr
  std::string text;

  bool operator==(const ExecutionLogLine&) const = default;
};
struct ExecutionLogs {
  std::string execution_id;
  std::string node_id;
  std::vector<ExecutionLogLine> lines;  // oldest first
  bool truncated = false;

  bool operator==(const ExecutionLogs&) const = default;
};

// An execution's or a node's committed transition, carried as an
// EventRecord: event_type execution_state_changed | node_state_changed,
// target_path "executions/<id>[/<node>]", this in its payload.
inline constexpr std::string_view kExecutionStateChanged = "execution_state_changed";
inline constexpr std::string_view kNodeStateChanged = "node_state_changed";
struct ExecutionTransition {
  std::string execution_id;
  std::string node_id;  // empty: the execution's own
  std::string from_state;
  std::string to_state;
  std::uint32_t attempt = 0;  // node transitions from RUNNING on
  std::string reason;

  bool operator==(const ExecutionTransition&) const = default;
};

void write(JsonWriter& w, const ExecutionSummary& summary);
void write(JsonWriter& w, const ExecutionNode& node);
void write(JsonWriter& w, const Execution& execution);
void write(JsonWriter& w, const ExecutionLogLine& line);
// Fields of a result object (no braces).
void write_fields(JsonWriter& w, const ExecutionLogs& logs);

ExecutionSummary read_execution_summary(const nlohmann::json& object);
ExecutionNode read_execution_node(const nlohmann::json& object);
Execution read_execution(const nlohmann::json& object);
ExecutionLogs read_execution_logs(const nlohmann::json& result);
// The `executions` array of an executions.list result.
std::vector<ExecutionSummary> read_execution_summaries(const nlohmann::json& result);

// The event of a transition (event_type, target_path, payload; the
// severity is `warning` for FAILED, CANCELLED and COMPENSATION_FAILED).
// Sequence, time and target are the event journal's.
EventRecord transition_event(const ExecutionTransition& transition);
// The transition an event carries; nullopt for any other event.
std::optional<ExecutionTransition> read_transition(const EventRecord& event);

}  // namespace sup::wire
