// The records of dashboard-ipc.v1 as they travel: one set of types that the
// daemon encodes and supctl (and the tests) decode. The seed's names and
// nesting (developerworks/rust-supervisor's DashboardState, EventRecord,
// LogRecord, ControlCommandResult, ...) with our runbook fields (SPEC §2) as
// extension fields inside the same objects; docs/ipc.md "Seed
// compatibility" lists them side by side.
//
// Enumerations stay strings: a reader shows a value it does not know as the
// daemon spelt it. Reading is lenient (a missing or wrongly typed field
// takes its default, unknown fields are ignored, nothing throws), because
// the daemon may be older or newer than its client.
//
//   sup::JsonWriter w;
//   sup::wire::write(w, record);                       // the daemon
//   auto back = sup::wire::read_child_record(parsed);  // supctl
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json/json_writer.hpp"

namespace sup::wire {

// A string map in wire order ({"CHILD_ID":"ingest"}); a non-string value
// read from the wire is kept as compact JSON.
using Fields = std::vector<std::pair<std::string, std::string>>;

// The error object of a failed response, a push of type "error" and a
// rejected command result: {code, stage, target_id?, message, retryable}
// (+ ours: field_path).
struct ErrorObject {
  std::string code;  // "invalid_json", "session_required", ...
  std::string stage;
  std::string target_id;  // omitted when empty
  std::string message;
  bool retryable = false;
  std::string field_path;  // ours; omitted when empty

  bool operator==(const ErrorObject&) const = default;
};

// The seed's EventRecord.
struct EventRecord {
  std::string target_id;
  std::uint64_t sequence = 0;
  std::string correlation_id;
  std::string event_type;
  std::string severity;  // trace|debug|info|warning|error
  std::string target_path;
  std::string child_id;  // omitted when empty
  std::int64_t occurred_at_unix_nanos = 0;
  std::string config_version;
  Fields payload;

  bool operator==(const EventRecord&) const = default;
};

// The seed's LogRecord.
struct LogRecord {
  std::string target_id;
  std::optional<std::uint64_t> sequence;
  std::string correlation_id;  // omitted when empty
  std::string severity;        // trace|debug|info|warning|error
  std::string message;
  Fields fields;
  std::int64_t occurred_at_unix_nanos = 0;

  bool operator==(const LogRecord&) const = default;
};

// DashboardState.target.
struct TargetIdentity {
  std::string target_id;
  std::string display_name;
  std::string registration_state;  // pending|active|rejected|expired
  std::string connection_state;    // connected|...

  bool operator==(const TargetIdentity&) const = default;
};

// topology.nodes[] (and topology.root).
struct Node {
  std::string node_id;
  std::optional<std::string> child_id;  // null for the root
  std::string path;
  std::string name;
  std::string kind;  // root_supervisor|child_task
  std::vector<std::string> tags;
  std::string criticality;  // critical|standard|best_effort
  std::string state_summary;
  Fields diagnostics;

  bool operator==(const Node&) const = default;
};

// topology.edges[].
struct Edge {
  std::string edge_id;
  std::string source_path;
  std::string target_path;
  std::string kind;  // parent_child|dependency
  std::uint64_t order = 0;

  bool operator==(const Edge&) const = default;
};

// runtime_state[]: the UI's rows.
struct RuntimeState {
  std::string child_path;
  std::string lifecycle_state;  // starting|running|paused|quarantined|failed|restarting|...
  std::string health;           // unknown|healthy|stale|unhealthy
  std::string readiness;        // unknown|ready|not_ready
  std::uint64_t generation = 0;
  std::uint64_t attempt = 0;            // the UI's
  std::uint64_t child_start_count = 0;  // the seed server's
  std::uint64_t restart_count = 0;
  std::optional<std::string> last_failure;          // omitted when absent
  std::optional<std::string> last_policy_decision;  // omitted when absent
  std::string shutdown_state;

  bool operator==(const RuntimeState&) const = default;
};

// Ours (SPEC §2): last_exit {kind, reason, at}.
struct LastExit {
  std::string kind;  // "TaskExit::Failed"
  std::string reason;
  std::optional<std::int64_t> at_ms;  // "at"

  bool operator==(const LastExit&) const = default;
};

// Ours (SPEC §2): restart_budget.
struct RestartBudget {
  double tokens = 0;
  double capacity = 0;
  double refill_per_sec = 0;

  bool operator==(const RestartBudget&) const = default;
};

// The seed's restart_limit.
struct RestartLimit {
  std::uint64_t window_millis = 0;
  std::uint32_t limit = 0;
  std::uint32_t used = 0;
  std::uint32_t remaining = 0;
  bool exhausted = false;
  std::int64_t updated_at_unix_nanos = 0;

  bool operator==(const RestartLimit&) const = default;
};

struct Liveness {
  std::optional<std::int64_t> last_heartbeat_at_unix_nanos;  // the seed's
  bool heartbeat_stale = false;
  std::string readiness;                             // the seed's: unreported|ready|not_ready
  std::optional<std::int64_t> last_heartbeat_at_ms;  // ours: "last_heartbeat_at"

  bool operator==(const Liveness&) const = default;
};

// child_runtime_records[]: the seed's DashboardChildRuntimeRecord, and ours
// (SPEC §2) in the same object. `id` and `path` go out twice: as the seed's
// child_id/child_path and as our id/path.
struct ChildRecord {
  std::string id;
  std::string path;  // "root/workers/worker-a"
  std::uint64_t generation = 0;
  std::uint64_t attempt = 0;
  // The seed's.
  std::string status;               // starting|running|ready|cancelling|stopped
  std::string operation;            // active|paused|quarantined|removed
  std::string managed_child_state;  // running|paused|quarantined|removed
  Liveness liveness;
  RestartLimit restart_limit;
  std::string stop_state;  // idle|no_active_attempt|cancel_delivered|completed|failed
  std::string generation_fence_phase;
  std::optional<std::uint64_t> pending_restart_backoff_ms;  // pending_restart {backoff_ms}
  // Ours.
  std::string parent;
  std::string kind;     // "task" | "process" | ...
  std::string restart;  // "permanent" | ...
  std::string state;    // "Running" | "Quarantined" | ...
  std::uint64_t restart_count = 0;
  std::optional<LastExit> last_exit;
  RestartBudget restart_budget;
  std::uint64_t backoff_ms = 0;
  std::optional<std::int64_t> started_at_ms;  // "started_at"
  std::optional<std::int64_t> pid;
  std::string quarantine_reason;

  bool operator==(const ChildRecord&) const = default;

  // Nesting below the root: 0 for "root/x", 1 for "root/workers/x".
  std::size_t depth() const;
};

// Ours (SPEC §2): children.*.
struct ChildrenCounts {
  std::uint64_t running = 0;
  std::uint64_t failed = 0;
  std::uint64_t restarting = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t stopped = 0;
  std::uint64_t target_count = 0;

  bool operator==(const ChildrenCounts&) const = default;
};

// Ours: `dashboard_registration` of health and state, the daemon's
// registration with a seed relay (dashboard.registration).
struct Registration {
  std::string state = "disabled";  // disabled|registering|registered|failed
  std::optional<std::string> relay_path;
  std::optional<std::string> last_error;                 // of the latest failed attempt
  std::optional<std::int64_t> lease_expires_at_unix_ms;  // of the latest ack
  std::uint64_t consecutive_failures = 0;
  std::uint64_t registrations = 0;  // acknowledged attempts (the first and every renewal)

  bool operator==(const Registration&) const = default;
};

// The seed's DashboardState (the `state` of a {type:"state"} result), with
// children.*, captured_at and dashboard_registration as ours.
struct DashboardState {
  TargetIdentity target;
  Node root;                // topology.root
  std::vector<Node> nodes;  // topology.nodes, the root first
  std::vector<Edge> edges;
  std::vector<std::string> declaration_order;
  std::vector<RuntimeState> runtime_state;
  std::vector<ChildRecord> child_runtime_records;
  std::vector<EventRecord> recent_events;
  std::vector<LogRecord> recent_logs;
  std::uint64_t dropped_event_count = 0;
  std::uint64_t dropped_log_count = 0;
  std::string config_version;
  std::int64_t generated_at_unix_nanos = 0;
  std::uint64_t state_generation = 0;
  // Ours.
  ChildrenCounts children;
  std::int64_t captured_at_ms = 0;  // "captured_at"
  Registration dashboard_registration;

  bool operator==(const DashboardState&) const = default;
};

// The per-child arrays of a DashboardState made one child at a time, so the
// daemon writes a 10,000-child state without a second copy of the tree:
// each call fills a row the writer reuses. Child i gives node i, edge i
// (from its parent), declaration_order entry i (its node's path), runtime
// state i and record i.
class ChildRows {
 public:
  virtual ~ChildRows() = default;
  virtual std::size_t size() const = 0;
  virtual void node(std::size_t i, Node& out) const = 0;
  virtual void edge(std::size_t i, Edge& out) const = 0;
  virtual void runtime_state(std::size_t i, RuntimeState& out) const = 0;
  virtual void record(std::size_t i, ChildRecord& out) const = 0;
};

// Ours inside the ControlCommandResult answering an executions.* command:
// {execution_id, state?, existing} beside the seed's fields.
struct ExecutionOutcome {
  std::string execution_id;
  std::string state;                 // the execution's state after it; omitted when empty
  bool existing = false;             // submit: the id named an earlier execution
  std::vector<std::string> nodes{};  // retry: the nodes reset to run again; omitted when empty

  bool operator==(const ExecutionOutcome&) const = default;
};

// Ours: the execution service's maintenance mode (health, state,
// executions.maintenance and executions.set_maintenance).
struct MaintenanceMode {
  bool enabled = false;
  std::string reason;
  std::string requested_by;
  std::int64_t changed_at_unix_nanos = 0;

  bool operator==(const MaintenanceMode&) const = default;
};

// Ours: a STUCK execution and what executions.resume_all did to it.
struct ResumeOutcome {
  std::string execution_id;
  std::string reason;  // the stuck reason
  bool resumed = false;
  std::string detail;

  bool operator==(const ResumeOutcome&) const = default;
};

// The seed's ControlCommandResult (`result` of a {type:"command_result"}),
// with outcome, reason and idempotent as ours (outcome is the tree's
// commands', omitted when empty), and an executions.* command's execution.
struct CommandResult {
  std::string command_id;
  std::string target_id;
  bool accepted = false;
  std::string status;  // accepted|rejected|completed|failed
  std::optional<ErrorObject> error;
  std::optional<std::int64_t> completed_at_unix_nanos;
  std::optional<std::string> correlation_id;  // omitted when absent
  // Ours.
  std::string outcome;  // "CommandResult::Accepted" | "...::NotFound" | "...::Rejected"
  std::string reason;   // omitted when empty
  bool idempotent = false;
  std::optional<ExecutionOutcome> execution;
  // executions.set_maintenance: the mode as committed, and the queued
  // executions that started (turned off).
  std::optional<MaintenanceMode> maintenance{};
  std::vector<std::string> started{};
  // executions.resume_all: every STUCK execution ("executions", and
  // "resumed": how many were).
  std::optional<std::vector<ResumeOutcome>> resumed{};

  bool operator==(const CommandResult&) const = default;
};

// A {type:"subscription"} result: subscription "events" (last_sequence: the
// newest event when it began) or "logs" (records, truncated, last_sequence).
struct Subscription {
  std::string subscription;  // events|logs
  std::uint64_t last_sequence = 0;
  std::vector<LogRecord> records;  // logs only
  bool truncated = false;          // logs only

  bool operator==(const Subscription&) const = default;
};

// Ours: the `health` result.
struct Health {
  std::string status;
  std::uint64_t uptime_secs = 0;
  std::uint64_t control_loop_iterations = 0;
  double iterations_per_sec = 0;
  std::string dashboard_link;
  std::vector<std::string> reasons;
  std::vector<std::string> suspects;
  std::uint64_t dashboard_clients = 0;
  std::uint64_t audit_write_failures = 0;
  Registration dashboard_registration;
  std::optional<MaintenanceMode> maintenance{};  // when the daemon runs executions

  bool operator==(const Health&) const = default;
};

// The fields of each record, written inside an object the caller opened
// for a result (after type and target_id) or as a whole object.
void write(JsonWriter& w, const ErrorObject& error);
void write(JsonWriter& w, const EventRecord& event);
void write(JsonWriter& w, const LogRecord& log);
void write(JsonWriter& w, const Node& node);
void write(JsonWriter& w, const Edge& edge);
void write(JsonWriter& w, const RuntimeState& row);
void write(JsonWriter& w, const ChildRecord& record);
void write(JsonWriter& w, const MaintenanceMode& mode);
void write(JsonWriter& w, const CommandResult& result);
void write(JsonWriter& w, const Registration& registration);
// The state's own vectors, then (when given) every row of `rows` after them.
void write(JsonWriter& w, const DashboardState& state, const ChildRows* rows = nullptr);
// Fields of a result object (no braces): subscription, health.
void write_fields(JsonWriter& w, const Subscription& subscription);
void write_fields(JsonWriter& w, const Health& health);

ErrorObject read_error(const nlohmann::json& object);
EventRecord read_event(const nlohmann::json& object);
LogRecord read_log(const nlohmann::json& object);
Node read_node(const nlohmann::json& object);
Edge read_edge(const nlohmann::json& object);
RuntimeState read_runtime_state(const nlohmann::json& object);
ChildRecord read_child_record(const nlohmann::json& object);
DashboardState read_dashboard_state(const nlohmann::json& object);
CommandResult read_command_result(const nlohmann::json& object);
Subscription read_subscription(const nlohmann::json& result);
Health read_health(const nlohmann::json& result);
MaintenanceMode read_maintenance(const nlohmann::json& object);
Registration read_registration(const nlohmann::json& object);

// The record a result or push nests (result.state, result.result,
// push.event, push.log); null when absent.
const nlohmann::json& nested(const nlohmann::json& message, std::string_view key);

}  // namespace sup::wire
