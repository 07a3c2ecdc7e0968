// Process children across a crash of the daemon: kill -9 leaves them
// running; the daemon started next on the same state dir kills them before
// it starts its own, so there are never two copies of a child. And their
// output: a flooding child is held to its rate, the others still get through.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr int kChildren = 5;

// Each child is a shell with a grandchild in its process group.
Json config_with_workers(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  for (int i = 0; i < kChildren; ++i) {
    config["children"].push_back(
        sup::it::process_child("worker" + std::to_string(i), "sleep 1000 & wait"));
  }
  return config;
}

// Not a zombie, not gone.
bool running(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(file, stat)) return false;
  const auto close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() &&
         stat[close_paren + 2] != 'Z' && stat[close_paren + 2] != 'X';
}

// The running processes of the daemon's session besides the daemon itself:
// its children and grandchildren (the session outlives the daemon).
std::vector<pid_t> descendants(pid_t daemon_pid) {
  std::vector<pid_t> found;
  for (pid_t pid : sup::it::session_members(daemon_pid)) {
    if (pid != daemon_pid && running(pid)) found.push_back(pid);
  }
  return found;
}

std::vector<pid_t> wait_for_descendants(pid_t daemon_pid, std::size_t count) {
  std::vector<pid_t> found;
  sup::it::eventually(
      [&] {
        found = descendants(daemon_pid);
        return found.size() == count;
      },
      scaled(20s));
  return found;
}

}  // namespace

TEST_CASE(
    "after kill -9 the restarted daemon kills the groups the dead one left: never two copies") {
  sup::it::TempDir dir;
  const Json config = config_with_workers(dir);
  auto first = sup::it::require_serving_daemon(dir, config);
  const std::vector<pid_t> left = wait_for_descendants(first->pid(), 2 * kChildren);
  REQUIRE_MESSAGE(left.size() == 2 * kChildren, first->log_text());

  first->process().send_signal(SIGKILL);
  auto status = first->process().wait_exit(scaled(20s));
  REQUIRE(status);
  REQUIRE(status->killed_by(SIGKILL));
  // What the defect was about: the crash alone leaves them all running.
  for (pid_t pid : left) REQUIRE_MESSAGE(running(pid), "pid " << pid << " died with the daemon");

  auto second = sup::it::require_serving_daemon(dir, config);
  const std::vector<pid_t> started = wait_for_descendants(second->pid(), 2 * kChildren);
  CHECK_MESSAGE(started.size() == 2 * kChildren, second->log_text());
  for (pid_t pid : left)
    CHECK_MESSAGE(!running(pid), "pid " << pid << " of the dead daemon runs on");
  CHECK(descendants(first->pid()).empty());

  std::set<pid_t> reported;
  for (const auto& line : second->log_lines()) {
    if (line.get("msg") == "killed a process left running by a previous run of the daemon") {
      CHECK(line.get("CHILD_ID").rfind("worker", 0) == 0);
      reported.insert(static_cast<pid_t>(std::stoi(line.get("PID"))));
    }
  }
  CHECK(reported == std::set<pid_t>(left.begin(), left.end()));
}

TEST_CASE("a planned stop leaves nothing to kill at the next start") {
  sup::it::TempDir dir;
  const Json config = config_with_workers(dir);
  {
    auto first = sup::it::require_serving_daemon(dir, config);
    REQUIRE(wait_for_descendants(first->pid(), 2 * kChildren).size() == 2 * kChildren);
    first->process().send_signal(SIGTERM);
    auto status = first->process().wait_exit(scaled(30s));
    REQUIRE(status);
    CHECK(status->exited);
    CHECK(descendants(first->pid()).empty());
  }
  auto second = sup::it::require_serving_daemon(dir, config);
  REQUIRE(wait_for_descendants(second->pid(), 2 * kChildren).size() == 2 * kChildren);
  for (const auto& line : second->log_lines()) {
    CHECK(line.get("msg") != "killed a process left running by a previous run of the daemon");
  }
}

TEST_CASE(
    "a child flooding its output is held to its rate with counted drops; others get through") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  config["process_output"] = {{"lines_per_sec", 100}, {"burst_lines", 100}};
  config["children"].push_back(sup::it::process_child("flood", "exec yes flood"));
  config["children"].push_back(
      sup::it::process_child("ticker", "while :; do echo tick; sleep 0.05; done"));
  auto daemon = sup::it::require_serving_daemon(dir, config);
  const auto started = sup::it::Clock::now();

  auto count = [&](const std::string& child_id, const std::string& message_prefix) {
    std::size_t found = 0;
    for (const auto& line : daemon->log_lines()) {
      found += line.get("CHILD_ID") == child_id && line.get("msg").rfind(message_prefix, 0) == 0;
    }
    return found;
  };
  // Two drop reports (a second apart) while the flood goes on, and the
  // ticker's lines all along.
  const bool reported = sup::it::eventually(
      [&] { return count("flood", "dropped ") >= 2 && count("ticker", "tick") >= 10; },
      scaled(30s));
  const double elapsed_sec =
      std::chrono::duration<double>(sup::it::Clock::now() - started).count() + 1.0;
  CHECK_MESSAGE(reported, "flood drop reports: " << count("flood", "dropped ")
                                                 << ", ticker lines: " << count("ticker", "tick"));
  const std::size_t flood_lines = count("flood", "flood");
  CHECK(flood_lines >= 100);
  CHECK(flood_lines <= 100 + static_cast<std::size_t>(100 * elapsed_sec));
  std::uint64_t dropped = 0;
  for (const auto& line : daemon->log_lines()) {
    if (line.get("CHILD_ID") == "flood" && line.get("msg").rfind("dropped ", 0) == 0) {
      CHECK(line.get("msg").find(" lines of output over the output rate limit") !=
            std::string::npos);
      dropped += std::stoull(line.get("DROPPED_LINES"));
    }
  }
  // `yes` writes far more than 100 lines a second.
  CHECK(dropped > 10 * flood_lines);
  CHECK(count("ticker", "dropped ") == 0);
}
