// What the live dashboard knows: the daemon's last state and health, its
// recent events (with notes such as "missed events 41-43"), and the state of
// the dashboard's own link to the socket. The dashboard loop feeds it from
// the socket; `render_dashboard` draws it. No I/O here, so it is tested with
// JSON fixtures.
//
//   DashboardModel model("/tmp/supervisor.sock");
//   model.link_up(unix_now_ms());
//   model.set_state(state_result, unix_now_ms());
//   if (model.add_event(event_push)) refresh_state_soon();
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "supctl/sequence_tracker.hpp"
#include "supctl/wire_view.hpp"
#include "wire/execution_records.hpp"

namespace sup::cli {

struct LinkStatus {
  enum Phase : unsigned char { Connecting, Connected, Reconnecting };
  Phase phase = Connecting;
  unsigned attempt = 0;          // Reconnecting: the attempt scheduled next (1, 2, ...)
  std::uint64_t next_in_ms = 0;  // Reconnecting: its delay
  std::string last_error;        // Reconnecting: why the link is down
};

// One line of "recent events": an event, or a note about the stream itself.
struct RecentEntry {
  std::optional<wire::EventRecord> event;
  std::string note;
  std::int64_t at_ms = 0;  // wall clock of the event or the note
};

class DashboardModel {
 public:
  static constexpr std::size_t kRecentLimit = 8;

  explicit DashboardModel(std::string socket_path);

  void set_hello(const nlohmann::json& result);
  void set_state(const nlohmann::json& result, std::int64_t now_ms);
  void set_health(const nlohmann::json& result);
  // The executions.list result; the pane shows nothing until there is one.
  void set_executions(const nlohmann::json& result);
  // The daemon confirmed a subscription; a `last_sequence` below what was
  // already seen means a new daemon counting from scratch.
  void subscribed(std::uint64_t last_sequence, std::int64_t now_ms);
  // Keeps a fresh event (noting a gap before it); false for one already seen.
  bool add_event(const nlohmann::json& event);
  void add_note(std::string note, std::int64_t now_ms);

  void link_up();
  void link_down(std::string why, unsigned attempt, std::chrono::milliseconds next_in);

  // Where a resubscription starts so that the gap, if any, shows.
  std::uint64_t resume_after() const { return sequence_.last().value_or(0); }

  const std::string& socket_path() const { return socket_path_; }
  // The daemon's display name or target id, once it said hello.
  const std::string& target_name() const { return target_name_; }
  const std::optional<wire::DashboardState>& state() const { return state_; }
  const std::optional<wire::Health>& health() const { return health_; }
  const std::vector<wire::ExecutionSummary>& executions() const { return executions_; }
  std::int64_t state_at_ms() const { return state_at_ms_; }
  const std::deque<RecentEntry>& recent() const { return recent_; }
  const LinkStatus& link() const { return link_; }
  std::optional<std::uint64_t> last_sequence() const { return sequence_.last(); }

 private:
  void remember(RecentEntry entry);

  std::string socket_path_;
  std::string target_name_;
  std::optional<wire::DashboardState> state_;
  std::int64_t state_at_ms_ = 0;
  std::optional<wire::Health> health_;
  std::vector<wire::ExecutionSummary> executions_;
  std::deque<RecentEntry> recent_;
  SequenceTracker sequence_;
  LinkStatus link_;
};

}  // namespace sup::cli
