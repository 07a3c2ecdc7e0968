#include "supctl/report_format.hpp"

#include <algorithm>

#include "sup/error.hpp"
#include "supctl/text_table.hpp"

namespace sup::cli {
namespace {

constexpr std::string_view kNone = "-";
constexpr std::size_t kMinLastExitWidth = 20;

bool is_running(const wire::ChildRecord& child) {
  return child.state == "Running" || child.state == "Starting" || child.state == "Stopping";
}

std::string quoted_if_spaced(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \t\"") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// " KEY=value KEY2=\"two words\"" for the fields not in `skip`.
std::string field_list(const wire::Fields& fields,
                       std::initializer_list<std::string_view> skip = {}) {
  std::string text;
  for (const auto& [key, value] : fields) {
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    text += " " + key + "=" + quoted_if_spaced(value);
  }
  return text;
}

std::string_view field(const wire::Fields& fields, std::string_view key) {
  for (const auto& [name, value] : fields)
    if (name == key) return value;
  return {};
}

std::string or_none(std::string text) {
  return text.empty() ? std::string(kNone) : text;
}

std::string plural(std::uint64_t count, std::string_view one, std::string_view many) {
  return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

}  // namespace

std::string tree_label(const wire::ChildRecord& child) {
  return std::string(2 * child.depth(), ' ') + child.id;
}

std::string tokens_cell(const wire::ChildRecord& child) {
  return child.restart_budget.capacity > 0
             ? format_tokens(child.restart_budget.tokens, child.restart_budget.capacity)
             : std::string(kNone);
}

std::string backoff_cell(const wire::ChildRecord& child) {
  return child.backoff_ms > 0 ? format_duration_ms(child.backoff_ms) : std::string(kNone);
}

std::string last_exit_cell(const wire::ChildRecord& child, std::int64_t now_ms) {
  if (!child.last_exit) return std::string(kNone);
  const wire::LastExit& exit = *child.last_exit;
  std::string cell(strip_qualifier(exit.kind));
  if (exit.at_ms) cell += " " + format_age(now_ms, *exit.at_ms) + " ago";
  if (!exit.reason.empty()) cell += ": " + exit.reason;
  return cell;
}

std::string uptime_cell(const wire::ChildRecord& child, std::int64_t now_ms) {
  if (!is_running(child) || !child.started_at_ms) return std::string(kNone);
  return format_age(now_ms, *child.started_at_ms);
}

std::string liveness_cell(const wire::ChildRecord& child,
                          const std::vector<std::string>& suspects) {
  if (std::find(suspects.begin(), suspects.end(), child.id) != suspects.end()) return "suspect";
  if (child.liveness.heartbeat_stale) return "stale";
  const std::string& readiness = child.liveness.readiness;
  if (!readiness.empty() && readiness != "unknown" && readiness != "unreported") return readiness;
  return std::string(kNone);
}

std::vector<std::string> children_table(const wire::DashboardState& state, std::int64_t now_ms,
                                        std::optional<std::size_t> width) {
  // Ids and numbers stay whole: LAST EXIT gives way, then PID and KIND are
  // left out, and only then are lines cut.
  TextTable table({{"ID"},
                   {"KIND", Align::Left, 0, false, 2},
                   {"STATE"},
                   {"RESTARTS", Align::Right},
                   {"TOKENS", Align::Right},
                   {"BACKOFF", Align::Right},
                   {"LAST EXIT", Align::Left, kMinLastExitWidth, true},
                   {"PID", Align::Right, 0, false, 3},
                   {"UPTIME", Align::Right, 0, false, 1}});
  for (const wire::ChildRecord& child : state.child_runtime_records) {
    table.add_row({tree_label(child), or_none(child.kind), or_none(child.state),
                   std::to_string(child.restart_count), tokens_cell(child), backoff_cell(child),
                   last_exit_cell(child, now_ms),
                   child.pid ? std::to_string(*child.pid) : std::string(kNone),
                   uptime_cell(child, now_ms)});
  }
  return table.render(width);
}

std::string children_counts(const wire::ChildrenCounts& counts) {
  return "running " + std::to_string(counts.running) + "/" + std::to_string(counts.target_count) +
         " target, restarting " + std::to_string(counts.restarting) + ", failed " +
         std::to_string(counts.failed) + ", quarantined " + std::to_string(counts.quarantined) +
         ", stopped " + std::to_string(counts.stopped);
}

std::string state_summary(const wire::DashboardState& state) {
  std::string line = plural(state.child_runtime_records.size(), "child", "children") + ": " +
                     children_counts(state.children) + " (state generation " +
                     std::to_string(state.state_generation);
  if (state.captured_at_ms > 0)
    line += ", captured " + format_local_time(state.captured_at_ms, TimeStyle::Full);
  return line + ")";
}

std::vector<std::string> quarantine_notes(const wire::DashboardState& state) {
  std::vector<std::string> notes;
  for (const wire::ChildRecord& child : state.child_runtime_records)
    if (child.state == "Quarantined")
      notes.push_back(sanitize(child.id + ": quarantined: " + or_none(child.quarantine_reason) +
                               " (supctl release " + child.id + " gives it another go)"));
  return notes;
}

// The daemon's registration with a seed relay (dashboard.registration).
std::string registration_line(const wire::Registration& registration) {
  const std::string relay = registration.relay_path.value_or("the relay");
  if (registration.state == "disabled") return "off (dashboard.registration)";
  if (registration.state == "registering") return "registering with " + relay;
  if (registration.state == "registered")
    return "registered with " + relay + " (" +
           plural(registration.registrations, "registration", "registrations") + ")";
  if (registration.state == "failed")
    return "failed with " + relay + ": " + registration.last_error.value_or("no reason given") +
           " (" + plural(registration.consecutive_failures, "failure", "failures") +
           " in a row; retrying)";
  return or_none(registration.state);
}

std::vector<std::string> health_report(const wire::Health& health) {
  auto joined = [](const std::vector<std::string>& items, std::string_view separator) {
    std::string text;
    for (const std::string& item : items)
      text += (text.empty() ? "" : std::string(separator)) + item;
    return text.empty() ? std::string("none") : text;
  };
  std::vector<std::string> lines = {
      "status:          " + or_none(health.status),
      "uptime:          " + format_duration_ms(health.uptime_secs * 1000) + " (" +
          std::to_string(health.uptime_secs) + " s)",
      "control loop:    " + std::to_string(health.control_loop_iterations) + " iterations, " +
          format_rate(health.iterations_per_sec),
      "dashboard link:  " + or_none(health.dashboard_link) + " (" +
          plural(health.dashboard_clients, "client", "clients") + ")",
      "registration:    " + registration_line(health.dashboard_registration),
      "suspects:        " + joined(health.suspects, ", "),
  };
  // Only while it is on: submissions are queued then, not started.
  if (health.maintenance && health.maintenance->enabled)
    lines.push_back("maintenance:     ON, by " + health.maintenance->requested_by + ": " +
                    health.maintenance->reason + " (submissions are queued, not started)");
  if (health.reasons.empty()) {
    lines.push_back("reasons:         none");
  } else {
    for (std::size_t i = 0; i < health.reasons.size(); ++i)
      lines.push_back((i == 0 ? "reasons:         " : "                 ") + health.reasons[i]);
  }
  for (std::string& line : lines) line = sanitize(line);
  return lines;
}

std::string event_line(const wire::EventRecord& event, TimeStyle style) {
  std::string line = format_local_time(event.occurred_at_unix_nanos / 1'000'000, style) + " #" +
                     std::to_string(event.sequence) + " " + pad_right(event.severity, 7) + " " +
                     or_none(event.event_type);
  const std::string& subject = event.child_id.empty() ? event.target_path : event.child_id;
  if (!subject.empty()) line += " " + subject;
  return sanitize(line + field_list(event.payload));
}

std::string log_line(const wire::LogRecord& record) {
  std::string line = format_local_time(record.occurred_at_unix_nanos / 1'000'000, TimeStyle::Full) +
                     " " + pad_right(record.severity, 7);
  const std::string_view child = field(record.fields, "CHILD_ID");
  const std::string_view stream = field(record.fields, "STREAM");
  if (!child.empty()) {
    line += " [" + std::string(child);
    if (!stream.empty()) line += " " + std::string(stream);
    line += "]";
  }
  return sanitize(line + " " + record.message + field_list(record.fields, {"CHILD_ID", "STREAM"}));
}

std::string gap_line(const SequenceGap& gap) {
  if (gap.first == gap.last) return "missed event " + std::to_string(gap.first);
  return "missed events " + std::to_string(gap.first) + "-" + std::to_string(gap.last);
}

std::string command_outcome(std::string_view command, std::string_view target,
                            const wire::CommandResult& result) {
  // Ours (CommandResult::Accepted, ...) says more than the seed's status.
  std::string line = or_none(result.outcome.empty() ? result.status : result.outcome) + ": " +
                     std::string(command);
  if (!target.empty()) line += " " + std::string(target);
  if (!result.accepted && !result.reason.empty()) line += ": " + result.reason;
  line += " (command_id " + or_none(result.command_id) + ")";
  if (result.idempotent)
    line += "; this command_id was seen before: this is its first result, nothing was done again";
  return sanitize(line);
}

std::string daemon_error_text(std::string_view method, const wire::ErrorObject& error) {
  std::string text = "the supervisor refused `" + std::string(method) +
                     "`: " + or_none(error.code) +
                     (error.stage.empty() ? "" : " (" + error.stage + ")") + ": " +
                     describe_field_error(error.field_path, error.message);
  if (error.field_path == "params.confirmed") {  // validation_failed: not confirmed
    text += "; confirm with --yes";
  } else if (error.code == "permission_denied") {
    text += "; commands that change the tree are allowed to root and the daemon's own user";
  } else if (error.code == "unsupported_method") {
    text += "; this daemon does not know it (an older version?)";
  } else if (error.retryable) {
    text += "; retryable: try again in a moment";
  }
  return sanitize(text);
}

}  // namespace sup::cli
