// Issue 10 point 3, against the real daemon through the real `supctl` and
// the admin HTTP endpoints: maintenance mode queues a submission, survives
// a kill -9, and releases it when off; a node that makes no progress (it
// ignores SIGTERM and hangs) makes its execution STUCK with the reason,
// and resume-all after the fix brings it back to COMPLETED; retry --from
// re-runs exactly the node and its descendants.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

#include "harness.hpp"
#include "http_client.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr int kOk = 0;

std::unique_ptr<sup::it::Daemon> start_daemon(const sup::it::TempDir& dir, const Json& config) {
  auto daemon = sup::it::Daemon::start(dir, config);
  REQUIRE_MESSAGE(daemon, daemon.error().describe());
  REQUIRE_MESSAGE((*daemon)->wait_until_serving(), (*daemon)->log_text());
  return std::move(*daemon);
}

Json config_for(const sup::it::TempDir& dir, int stuck_after_ms = 600'000) {
  Json config = sup::it::base_config(dir);
  config["executions"]["stuck_after_ms"] = stuck_after_ms;
  return config;
}

std::uint16_t admin_port(const sup::it::Daemon& daemon) {
  auto http = daemon.wait_for_log(
      [](const sup::it::LogLine& line) { return line.get("msg") == "http listening"; },
      scaled(20s));
  REQUIRE_MESSAGE(http, daemon.log_text());
  return static_cast<std::uint16_t>(std::stoul(http->get("ADMIN_PORT")));
}

Json execution(const sup::it::Daemon& daemon, const std::string& id) {
  auto result = daemon.result_of("executions.get", {{"execution_id", id}});
  REQUIRE(result);
  return result->at("execution");
}

bool reaches(const sup::it::Daemon& daemon, const std::string& id, const std::string& state) {
  return sup::it::eventually(
      [&] {
        auto result = daemon.result_of("executions.get", {{"execution_id", id}});
        return result && result->at("execution").value("state", "") == state;
      },
      scaled(60'000ms));
}

std::string write_dag(const sup::it::TempDir& dir, const std::string& name, const Json& nodes) {
  std::string path = dir.file(name + ".json");
  std::ofstream(path) << Json{{"name", name}, {"nodes", nodes}}.dump(2);
  return path;
}

Json shell_node(const std::string& id, const std::vector<std::string>& deps,
                const std::string& script) {
  return {{"id", id}, {"deps", deps}, {"run", {{"exec", {"/bin/sh", "-c", script}}}}};
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("maintenance on queues a submission, survives kill -9, and off runs it to COMPLETED") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir, config_for(dir));
  std::string log = dir.file("ran");
  std::string dag = write_dag(dir, "queued",
                              Json::array({shell_node("a", {}, "echo a >> " + log),
                                           shell_node("b", {"a"}, "echo b >> " + log)}));

  auto refused = daemon->supctl({"maintenance", "on"});
  CHECK_MESSAGE(refused.code() != kOk, refused.describe());  // a reason is required
  auto on = daemon->supctl({"--reason", "state index rebuild", "maintenance", "on"});
  REQUIRE_MESSAGE(on.code() == kOk, on.describe());
  auto shown = daemon->supctl({"--json", "maintenance"});
  REQUIRE_MESSAGE(shown.code() == kOk, shown.describe());
  Json mode = sup::it::json_lines(shown.out).front();
  CHECK(mode.value("enabled", false));
  CHECK(mode.value("reason", "") == "state index rebuild");

  auto submitted = daemon->supctl({"--json", "execute", dag, "--id", "m-1"});
  REQUIRE_MESSAGE(submitted.code() == kOk, submitted.describe());
  // Queued: committed, not started (nothing ran; the state is PENDING).
  std::this_thread::sleep_for(scaled(500ms));
  Json queued = execution(*daemon, "m-1");
  CHECK(queued.value("state", "") == "PENDING");
  CHECK(queued.value("records", 0) == 1);
  CHECK_FALSE(std::ifstream(log).good());

  daemon->process().send_signal(SIGKILL);
  REQUIRE(daemon->process().wait_exit(scaled(10'000ms)));
  daemon.reset();
  daemon = start_daemon(dir, config_for(dir));

  auto health = daemon->result_of("health");
  REQUIRE(health);
  CHECK_MESSAGE(health->dump().find("state index rebuild") != std::string::npos, health->dump());
  auto health_text = daemon->supctl({"health"});
  CHECK_MESSAGE(health_text.out.find("maintenance:     ON") != std::string::npos,
                health_text.describe());
  shown = daemon->supctl({"--json", "maintenance"});
  REQUIRE_MESSAGE(shown.code() == kOk, shown.describe());
  CHECK(sup::it::json_lines(shown.out).front().value("enabled", false));
  std::this_thread::sleep_for(scaled(500ms));
  CHECK(execution(*daemon, "m-1").value("state", "") == "PENDING");
  CHECK_FALSE(std::ifstream(log).good());

  // Off over the admin API, as the runbook does it.
  std::uint16_t admin = admin_port(*daemon);
  auto no_reason =
      sup::it::http_request(admin, "POST", "/admin/maintenance-mode", R"({"enabled": false})");
  CHECK(no_reason.status == 400);
  CHECK_MESSAGE(no_reason.body.find("body.reason") != std::string::npos, no_reason.body);
  auto off = sup::it::http_request(admin, "POST", "/admin/maintenance-mode",
                                   R"({"enabled": false, "reason": "rebuild done"})");
  REQUIRE_MESSAGE(off.status == 200, off.body);
  Json answer = off.json();
  CHECK(answer["maintenance"].value("enabled", true) == false);
  CHECK(answer["started"] == Json::array({"m-1"}));
  CHECK(reaches(*daemon, "m-1", "COMPLETED"));
  CHECK(lines_of(log) == std::vector<std::string>{"a", "b"});
  shown = daemon->supctl({"--json", "maintenance"});
  CHECK_FALSE(sup::it::json_lines(shown.out).front().value("enabled", true));
  // The admin call is an audited command like the socket's.
  std::string audit = sup::it::wait_for_audit(
      dir.file("state"), {"executions.set_maintenance", "\"reason\":\"rebuild done\""});
  CHECK_MESSAGE(audit.find("\"reason\":\"rebuild done\"") != std::string::npos, audit);
  CHECK_MESSAGE(audit.find("http:loopback") != std::string::npos, audit);
}

TEST_CASE("a node that ignores SIGTERM and hangs is STUCK; after the fix resume-all completes it") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir, config_for(dir, 1000));
  std::string fixed = dir.file("fixed");
  // Attempt 1 checks for the fix once, then hangs ignoring SIGTERM; after
  // the fix a new attempt passes.
  std::string dag = write_dag(
      dir, "hang",
      Json::array(
          {shell_node("hang", {},
                      "trap '' TERM; [ -f " + fixed + " ] && exit 0; while :; do sleep 0.1; done"),
           shell_node("after", {"hang"}, "true")}));
  auto submitted = daemon->supctl({"execute", dag, "--id", "s-1"});
  REQUIRE_MESSAGE(submitted.code() == kOk, submitted.describe());

  Json listed;
  REQUIRE(sup::it::eventually(
      [&] {
        auto run = daemon->supctl({"--json", "executions", "--status", "STUCK"});
        if (run.code() != kOk) return false;
        listed = sup::it::json_lines(run.out).front();
        return listed.is_array() && !listed.empty();
      },
      scaled(30'000ms)));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].value("execution_id", "") == "s-1");
  CHECK(listed[0].value("state", "") == "RUNNING");
  CHECK(listed[0]["stuck"].value("reason", "") == "running_without_progress");
  auto table = daemon->supctl({"executions", "--status", "STUCK"});
  CHECK_MESSAGE(table.out.find("running_without_progress") != std::string::npos, table.describe());
  // The runbook's read, over the admin API.
  std::uint16_t admin = admin_port(*daemon);
  auto stuck = sup::it::http_get(admin, "/admin/executions?status=STUCK");
  REQUIRE_MESSAGE(stuck.status == 200, stuck.body);
  CHECK(stuck.json()["executions"][0]["stuck"].value("reason", "") == "running_without_progress");

  std::ofstream(fixed) << "fixed\n";
  auto resumed = daemon->supctl({"--reason", "hang fixed", "executions", "resume-all"});
  REQUIRE_MESSAGE(resumed.code() == kOk, resumed.describe());
  CHECK_MESSAGE(resumed.out.find("s-1") != std::string::npos, resumed.describe());
  CHECK(reaches(*daemon, "s-1", "COMPLETED"));
  Json done = execution(*daemon, "s-1");
  CHECK(done["nodes"][0].value("attempt", 0) == 2);
  auto none = daemon->supctl({"--json", "executions", "--status", "STUCK"});
  CHECK(sup::it::json_lines(none.out).front().empty());
  // Nothing stuck: resume-all over HTTP answers with nothing done.
  auto again = sup::it::http_request(admin, "POST", "/admin/executions/resume-all",
                                     R"({"reason": "sweep"})");
  REQUIRE_MESSAGE(again.status == 200, again.body);
  CHECK(again.json().value("resumed", -1) == 0);
  std::string audit =
      sup::it::wait_for_audit(dir.file("state"), {"executions.resume_all", "\"reason\":\"sweep\""});
  CHECK_MESSAGE(audit.find("\"reason\":\"sweep\"") != std::string::npos, audit);
}

TEST_CASE("retry --from re-runs exactly the node and its descendants") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir, config_for(dir));
  std::string log = dir.file("ran");
  auto step = [&](const std::string& id) { return "echo " + id + " >> " + log; };
  // a -> b -> c, a -> d
  std::string dag = write_dag(
      dir, "retry",
      Json::array({shell_node("a", {}, step("a")), shell_node("b", {"a"}, step("b")),
                   shell_node("c", {"b"}, step("c")), shell_node("d", {"a"}, step("d"))}));
  auto first = daemon->supctl({"execute", dag, "--id", "r-1", "--wait"}, scaled(60'000ms));
  REQUIRE_MESSAGE(first.code() == kOk, first.describe());
  REQUIRE(lines_of(log).size() == 4);

  auto unknown = daemon->supctl({"--reason", "x", "executions", "retry", "r-1", "--from", "zz"});
  CHECK_MESSAGE(unknown.code() != kOk, unknown.describe());
  auto retried =
      daemon->supctl({"--reason", "b's input fixed", "executions", "retry", "r-1", "--from", "b"});
  REQUIRE_MESSAGE(retried.code() == kOk, retried.describe());
  CHECK_MESSAGE(retried.out.find("b, c") != std::string::npos, retried.describe());
  CHECK(reaches(*daemon, "r-1", "COMPLETED"));
  std::vector<std::string> lines = lines_of(log);
  REQUIRE(lines.size() == 6);
  std::vector<std::string> rerun(lines.begin() + 4, lines.end());
  CHECK(rerun == std::vector<std::string>{"b", "c"});
  Json done = execution(*daemon, "r-1");
  std::map<std::string, int> attempts;
  for (const Json& node : done["nodes"])
    attempts[node.value("node_id", "")] = node.value("attempt", 0);
  CHECK(attempts == std::map<std::string, int>{{"a", 1}, {"b", 2}, {"c", 2}, {"d", 1}});
}
