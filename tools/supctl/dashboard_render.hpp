// One frame of the live dashboard, drawn from the model: a pure function of
// the model, the screen size and the wall clock, so tests check exactly what
// a person sees.
//
// Layout, top to bottom, every line within the screen's width:
//   title (target, socket, clock, keys) · daemon health · children counts ·
//   this dashboard's link ("link: reconnecting (attempt 3, next in 400 ms)") ·
//   what needs attention (how old the data is and why the link is down,
//   degraded reasons, suspects, quarantined children; blank when nothing) ·
//   the tree table · the executions pane when the daemon has executions
//   ("EXECUTIONS  1 PAUSED  2 RUNNING  5 COMPLETED", then up to 3 unfinished
//   ones, the most recently changed first) · "RECENT EVENTS" and up to 8 of
//   them.
// The tree gets the rows first, keeping at least 3 for events; what does
// not fit is summed up in a "... N more" row. An 80x24 screen shows 9
// children with 8 events, or up to 14 children with 3.
//
//   auto frame = render_dashboard(model, {80, 24}, unix_now_ms());
#pragma once

#include <cstdint>
#include <vector>

#include "supctl/dashboard_model.hpp"
#include "supctl/screen_frame.hpp"

namespace sup::cli {

// Exactly `size.rows` lines.
std::vector<FrameLine> render_dashboard(const DashboardModel& model, ScreenSize size,
                                        std::int64_t now_ms);

}  // namespace sup::cli
