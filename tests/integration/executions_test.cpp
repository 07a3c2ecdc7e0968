// Issue 9, "Interfaces": DAG executions driven through the real `supctl`
// against the real daemon: execute --wait to COMPLETED (the examples of
// config/dags), idempotent resubmission by id, status / executions /
// pause / resume / cancel / logs, transition events on the stream, and a
// kill -9 of the daemon mid-run: restarted on the same state dir it
// resumes the execution, and a `supctl execute --wait` that was following
// it reconnects and ends COMPLETED (the new user's path); after it the store
// validates clean, and an export imported into a wiped state dir gives the
// same execution back.
#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "harness.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr int kOk = 0;
constexpr int kNotDone = 1;

std::string example(const std::string& name) {
  return std::string(SUP_IT_SOURCE_DIR) + "/config/dags/" + name;
}

// A DAG of `count` sequential shell steps of `sleep_s` seconds each.
std::string write_chain(const sup::it::TempDir& dir, const std::string& name, int count,
                        const std::string& sleep_s) {
  Json nodes = Json::array();
  for (int i = 0; i < count; ++i) {
    Json node = {
        {"id", "step" + std::to_string(i)},
        {"run",
         {{"exec", {"/bin/sh", "-c", "echo step " + std::to_string(i) + "; sleep " + sleep_s}}}}};
    if (i > 0) node["deps"] = {"step" + std::to_string(i - 1)};
    nodes.push_back(node);
  }
  std::string path = dir.file(name);
  std::ofstream(path) << Json{{"name", name}, {"nodes", nodes}}.dump(2);
  return path;
}

Json config_for(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  config["log"]["level"] = "warn";  // node output lines would crowd the captured log
  return config;
}

std::unique_ptr<sup::it::Daemon> start_daemon(const sup::it::TempDir& dir) {
  auto daemon = sup::it::Daemon::start(dir, config_for(dir));
  REQUIRE_MESSAGE(daemon, daemon.error().describe());
  REQUIRE_MESSAGE((*daemon)->wait_until_serving(), (*daemon)->log_text());
  return std::move(*daemon);
}

Json status_of(const sup::it::Daemon& daemon, const std::string& id) {
  auto run = daemon.supctl({"--json", "status", id});
  REQUIRE_MESSAGE(run.code() == kOk, run.describe());
  auto objects = sup::it::json_lines(run.out);
  REQUIRE_MESSAGE(objects.size() == 1, run.describe());
  return objects.front();
}

std::string state_of(const sup::it::Daemon& daemon, const std::string& id) {
  auto result = daemon.result_of("executions.get", {{"execution_id", id}});
  return result ? result->at("execution").value("state", "") : "<none>";
}

std::size_t nodes_in(const Json& execution, const std::string& state) {
  std::size_t count = 0;
  for (const Json& node : execution.at("nodes")) count += node.value("state", "") == state;
  return count;
}

// The id `supctl --json execute` printed (its first JSON line).
std::string submitted_id(const sup::it::RunResult& run) {
  auto objects = sup::it::json_lines(run.out);
  REQUIRE_MESSAGE(!objects.empty(), run.describe());
  return objects.front().at("result").at("execution_id").get<std::string>();
}

}  // namespace

TEST_CASE("execute --wait runs the example DAGs to COMPLETED with every node") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir);
  for (auto [file, nodes] : {std::pair{"hello.json", 4}, std::pair{"document_pipeline.json", 11}}) {
    CAPTURE(file);
    auto run = daemon->supctl(
        {"execute", example(file), "--wait", "--param", "workdir=" + dir.file("work")},
        scaled(90'000ms));
    REQUIRE_MESSAGE(run.code() == kOk, run.describe());
    std::string summary =
        "COMPLETED: " + std::to_string(nodes) + "/" + std::to_string(nodes) + " nodes completed";
    CHECK_MESSAGE(run.out.find(summary) != std::string::npos, run.describe());
    // A progress line per node as it completes, the last one [n/n].
    CHECK_MESSAGE(run.out.find("[" + std::to_string(nodes) + "/" + std::to_string(nodes) + "]") !=
                      std::string::npos,
                  run.describe());
    auto first = run.out.substr(0, run.out.find('\n'));
    REQUIRE(first.rfind("submitted execution ", 0) == 0);
    std::string id = first.substr(std::string("submitted execution ").size());
    Json execution = status_of(*daemon, id);
    CHECK(execution.value("state", "") == "COMPLETED");
    CHECK(nodes_in(execution, "COMPLETED") == static_cast<std::size_t>(nodes));
    CHECK(execution.at("nodes").size() == static_cast<std::size_t>(nodes));
  }
}

TEST_CASE("a repeated execution_id returns the first execution; list, status, logs, events") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir);
  auto events = sup::it::EventStream::open(daemon->socket_path(), std::nullopt,
                                           sup::it::Clock::now() + scaled(5000ms));
  REQUIRE_MESSAGE(events, events.error().describe());

  auto first = daemon->supctl(
      {"--json", "execute", example("hello.json"), "--id", "hello-1", "--wait"}, scaled(60'000ms));
  REQUIRE_MESSAGE(first.code() == kOk, first.describe());
  CHECK(submitted_id(first) == "hello-1");
  CHECK(sup::it::json_lines(first.out).front().at("result").value("existing", true) == false);

  auto again = daemon->supctl({"--json", "execute", example("hello.json"), "--id", "hello-1"});
  REQUIRE_MESSAGE(again.code() == kOk, again.describe());
  Json repeat = sup::it::json_lines(again.out).front().at("result");
  CHECK(repeat.value("existing", false) == true);
  CHECK(repeat.value("execution_id", "") == "hello-1");

  auto list = daemon->supctl({"--json", "executions"});
  REQUIRE_MESSAGE(list.code() == kOk, list.describe());
  Json executions = sup::it::json_lines(list.out).front();
  REQUIRE(executions.is_array());
  CHECK(executions.size() == 1);  // one execution, not two
  auto completed = daemon->supctl({"--json", "executions", "--status", "COMPLETED"});
  CHECK(sup::it::json_lines(completed.out).front().size() == 1);
  auto running = daemon->supctl({"--json", "executions", "--status", "RUNNING"});
  CHECK(sup::it::json_lines(running.out).front().empty());
  auto bad_state = daemon->supctl({"executions", "--status", "DONE"});
  CHECK_MESSAGE(bad_state.code() == 4, bad_state.describe());
  CHECK(bad_state.err.find("params.state") != std::string::npos);

  auto table = daemon->supctl({"status", "hello-1"});
  REQUIRE_MESSAGE(table.code() == kOk, table.describe());
  CHECK(table.out.find("COMPLETED, 4/4 nodes completed") != std::string::npos);

  auto logs = daemon->supctl({"logs", "hello-1", "fetch"});
  REQUIRE_MESSAGE(logs.code() == kOk, logs.describe());
  CHECK_MESSAGE(logs.out.find("[1] fetching") != std::string::npos, logs.describe());
  auto unknown = daemon->supctl({"status", "nope"});
  CHECK(unknown.code() == 4);
  CHECK(unknown.err.find("not_found") != std::string::npos);

  // Every transition was an event: 4 nodes x (READY, RUNNING, COMPLETED), and the execution's.
  auto finished = events->wait_for(
      [](const Json& e) {
        return e.value("event_type", "") == "execution_state_changed" &&
               sup::it::payload_of(e, "to_state") == "COMPLETED";
      },
      sup::it::Clock::now() + scaled(10'000ms));
  REQUIRE(finished);
  CHECK(sup::it::payload_of(*finished, "execution_id") == "hello-1");
  std::size_t node_completions = 0;
  for (const Json& e : events->events())
    node_completions += e.value("event_type", "") == "node_state_changed" &&
                        sup::it::payload_of(e, "to_state") == "COMPLETED";
  CHECK(node_completions == 4);
}

TEST_CASE("pause, resume and cancel an execution") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir);
  std::string chain = write_chain(dir, "chain.json", 4, "0.6");

  REQUIRE(daemon->supctl({"execute", chain, "--id", "paused-1"}).code() == kOk);
  REQUIRE(sup::it::eventually([&] { return state_of(*daemon, "paused-1") == "RUNNING"; },
                              scaled(10'000ms)));
  auto pause = daemon->supctl({"pause", "paused-1"});
  REQUIRE_MESSAGE(pause.code() == kOk, pause.describe());
  CHECK(pause.out.find("the execution is PAUSED") != std::string::npos);
  // Pausing again changes nothing: not done.
  CHECK(daemon->supctl({"pause", "paused-1"}).code() == kNotDone);
  // The running step finishes; nothing new starts while paused.
  REQUIRE(sup::it::eventually(
      [&] {
        Json e = status_of(*daemon, "paused-1");
        return nodes_in(e, "RUNNING") == 0;
      },
      scaled(10'000ms)));
  Json paused = status_of(*daemon, "paused-1");
  CHECK(paused.value("state", "") == "PAUSED");
  CHECK(nodes_in(paused, "COMPLETED") < 4);

  auto resume = daemon->supctl({"resume", "paused-1"});
  REQUIRE_MESSAGE(resume.code() == kOk, resume.describe());
  REQUIRE(sup::it::eventually([&] { return state_of(*daemon, "paused-1") == "COMPLETED"; },
                              scaled(20'000ms)));

  REQUIRE(daemon->supctl({"execute", chain, "--id", "cancelled-1"}).code() == kOk);
  REQUIRE(sup::it::eventually([&] { return state_of(*daemon, "cancelled-1") == "RUNNING"; },
                              scaled(10'000ms)));
  auto cancel = daemon->supctl({"--reason", "wrong input", "cancel", "cancelled-1"});
  REQUIRE_MESSAGE(cancel.code() == kOk, cancel.describe());
  Json cancelled = status_of(*daemon, "cancelled-1");
  CHECK(cancelled.value("state", "") == "FAILED");
  CHECK(nodes_in(cancelled, "COMPLETED") + nodes_in(cancelled, "CANCELLED") == 4);
  CHECK(daemon->supctl({"cancel", "cancelled-1"}).code() == kNotDone);

  // The commands are audited like the tree's.
  std::string text =
      sup::it::wait_for_audit(dir.file("state"), {"executions.cancel", "wrong input"});
  CHECK_MESSAGE(text.find("executions.cancel") != std::string::npos, text);
  CHECK(text.find("wrong input") != std::string::npos);
}

TEST_CASE("kill -9 of the daemon mid-run: the restarted daemon resumes it, --wait follows it") {
  sup::it::TempDir dir;
  auto daemon = start_daemon(dir);
  const std::string socket = daemon->socket_path();
  std::string chain = write_chain(dir, "long.json", 6, "0.5");

  // The new user's terminal: execute --wait, following.
  auto waiting =
      sup::it::Subprocess::spawn({.argv = {sup::it::supctl_binary(), "--socket", socket, "execute",
                                           chain, "--id", "crash-1", "--wait"}});
  REQUIRE_MESSAGE(waiting, waiting.error().describe());
  REQUIRE(sup::it::eventually(
      [&] {
        auto result = daemon->result_of("executions.get", {{"execution_id", "crash-1"}});
        return result && nodes_in(result->at("execution"), "COMPLETED") >= 2;
      },
      scaled(20'000ms)));
  daemon->process().send_signal(SIGKILL);
  REQUIRE(daemon->process().wait_exit(scaled(10'000ms)));
  daemon.reset();

  auto restarted = start_daemon(dir);  // same state dir, same socket
  auto exit = (*waiting)->wait_exit(scaled(60'000ms));
  REQUIRE_MESSAGE(exit, (*waiting)->text(sup::it::Stream::Out)
                            << (*waiting)->text(sup::it::Stream::Err));
  std::string out = (*waiting)->text(sup::it::Stream::Out);
  CHECK_MESSAGE(exit->exited, out);
  CHECK_MESSAGE(exit->code == kOk, out << (*waiting)->text(sup::it::Stream::Err));
  CHECK_MESSAGE(out.find("COMPLETED: 6/6 nodes completed") != std::string::npos, out);
  Json execution = status_of(*restarted, "crash-1");
  CHECK(execution.value("state", "") == "COMPLETED");
  CHECK(nodes_in(execution, "COMPLETED") == 6);

  // Issue 10: the store is clean after the crash; an export taken while the
  // daemon runs, imported into a wiped state dir, gives the same execution.
  const std::string state_dir = dir.file("state");
  auto validate = restarted->supctl({"checkpoint", "validate", "--state-dir", state_dir});
  CHECK_MESSAGE(validate.code() == kOk, validate.describe());
  CHECK_MESSAGE(validate.out.find("records checked: clean") != std::string::npos,
                validate.describe());
  const std::string archive = dir.file("backup.tar.gz");
  auto exported = restarted->supctl(
      {"checkpoint", "export-all", "--state-dir", state_dir, "--output", archive});
  REQUIRE_MESSAGE(exported.code() == kOk, exported.describe());
  restarted->process().send_signal(SIGTERM);
  REQUIRE(restarted->process().wait_exit(scaled(20'000ms)));
  restarted.reset();
  std::filesystem::remove_all(state_dir + "/store");
  auto imported =
      sup::it::run_supctl(socket, {"checkpoint", "import", archive, "--state-dir", state_dir});
  REQUIRE_MESSAGE(imported.code() == kOk, imported.describe());
  auto from_backup = start_daemon(dir);
  Json restored = status_of(*from_backup, "crash-1");
  CHECK(restored.value("state", "") == "COMPLETED");
  CHECK(restored.at("nodes") == execution.at("nodes"));
}
