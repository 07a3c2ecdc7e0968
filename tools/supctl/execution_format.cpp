#include "supctl/execution_format.hpp"

#include <algorithm>

#include "supctl/text_format.hpp"
#include "supctl/text_table.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;

constexpr std::int64_t kNanosPerMilli = 1'000'000;

std::string text(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? sanitize(it->get<std::string>()) : std::string();
}

template <class T>
T number(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<T>() : T{};
}

std::uint32_t attempt_of(const json& payload) {
  std::string attempt = text(payload, "attempt");
  if (attempt.empty() || attempt.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<std::uint32_t>(std::min<unsigned long>(std::stoul(attempt), UINT32_MAX));
}

std::string age(std::int64_t now_ms, std::int64_t at_unix_nanos) {
  return at_unix_nanos == 0 ? "-" : format_age(now_ms, at_unix_nanos / kNanosPerMilli) + " ago";
}

}  // namespace

bool is_final_execution_state(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED" || state == "RECOVERED";
}

ExecutionStatusView parse_execution(const json& record) {
  ExecutionStatusView view;
  view.execution_id = text(record, "execution_id");
  view.name = text(record, "name");
  view.state = text(record, "state");
  view.finished = record.value("finished", false);
  view.reason = text(record, "reason");
  view.submitted_at_unix_nanos = number<std::int64_t>(record, "submitted_at_unix_nanos");
  view.updated_at_unix_nanos = number<std::int64_t>(record, "updated_at_unix_nanos");
  if (auto nodes = record.find("nodes"); nodes != record.end() && nodes->is_array()) {
    for (const json& node : *nodes) {
      if (!node.is_object()) continue;
      NodeStatusView n;
      n.node_id = text(node, "node_id");
      n.state = text(node, "state");
      n.attempt = number<std::uint32_t>(node, "attempt");
      n.reason = text(node, "reason");
      n.result = node.value("result", json());
      n.updated_at_unix_nanos = number<std::int64_t>(node, "updated_at_unix_nanos");
      view.nodes.push_back(std::move(n));
    }
  }
  return view;
}

std::optional<TransitionView> parse_transition(const json& push) {
  const json& event = push.contains("event") && push["event"].is_object() ? push["event"] : push;
  std::string type = text(event, "event_type");
  if (type != "execution_state_changed" && type != "node_state_changed") return std::nullopt;
  auto payload = event.find("payload");
  if (payload == event.end() || !payload->is_object()) return std::nullopt;
  TransitionView t;
  t.execution_id = text(*payload, "execution_id");
  if (type == "node_state_changed") t.node_id = text(*payload, "node_id");
  t.from_state = text(*payload, "from_state");
  t.to_state = text(*payload, "to_state");
  t.attempt = attempt_of(*payload);
  t.reason = text(*payload, "reason");
  return t;
}

ExecutionProgress::ExecutionProgress(const ExecutionStatusView& snapshot)
    : execution_id_(snapshot.execution_id) {
  refresh(snapshot);
}

void ExecutionProgress::refresh(const ExecutionStatusView& snapshot) {
  state_ = snapshot.state;
  finished_ = snapshot.finished;
  reason_ = snapshot.reason;
  for (const NodeStatusView& node : snapshot.nodes) nodes_[node.node_id] = node.state;
}

std::size_t ExecutionProgress::completed() const {
  return static_cast<std::size_t>(std::count_if(
      nodes_.begin(), nodes_.end(), [](const auto& node) { return node.second == "COMPLETED"; }));
}

std::optional<std::string> ExecutionProgress::apply(const TransitionView& t) {
  if (t.execution_id != execution_id_) return std::nullopt;
  if (t.node_id.empty()) {
    state_ = t.to_state;
    finished_ = is_final_execution_state(t.to_state);
    reason_ = t.reason;
    std::string line = "execution " + execution_id_ + " " + t.to_state;
    if (!t.reason.empty()) line += ": " + t.reason;
    return line;
  }
  nodes_[t.node_id] = t.to_state;
  std::string line = "[" + std::to_string(completed()) + "/" + std::to_string(total()) + "] " +
                     t.node_id + " " + t.to_state;
  if (t.attempt > 0) line += " (attempt " + std::to_string(t.attempt) + ")";
  bool failing = t.to_state == "FAILED" || t.to_state == "RETRY_WAIT" ||
                 t.to_state == "CANCELLED" || t.to_state == "SKIPPED";
  if (failing && !t.reason.empty()) line += ": " + t.reason;
  return line;
}

std::string ExecutionProgress::summary() const {
  std::string line = state_ + ": " + std::to_string(completed()) + "/" + std::to_string(total()) +
                     " nodes completed";
  if (state_ != "COMPLETED" && !reason_.empty()) line += " (" + reason_ + ")";
  return line;
}

std::vector<std::string> execution_report(const ExecutionStatusView& view, std::int64_t now_ms,
                                          std::optional<std::size_t> max_width) {
  std::size_t completed = static_cast<std::size_t>(
      std::count_if(view.nodes.begin(), view.nodes.end(),
                    [](const NodeStatusView& node) { return node.state == "COMPLETED"; }));
  std::string head = "execution " + view.execution_id;
  if (!view.name.empty()) head += " (" + view.name + ")";
  head += ": " + view.state + ", " + std::to_string(completed) + "/" +
          std::to_string(view.nodes.size()) + " nodes completed, submitted " +
          age(now_ms, view.submitted_at_unix_nanos) + ", updated " +
          age(now_ms, view.updated_at_unix_nanos);
  std::vector<std::string> lines{head};
  if (!view.reason.empty()) lines.push_back("reason: " + view.reason);
  TextTable table({{"NODE"},
                   {"STATE"},
                   {"ATTEMPT", Align::Right},
                   {"UPDATED", Align::Left, 0, false, 2},
                   {"RESULT / REASON", Align::Left, 10, true, 1}});
  for (const NodeStatusView& node : view.nodes) {
    std::string detail;
    if (!node.result.is_null()) {
      detail = sanitize(node.result.dump());
    } else if (node.state != "COMPLETED") {
      detail = node.reason;
    }
    table.add_row({node.node_id, node.state, node.attempt == 0 ? "-" : std::to_string(node.attempt),
                   age(now_ms, node.updated_at_unix_nanos), detail});
  }
  for (std::string& line : table.render(max_width)) lines.push_back(std::move(line));
  return lines;
}

std::vector<std::string> executions_table(const json& executions, std::int64_t now_ms,
                                          std::optional<std::size_t> max_width) {
  TextTable table({{"ID"}, {"STATE"}, {"SUBMITTED"}, {"UPDATED"}});
  if (executions.is_array()) {
    for (const json& e : executions) {
      if (!e.is_object()) continue;
      table.add_row({text(e, "execution_id"), text(e, "state"),
                     age(now_ms, number<std::int64_t>(e, "created_at_unix_nanos")),
                     age(now_ms, number<std::int64_t>(e, "updated_at_unix_nanos"))});
    }
  }
  return table.render(max_width);
}

}  // namespace sup::cli
