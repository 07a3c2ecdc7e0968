// Issue "dashboard link": every supctl command against the real daemon,
// with the exit codes of docs/supctl.md (0 ok; 1 not done: NotFound,
// Rejected, declined; 2 usage; 3 not running / unreachable; 4 refused by
// the daemon; 5 timeout).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr int kOk = 0;
constexpr int kNotDone = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;
constexpr int kRefused = 4;
constexpr int kTimeout = 5;

Json supctl_config(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  config["children"].push_back(
      sup::it::process_child("worker", "while :; do echo \"worker says hi\"; sleep 0.3; done"));
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  return config;
}

Json single_json(const sup::it::RunResult& run) {
  auto objects = sup::it::json_lines(run.out);
  REQUIRE_MESSAGE(objects.size() == 1, "expected one JSON object on stdout: " << run.describe());
  return objects.front();
}

// Runs supctl and checks its exit code; returns the run for more checks.
sup::it::RunResult expect_exit(const sup::it::Daemon& daemon, std::vector<std::string> args,
                               int expected) {
  auto run = daemon.supctl(args);
  std::string command;
  for (const auto& arg : args) command += arg + " ";
  CHECK_MESSAGE(run.code() == expected, "supctl " << command << "-> " << run.describe());
  return run;
}

std::string child_state(const sup::it::Daemon& daemon, const std::string& id) {
  auto state = daemon.result_of("state");
  if (!state) return "<no state>";
  auto record = sup::it::find_child(*state, id);
  return record ? (*record)["state"].get<std::string>() : "<absent>";
}

bool child_reaches(const sup::it::Daemon& daemon, const std::string& id, const std::string& state) {
  return sup::it::eventually([&] { return child_state(daemon, id) == state; }, scaled(10s));
}

}  // namespace

TEST_CASE("supctl state, health and children answer in JSON and in text") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, supctl_config(dir));

  auto state = single_json(expect_exit(*daemon, {"--json", "state"}, kOk));
  CHECK(state["type"] == "state");
  for (const char* key :
       {"running", "failed", "restarting", "quarantined", "stopped", "target_count"})
    CHECK_MESSAGE(state["state"]["children"].contains(key), key);
  auto worker = sup::it::find_child(state, "worker");
  REQUIRE(worker);
  for (const char* key : {"id", "kind", "state", "restart_count", "last_exit", "restart_budget",
                          "backoff_ms", "started_at", "generation", "attempt", "liveness"})
    CHECK_MESSAGE(worker->contains(key), key);
  CHECK(sup::it::find_child(state, "relay"));

  auto health = single_json(expect_exit(*daemon, {"--json", "health"}, kOk));
  CHECK(health["type"] == "health");
  for (const char* key :
       {"status", "uptime_secs", "control_loop_iterations", "iterations_per_sec", "dashboard_link"})
    CHECK_MESSAGE(health.contains(key), key);

  auto children = single_json(expect_exit(*daemon, {"--json", "children"}, kOk));
  CHECK(sup::it::find_child(children, "beat"));

  auto text_state = expect_exit(*daemon, {"state"}, kOk);
  CHECK(text_state.out.find("worker") != std::string::npos);
  auto text_health = expect_exit(*daemon, {"health"}, kOk);
  CHECK(text_health.out.find("ready") != std::string::npos);
  auto text_children = expect_exit(*daemon, {"children"}, kOk);
  CHECK(text_children.out.find("beat") != std::string::npos);
}

TEST_CASE("supctl tree commands do what they say, with their exit codes") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, supctl_config(dir));
  REQUIRE(child_reaches(*daemon, "worker", "Running"));

  // add
  const std::string spec = R"({"id": "extra", "kind": "task", "task": "heartbeat"})";
  expect_exit(*daemon, {"add", "--spec", spec}, kUsage);  // dangerous: needs --yes off a terminal
  auto added = single_json(expect_exit(*daemon, {"--json", "--yes", "add", "--spec", spec}, kOk));
  CHECK(added["result"]["outcome"] == "CommandResult::Accepted");
  CHECK(child_reaches(*daemon, "extra", "Running"));
  auto duplicate = expect_exit(*daemon, {"--json", "--yes", "add", "--spec", spec}, kNotDone);
  CHECK(single_json(duplicate)["result"]["outcome"] == "CommandResult::Rejected");
  auto misspelled =
      expect_exit(*daemon,
                  {"--json", "--yes", "add", "--spec",
                   R"({"id": "x", "kind": "task", "task": "heartbeat", "backof": {}})"},
                  kRefused);
  auto refusal = single_json(misspelled);
  CHECK(refusal["error"]["code"] == "invalid_command_params");
  CHECK(refusal["error"]["field_path"] == "params.spec.backof");
  expect_exit(*daemon, {"add", "--spec", "{not json"}, kUsage);
  expect_exit(*daemon, {"add"}, kUsage);

  // restart
  auto before = sup::it::find_child(*daemon->result_of("state"), "worker");
  REQUIRE(before);
  expect_exit(*daemon, {"restart", "worker"}, kOk);
  auto restarted = sup::it::wait_for_child(
      *daemon, "worker",
      [&](const Json& r) {
        return r["generation"].get<std::uint64_t>() >
                   (*before)["generation"].get<std::uint64_t>() &&
               r["state"] == "Running";
      },
      scaled(10s));
  REQUIRE(restarted);
  CHECK((*restarted)["generation"].get<std::uint64_t>() >
        (*before)["generation"].get<std::uint64_t>());
  expect_exit(*daemon, {"restart", "nope"}, kNotDone);

  // pause / resume
  expect_exit(*daemon, {"pause", "worker"}, kOk);
  CHECK(child_reaches(*daemon, "worker", "Paused"));
  expect_exit(*daemon, {"resume", "worker"}, kOk);
  CHECK(child_reaches(*daemon, "worker", "Running"));
  expect_exit(*daemon, {"pause", "nope"}, kNotDone);

  // quarantine / release (not confirmed, as the seed's UI sends it)
  expect_exit(*daemon, {"quarantine", "worker"}, kOk);
  CHECK(child_reaches(*daemon, "worker", "Quarantined"));
  expect_exit(*daemon, {"release", "worker"}, kOk);
  CHECK(child_reaches(*daemon, "worker", "Running"));
  expect_exit(*daemon, {"release", "nope"}, kNotDone);

  // kill (drill): hard-killed, then restarted like any failed child
  auto pid_before = sup::it::find_child(*daemon->result_of("state"), "worker");
  REQUIRE(pid_before);
  expect_exit(*daemon, {"kill", "worker"}, kUsage);
  expect_exit(*daemon, {"kill", "worker", "--yes"}, kOk);
  auto killed = sup::it::wait_for_child(
      *daemon, "worker",
      [&](const Json& r) {
        return !r["last_exit"].is_null() && r["last_exit"]["kind"] == "TaskExit::Killed" &&
               r["state"] == "Running";
      },
      scaled(10s));
  REQUIRE(killed);
  CHECK((*killed)["last_exit"]["kind"] == "TaskExit::Killed");
  CHECK((*killed)["restart_count"].get<int>() >= 1);
  expect_exit(*daemon, {"kill", "nope", "--yes"}, kNotDone);

  // remove
  expect_exit(*daemon, {"remove", "extra"}, kUsage);
  auto removed = single_json(expect_exit(*daemon, {"--json", "remove", "extra", "--yes"}, kOk));
  CHECK(removed["result"]["outcome"] == "CommandResult::Accepted");
  CHECK(child_reaches(*daemon, "extra", "<absent>"));
  auto missing = single_json(expect_exit(*daemon, {"--json", "remove", "nope", "--yes"}, kNotDone));
  CHECK(missing["result"]["outcome"] == "CommandResult::NotFound");

  // usage errors
  expect_exit(*daemon, {"frobnicate"}, kUsage);
  expect_exit(*daemon, {"restart"}, kUsage);
  expect_exit(*daemon, {"--timeout", "0", "state"}, kUsage);
}

TEST_CASE("supctl logs CHILD shows the child's output; events and events --follow stream events") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, supctl_config(dir));
  REQUIRE(daemon->wait_for_log(
      [](const sup::it::LogLine& line) { return line.get("msg") == "worker says hi"; },
      scaled(10s)));

  auto logs = expect_exit(*daemon, {"--json", "logs", "worker"}, kOk);
  auto records = sup::it::json_lines(logs.out);
  REQUIRE_FALSE(records.empty());
  bool all_worker = true;
  bool saw_output = false;
  for (const Json& record : records) {
    all_worker = all_worker && record["fields"].value("CHILD_ID", "") == "worker";
    saw_output = saw_output || record.value("message", "") == "worker says hi";
  }
  CHECK_MESSAGE(all_worker, logs.out);
  CHECK_MESSAGE(saw_output, logs.out);
  auto text_logs = expect_exit(*daemon, {"logs", "worker"}, kOk);
  CHECK(text_logs.out.find("worker says hi") != std::string::npos);

  auto events = expect_exit(*daemon, {"--json", "events"}, kOk);
  auto listed = sup::it::json_lines(events.out);
  REQUIRE_FALSE(listed.empty());
  CHECK(listed.back().contains("event_type"));  // the EventRecord

  sup::it::SpawnOptions follow;
  follow.argv = {
      sup::it::supctl_binary(), "--socket", daemon->socket_path(), "--json", "events", "--follow"};
  auto follower = sup::it::Subprocess::spawn(follow);
  REQUIRE(follower);
  auto first = (*follower)->wait_for_line(
      sup::it::Stream::Out,
      [](const std::string& line) { return line.find("\"event_type\"") != std::string::npos; },
      scaled(10s));
  REQUIRE_MESSAGE(first,
                  "events --follow printed nothing: " << (*follower)->text(sup::it::Stream::Err));
  const auto replayed = (*follower)->line_count(sup::it::Stream::Out);

  auto restart = daemon->command("restart_child", "beat");
  REQUIRE(restart);
  CHECK((*restart)["result"]["result"]["outcome"] == "CommandResult::Accepted");
  auto started = (*follower)->wait_for_line(
      sup::it::Stream::Out,
      [](const std::string& line) {
        Json event = Json::parse(line, nullptr, false);
        return !event.is_discarded() && event.value("event_type", "") == "child_started" &&
               event.value("child_id", "") == "beat";
      },
      scaled(10s), replayed);
  CHECK_MESSAGE(started, "events --follow did not show beat restarting:\n"
                             << (*follower)->text(sup::it::Stream::Out));

  std::uint64_t previous = 0;
  for (const Json& event : sup::it::json_lines((*follower)->text(sup::it::Stream::Out))) {
    auto sequence = event["sequence"].get<std::uint64_t>();
    CHECK(sequence > previous);
    previous = sequence;
  }
  (*follower)->send_signal(SIGTERM);
  CHECK((*follower)->wait_exit(scaled(10s)));
}

TEST_CASE("supctl shutdown-tree stops the tree and the daemon exits 0") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, supctl_config(dir));
  expect_exit(*daemon, {"shutdown-tree"}, kUsage);
  expect_exit(*daemon, {"--json", "shutdown-tree", "--yes"}, kOk);
  auto status = daemon->process().wait_exit(scaled(30s));
  REQUIRE_MESSAGE(status, "the daemon is still running after shutdown-tree");
  CHECK(status->exited_with(0));
  auto lines = daemon->log_lines();
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back().get("SHUTDOWN_PHASE") == "ShutdownPhase::Completed");
}

TEST_CASE("supctl without a daemon says so plainly (3); a silent daemon is a timeout (5)") {
  sup::it::TempDir dir;
  const std::string missing = dir.file("missing.sock");
  auto none = sup::it::run_supctl(missing, {"state"});
  INFO(none.describe());
  CHECK(none.code() == kUnreachable);
  CHECK(none.err.find("supervisor is not running") != std::string::npos);
  CHECK(none.err.find(missing) != std::string::npos);
  CHECK(none.out.empty());

  // A stale socket file: nothing listens.
  const std::string stale = dir.file("stale.sock");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, stale.c_str(), sizeof address.sun_path - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  close(fd);
  auto stale_run = sup::it::run_supctl(stale, {"--json", "health"});
  INFO(stale_run.describe());
  CHECK(stale_run.code() == kUnreachable);
  CHECK(stale_run.err.find("not running") != std::string::npos);

  // Something listens but never answers.
  const std::string silent = dir.file("silent.sock");
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  std::strncpy(address.sun_path, silent.c_str(), sizeof address.sun_path - 1);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(listener, 8) == 0);
  auto silent_run = sup::it::run_supctl(silent, {"--timeout", "300", "state"});
  INFO(silent_run.describe());
  CHECK(silent_run.code() == kTimeout);
  close(listener);
}

TEST_CASE("pause and quarantine of the relay are refused with a reason; the socket stays") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, supctl_config(dir));
  for (const char* command : {"pause_child", "quarantine_child", "remove_child"}) {
    auto reply = daemon->command(command, "relay");
    REQUIRE_MESSAGE(reply, command);
    CHECK_MESSAGE((*reply)["result"]["result"]["outcome"] == "CommandResult::Rejected",
                  reply->dump());
    CHECK_MESSAGE(
        (*reply)["result"]["result"].value("reason", "").find("relay") != std::string::npos,
        reply->dump());
  }
  CHECK(child_state(*daemon, "relay") == "Running");
  auto health = daemon->result_of("health");
  REQUIRE(health);
  CHECK((*health)["status"] == "ready");
}

TEST_CASE("a full disk under the audit log: degraded, logged, commands refused, then resumed") {
  sup::it::TempDir dir;
  std::filesystem::create_directories(dir.file("state"));
  const std::string audit_log = dir.file("state") + "/audit.log";
  // Every write to /dev/full fails with ENOSPC, as on a full file system.
  std::filesystem::create_symlink("/dev/full", audit_log);
  auto daemon = sup::it::require_serving_daemon(dir, supctl_config(dir));

  auto first = daemon->command("restart_child", "beat");
  REQUIRE(first);
  CHECK((*first)["result"]["result"]["outcome"] ==
        "CommandResult::Accepted");  // its line fails later
  Json health;
  REQUIRE_MESSAGE(sup::it::eventually(
                      [&] {
                        auto h = daemon->result_of("health");
                        if (h) health = *h;
                        return h && (*h)["status"] == "degraded";
                      },
                      scaled(10s)),
                  health.dump());
  CHECK(health["audit_write_failures"].get<std::uint64_t>() >= 1);
  CHECK_MESSAGE(health["reasons"].dump().find(audit_log) != std::string::npos, health.dump());
  CHECK(daemon->wait_for_log(
      [](const sup::it::LogLine& line) {
        return line.get("msg").find("cannot write the audit log") != std::string::npos;
      },
      scaled(10s)));
  auto refused = daemon->command("restart_child", "beat");
  REQUIRE(refused);
  CHECK((*refused)["result"]["result"]["outcome"] == "CommandResult::Rejected");
  CHECK_MESSAGE(
      (*refused)["result"]["result"].value("reason", "").find("audit log") != std::string::npos,
      refused->dump());
  auto by_supctl = expect_exit(*daemon, {"restart", "beat"}, kNotDone);
  CHECK_MESSAGE((by_supctl.out + by_supctl.err).find("audit log") != std::string::npos,
                by_supctl.describe());

  // Space is back: the retry reopens the path, a regular file now.
  std::filesystem::remove(audit_log);
  REQUIRE(sup::it::eventually(
      [&] {
        auto h = daemon->result_of("health");
        return h && (*h)["status"] == "ready";
      },
      scaled(10s)));
  auto resumed = daemon->command("restart_child", "beat");
  REQUIRE(resumed);
  CHECK((*resumed)["result"]["result"]["outcome"] == "CommandResult::Accepted");
  CHECK(sup::it::eventually(
      [&] {
        std::ifstream in(audit_log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return std::count(text.begin(), text.end(), '\n') >= 4;  // 2 held + refused + resumed
      },
      scaled(10s)));
  CHECK((std::filesystem::status(audit_log).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
}
