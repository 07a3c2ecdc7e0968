// ExecutionService against a real LMDB store and real `sh -c` processes: a
// fan-out/fan-in DAG runs to COMPLETED with results passed between nodes, a
// repeated client-chosen id returns the first execution, and a service
// stopped mid-run resumes the execution from its durable history.
#include "executions/execution_service.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace sup::executions;
using nlohmann::json;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "exec-svc-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Committed states, as the service reports them.
struct StateWatch {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::string> finished;

  void on_state(const std::string& id, std::string_view state, bool done) {
    if (!done) return;
    {
      std::lock_guard lock(mutex);
      finished[id] = std::string(state);
    }
    changed.notify_all();
  }
  void forget(const std::string& id) {
    std::lock_guard lock(mutex);
    finished.erase(id);
  }
  // The final state, or "" if none came within the (generous) deadline.
  std::string await_finished(const std::string& id) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::seconds(60), [&] { return finished.count(id) > 0; });
    auto it = finished.find(id);
    return it == finished.end() ? "" : it->second;
  }
};

ExecutionServiceOptions options_for(const TempDir& dir, StateWatch& watch) {
  ExecutionServiceOptions options;
  options.state_dir = dir.path;
  options.store_max_bytes = 64u << 20;
  options.max_parallel_nodes = 4;
  options.stop_grace = std::chrono::milliseconds(200);
  options.on_state_durable = [&watch](const std::string& id, std::string_view state, bool done) {
    watch.on_state(id, state, done);
  };
  return options;
}

json shell_node(std::string id, std::vector<std::string> deps, std::string script) {
  return {{"id", id}, {"deps", deps}, {"run", {{"exec", {script}}, {"shell", true}}}};
}

// a -> (b1..b4) -> c; each appends its idempotency key to $SUP_PARAM_log;
// a publishes a result that b1 copies from its inputs.
std::string fan_spec() {
  const std::string append = "echo \"$SUP_IDEMPOTENCY_KEY\" >> \"$SUP_PARAM_log\"";
  json nodes = json::array();
  nodes.push_back(shell_node("a", {}, append + " && echo '{\"n\": 1}' > \"$SUP_OUTPUT\""));
  nodes.push_back(
      shell_node("b1", {"a"}, append + " && cat \"$SUP_INPUTS\" > \"$SUP_PARAM_copy\""));
  for (const char* id : {"b2", "b3", "b4"}) nodes.push_back(shell_node(id, {"a"}, append));
  nodes.push_back(shell_node("c", {"b1", "b2", "b3", "b4"}, append));
  return json{{"name", "fan"}, {"max_parallel", 3}, {"nodes", nodes}}.dump();
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Calls `start(callback)` and waits (generously) for the callback's value.
template <class T, class Start>
sup::Expected<T> wait_for(Start&& start) {
  auto promise = std::make_shared<std::promise<sup::Expected<T>>>();
  auto future = promise->get_future();
  start([promise](sup::Expected<T> value) { promise->set_value(std::move(value)); });
  REQUIRE(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  return future.get();
}

// Polls `condition` until it holds or a generous deadline passes.
bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace

TEST_CASE("a fan-out/fan-in DAG of shell nodes runs to COMPLETED, passing a result") {
  TempDir dir;
  StateWatch watch;
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE_MESSAGE(service, (service ? "" : service.error().describe()));
  CHECK((*service)->resume_report().resumed == 0);

  json params{{"log", (dir.path / "log").string()}, {"copy", (dir.path / "copy").string()}};
  auto ack =
      submit_and_wait(**service, {.spec = fan_spec(), .params = params, .execution_id = "fan-1"});
  REQUIRE_MESSAGE(ack, (ack ? "" : ack.error().describe()));
  CHECK(ack->execution_id == "fan-1");
  CHECK_FALSE(ack->existing);
  // Acknowledged after the PENDING record committed: the store knows it.
  auto info = (*service)->get("fan-1");
  REQUIRE(info);

  CHECK(watch.await_finished("fan-1") == "COMPLETED");
  info = (*service)->get("fan-1");
  REQUIRE(info);
  CHECK(info->state == "COMPLETED");
  CHECK(info->finished);

  std::vector<std::string> lines = lines_of(dir.path / "log");
  REQUIRE(lines.size() == 6);
  CHECK(lines.front() == "fan-1/a/1");  // the root first
  CHECK(lines.back() == "fan-1/c/1");   // the join last
  CHECK(json::parse(read_all(dir.path / "copy")) == json{{"a", {{"n", 1}}}});

  SUBCASE("a repeated execution id returns the first execution and runs nothing") {
    auto again =
        submit_and_wait(**service, {.spec = fan_spec(), .params = params, .execution_id = "fan-1"});
    REQUIRE(again);
    CHECK(again->execution_id == "fan-1");
    CHECK(again->existing);
    CHECK(lines_of(dir.path / "log").size() == 6);
  }
}

TEST_CASE("a repeated execution id after a restart returns the first execution") {
  TempDir dir;
  StateWatch watch;
  json params{{"log", (dir.path / "log").string()}, {"copy", (dir.path / "copy").string()}};
  {
    auto service = ExecutionService::start(options_for(dir, watch));
    REQUIRE(service);
    REQUIRE(
        submit_and_wait(**service, {.spec = fan_spec(), .params = params, .execution_id = "x"}));
    REQUIRE(watch.await_finished("x") == "COMPLETED");
  }
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  CHECK((*service)->resume_report().resumed == 0);  // finished: nothing to resume
  auto again =
      submit_and_wait(**service, {.spec = fan_spec(), .params = params, .execution_id = "x"});
  REQUIRE(again);
  CHECK(again->existing);
  CHECK(lines_of(dir.path / "log").size() == 6);
}

TEST_CASE("an invalid spec or execution id is refused with the field path") {
  TempDir dir;
  StateWatch watch;
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  auto bad_spec = submit_and_wait(**service, {.spec = R"({"nodes":[{"id":"a"}]})"});
  REQUIRE_FALSE(bad_spec);
  CHECK(bad_spec.error().code == sup::ErrorCode::InvalidArgument);  // dag::kSpecErrorCode
  CHECK(bad_spec.error().field_path == "nodes[0].run");
  auto bad_id = submit_and_wait(**service, {.spec = fan_spec(), .execution_id = "a/b"});
  REQUIRE_FALSE(bad_id);
  CHECK(bad_id.error().field_path == "execution_id");
}

TEST_CASE("a service stopped mid-run resumes the execution; completed nodes never run again") {
  TempDir dir;
  StateWatch watch;
  std::filesystem::path gate = dir.path / "gate";
  // b waits for the gate file: the first service is stopped while b runs.
  const std::string append = "echo \"$SUP_IDEMPOTENCY_KEY\" >> \"$SUP_PARAM_log\"";
  json nodes = json::array({shell_node("a", {}, append),
                            shell_node("b", {"a"},
                                       append + " && while [ ! -e \"$SUP_PARAM_gate\" ]; do sleep "
                                                "0.05; done"),
                            shell_node("c", {"b"}, append)});
  std::string spec = json{{"nodes", nodes}}.dump();
  json params{{"log", (dir.path / "log").string()}, {"gate", gate.string()}};
  {
    auto service = ExecutionService::start(options_for(dir, watch));
    REQUIRE(service);
    REQUIRE(submit_and_wait(**service, {.spec = spec, .params = params, .execution_id = "r"}));
    // Await b's first attempt (its line), then stop the service under it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (lines_of(dir.path / "log").size() < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(lines_of(dir.path / "log").size() == 2);
  }
  { std::ofstream(gate.string()) << "open"; }
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  CHECK((*service)->resume_report().resumed == 1);
  CHECK(watch.await_finished("r") == "COMPLETED");
  // a once; b again as its next attempt; c once.
  CHECK(lines_of(dir.path / "log") == std::vector<std::string>{"r/a/1", "r/b/1", "r/b/2", "r/c/1"});
}

TEST_CASE("a failed attempt is retried; a timed-out one is killed and fails the execution") {
  TempDir dir;
  StateWatch watch;
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  json params{{"log", (dir.path / "log").string()}};
  const std::string append = "echo \"$SUP_IDEMPOTENCY_KEY\" >> \"$SUP_PARAM_log\"";

  json flaky = shell_node("flaky", {}, append + " && [ \"$SUP_ATTEMPT\" -ge 2 ]");
  flaky["retry"] = {{"max_attempts", 3}, {"initial_ms", 0}};
  REQUIRE(submit_and_wait(
      **service,
      {.spec = json{{"nodes", {flaky}}}.dump(), .params = params, .execution_id = "flaky"}));
  CHECK(watch.await_finished("flaky") == "COMPLETED");
  CHECK(lines_of(dir.path / "log") == std::vector<std::string>{"flaky/flaky/1", "flaky/flaky/2"});

  // SIGTERM is ignored by the script: SIGKILL after the grace period ends it.
  json slow = shell_node("slow", {}, "trap '' TERM; sleep 30");
  slow["timeout_ms"] = 100;
  slow["retry"] = {{"max_attempts", 1}};
  json after = shell_node("after", {"slow"}, append);
  auto started = std::chrono::steady_clock::now();
  REQUIRE(submit_and_wait(
      **service,
      {.spec = json{{"nodes", {slow, after}}}.dump(), .params = params, .execution_id = "slow"}));
  CHECK(watch.await_finished("slow") == "FAILED");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  CHECK(lines_of(dir.path / "log").size() == 2);  // `after` was skipped
}

namespace {

template <class T>
sup::Expected<T> await_callback(
    const std::function<void(std::function<void(sup::Expected<T>)>)>& call) {
  std::promise<sup::Expected<T>> promise;
  auto future = promise.get_future();
  call([&promise](sup::Expected<T> value) { promise.set_value(std::move(value)); });
  REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  return future.get();
}

sup::Expected<ControlAck> control_and_wait(ExecutionService& service, const std::string& id,
                                           ControlAction action) {
  return await_callback<ControlAck>(
      [&](auto done) { service.control(id, action, "operator test", std::move(done)); });
}

}  // namespace

TEST_CASE("pause, resume, cancel; transitions reported after commit; describe and node output") {
  TempDir dir;
  StateWatch watch;
  ExecutionServiceOptions options = options_for(dir, watch);
  std::mutex mutex;
  std::vector<TransitionEvent> transitions;
  options.on_transition = [&](const TransitionEvent& t) {
    std::lock_guard lock(mutex);
    transitions.push_back(t);
  };
  auto service = ExecutionService::start(options);
  REQUIRE_MESSAGE(service, service.error().describe());
  json spec = {{"nodes",
                {shell_node("a", {}, "echo out-a; echo err-a >&2; sleep 0.3"),
                 shell_node("b", {"a"}, "echo out-b")}}};
  auto ack = submit_and_wait(**service, {.spec = spec.dump(), .execution_id = "ctl-1"});
  REQUIRE_MESSAGE(ack, ack.error().describe());

  auto paused = control_and_wait(**service, "ctl-1", ControlAction::Pause);
  REQUIRE_MESSAGE(paused, paused.error().describe());
  CHECK(paused->changed);
  CHECK(paused->state == "PAUSED");
  // Acknowledged after commit: the store already says PAUSED.
  CHECK((*service)->get("ctl-1")->state == "PAUSED");
  auto again = control_and_wait(**service, "ctl-1", ControlAction::Pause);
  REQUIRE(again);
  CHECK_FALSE(again->changed);
  CHECK(!again->reason.empty());

  // Paused: a finishes, b does not start.
  for (int i = 0; i < 300; ++i) {
    auto view = (*service)->describe("ctl-1");
    REQUIRE(view);
    if (view->nodes[0].state == "COMPLETED") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto view = (*service)->describe("ctl-1");
  REQUIRE(view);
  CHECK(view->nodes[0].state == "COMPLETED");
  CHECK(view->nodes[0].attempt == 1);
  CHECK(view->nodes[1].state != "RUNNING");
  CHECK(view->nodes[1].state != "COMPLETED");

  auto resumed = control_and_wait(**service, "ctl-1", ControlAction::Resume);
  REQUIRE(resumed);
  CHECK(resumed->changed);
  CHECK(watch.await_finished("ctl-1") == "COMPLETED");

  auto output = (*service)->node_output("ctl-1", "a", 10);
  REQUIRE_MESSAGE(output, output.error().describe());
  REQUIRE(output->lines.size() == 2);
  bool saw_out = false, saw_err = false;
  for (const OutputLine& line : output->lines) {
    CHECK(line.attempt == 1);
    saw_out |= !line.stderr_stream && line.text == "out-a";
    saw_err |= line.stderr_stream && line.text == "err-a";
  }
  CHECK(saw_out);
  CHECK(saw_err);
  CHECK((*service)->node_output("ctl-1", "zz", 10).error().code == sup::ErrorCode::NotFound);
  CHECK((*service)->describe("nope").error().code == sup::ErrorCode::NotFound);

  // Cancel: the running node is stopped, the execution ends FAILED.
  json slow = {
      {"nodes", {shell_node("long", {}, "sleep 30"), shell_node("after", {"long"}, "true")}}};
  REQUIRE(submit_and_wait(**service, {.spec = slow.dump(), .execution_id = "ctl-2"}));
  auto cancelled = control_and_wait(**service, "ctl-2", ControlAction::Cancel);
  REQUIRE_MESSAGE(cancelled, cancelled.error().describe());
  CHECK(cancelled->state == "FAILED");
  CHECK(watch.await_finished("ctl-2") == "FAILED");
  auto unknown = control_and_wait(**service, "ctl-9", ControlAction::Cancel);
  CHECK(unknown.error().code == sup::ErrorCode::NotFound);

  auto listed = (*service)->list({.state = "FAILED"});
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().execution_id == "ctl-2");
  CHECK((*service)->list({})->size() == 2);

  // Every committed transition was reported, in order, the first the start.
  std::lock_guard lock(mutex);
  REQUIRE(!transitions.empty());
  CHECK(transitions.front().execution_id == "ctl-1");
  CHECK(transitions.front().node_id.empty());
  CHECK(transitions.front().to_state == "RUNNING");
  bool paused_seen = false;
  for (const TransitionEvent& t : transitions)
    paused_seen |= t.execution_id == "ctl-1" && t.node_id.empty() && t.to_state == "PAUSED";
  CHECK(paused_seen);
}

TEST_CASE("execution ids starting with '.' are refused (they name directories)") {
  TempDir dir;
  StateWatch watch;
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  json spec = {{"nodes", {shell_node("a", {}, "true")}}};
  auto refused = submit_and_wait(**service, {.spec = spec.dump(), .execution_id = ".."});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().field_path == "execution_id");
}

TEST_CASE("maintenance mode queues submissions, survives a restart, and releases them when off") {
  TempDir dir;
  StateWatch watch;
  json params{{"log", (dir.path / "log").string()}, {"copy", (dir.path / "copy").string()}};
  {
    auto service = ExecutionService::start(options_for(dir, watch));
    REQUIRE(service);
    CHECK_FALSE((*service)->maintenance().enabled);
    auto blank = wait_for<MaintenanceAck>([&](auto done) {
      (*service)->set_maintenance({true, " ", "ops"}, done);
    });
    REQUIRE_FALSE(blank);
    CHECK(blank.error().field_path == "reason");
    auto on = wait_for<MaintenanceAck>([&](auto done) {
      (*service)->set_maintenance({true, "state index rebuild", "ops@host"}, done);
    });
    REQUIRE_MESSAGE(on, (on ? "" : on.error().describe()));
    CHECK(on->changed);
    CHECK(on->mode.enabled);
    auto again = wait_for<MaintenanceAck>([&](auto done) {
      (*service)->set_maintenance({true, "twice", "ops@host"}, done);
    });
    REQUIRE(again);
    CHECK_FALSE(again->changed);
    CHECK(again->mode.reason == "state index rebuild");

    auto ack = submit_and_wait(**service,
                               {.spec = fan_spec(), .params = params, .execution_id = "queued"});
    REQUIRE(ack);
    auto view = (*service)->describe("queued");
    REQUIRE(view);
    CHECK(view->state == "PENDING");
    CHECK(view->records == 1);  // committed, not started
  }
  CHECK_FALSE(std::filesystem::exists(dir.path / "log"));
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  MaintenanceMode mode = (*service)->maintenance();
  CHECK(mode.enabled);
  CHECK(mode.reason == "state index rebuild");
  CHECK(mode.requested_by == "ops@host");
  CHECK(mode.changed_at_ns > 0);
  auto view = (*service)->describe("queued");
  REQUIRE(view);
  CHECK(view->state == "PENDING");
  CHECK(view->records == 1);
  auto off = wait_for<MaintenanceAck>([&](auto done) {
    (*service)->set_maintenance({false, "rebuild done", "ops@host"}, done);
  });
  REQUIRE(off);
  CHECK(off->changed);
  CHECK(off->started == std::vector<std::string>{"queued"});
  CHECK(watch.await_finished("queued") == "COMPLETED");
  CHECK(lines_of(dir.path / "log").size() == 6);
}

TEST_CASE("retry --from re-runs the node and its descendants and keeps the other results") {
  TempDir dir;
  StateWatch watch;
  auto service = ExecutionService::start(options_for(dir, watch));
  REQUIRE(service);
  json params{{"log", (dir.path / "log").string()}, {"copy", (dir.path / "copy").string()}};
  REQUIRE(submit_and_wait(**service, {.spec = fan_spec(), .params = params, .execution_id = "r"}));
  REQUIRE(watch.await_finished("r") == "COMPLETED");
  watch.forget("r");

  auto unknown = wait_for<RetryAck>([&](auto done) { (*service)->retry({"r", "zz", ""}, done); });
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == sup::ErrorCode::NotFound);
  CHECK(unknown.error().field_path == "node_id");

  auto retried = wait_for<RetryAck>([&](auto done) {
    (*service)->retry({"r", "b1", "input fixed"}, done);
  });
  REQUIRE_MESSAGE(retried, (retried ? "" : retried.error().describe()));
  CHECK(retried->nodes == std::vector<std::string>{"b1", "c"});
  // Acknowledged after the commit: the store already says so.
  auto view = (*service)->describe("r");
  REQUIRE(view);
  CHECK_FALSE(view->finished);
  CHECK(watch.await_finished("r") == "COMPLETED");
  std::vector<std::string> lines = lines_of(dir.path / "log");
  REQUIRE(lines.size() == 8);
  CHECK(lines[6] == "r/b1/2");
  CHECK(lines[7] == "r/c/2");
  view = (*service)->describe("r");
  REQUIRE(view);
  CHECK(view->nodes[0].result == R"({"n":1})");  // a kept its result
  CHECK(view->nodes[0].attempt == 1);
  // b1 read a's kept result again.
  CHECK(json::parse(read_all(dir.path / "copy")) == json{{"a", {{"n", 1}}}});
}

TEST_CASE("a node that makes no progress is STUCK; resume-all after the fix brings it back") {
  TempDir dir;
  StateWatch watch;
  ExecutionServiceOptions options = options_for(dir, watch);
  options.stuck_after_ms = 300;
  auto service = ExecutionService::start(options);
  REQUIRE(service);
  std::string fixed = (dir.path / "fixed").string();
  json spec{{"nodes",
             {shell_node("hang", {},
                         "trap '' TERM; [ -f " + fixed +
                             " ] && exit 0; "
                             "while :; do sleep 0.05; done"),
              shell_node("after", {"hang"}, "true")}}};
  REQUIRE(submit_and_wait(**service, {.spec = spec.dump(), .execution_id = "s"}));
  std::vector<ExecutionInfo> stuck;
  REQUIRE(eventually([&] {
    auto listed = (*service)->list({.state = "STUCK"});
    REQUIRE(listed);
    stuck = *listed;
    return !stuck.empty();
  }));
  REQUIRE(stuck.size() == 1);
  CHECK(stuck[0].execution_id == "s");
  CHECK(stuck[0].state == "RUNNING");
  REQUIRE(stuck[0].stuck);
  CHECK(stuck[0].stuck->reason == StuckReason::RunningWithoutProgress);
  auto view = (*service)->describe("s");
  REQUIRE(view);
  REQUIRE(view->stuck);

  // The fix: a new attempt succeeds; the hung one stays hung until killed.
  std::ofstream(fixed).put('\n');
  auto resumed = wait_for<ResumeAllAck>([&](auto done) { (*service)->resume_all("", done); });
  REQUIRE(resumed);
  REQUIRE(resumed->executions.size() == 1);
  CHECK(resumed->executions[0].execution_id == "s");
  CHECK(resumed->executions[0].resumed);
  CHECK(resumed->resumed() == 1);
  CHECK(watch.await_finished("s") == "COMPLETED");
  view = (*service)->describe("s");
  REQUIRE(view);
  CHECK(view->nodes[0].attempt == 2);
  CHECK_FALSE(view->stuck);
  auto none = (*service)->list({.state = "STUCK"});
  REQUIRE(none);
  CHECK(none->empty());
}
