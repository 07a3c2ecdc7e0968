#include "supctl/execution_format.hpp"

#include <algorithm>

#include "supctl/text_format.hpp"
#include "supctl/text_table.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;

constexpr std::int64_t kNanosPerMilli = 1'000'000;

std::string age(std::int64_t now_ms, std::int64_t at_unix_nanos) {
  return at_unix_nanos == 0 ? "-" : format_age(now_ms, at_unix_nanos / kNanosPerMilli) + " ago";
}

}  // namespace

bool is_final_execution_state(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED" || state == "RECOVERED";
}

wire::Execution parse_execution(const json& result) {
  return wire::read_execution(wire::nested(result, "execution"));
}

std::vector<wire::ExecutionSummary> parse_executions(const json& result) {
  return wire::read_execution_summaries(result);
}

std::optional<wire::ExecutionTransition> parse_transition(const json& push) {
  return wire::read_transition(wire::read_event(wire::nested(push, "event")));
}

ExecutionProgress::ExecutionProgress(const wire::Execution& snapshot)
    : execution_id_(snapshot.execution_id) {
  refresh(snapshot);
}

void ExecutionProgress::refresh(const wire::Execution& snapshot) {
  state_ = snapshot.state;
  finished_ = snapshot.finished;
  reason_ = snapshot.reason;
  for (const wire::ExecutionNode& node : snapshot.nodes) nodes_[node.node_id] = node.state;
}

std::size_t ExecutionProgress::completed() const {
  return static_cast<std::size_t>(std::count_if(
      nodes_.begin(), nodes_.end(), [](const auto& node) { return node.second == "COMPLETED"; }));
}

std::optional<std::string> ExecutionProgress::apply(const wire::ExecutionTransition& t) {
  if (t.execution_id != execution_id_) return std::nullopt;
  if (t.node_id.empty()) {
    state_ = t.to_state;
    finished_ = is_final_execution_state(t.to_state);
    reason_ = t.reason;
    std::string line = "execution " + sanitize(execution_id_) + " " + sanitize(t.to_state);
    if (!t.reason.empty()) line += ": " + sanitize(t.reason);
    return line;
  }
  nodes_[t.node_id] = t.to_state;
  std::string line = "[" + std::to_string(completed()) + "/" + std::to_string(total()) + "] " +
                     sanitize(t.node_id) + " " + sanitize(t.to_state);
  if (t.attempt > 0) line += " (attempt " + std::to_string(t.attempt) + ")";
  bool failing = t.to_state == "FAILED" || t.to_state == "RETRY_WAIT" ||
                 t.to_state == "CANCELLED" || t.to_state == "SKIPPED";
  if (failing && !t.reason.empty()) line += ": " + sanitize(t.reason);
  return line;
}

std::string ExecutionProgress::summary() const {
  std::string line = sanitize(state_) + ": " + std::to_string(completed()) + "/" +
                     std::to_string(total()) + " nodes completed";
  if (state_ != "COMPLETED" && !reason_.empty()) line += " (" + sanitize(reason_) + ")";
  return line;
}

std::vector<std::string> execution_report(const wire::Execution& view, std::int64_t now_ms,
                                          std::optional<std::size_t> max_width) {
  std::size_t completed = static_cast<std::size_t>(
      std::count_if(view.nodes.begin(), view.nodes.end(),
                    [](const wire::ExecutionNode& node) { return node.state == "COMPLETED"; }));
  std::string head = "execution " + sanitize(view.execution_id);
  if (!view.name.empty()) head += " (" + sanitize(view.name) + ")";
  head += ": " + sanitize(view.state) + ", " + std::to_string(completed) + "/" +
          std::to_string(view.nodes.size()) + " nodes completed, submitted " +
          age(now_ms, view.submitted_at_unix_nanos) + ", updated " +
          age(now_ms, view.updated_at_unix_nanos);
  std::vector<std::string> lines{head};
  if (!view.reason.empty()) lines.push_back("reason: " + sanitize(view.reason));
  if (view.stuck)
    lines.push_back("STUCK (" + sanitize(view.stuck->reason) +
                    "): " + sanitize(view.stuck->detail));
  TextTable table({{"NODE"},
                   {"STATE"},
                   {"ATTEMPT", Align::Right},
                   {"UPDATED", Align::Left, 0, false, 2},
                   {"RESULT / REASON", Align::Left, 10, true, 1}});
  for (const wire::ExecutionNode& node : view.nodes) {
    std::string detail;
    if (!node.result.empty()) {
      detail = sanitize(node.result);
    } else if (node.state != "COMPLETED") {
      detail = sanitize(node.reason);
    }
    table.add_row({sanitize(node.node_id), sanitize(node.state),
                   node.attempt == 0 ? "-" : std::to_string(node.attempt),
                   age(now_ms, node.updated_at_unix_nanos), detail});
  }
  for (std::string& line : table.render(max_width)) lines.push_back(std::move(line));
  return lines;
}

std::vector<std::string> executions_table(const std::vector<wire::ExecutionSummary>& executions,
                                          std::int64_t now_ms,
                                          std::optional<std::size_t> max_width) {
  TextTable table({{"ID"}, {"STATE"}, {"SUBMITTED"}, {"UPDATED"}, {"STUCK"}});
  for (const wire::ExecutionSummary& e : executions)
    table.add_row({sanitize(e.execution_id), sanitize(e.state),
                   age(now_ms, e.created_at_unix_nanos), age(now_ms, e.updated_at_unix_nanos),
                   e.stuck ? sanitize(e.stuck->reason) : "-"});
  return table.render(max_width);
}

}  // namespace sup::cli
