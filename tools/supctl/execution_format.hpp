// What supctl prints about DAG executions, from the socket's records
// (docs/ipc.md, "Executions"): pure functions over JSON, unit-tested.
//
//   ExecutionProgress progress(parse_execution(get_result["execution"]));
//   if (auto line = progress.apply(event)) print(*line);  // "[3/11] ocr COMPLETED (attempt 1)"
//   if (progress.finished()) return progress.state() == "COMPLETED" ? 0 : 1;
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sup::cli {

struct NodeStatusView {
  std::string node_id;
  std::string state;
  std::uint32_t attempt = 0;
  std::string reason;
  nlohmann::json result;  // null when none
  std::int64_t updated_at_unix_nanos = 0;
};

struct ExecutionStatusView {
  std::string execution_id;
  std::string name;
  std::string state;
  bool finished = false;
  std::string reason;
  std::int64_t submitted_at_unix_nanos = 0;
  std::int64_t updated_at_unix_nanos = 0;
  std::vector<NodeStatusView> nodes;
};

// The `execution` record of executions.get.
ExecutionStatusView parse_execution(const nlohmann::json& record);

// An execution or node transition, from an event push (flat, or nested
// under "event"); nullopt for any other event.
struct TransitionView {
  std::string execution_id;
  std::string node_id;  // empty: the execution's own
  std::string from_state;
  std::string to_state;
  std::uint32_t attempt = 0;
  std::string reason;
};
std::optional<TransitionView> parse_transition(const nlohmann::json& push);

// Follows one execution: its node states from a snapshot, then each
// transition, with a progress line per node transition.
class ExecutionProgress {
 public:
  explicit ExecutionProgress(const ExecutionStatusView& snapshot);

  // The line to print for a transition of this execution; nullopt for
  // another execution's.
  std::optional<std::string> apply(const TransitionView& transition);
  // Takes a later snapshot (after a reconnect, or a poll).
  void refresh(const ExecutionStatusView& snapshot);

  const std::string& state() const { return state_; }
  bool finished() const { return finished_; }
  std::size_t completed() const;
  std::size_t total() const { return nodes_.size(); }
  // "COMPLETED: 11/11 nodes completed" / "FAILED: 9/11 nodes completed (ocr FAILED: ...)"
  std::string summary() const;

 private:
  std::string execution_id_;
  std::string state_;
  bool finished_ = false;
  std::string reason_;
  std::map<std::string, std::string> nodes_;  // node id -> state
};

// Execution states after which nothing runs any more.
bool is_final_execution_state(const std::string& state);

// `supctl status ID`: a summary line, then the node table.
std::vector<std::string> execution_report(const ExecutionStatusView& view, std::int64_t now_ms,
                                          std::optional<std::size_t> max_width);
// `supctl executions`: ID, STATE, SUBMITTED, UPDATED.
std::vector<std::string> executions_table(const nlohmann::json& executions, std::int64_t now_ms,
                                          std::optional<std::size_t> max_width);

}  // namespace sup::cli
