// Crash resume with real kill -9 (issue 9): a 50-node fan-out/fan-in DAG
// whose shell nodes append their SUP_IDEMPOTENCY_KEY to a file runs in
// execution_crash_driver, which is killed at random moments at least 20
// times and started again on the same state dir. At the end the execution
// is COMPLETED, every node's line is present, and no node ran again after
// its COMPLETED record: the attempt of every line of a node is at most the
// attempt its COMPLETED record names.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "dag/parser.hpp"
#include "dag/record_codec.hpp"
#include "store/lmdb_store.hpp"

extern char** environ;

namespace {

using nlohmann::json;

constexpr int kKills = 20;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "exec-crash-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// root -> 24 "fan" nodes -> 24 "join" nodes (each on two fan nodes) -> sink.
std::string crash_spec() {
  const std::string work = "echo \"$SUP_IDEMPOTENCY_KEY\" >> \"$SUP_PARAM_log\" && sleep 0.3";
  auto node = [&](std::string id, std::vector<std::string> deps) {
    return json{{"id", id}, {"deps", deps}, {"run", {{"exec", {work}}, {"shell", true}}}};
  };
  json nodes = json::array({node("root", {})});
  std::vector<std::string> joins;
  for (int i = 0; i < 24; ++i) nodes.push_back(node("fan" + std::to_string(i), {"root"}));
  for (int i = 0; i < 24; ++i) {
    joins.push_back("join" + std::to_string(i));
    nodes.push_back(
        node(joins.back(), {"fan" + std::to_string(i), "fan" + std::to_string((i + 1) % 24)}));
  }
  nodes.push_back(node("sink", joins));
  REQUIRE(nodes.size() == 50);
  return json{{"name", "crash"}, {"max_parallel", 8}, {"nodes", nodes}}.dump();
}

pid_t spawn_driver(const std::vector<std::string>& args, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

// The exit status, or -1 if it was still running after `limit` (then killed).
int await_exit(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("kill -9 at random moments: COMPLETED, every node ran, none after its COMPLETED") {
  TempDir dir;
  std::filesystem::path spec_path = dir.path / "spec.json";
  std::ofstream(spec_path) << crash_spec();
  std::filesystem::path log = dir.path / "nodes.log";
  std::filesystem::path state = dir.path / "state";
  std::filesystem::path driver_log = dir.path / "driver.log";
  std::vector<std::string> args{SUP_CRASH_DRIVER, state.string(), spec_path.string(),
                                json{{"log", log.string()}}.dump(), "crash-1"};

  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(20, 300);
  int kills = 0;
  int finished_early = 0;
  while (kills < kKills) {
    pid_t pid = spawn_driver(args, driver_log);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      // Finished before the kill: the execution is done, stop killing.
      ++finished_early;
      break;
    }
    REQUIRE(kill(pid, SIGKILL) == 0);
    REQUIRE(waitpid(pid, &status, 0) == pid);
    ++kills;
  }
  MESSAGE("kills: " << kills << ", finished before a kill: " << finished_early);
  // The kills must have hit the execution mid-run, else this proves nothing.
  CHECK(kills >= kKills);

  pid_t last = spawn_driver(args, driver_log);
  int exit_status = await_exit(last, std::chrono::seconds(90));
  if (exit_status != 0) {
    std::ifstream in(driver_log);
    std::stringstream text;
    text << in.rdbuf();
    std::string tail = text.str().substr(text.str().size() > 4000 ? text.str().size() - 4000 : 0);
    FAIL("the final driver run ended with " << exit_status << "; its log ends with:\n" << tail);
  }

  // The durable history: the attempt of each node's COMPLETED record.
  auto store = sup::store::LmdbCheckpointStore::open({.path = state / "store"});
  REQUIRE_MESSAGE(store, (store ? "" : store.error().describe()));
  auto records = (*store)->read_execution("crash-1");
  REQUIRE(records);
  REQUIRE(!records->empty());
  auto spec = sup::dag::parse_dag(records->front().payload);
  REQUIRE(spec);
  std::map<std::string, std::uint32_t> completed_attempt;
  std::string final_state;
  for (std::size_t i = 1; i < records->size(); ++i) {
    auto record = sup::dag::decode_record_payload(*spec, (*records)[i].payload, i);
    REQUIRE(record);
    if (!record->node) {
      final_state = sup::dag::to_string(record->execution_to);
      continue;
    }
    if (record->node_to == sup::dag::NodeState::Completed) {
      const std::string& id = spec->nodes[*record->node].id;
      CHECK_MESSAGE(completed_attempt.count(id) == 0, id << " recorded COMPLETED twice");
      completed_attempt[id] = record->attempt;
    }
  }
  CHECK(final_state == "COMPLETED");
  CHECK(completed_attempt.size() == 50);

  // Lines: "crash-1/<node>/<attempt>".
  std::map<std::string, std::uint32_t> highest_line_attempt;
  std::size_t lines = 0;
  std::size_t reruns = 0;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    ++lines;
    auto first = line.find('/');
    auto second = line.rfind('/');
    REQUIRE(first != std::string::npos);
    REQUIRE(second > first);
    CHECK(line.substr(0, first) == "crash-1");
    std::string node = line.substr(first + 1, second - first - 1);
    std::uint32_t attempt = static_cast<std::uint32_t>(std::stoul(line.substr(second + 1)));
    if (attempt > 1) ++reruns;
    auto& highest = highest_line_attempt[node];
    highest = std::max(highest, attempt);
  }
  MESSAGE("node lines: " << lines << ", of attempts after the first: " << reruns);
  for (const auto& [node, attempt] : completed_attempt) {
    CAPTURE(node);
    REQUIRE(highest_line_attempt.count(node) == 1);
    // Ran as the attempt recorded COMPLETED, and never after it.
    CHECK(highest_line_attempt[node] == attempt);
  }
}
