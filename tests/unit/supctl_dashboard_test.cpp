// The dashboard's model and frame, as a person sees them: the layout in an
// 80x24 pane, the link line while reconnecting, gaps in the event stream,
// a tree taller than the screen, and the ANSI encoding of a frame.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "supctl/dashboard_model.hpp"
#include "supctl/dashboard_render.hpp"
#include "supctl/screen_frame.hpp"
#include "supctl/text_format.hpp"
#include "supctl_fake_daemon.hpp"

using namespace sup::cli;
using namespace sup::cli::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kNow = 1'700'000'100'000;

std::vector<std::string> texts(const std::vector<FrameLine>& frame) {
  std::vector<std::string> lines;
  for (const FrameLine& line : frame) lines.push_back(line.text);
  return lines;
}

std::size_t index_of(const std::vector<std::string>& lines, const std::string& start) {
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].rfind(start, 0) == 0) return i;
  return lines.size();
}

DashboardModel connected_model() {
  DashboardModel model("/tmp/supervisor.sock");
  model.link_up();
  model.set_hello({{"type", "hello"}, {"registration", {{"display_name", "demo"}}}});
  model.set_state(demo_state(kNow), kNow);
  model.set_health(demo_health());
  model.subscribed(0, kNow);
  for (std::uint64_t sequence = 1; sequence <= 10; ++sequence)
    model.add_event(demo_event(sequence));
  return model;
}

}  // namespace

TEST_CASE("an 80x24 frame shows the whole demo tree and the recent events") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  const auto frame = render_dashboard(connected_model(), {80, 24}, kNow);
  const auto lines = texts(frame);
  REQUIRE(lines.size() == 24);
  for (const auto& line : lines) CHECK(display_width(line) <= 80);

  CHECK(lines[0].rfind("supervisor demo on /tmp/supervisor.sock", 0) == 0);
  CHECK(lines[0].find("22:15:00  q quit  r retry") == 80 - 25);
  CHECK(lines[1] == "health ready  up 1h02m  loop 99.5/s  dashboard_link connected (1)");
  CHECK(lines[2] ==
        "children running 6/7 target, restarting 1, failed 0, quarantined 1, stopped 0");
  CHECK(lines[3] == "link: connected, last event #10");
  CHECK(lines[4] == "quarantined: crasher (restart budget exhausted)");
  CHECK(lines[5] == "CHILD      STATE       RESTARTS TOKENS BACKOFF HEALTH LAST EXIT");
  CHECK(lines[6].rfind("relay      Running            0  5.0/5       - -", 0) == 0);
  CHECK(lines[12].rfind("  worker-a Running", 0) == 0);
  CHECK(lines[13].rfind("  worker-b Running", 0) == 0);
  CHECK(lines[14] == "RECENT EVENTS");
  CHECK(lines[15].rfind("22:13:23 #3 warning child_exited flaky", 0) == 0);  // the last 8 of 10
  CHECK(lines[22].rfind("22:13:30 #10 ", 0) == 0);
  CHECK(lines[23].empty());

  CHECK(frame[0].style == LineStyle::Bold);
  CHECK(frame[2].style == LineStyle::Warning);   // short of target
  CHECK(frame[15].style == LineStyle::Warning);  // a warning event
}

TEST_CASE("a dropped link shows the attempt, the delay, the age of the data and why") {
  DashboardModel model = connected_model();
  model.link_down("the supervisor closed the connection", 3, 400ms);
  const auto frame = render_dashboard(model, {80, 24}, kNow + 5'000);
  CHECK(frame[3].text == "link: reconnecting (attempt 3, next in 400 ms)");
  CHECK(frame[3].style == LineStyle::Alert);
  CHECK(frame[4].text ==
        "data is 5.0s old; the supervisor closed the connection; quarantined: crasher "
        "(r\xe2\x80\xa6");
  CHECK(frame[4].style == LineStyle::Alert);
  // The last data stays on screen meanwhile.
  CHECK(texts(frame)[13].rfind("  worker-b ", 0) == 0);

  model.link_up();
  CHECK(render_dashboard(model, {80, 24}, kNow)[3].text == "link: connected, last event #10");
}

TEST_CASE("before any data the frame says what it waits for") {
  DashboardModel model("/run/sup.sock");
  const auto lines = texts(render_dashboard(model, {80, 24}, kNow));
  CHECK(lines[1] == "health: no answer yet");
  CHECK(lines[2] == "children: no state yet");
  CHECK(lines[3] == "link: connecting to /run/sup.sock...");
  CHECK(lines[6] == "(waiting for the supervisor's state)");
  CHECK(lines[7] == "RECENT EVENTS");
  CHECK(lines[8] == "(none yet)");
}

TEST_CASE("gaps and a restarted daemon are noted among the events") {
  DashboardModel model("/tmp/s.sock");
  CHECK(model.add_event(demo_event(40)));
  CHECK_FALSE(model.add_event(demo_event(40)));  // a replay overlap is not shown twice
  CHECK(model.add_event(demo_event(44)));
  REQUIRE(model.recent().size() == 3);
  CHECK(model.recent()[1].note == "missed events 41-43");
  CHECK(model.resume_after() == 44);

  model.subscribed(50, kNow);  // same daemon, further along: nothing to say
  CHECK(model.recent().size() == 3);
  model.subscribed(2, kNow);
  CHECK(model.recent().back().note ==
        "event sequence went back from #44 to #2: the supervisor restarted");
  CHECK(model.add_event(demo_event(3)));  // new events count again
  CHECK(model.resume_after() == 3);
}

TEST_CASE("degraded health is the loudest line") {
  DashboardModel model = connected_model();
  model.set_health(demo_health("degraded"));
  const auto frame = render_dashboard(model, {80, 24}, kNow);
  CHECK(frame[1].style == LineStyle::Alert);
  CHECK(frame[4].text ==
        "child 'blocker' has blocked a runtime thread for 1.2s; suspects: blocker");
  CHECK(frame[4].style == LineStyle::Warning);
}

TEST_CASE("a tree taller than the pane keeps three event rows and says what is hidden") {
  DashboardModel model = connected_model();
  json state = demo_state(kNow);
  for (int i = 0; i < 30; ++i) {
    json extra = state["state"]["child_runtime_records"][1];
    extra["child_id"] = extra["id"] = "extra-" + std::to_string(i);
    extra["child_path"] = extra["path"] = "root/extra-" + std::to_string(i);
    state["state"]["child_runtime_records"].push_back(extra);
  }
  model.set_state(state, kNow);
  const auto lines = texts(render_dashboard(model, {80, 24}, kNow));
  REQUIRE(lines.size() == 24);
  const std::size_t more = index_of(lines, "... ");
  REQUIRE(more < lines.size());
  CHECK(lines[more] == "... 25 more (a taller pane shows them; `supctl children` lists all)");
  CHECK(lines[more + 1] == "RECENT EVENTS");
  CHECK(lines[23].rfind("22:13:30 #10", 0) == 0);
  CHECK(lines[21].rfind("22:13:28 #8", 0) == 0);

  // A tiny pane still yields exactly its rows, each within its width.
  const auto tiny = render_dashboard(model, {30, 6}, kNow);
  REQUIRE(tiny.size() == 6);
  for (const auto& line : tiny) CHECK(display_width(line.text) <= 30);
}

TEST_CASE("the ANSI frame addresses every row, clears it, and never scrolls") {
  const std::vector<FrameLine> frame = {{"title", LineStyle::Bold}, {"plain", LineStyle::Plain}};
  const std::string bytes = encode_frame(frame, 3);
  CHECK(bytes ==
        "\x1b[1;1H\x1b[2K\x1b[1mtitle\x1b[0m"
        "\x1b[2;1H\x1b[2Kplain"
        "\x1b[3;1H\x1b[2K");
  CHECK(bytes.find('\n') == std::string::npos);
  CHECK(plain_frame(frame) == "title\nplain\n");
}
