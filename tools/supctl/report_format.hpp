// How supctl shows the daemon's answers to people: the children table, the
// state summary, health as key/value lines, one line per event or log
// record, command outcomes and the daemon's errors with a hint on what to do.
// The dashboard builds its frame from the same cells.
//
//   wire::DashboardState state = parse_state(reply.body);
//   std::cout << state_summary(state) << "\n";
//   for (auto& line : children_table(state, unix_now_ms(), 100)) std::cout << line << "\n";
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supctl/sequence_tracker.hpp"
#include "supctl/text_format.hpp"
#include "supctl/wire_view.hpp"

namespace sup::cli {

// Cells of one child's row. `now_ms` is the wall clock (unix ms).
std::string tree_label(const wire::ChildRecord& child);  // id indented two spaces per level
std::string tokens_cell(const wire::ChildRecord& child);
std::string backoff_cell(const wire::ChildRecord& child);
std::string last_exit_cell(const wire::ChildRecord& child,
                           std::int64_t now_ms);  // "Failed 12s ago: ..."
std::string uptime_cell(const wire::ChildRecord& child, std::int64_t now_ms);  // "-" unless running
// "suspect" (named by health), "stale" (heartbeat), the readiness, or "-".
std::string liveness_cell(const wire::ChildRecord& child, const std::vector<std::string>& suspects);

// ID, KIND, STATE, RESTARTS, TOKENS, BACKOFF, LAST EXIT, PID, UPTIME; the
// header first. With `width`, LAST EXIT is cut short, then PID, KIND and
// UPTIME are left out, so that ids and counts stay whole.
std::vector<std::string> children_table(const wire::DashboardState& state, std::int64_t now_ms,
                                        std::optional<std::size_t> width);
// "running 5/6 target, restarting 1, failed 0, quarantined 1, stopped 0".
std::string children_counts(const wire::ChildrenCounts& counts);
std::string state_summary(const wire::DashboardState& state);
// "crasher: quarantined: restart budget exhausted", one per quarantined child.
std::vector<std::string> quarantine_notes(const wire::DashboardState& state);
std::vector<std::string> health_report(const wire::Health& health);

std::string event_line(const wire::EventRecord& event, TimeStyle style);
std::string log_line(const wire::LogRecord& record);
std::string gap_line(const SequenceGap& gap);  // "missed events 41-43"

// "CommandResult::Accepted: restart crasher (command_id …)", and why when
// it was not accepted.
std::string command_outcome(std::string_view command, std::string_view target,
                            const wire::CommandResult& result);
// What the daemon refused and why, with the field path, and a hint for the
// codes an operator can act on.
std::string daemon_error_text(std::string_view method, const wire::ErrorObject& error);

}  // namespace sup::cli
