// `supctl dashboard` in a real terminal (a detached tmux pane, 100x30): it
// shows the tree and health, shows that it is reconnecting when the relay
// is killed, and recovers by itself.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

// A private tmux server (its own socket), killed with everything in it.
class TmuxServer {
 public:
  explicit TmuxServer(std::string socket) : socket_(std::move(socket)) {}
  ~TmuxServer() { run({"kill-server"}); }
  TmuxServer(const TmuxServer&) = delete;
  TmuxServer& operator=(const TmuxServer&) = delete;

  sup::it::RunResult run(std::vector<std::string> args) const {
    sup::it::SpawnOptions options;
    options.argv = {"tmux", "-S", socket_};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.unset_env = {"TMUX"};
    options.env = {{"TERM", "xterm-256color"}};
    return sup::it::run_command(options, scaled(10s));
  }

  // The pane's text, without the blank rows below the frame.
  std::string screen(const std::string& target) const {
    std::string text = run({"capture-pane", "-p", "-t", target}).out;
    auto end = text.find_last_not_of(" \n");
    return end == std::string::npos ? "" : text.substr(0, end + 1);
  }

 private:
  std::string socket_;
};

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string file_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

bool shows_all(const std::string& screen, std::initializer_list<const char*> needles) {
  for (const char* needle : needles)
    if (screen.find(needle) == std::string::npos) return false;
  return true;
}

}  // namespace

TEST_CASE(
    "supctl dashboard shows the tree and health, reconnects after a relay kill, and "
    "recovers") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  config["children"].push_back(sup::it::process_child("worker", "while :; do sleep 1; done"));
  auto daemon = sup::it::require_serving_daemon(dir, config);

  TmuxServer tmux(dir.file("tmux.sock"));
  const std::string pane_log = dir.file("pane.log");
  // The shell keeps the pane (and what the dashboard printed) if it exits.
  const std::string command = shell_quote(sup::it::supctl_binary()) + " dashboard --socket " +
                              shell_quote(daemon->socket_path()) +
                              "; echo \"dashboard exited with status $?\"; sleep 600";
  auto created = tmux.run({"new-session", "-d", "-s", "dash", "-x", "100", "-y", "30", command});
  REQUIRE_MESSAGE(created.code() == 0, created.describe());
  // Every byte drawn from now on, so a short-lived frame is not missed.
  auto piped = tmux.run({"pipe-pane", "-t", "dash", "-o", "cat >> " + shell_quote(pane_log)});
  REQUIRE_MESSAGE(piped.code() == 0, piped.describe());

  std::string screen;
  bool drawn = sup::it::eventually(
      [&] {
        screen = tmux.screen("dash");
        return shows_all(screen, {"relay", "beat", "worker", "health ready", "link: connected"});
      },
      scaled(20s), 100ms);
  REQUIRE_MESSAGE(drawn, "the dashboard never showed the tree and health:\n" << screen);
  MESSAGE("dashboard before the kill:\n" << screen);
  const std::size_t drawn_before_kill = file_text(pane_log).size();

  auto kill = daemon->supctl({"kill", "relay", "--yes"});
  REQUIRE_MESSAGE(kill.code() == 0, kill.describe());

  bool reconnecting = sup::it::eventually(
      [&] {
        return file_text(pane_log).find("reconnecting", drawn_before_kill) != std::string::npos;
      },
      scaled(10s), 50ms);
  CHECK_MESSAGE(reconnecting, "the dashboard never showed that it was reconnecting; screen:\n"
                                  << tmux.screen("dash"));

  bool recovered = sup::it::eventually(
      [&] {
        screen = tmux.screen("dash");
        return shows_all(screen, {"relay", "beat", "worker", "link: connected",
                                  "dashboard_link connected"}) &&
               screen.find("reconnecting") == std::string::npos;
      },
      scaled(15s), 100ms);
  CHECK_MESSAGE(recovered, "the dashboard did not recover; screen:\n" << screen);
  MESSAGE("dashboard after the relay came back:\n" << screen);
  CHECK(screen.find("dashboard exited") == std::string::npos);
}
