// supctl as a person runs it: the real binary in an 80x24 tmux pane against
// a fake daemon. The dashboard must show the tree, say it is reconnecting
// when the relay goes away, come back by itself with the gap marked, and
// leave the terminal as it found it; `events --follow` must bridge the same
// outage. They need tmux (tools/setup installs it) and fail without it.
#include <doctest/doctest.h>

#include <cstdio>
#include <mutex>

#include "common/clock.hpp"
#include "supctl_fake_daemon.hpp"

using namespace sup::cli::testing;
using namespace std::chrono_literals;

namespace {

std::string run_capture(const std::string& command) {
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      output.append(buffer, got);
    ::pclose(pipe);
  }
  return output;
}

bool have_tmux() {
  return std::system("tmux -V >/dev/null 2>&1") == 0;
}

// A detached tmux server of its own, with one 80x24 pane running `command`.
// When the command ends the pane prints "EXITED <status>" and stays.
class TmuxPane {
 public:
  TmuxPane(const std::string& dir, const std::string& command)
      : tmux_("tmux -f /dev/null -S " + dir + "/tmux.sock ") {
    const std::string shell_command = command + "; echo EXITED $?; sleep 600";
    REQUIRE(std::system(
                (tmux_ + "new-session -d -x 80 -y 24 -s live '" + shell_command + "'").c_str()) ==
            0);
  }
  ~TmuxPane() {
    [[maybe_unused]] int ignored = std::system((tmux_ + "kill-server 2>/dev/null").c_str());
  }

  std::string screen() const { return run_capture(tmux_ + "capture-pane -p -J -t live"); }
  void keys(const std::string& keys) const {
    REQUIRE(std::system((tmux_ + "send-keys -t live " + keys).c_str()) == 0);
  }
  // Waits until the screen shows `text`; on failure the last screen is shown.
  bool shows(const std::string& text, std::chrono::milliseconds timeout = 20s) const {
    std::string last;
    const bool seen = eventually(
        [&] {
          last = screen();
          return last.find(text) != std::string::npos;
        },
        timeout);
    if (!seen) MESSAGE("waited for \"" << text << "\"; the screen:\n" << last);
    return seen;
  }

 private:
  std::string tmux_;
};

// The fake daemon's tree and its event ring, which the test extends.
class LiveTree {
 public:
  Lines answer(const json& request) {
    std::lock_guard lock(mutex_);
    const std::string method = request.value("method", "");
    if (method == "state") return {ok_response(request, demo_state(sup::unix_now_ms()))};
    if (method == "health") return {ok_response(request, demo_health())};
    if (method == "hello")
      return {
          ok_response(request, {{"type", "hello"}, {"registration", {{"display_name", "live"}}}})};
    if (method != "events.subscribe")
      return {error_response(request, "unsupported_method", "protocol_parse", "?")};
    const auto after = request["params"].value("after_sequence", std::uint64_t{0});
    subscribed_after_.push_back(after);
    Lines lines = {ok_response(
        request, {{"type", "subscription"}, {"subscription", "events"}, {"last_sequence", last_}})};
    for (std::uint64_t sequence = after + 1; sequence <= last_; ++sequence)
      if (sequence > lost_through_ || sequence <= lost_from_) lines.push_back(demo_event(sequence));
    return lines;
  }

  // A new event, pushed to whoever is connected.
  json next_event() {
    std::lock_guard lock(mutex_);
    return demo_event(++last_);
  }
  // Events that happen while nobody is connected and fall out of the ring.
  void lose_events(std::uint64_t count) {
    std::lock_guard lock(mutex_);
    lost_from_ = last_;
    last_ += count;
    lost_through_ = last_;
  }
  std::vector<std::uint64_t> subscriptions() {
    std::lock_guard lock(mutex_);
    return subscribed_after_;
  }

 private:
  std::mutex mutex_;
  std::uint64_t last_ = 8;
  std::uint64_t lost_from_ = 0;
  std::uint64_t lost_through_ = 0;
  std::vector<std::uint64_t> subscribed_after_;
};

}  // namespace

TEST_CASE("the dashboard in an 80x24 pane shows the tree and recovers after a relay kill") {
  REQUIRE_MESSAGE(have_tmux(), "tmux is not installed (tools/setup installs it)");
  LiveTree tree;
  FakeDaemon daemon([&](const json& request) { return tree.answer(request); });
  TmuxPane pane(daemon.dir(), std::string(SUPCTL_BINARY) + " --socket " + daemon.path() +
                                  " --timeout 3000 dashboard");

  REQUIRE(pane.shows("link: connected, last event #8"));
  const std::string first = pane.screen();
  CHECK(first.find("supervisor live on /tmp/supctl-test-") == 0);
  CHECK(first.find("\n  worker-b ") != std::string::npos);
  CHECK(first.find("\ncrasher    Quarantined") != std::string::npos);
  CHECK(first.find("RECENT EVENTS") != std::string::npos);

  daemon.push(tree.next_event());
  REQUIRE(pane.shows("link: connected, last event #9"));
  CHECK(pane.screen().find(" #9 warning child_exited flaky") != std::string::npos);

  // The relay dies: connections dropped, socket gone. Events happen meanwhile,
  // two of them beyond what the ring replays.
  daemon.stop();
  REQUIRE(pane.shows("link: reconnecting (attempt 2, next in 200 ms)"));
  CHECK(pane.screen().find("supervisor is not running (no socket at") != std::string::npos);
  CHECK(pane.screen().find("  worker-b ") != std::string::npos);  // last data stays up
  tree.lose_events(2);
  tree.next_event();
  daemon.start();

  REQUIRE(pane.shows("link: connected, last event #12"));
  CHECK(pane.screen().find("-- missed events 10-11") != std::string::npos);
  CHECK(pane.screen().find(" #12 warning child_exited flaky") != std::string::npos);
  const auto subscriptions = tree.subscriptions();
  REQUIRE(subscriptions.size() >= 2);
  CHECK(subscriptions.front() == 0);
  CHECK(subscriptions.back() == 9);  // resumed after the last event it showed

  pane.keys("q");
  REQUIRE(pane.shows("EXITED 0"));
  CHECK(pane.screen().find("RECENT EVENTS") == std::string::npos);  // the alternate screen is gone
}

TEST_CASE("the dashboard waits for a daemon that is not there yet, and Ctrl-C quits cleanly") {
  REQUIRE_MESSAGE(have_tmux(), "tmux is not installed (tools/setup installs it)");
  LiveTree tree;
  FakeDaemon daemon([&](const json& request) { return tree.answer(request); });
  daemon.stop();
  TmuxPane pane(daemon.dir(),
                std::string(SUPCTL_BINARY) + " --socket " + daemon.path() + " dashboard");
  REQUIRE(pane.shows("link: reconnecting (attempt 3, next in 400 ms)"));
  CHECK(pane.screen().find("(waiting for the supervisor's state)") != std::string::npos);
  daemon.start();
  REQUIRE(pane.shows("link: connected, last event #8"));
  pane.keys("C-c");
  REQUIRE(pane.shows("EXITED 0"));
}

TEST_CASE("events --follow bridges a relay restart and marks what was lost") {
  REQUIRE_MESSAGE(have_tmux(), "tmux is not installed (tools/setup installs it)");
  LiveTree tree;
  FakeDaemon daemon([&](const json& request) { return tree.answer(request); });
  TmuxPane pane(daemon.dir(), std::string(SUPCTL_BINARY) + " --socket " + daemon.path() +
                                  " events --follow -n 2");
  REQUIRE(pane.shows(" #8 warning child_exited flaky"));
  CHECK(pane.screen().find(" #6 ") == std::string::npos);  // only the last 2 of the replay

  daemon.stop();
  REQUIRE(pane.shows("supctl: reconnecting (attempt 2, next in 200 ms)"));
  CHECK(pane.screen().find("supctl: link lost: the supervisor closed the connection") !=
        std::string::npos);
  tree.lose_events(3);
  tree.next_event();
  daemon.start();
  REQUIRE(pane.shows("supctl: reconnected"));
  REQUIRE(pane.shows(" #12 warning child_exited flaky"));
  CHECK(pane.screen().find("-- missed events 9-11") != std::string::npos);
  daemon.push(tree.next_event());
  REQUIRE(pane.shows(" #13 warning"));
}
