#include "daemon/daemon_setup.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <string>

#include "daemon/builtin_tasks.hpp"
#include "daemon/shutdown_deadline.hpp"

using namespace std::chrono_literals;

namespace {

struct TempDir {
  TempDir() {
    char name[] = "/tmp/daemon_setup_test.XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

const char* no_env(const char*) {
  return nullptr;
}

sup::TaskRegistry builtin_tasks() {
  sup::TaskRegistry tasks;
  sup::daemon::register_builtin_tasks(tasks);
  return tasks;
}

}  // namespace

TEST_CASE("the embedded default config is the shipped demo tree and passes validation") {
  auto config = sup::daemon::load_daemon_config("", builtin_tasks(), no_env);
  REQUIRE_MESSAGE(config, (config ? "" : config.error().describe()));
  std::map<std::string, sup::ChildKind> kinds;
  for (const auto& child : config->root.children) kinds[child.id] = child.kind;
  CHECK(config->root.children.front().id == "relay");
  CHECK(kinds["heartbeat"] == sup::ChildKind::Task);
  CHECK(kinds["ticker"] == sup::ChildKind::Process);
  CHECK(kinds["flaky"] == sup::ChildKind::Drill);
  CHECK(kinds["crasher"] == sup::ChildKind::Drill);
  CHECK(kinds["workers"] == sup::ChildKind::Supervisor);

  std::ifstream shipped(SUP_SOURCE_DIR "/config/supervisor.json");
  std::string text((std::istreambuf_iterator<char>(shipped)), std::istreambuf_iterator<char>());
  CHECK(sup::daemon::embedded_default_config() == text);
}

TEST_CASE("load_daemon_config applies the environment and checks task names") {
  TempDir dir;
  std::string path = dir.path + "/c.json";
  std::ofstream(path) << R"({"dashboard": {"enabled": false}, "children": [
      {"id": "hb", "kind": "task", "task": "heartbeat"},
      {"id": "w", "kind": "supervisor", "children": [{"id": "x", "kind": "task", "task": "nope"}]}]})";

  auto unknown = sup::daemon::load_daemon_config(path, builtin_tasks(), no_env);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().field_path == "children[1].children[0].task");
  CHECK(unknown.error().message.find("\"nope\"") != std::string::npos);

  std::ofstream(path) << R"({"dashboard": {"enabled": false}})";
  auto env = [](const char* name) -> const char* {
    return std::string(name) == "STATE_DIR" ? "/from/env" : nullptr;
  };
  auto config = sup::daemon::load_daemon_config(path, builtin_tasks(), env);
  REQUIRE(config);
  CHECK(config->state_dir == "/from/env");

  auto bad_env = [](const char* name) -> const char* {
    return std::string(name) == "LOG_FORMAT" ? "xml" : nullptr;
  };
  auto rejected = sup::daemon::load_daemon_config(path, builtin_tasks(), bad_env);
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error().field_path == "LOG_FORMAT");

  auto missing =
      sup::daemon::load_daemon_config(dir.path + "/absent.json", builtin_tasks(), no_env);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("absent.json") != std::string::npos);
}

TEST_CASE("the heartbeat task is built in and reactive") {
  sup::TaskRegistry tasks = builtin_tasks();
  const sup::TaskDefinition* heartbeat = tasks.find("heartbeat");
  REQUIRE(heartbeat != nullptr);
  CHECK(heartbeat->start);
  CHECK_FALSE(heartbeat->blocking);
}

TEST_CASE("prepare_state_dir creates the directory or says why it cannot") {
  TempDir dir;
  std::string nested = dir.path + "/a/b/state";
  REQUIRE(sup::daemon::prepare_state_dir(nested));
  CHECK(std::filesystem::is_directory(nested));
  CHECK(sup::daemon::prepare_state_dir(nested));  // exists already: fine

  std::ofstream(dir.path + "/file") << "x";
  auto blocked = sup::daemon::prepare_state_dir(dir.path + "/file/state");
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().message.find(dir.path + "/file/state") != std::string::npos);
}

TEST_CASE("runtime options carry the tree, the tuning and the audit log path") {
  auto config = sup::config::parse_config(R"({"state_dir": "/srv/s",
      "runtime": {"worker_threads": 3, "tick_ms": 7, "blocking_threshold_ms": 90, "jitter_seed": 5},
      "children": [{"id": "hb", "kind": "task", "task": "heartbeat"}]})");
  REQUIRE(config);
  sup::RuntimeOptions options = sup::daemon::make_runtime_options(*config, builtin_tasks());
  CHECK(options.root.children.size() == 2);  // relay + hb
  CHECK(options.worker_threads == 3);
  CHECK(options.tick_ms == 7);
  CHECK(options.blocking_threshold_ms == 90);
  CHECK(options.jitter_seed == 5);
  CHECK(options.audit_log_path == "/srv/s/audit.log");
  CHECK(options.refuse_commands_without_audit);  // the default
  CHECK(options.tasks.find("heartbeat") != nullptr);

  auto accepting = sup::config::parse_config(R"({"audit": {"refuse_commands_on_failure": false}})");
  REQUIRE(accepting);
  CHECK_FALSE(
      sup::daemon::make_runtime_options(*accepting, builtin_tasks()).refuse_commands_without_audit);
  auto unknown = sup::config::parse_config(R"({"audit": {"refuse": false}})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().field_path == "audit.refuse");
}

TEST_CASE("the shutdown deadline stays quiet when shutdown finishes in time") {
  std::atomic<bool> expired{false};
  {
    sup::daemon::ShutdownDeadline deadline(60s, [&](sup::ShutdownPhase) { expired = true; });
    deadline.enter(sup::ShutdownPhase::StoppingChildren);
    deadline.finish();
  }
  CHECK_FALSE(expired);
}

TEST_CASE("the shutdown deadline reports the phase that hung") {
  std::promise<sup::ShutdownPhase> stuck;
  auto reported = stuck.get_future();
  sup::daemon::ShutdownDeadline deadline(10ms,
                                         [&](sup::ShutdownPhase phase) { stuck.set_value(phase); });
  deadline.enter(sup::ShutdownPhase::FlushingState);
  // The bound is tiny; generous wait for a loaded machine. enter() may race
  // the expiry, so either of the two phases is a correct report.
  REQUIRE(reported.wait_for(30s) == std::future_status::ready);
  auto phase = reported.get();
  CHECK((phase == sup::ShutdownPhase::FlushingState || phase == sup::ShutdownPhase::Draining));
  deadline.finish();
}
