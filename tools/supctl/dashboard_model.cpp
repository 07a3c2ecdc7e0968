#include "supctl/dashboard_model.hpp"

#include "supctl/execution_format.hpp"
#include "supctl/report_format.hpp"

namespace sup::cli {

DashboardModel::DashboardModel(std::string socket_path) : socket_path_(std::move(socket_path)) {}

void DashboardModel::set_hello(const nlohmann::json& result) {
  const HelloView hello = parse_hello(result);
  target_name_ = !hello.display_name.empty() ? hello.display_name : hello.target_id;
}

void DashboardModel::set_state(const nlohmann::json& result, std::int64_t now_ms) {
  state_ = parse_state(result);
  state_at_ms_ = now_ms;
}

void DashboardModel::set_health(const nlohmann::json& result) {
  health_ = parse_health(result);
}

void DashboardModel::set_executions(const nlohmann::json& result) {
  executions_ = parse_executions(result);
}

void DashboardModel::subscribed(std::uint64_t last_sequence, std::int64_t now_ms) {
  const auto seen = sequence_.last();
  if (!seen || last_sequence >= *seen) return;
  remember({std::nullopt,
            "event sequence went back from #" + std::to_string(*seen) + " to #" +
                std::to_string(last_sequence) + ": the supervisor restarted",
            now_ms});
  sequence_.rebase(last_sequence);
}

bool DashboardModel::add_event(const nlohmann::json& event) {
  wire::EventRecord view = parse_event(event);
  const auto observation = sequence_.observe(view.sequence);
  if (!observation.fresh) return false;
  const std::int64_t at_ms = view.occurred_at_unix_nanos / 1'000'000;
  if (observation.gap) remember({std::nullopt, gap_line(*observation.gap), at_ms});
  remember({std::move(view), {}, at_ms});
  return true;
}

void DashboardModel::add_note(std::string note, std::int64_t now_ms) {
  remember({std::nullopt, std::move(note), now_ms});
}

void DashboardModel::link_up() {
  link_ = LinkStatus{LinkStatus::Connected, 0, 0, {}};
}

void DashboardModel::link_down(std::string why, unsigned attempt,
                               std::chrono::milliseconds next_in) {
  link_ = LinkStatus{LinkStatus::Reconnecting, attempt, static_cast<std::uint64_t>(next_in.count()),
                     std::move(why)};
}

void DashboardModel::remember(RecentEntry entry) {
  recent_.push_back(std::move(entry));
  while (recent_.size() > kRecentLimit) recent_.pop_front();
}

}  // namespace sup::cli
