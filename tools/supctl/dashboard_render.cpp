#include "supctl/dashboard_render.hpp"

#include <algorithm>
#include <map>

#include "supctl/report_format.hpp"
#include "supctl/text_format.hpp"
#include "supctl/text_table.hpp"

namespace sup::cli {
namespace {

constexpr std::size_t kHeaderRows = 5;  // title, health, children, link, warnings
constexpr std::size_t kMinEventRows = 3;
constexpr std::string_view kKeys = "q quit  r retry";
// Unfinished executions listed in the executions pane, at most.
constexpr std::size_t kMaxExecutionRows = 3;

class FrameBuilder {
 public:
  explicit FrameBuilder(std::size_t width) : width_(width) {}
  void add(std::string_view text, LineStyle style = LineStyle::Plain) {
    lines_.push_back({fit(text, width_), style});
  }
  std::vector<FrameLine> finish(std::size_t rows) && {
    lines_.resize(rows);
    return std::move(lines_);
  }

 private:
  std::size_t width_;
  std::vector<FrameLine> lines_;
};

std::string title_text(const DashboardModel& model, std::size_t width, std::int64_t now_ms) {
  std::string left = "supervisor";
  if (!model.target_name().empty()) left += " " + model.target_name();
  left += " on " + model.socket_path();
  const std::string right = format_local_time(now_ms, TimeStyle::Clock) + "  " + std::string(kKeys);
  const std::size_t right_width = display_width(right);
  if (width < right_width + 12) return left + "  " + right;
  return pad_right(left, width - right_width - 2) + "  " + right;
}

FrameLine health_line(const DashboardModel& model) {
  if (!model.health()) return {"health: no answer yet", LineStyle::Warning};
  const wire::Health& health = *model.health();
  std::string text = "health " + (health.status.empty() ? "?" : health.status) + "  up " +
                     format_duration_ms(health.uptime_secs * 1000) + "  loop " +
                     format_rate(health.iterations_per_sec) + "  dashboard_link " +
                     (health.dashboard_link.empty() ? "?" : health.dashboard_link) + " (" +
                     std::to_string(health.dashboard_clients) + ")";
  LineStyle style = LineStyle::Plain;
  if (health.status == "degraded") {
    style = LineStyle::Alert;
  } else if (health.status != "ready") {
    style = LineStyle::Warning;
  }
  return {text, style};
}

FrameLine children_line(const DashboardModel& model) {
  if (!model.state()) return {"children: no state yet", LineStyle::Warning};
  const wire::ChildrenCounts& counts = model.state()->children;
  const bool short_of_target = counts.running < counts.target_count || counts.failed > 0 ||
                               counts.quarantined > 0 || counts.restarting > 0;
  return {"children " + children_counts(counts),
          short_of_target ? LineStyle::Warning : LineStyle::Plain};
}

FrameLine link_line(const DashboardModel& model) {
  const LinkStatus& link = model.link();
  switch (link.phase) {
    case LinkStatus::Connecting:
      return {"link: connecting to " + model.socket_path() + "...", LineStyle::Warning};
    case LinkStatus::Connected: {
      std::string text = "link: connected";
      if (auto last = model.last_sequence()) text += ", last event #" + std::to_string(*last);
      return {text, LineStyle::Plain};
    }
    case LinkStatus::Reconnecting: {
      return {"link: reconnecting (attempt " + std::to_string(link.attempt) + ", next in " +
                  std::to_string(link.next_in_ms) + " ms)",
              LineStyle::Alert};
    }
  }
  return {};
}

// What needs attention: how old the data on screen is and why the link is
// down, why health is not ready and who is suspected, or else who is
// quarantined.
FrameLine warnings_line(const DashboardModel& model, std::int64_t now_ms) {
  std::vector<std::string> parts;
  if (model.link().phase == LinkStatus::Reconnecting) {
    if (model.state())
      parts.push_back("data is " + format_age(now_ms, model.state_at_ms()) + " old");
    parts.push_back(model.link().last_error);
  }
  const std::vector<std::string> none;
  const auto& reasons = model.health() ? model.health()->reasons : none;
  const auto& suspects = model.health() ? model.health()->suspects : none;
  parts.insert(parts.end(), reasons.begin(), reasons.end());
  if (!suspects.empty()) {
    std::string named = "suspects:";
    for (const std::string& suspect : suspects) named += " " + suspect;
    parts.push_back(named);
  }
  if (reasons.empty() && model.state()) {
    std::string quarantined;
    for (const wire::ChildRecord& child : model.state()->child_runtime_records) {
      if (child.state != "Quarantined") continue;
      quarantined += (quarantined.empty() ? "quarantined: " : ", ") + child.id +
                     (child.quarantine_reason.empty() ? "" : " (" + child.quarantine_reason + ")");
    }
    if (!quarantined.empty()) parts.push_back(quarantined);
  }
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : "; ") + part;
  if (model.link().phase == LinkStatus::Reconnecting) return {text, LineStyle::Alert};
  return {text, text.empty() ? LineStyle::Plain : LineStyle::Warning};
}

TextTable tree_table(const DashboardModel& model, std::size_t shown, std::int64_t now_ms) {
  TextTable table({{"CHILD", Align::Left, 8, true},
                   {"STATE"},
                   {"RESTARTS", Align::Right},
                   {"TOKENS", Align::Right},
                   {"BACKOFF", Align::Right},
                   {"HEALTH"},
                   {"LAST EXIT", Align::Left, 10, true}},
                  1);
  if (!model.state()) return table;
  const std::vector<std::string> no_suspects;
  const auto& suspects = model.health() ? model.health()->suspects : no_suspects;
  const auto& records = model.state()->child_runtime_records;
  for (std::size_t i = 0; i < shown && i < records.size(); ++i) {
    const wire::ChildRecord& child = records[i];
    table.add_row({tree_label(child), child.state, std::to_string(child.restart_count),
                   tokens_cell(child), backoff_cell(child), liveness_cell(child, suspects),
                   last_exit_cell(child, now_ms)});
  }
  return table;
}

FrameLine recent_line(const RecentEntry& entry) {
  if (!entry.event)
    return {format_local_time(entry.at_ms, TimeStyle::Clock) + " -- " + entry.note,
            LineStyle::Warning};
  const std::string& severity = entry.event->severity;
  LineStyle style = LineStyle::Plain;
  if (severity == "error" || severity == "critical") {
    style = LineStyle::Alert;
  } else if (severity == "warning" || severity == "warn") {
    style = LineStyle::Warning;
  }
  return {event_line(*entry.event, TimeStyle::Clock), style};
}

// The executions pane: a counts line, then the unfinished executions (at
// most kMaxExecutionRows). Empty when the daemon has none.
std::vector<FrameLine> executions_pane(const DashboardModel& model, std::int64_t now_ms) {
  const auto& executions = model.executions();
  if (executions.empty()) return {};
  std::map<std::string, std::size_t> counts;
  std::vector<const wire::ExecutionSummary*> unfinished;
  for (const wire::ExecutionSummary& row : executions) {
    ++counts[row.state];
    if (!row.finished) unfinished.push_back(&row);
  }
  std::string summary = "EXECUTIONS";
  for (const auto& [state, count] : counts) summary += "  " + std::to_string(count) + " " + state;
  std::vector<FrameLine> lines{{summary, LineStyle::Bold}};
  // The most recently changed first.
  std::sort(unfinished.begin(), unfinished.end(),
            [](const wire::ExecutionSummary* a, const wire::ExecutionSummary* b) {
              return a->updated_at_unix_nanos > b->updated_at_unix_nanos;
            });
  for (std::size_t i = 0; i < unfinished.size() && i < kMaxExecutionRows; ++i) {
    const wire::ExecutionSummary& row = *unfinished[i];
    std::string age = row.updated_at_unix_nanos == 0
                          ? "-"
                          : format_age(now_ms, row.updated_at_unix_nanos / 1'000'000) + " ago";
    lines.push_back({sanitize(row.execution_id) + "  " + sanitize(row.state) + "  updated " + age +
                         "  (supctl status " + sanitize(row.execution_id) + ")",
                     row.state == "PAUSED" ? LineStyle::Warning : LineStyle::Plain});
  }
  if (unfinished.size() > kMaxExecutionRows)
    lines.push_back({"... " + std::to_string(unfinished.size() - kMaxExecutionRows) +
                     " more unfinished (`supctl executions` lists all)"});
  return lines;
}

}  // namespace

std::vector<FrameLine> render_dashboard(const DashboardModel& model, ScreenSize size,
                                        std::int64_t now_ms) {
  FrameBuilder frame(size.columns);
  frame.add(title_text(model, size.columns, now_ms), LineStyle::Bold);
  for (const FrameLine& line :
       {health_line(model), children_line(model), link_line(model), warnings_line(model, now_ms)})
    frame.add(line.text, line.style);

  const std::vector<FrameLine> executions = executions_pane(model, now_ms);
  // Rows left below the header, the table's header, the executions pane and
  // the events heading.
  const std::size_t fixed = kHeaderRows + 2 + executions.size();
  const std::size_t room = size.rows > fixed ? size.rows - fixed : 0;
  const std::size_t children = model.state() ? model.state()->child_runtime_records.size() : 0;
  const auto& recent = model.recent();
  const std::size_t events_wanted = std::max<std::size_t>(recent.size(), 1);
  const std::size_t tree_needed = std::max<std::size_t>(children, 1);
  const std::size_t event_reserve = std::min(events_wanted, kMinEventRows);
  const std::size_t tree_rows =
      std::min(tree_needed, room > event_reserve ? room - event_reserve : 0);
  const bool tree_cut = tree_rows < children;
  const std::size_t children_shown = tree_cut ? (tree_rows > 0 ? tree_rows - 1 : 0) : children;

  const std::vector<std::string> table =
      tree_table(model, children_shown, now_ms).render(size.columns);
  frame.add(table.front(), LineStyle::Bold);
  for (std::size_t i = 1; i < table.size(); ++i) frame.add(table[i]);
  if (!model.state()) frame.add("(waiting for the supervisor's state)");
  if (tree_cut && tree_rows > 0)
    frame.add("... " + std::to_string(children - children_shown) +
              " more (a taller pane shows them; `supctl children` lists all)");

  for (const FrameLine& line : executions) frame.add(line.text, line.style);
  frame.add("RECENT EVENTS", LineStyle::Bold);
  const std::size_t event_rows = std::min(events_wanted, room - std::min(room, tree_rows));
  if (recent.empty() && event_rows > 0) frame.add("(none yet)");
  const std::size_t first = recent.size() - std::min(recent.size(), event_rows);
  for (std::size_t i = first; i < recent.size(); ++i) {
    const FrameLine line = recent_line(recent[i]);
    frame.add(line.text, line.style);
  }
  return std::move(frame).finish(size.rows);
}

}  // namespace sup::cli
