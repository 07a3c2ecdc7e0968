// What supctl prints about DAG executions, from the socket's records
// (docs/ipc.md, "Executions"; the wire types of wire/execution_records.hpp):
// pure functions, unit-tested.
//
//   ExecutionProgress progress(parse_execution(get_result));
//   if (auto line = progress.apply(event)) print(*line);  // "[3/11] ocr COMPLETED (attempt 1)"
//   if (progress.finished()) return progress.state() == "COMPLETED" ? 0 : 1;
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "wire/execution_records.hpp"

namespace sup::cli {

// The `execution` record of an executions.get result
// (`result.execution`).
wire::Execution parse_execution(const nlohmann::json& result);
// The rows of an executions.list result (`result.executions`).
std::vector<wire::ExecutionSummary> parse_executions(const nlohmann::json& result);
// An execution or node transition from an event push ({type:"event",
// event:{...}}); nullopt for any other event.
std::optional<wire::ExecutionTransition> parse_transition(const nlohmann::json& push);

// Follows one execution: its node states from a snapshot, then each
// transition, with a progress line per node transition.
class ExecutionProgress {
 public:
  explicit ExecutionProgress(const wire::Execution& snapshot);

  // The line to print for a transition of this execution; nullopt for
  // another execution's.
  std::optional<std::string> apply(const wire::ExecutionTransition& transition);
  // Takes a later snapshot (after a reconnect, or a poll).
  void refresh(const wire::Execution& snapshot);

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
std::vector<std::string> execution_report(const wire::Execution& view, std::int64_t now_ms,
                                          std::optional<std::size_t> max_width);
// `supctl executions`: ID, STATE, SUBMITTED, UPDATED.
std::vector<std::string> executions_table(const std::vector<wire::ExecutionSummary>& executions,
                                          std::int64_t now_ms,
                                          std::optional<std::size_t> max_width);

}  // namespace sup::cli
