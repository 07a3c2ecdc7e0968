// What supctl reads from the daemon's answers (docs/ipc.md), as plain
// structs.
//
// The daemon may be older or newer than this supctl, so reading is lenient:
// a missing or wrongly typed field takes its default and unknown fields are
// ignored; nothing here throws. Names (states, exit kinds) stay strings so
// a value this supctl does not know is still shown as the daemon spelt it.
//
//   StateView state = parse_state(reply.body);
//   for (const ChildView& child : state.records) std::cout << child.id << "\n";
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sup::cli {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct ExitView {
  std::string kind;  // "TaskExit::Failed"
  std::string reason;
  std::optional<std::int64_t> at_ms;
};

struct ChildView {
  std::string id;
  std::string path;  // "root/workers/worker-a"
  std::string parent;
  std::string kind;
  std::string restart;
  std::string state;
  std::uint64_t restart_count = 0;
  std::optional<ExitView> last_exit;
  double tokens = 0;
  double capacity = 0;
  double refill_per_sec = 0;
  std::uint64_t backoff_ms = 0;
  std::optional<std::int64_t> started_at_ms;
  std::optional<std::int64_t> pid;
  std::uint64_t generation = 0;
  std::uint64_t attempt = 0;
  std::optional<std::int64_t> last_heartbeat_at_ms;
  bool heartbeat_stale = false;
  std::string readiness;
  std::string quarantine_reason;

  // Nesting below the root: 0 for "root/x", 1 for "root/workers/x".
  std::size_t depth() const;
};

struct ChildrenCounts {
  std::uint64_t running = 0;
  std::uint64_t failed = 0;
  std::uint64_t restarting = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t stopped = 0;
  std::uint64_t target_count = 0;
};

struct StateView {
  ChildrenCounts children;
  std::vector<ChildView> records;
  std::uint64_t state_generation = 0;
  std::int64_t captured_at_ms = 0;
};

struct HealthView {
  std::string status;
  std::uint64_t uptime_secs = 0;
  std::uint64_t control_loop_iterations = 0;
  double iterations_per_sec = 0;
  std::string dashboard_link;
  std::vector<std::string> reasons;
  std::vector<std::string> suspects;
  std::uint64_t dashboard_clients = 0;
};

struct EventView {
  std::uint64_t sequence = 0;
  std::string event_type;
  std::string severity;
  std::string child_id;
  std::string target_path;
  std::int64_t occurred_at_nanos = 0;
  Fields payload;  // non-string values as compact JSON
};

struct LogView {
  std::optional<std::uint64_t> sequence;
  std::string severity;
  std::string message;
  Fields fields;
  std::int64_t occurred_at_nanos = 0;
};

struct CommandResultView {
  std::string command_id;
  std::string status;  // "CommandResult::Accepted" | "...::NotFound" | "...::Rejected"
  std::string reason;
  bool accepted = false;
  bool idempotent = false;
};

struct DaemonErrorView {
  std::string code;
  std::string stage;
  std::string message;
  std::string field_path;
  bool retryable = false;
};

struct SubscriptionView {
  std::uint64_t last_sequence = 0;  // the newest event when the subscription began
};

struct HelloView {
  std::string protocol_version;
  std::string target_id;
  std::string display_name;
};

StateView parse_state(const nlohmann::json& result);
HealthView parse_health(const nlohmann::json& result);
EventView parse_event(const nlohmann::json& event);
LogView parse_log(const nlohmann::json& record);
CommandResultView parse_command_result(const nlohmann::json& result);
DaemonErrorView parse_daemon_error(const nlohmann::json& error);
SubscriptionView parse_subscription(const nlohmann::json& result);
HelloView parse_hello(const nlohmann::json& result);

// The "type" tag of a result or push; empty when absent.
std::string type_of(const nlohmann::json& message);
// Compact single-line JSON; invalid UTF-8 is replaced, never thrown on.
std::string to_line(const nlohmann::json& value);

}  // namespace sup::cli
