// The runtime end to end inside one process: real actors, real processes,
// the drills. Waits poll with generous deadlines (CI machines are slow).
#include "sup/runtime.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/test_hooks.hpp"

using namespace sup;
using namespace std::chrono_literals;

namespace {

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

ChildSpec drill(std::string id, DrillKind kind, std::uint32_t ms = 50) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.kind = ChildKind::Drill;
  spec.drill = {.kind = kind, .ms = ms, .p = 0.5};
  spec.backoff = {.initial_ms = 10, .max_ms = 80, .multiplier = 2.0, .reset_after_ms = 60'000};
  spec.crash_loop = {.max_failures = 0, .window_ms = 1'000};
  spec.shutdown_timeout_ms = 300;
  return spec;
}

ChildSpec process(std::string id, std::vector<std::string> argv) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.kind = ChildKind::Process;
  spec.process.argv = std::move(argv);
  spec.shutdown_timeout_ms = 2'000;
  return spec;
}

ChildSpec task(std::string id, std::string name) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.kind = ChildKind::Task;
  spec.task = std::move(name);
  return spec;
}

std::optional<ChildRuntimeRecord> find_record(const SupervisorState& state, std::string_view id) {
  for (const auto& record : state.child_runtime_records)
    if (record.id == id) return record;
  return std::nullopt;
}

// The queries answer within the default 10 s in these tests; an error is a
// failure of the test, reported as such.
SupervisorState state_of(const Handle& h) {
  auto state = h.current_state();
  REQUIRE_MESSAGE(state.has_value(), (state ? "" : state.error().describe()));
  return std::move(state).value();
}

Health health_of(const Handle& h) {
  auto health = h.health();
  REQUIRE_MESSAGE(health.has_value(), (health ? "" : health.error().describe()));
  return std::move(health).value();
}

std::unique_ptr<Runtime> start(RuntimeOptions options) {
  options.jitter_seed = 11;
  options.worker_threads = 4;
  auto runtime = Runtime::start(std::move(options));
  REQUIRE_MESSAGE(runtime.has_value(), (runtime ? "" : runtime.error().describe()));
  return std::move(*runtime);
}

CommandMeta meta(std::string id) {
  return {std::move(id), "runtime_test", "testing"};
}

RuntimeOptions idle_task_options() {
  RuntimeOptions options;
  options.tasks.add("idle",
                    {.start = [](TaskContext& ctx) { ctx.set_readiness(Readiness::Ready); }});
  return options;
}

}  // namespace

TEST_CASE("a crashing child restarts with growing backoff until its budget is gone") {
  RuntimeOptions options = idle_task_options();
  auto crasher = drill("crasher", DrillKind::CrashAfter, 20);
  crasher.budget = {.capacity = 3, .refill_per_sec = 0};
  options.root.children = {task("steady", "idle"), crasher};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();

  std::mutex mutex;
  std::vector<std::uint64_t> ceilings;
  std::vector<std::uint64_t> sequences;
  auto subscription = h.subscribe_events(
      [&](const Event& e) {
        std::lock_guard lock(mutex);
        sequences.push_back(e.sequence);
        if (e.event_type == "child_restarting")
          ceilings.push_back(std::stoull(e.payload.at("backoff_ceiling_ms")));
      },
      0);
  REQUIRE(subscription.has_value());
  REQUIRE(eventually([&] {
    auto record = find_record(state_of(h), "crasher");
    return record && record->state == ChildState::Quarantined;
  }));
  auto state = state_of(h);
  auto record = *find_record(state, "crasher");
  CHECK(record.restart_count == 3);
  CHECK(record.restart_budget.tokens == 0);
  CHECK(record.last_exit->kind == TaskExit::Failed);
  CHECK(record.last_exit->reason.find("crash_after") != std::string::npos);
  CHECK(state.children.quarantined == 1);
  CHECK(state.children.running == state.children.target_count);
  {
    std::lock_guard lock(mutex);
    CHECK(ceilings == std::vector<std::uint64_t>{10, 20, 40});
    for (std::size_t i = 1; i < sequences.size(); ++i) CHECK(sequences[i] == sequences[i - 1] + 1);
  }
  std::this_thread::sleep_for(200ms);  // not restarted again
  CHECK(find_record(state_of(h), "crasher")->restart_count == 3);
  CHECK(health_of(h).status == "degraded");

  CHECK(h.release_child("crasher", meta("r1")).kind == CommandResult::Accepted);
  CHECK(eventually([&] { return find_record(state_of(h), "crasher")->restart_count > 3; }));
}

TEST_CASE("commands: NotFound, Rejected for blank fields, idempotent by command_id") {
  RuntimeOptions options = idle_task_options();
  options.root.children = {task("a", "idle"), task("b", "idle")};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();

  CHECK(h.remove_child("nope", meta("c0")).kind == CommandResult::NotFound);
  CHECK(h.remove_child("a", {"c1", "", "why"}).kind == CommandResult::Rejected);
  auto removed = h.remove_child("b", meta("c2"));
  CHECK(removed.kind == CommandResult::Accepted);
  CHECK_FALSE(removed.idempotent);
  auto repeated = h.remove_child("b", meta("c2"));
  CHECK(repeated.kind == CommandResult::Accepted);
  CHECK(repeated.idempotent);
  REQUIRE(eventually([&] { return state_of(h).child_runtime_records.size() == 1; }));
  auto state = state_of(h);
  CHECK(state.children.running == 1);
  CHECK(state.children.running == state.children.target_count);

  ChildSpec added = task("c", "idle");
  CHECK(h.add_child(added, meta("c3")).kind == CommandResult::Accepted);
  CHECK(h.add_child(task("d", "unregistered"), meta("c4")).kind == CommandResult::Rejected);
  CHECK(eventually([&] { return state_of(h).children.running == 2; }));
}

TEST_CASE("a blocking child is named within a second and quarantine isolates it") {
  RuntimeOptions options = idle_task_options();
  options.blocking_threshold_ms = 300;
  options.root.children = {task("steady", "idle"), drill("blocker", DrillKind::BlockForever)};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();

  auto started = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] {
    auto health = health_of(h);
    return health.status == "degraded" && health.suspects == std::vector<std::string>{"blocker"};
  }));
  CHECK(std::chrono::steady_clock::now() - started < 3s);  // generous: the target is 1 s
  auto health = health_of(h);
  CHECK(health.iterations_per_sec > 0);
  CHECK(health.control_loop_iterations > 0);

  CHECK(h.quarantine_child("blocker", meta("q1")).kind == CommandResult::Accepted);
  CHECK(find_record(state_of(h), "blocker")->state == ChildState::Quarantined);
  CHECK(eventually([&] { return health_of(h).suspects.empty(); }));
  CHECK(find_record(state_of(h), "steady")->state == ChildState::Running);
}

TEST_CASE("a child that ignores cancellation cannot hang shutdown") {
  RuntimeOptions options = idle_task_options();
  options.root.children = {task("steady", "idle"), drill("stubborn", DrillKind::IgnoreCancel)};
  auto runtime = start(std::move(options));
  // Both running: the shutdown must stop a stubborn child, not one still starting.
  REQUIRE(eventually([&] {
    const auto state = state_of(runtime->handle());
    const auto steady = find_record(state, "steady");
    const auto stubborn = find_record(state, "stubborn");
    return steady && steady->state == ChildState::Running && stubborn &&
           stubborn->state == ChildState::Running;
  }));
  std::vector<ShutdownPhase> phases;
  auto began = std::chrono::steady_clock::now();
  runtime->shutdown([&](ShutdownPhase p) { phases.push_back(p); });
  CHECK(std::chrono::steady_clock::now() - began < 5s);
  CHECK(phases ==
        std::vector<ShutdownPhase>{ShutdownPhase::Draining, ShutdownPhase::StoppingChildren,
                                   ShutdownPhase::FlushingState, ShutdownPhase::Completed});
}

TEST_CASE("process children: exit status, panics and pids are recorded") {
  RuntimeOptions options;
  auto failing = process("failing", {"/bin/sh", "-c", "echo starting; exit 3"});
  failing.restart = RestartType::Temporary;
  auto sleeper = process("sleeper", {"sleep", "30"});
  auto panicking = drill("panicking", DrillKind::Panic, 10);
  panicking.restart = RestartType::Temporary;
  options.root.children = {failing, sleeper, panicking};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();

  REQUIRE(eventually([&] {
    auto state = state_of(h);
    return find_record(state, "failing")->state == ChildState::Failed &&
           find_record(state, "panicking")->state == ChildState::Failed;
  }));
  auto state = state_of(h);
  CHECK(find_record(state, "failing")->last_exit->reason == "exit status 3");
  auto panic = find_record(state, "panicking")->last_exit;
  CHECK(panic->kind == TaskExit::Panicked);
  CHECK(panic->reason.find("drill.panic") != std::string::npos);
  CHECK(find_record(state, "sleeper")->pid.has_value());

  CHECK(h.kill_child("sleeper", meta("k1")).kind == CommandResult::Accepted);
  CHECK(eventually([&] {
    auto record = find_record(state_of(h), "sleeper");
    return record->restart_count == 1 && record->last_exit &&
           record->last_exit->kind == TaskExit::Killed && record->state == ChildState::Running;
  }));
}

TEST_CASE("the root fuses when its intensity is exceeded") {
  RuntimeOptions options;
  options.root.intensity = 2;
  options.root.period_ms = 10'000;
  auto crasher = drill("crasher", DrillKind::CrashAfter, 5);
  crasher.backoff = {.initial_ms = 0, .max_ms = 0, .multiplier = 1.0, .reset_after_ms = 60'000};
  options.root.children = {crasher};
  auto runtime = start(std::move(options));
  auto outcome = runtime->wait(10s);
  REQUIRE(outcome.has_value());
  CHECK(outcome->kind == RunOutcome::Fused);
  CHECK(outcome->reason.find("intensity exceeded") == 0);
}

TEST_CASE("start refuses an unregistered task name, naming the field") {
  RuntimeOptions options;
  options.root.children = {task("a", "missing")};
  auto runtime = Runtime::start(std::move(options));
  REQUIRE_FALSE(runtime.has_value());
  CHECK(runtime.error().field_path == "children[0].task");
}

TEST_CASE(
    "the endpoint is known by its kind: a child called relay is any child, the endpoint is kept") {
  RuntimeOptions options = idle_task_options();
  std::optional<Handle> relay_handle;
  options.endpoint_factory = [&](Handle handle) {
    relay_handle = handle;
    return TaskDefinition{.start = [](TaskContext& ctx) { ctx.set_readiness(Readiness::Ready); }};
  };
  ChildSpec link;
  link.id = "link";
  link.kind = ChildKind::Endpoint;
  options.root.children = {link};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();

  // A library user's process child may be called "relay".
  CHECK(h.add_child(process("relay", {"/bin/sleep", "30"}), meta("add")).kind ==
        CommandResult::Accepted);
  REQUIRE(eventually([&] {
    auto record = find_record(state_of(h), "relay");
    return record && record->state == ChildState::Running && record->pid;
  }));
  CHECK(h.pause_child("relay", meta("pause")).kind == CommandResult::Accepted);
  CHECK(h.resume_child("relay", meta("resume")).kind == CommandResult::Accepted);
  CHECK(h.remove_child("relay", meta("remove")).kind == CommandResult::Accepted);
  CHECK(eventually([&] { return !find_record(state_of(h), "relay"); }));

  // The control endpoint (here "link") serves the commands' socket: nothing
  // could resume it once paused or quarantined, so those are refused.
  for (auto refused : {h.pause_child("link", meta("p")), h.quarantine_child("link", meta("q")),
                       h.remove_child("link", meta("r"))}) {
    CHECK(refused.kind == CommandResult::Rejected);
    CHECK(refused.reason.find("child link is the control endpoint") != std::string::npos);
  }
  REQUIRE(eventually([&] {
    auto record = find_record(state_of(h), "link");
    return record && record->state == ChildState::Running;
  }));
  REQUIRE(relay_handle);
  relay_handle->report_endpoint_status({EndpointLink::Connected, 2});
  CHECK(eventually([&] {
    return health_of(h).endpoint == EndpointStatus{EndpointLink::Connected, 2};
  }));
  CHECK(h.restart_child("link", meta("restart")).kind == CommandResult::Accepted);
  // A new incarnation has said nothing yet.
  CHECK(eventually([&] { return health_of(h).endpoint == EndpointStatus{}; }));
}

TEST_CASE("health counts control-loop passes (ticks, exits, commands), not queries") {
  RuntimeOptions options = idle_task_options();
  options.tick_ms = 10;
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();
  std::uint64_t before = health_of(h).control_loop_iterations;
  for (int i = 0; i < 2000; ++i) (void)health_of(h);
  std::uint64_t after = health_of(h).control_loop_iterations;
  // 2000 queries take well under their count in 10 ms ticks.
  CHECK(after - before < 2000);
  CHECK(eventually([&] { return health_of(h).control_loop_iterations > after; }));
  // A 10 ms tick: about 100 passes/s, whatever the query rate.
  CHECK(eventually([&] {
    double rate = health_of(h).iterations_per_sec;
    return rate > 20 && rate < 150;
  }));
}

TEST_CASE(
    "an audit log that cannot be written: degraded, counted, commands refused, then resumed") {
  auto dir =
      std::filesystem::temp_directory_path() / ("runtime_test_audit." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto audit_path = dir / "audit.log";
  // Every write to /dev/full fails with ENOSPC: a full disk, without root.
  std::filesystem::create_symlink("/dev/full", audit_path);
  RuntimeOptions options = idle_task_options();
  options.root.children = {task("a", "idle")};
  options.audit_log_path = audit_path.string();
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();

  CHECK(h.restart_child("a", meta("first")).kind == CommandResult::Accepted);  // written later
  REQUIRE(eventually([&] { return health_of(h).status == "degraded"; }));
  Health health = health_of(h);
  CHECK(health.audit_write_failures >= 1);
  REQUIRE(health.reasons.size() == 1);
  CHECK(health.reasons[0].find(audit_path.string()) != std::string::npos);
  CHECK(health.reasons[0].find(std::strerror(ENOSPC)) != std::string::npos);
  auto refused = h.restart_child("a", meta("second"));
  CHECK(refused.kind == CommandResult::Rejected);
  CHECK(refused.reason.find("audit log") != std::string::npos);

  // Space is back: the next retry reopens the path, a regular file now.
  std::filesystem::remove(audit_path);
  REQUIRE(eventually([&] { return health_of(h).status == "ready"; }));
  CHECK(h.restart_child("a", meta("third")).kind == CommandResult::Accepted);
  runtime->shutdown();
  std::ifstream in(audit_path);
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    for (const char* id : {"\"first\"", "\"second\"", "\"third\""})
      if (line.find(id) != std::string::npos) ids.push_back(id);
  }
  CHECK(ids == std::vector<std::string>{"\"first\"", "\"second\"", "\"third\""});
  std::filesystem::remove_all(dir);
}

TEST_CASE("commands go on without an audit log when configured so; health still degrades") {
  RuntimeOptions options = idle_task_options();
  options.root.children = {task("a", "idle")};
  options.audit_log_path = "/dev/full";
  options.refuse_commands_without_audit = false;
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();
  CHECK(h.restart_child("a", meta("first")).kind == CommandResult::Accepted);
  REQUIRE(eventually([&] { return health_of(h).status == "degraded"; }));
  CHECK(h.restart_child("a", meta("second")).kind == CommandResult::Accepted);
}

TEST_CASE("a blocked control loop: queries answer ErrorCode::Timeout, no subscription from 0") {
  RuntimeOptions options = idle_task_options();
  options.root.children = {task("a", "idle"), task("b", "idle")};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();
  REQUIRE(eventually([&] { return state_of(h).children.running == 2; }));
  auto history = h.last_event_sequence();
  REQUIRE(history.has_value());
  REQUIRE(*history > 0);  // there is history a subscription from 0 would replay

  detail::TestHooks::set_call_timeout(h, 200ms);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocked;
  detail::TestHooks::run_on_control_loop(h, [&blocked, released] {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();

  auto state = h.current_state();
  REQUIRE_FALSE(state.has_value());
  CHECK(state.error().code == ErrorCode::Timeout);
  CHECK(state.error().message.find("did not answer within 200 ms") != std::string::npos);
  auto health = h.health();
  REQUIRE_FALSE(health.has_value());
  CHECK(health.error().code == ErrorCode::Timeout);
  auto last = h.last_event_sequence();
  REQUIRE_FALSE(last.has_value());
  CHECK(last.error().code == ErrorCode::Timeout);
  // A caller subscribing "from now" has no sequence to start after, and
  // must not fall back to 0: the subscription itself is refused too.
  std::atomic<int> late_events{0};
  auto late = h.subscribe_events([&late_events](const Event&) { ++late_events; }, 0);
  REQUIRE_FALSE(late.has_value());
  CHECK(late.error().code == ErrorCode::Timeout);
  CHECK(h.restart_child("a", meta("blocked-1")).kind == CommandResult::Rejected);

  release.set_value();
  detail::TestHooks::set_call_timeout(h, Handle::kCallTimeout);
  // The loop answers again; the timed-out subscribe job ran late and
  // subscribed nothing: history and new events never reach its callback.
  std::atomic<std::uint64_t> seen{0};
  auto watcher = h.subscribe_events([&seen](const Event& e) { seen = e.sequence; });
  REQUIRE(watcher.has_value());
  REQUIRE(h.restart_child("b", meta("after-1")).kind == CommandResult::Accepted);
  // The restart's events (b stopping, then starting again) come after the
  // answer, as the task ends: awaited, they reach the new subscriber.
  REQUIRE(eventually([&] {
    auto newest = h.last_event_sequence();
    return newest && *newest > *history && seen.load() == *newest;
  }));
  CHECK(late_events.load() == 0);
}

TEST_CASE("add_child refuses what the config refuses, with a field path") {
  RuntimeOptions options = idle_task_options();
  options.root.children = {task("a", "idle")};
  auto runtime = start(std::move(options));
  Handle h = runtime->handle();
  struct Case {
    ChildSpec spec;
    std::string field_path;
  };
  ChildSpec nul_arg = process("nul", {"/bin/sh", std::string("-c\0x", 4)});
  ChildSpec nul_env = process("env", {"/bin/true"});
  nul_env.process.env[std::string("A\0B", 3)] = "1";
  ChildSpec intense = process("intense", {"/bin/true"});
  intense.backoff.multiplier = std::numeric_limits<double>::infinity();
  ChildSpec slow = task("slow", "idle");
  slow.shutdown_timeout_ms = 4'000'000'000u;
  const Case cases[] = {
      {process("", {}), "spec.id"},
      {process("x/y", {"/bin/true"}), "spec.id"},
      {process("tab\tbed", {"/bin/true"}), "spec.id"},
      {process("empty-argv", {}), "spec.exec"},
      {process("empty-program", {""}), "spec.exec[0]"},
      {process("missing", {"/nonexistent/sup-test-binary"}), "spec.exec[0]"},
      {process("unknown", {"sup-test-no-such-program-in-path"}), "spec.exec[0]"},
      {nul_arg, "spec.exec[1]"},
      {nul_env, "spec.env.A" + std::string(1, '\0') + "B"},
      {intense, "spec.backoff.multiplier"},
      {slow, "spec.shutdown_timeout_ms"},
  };
  int n = 0;
  for (const auto& c : cases) {
    CAPTURE(c.field_path);
    auto result = h.add_child(c.spec, meta("bad-" + std::to_string(n++)));
    CHECK(result.kind == CommandResult::Rejected);
    CHECK(result.reason.find("field_path=\"" + c.field_path + "\"") == 0);
  }
  CHECK(state_of(h).child_runtime_records.size() == 1);  // nothing was added
  CHECK(h.add_child(process("fine", {"sleep", "30"}), meta("good")).kind ==
        CommandResult::Accepted);
  CHECK(h.restart_child(std::string(100'000, 'x'), meta("long-target"))
            .reason.find("field_path=\"target\"") == 0);
  CHECK(h.restart_child("a", {"c", "me", std::string(900'000, 'r')})
            .reason.find("field_path=\"reason\"") == 0);
}

TEST_CASE("start refuses bad specs with the same check, nesting included") {
  auto refused = [](ChildSpec child) {
    RuntimeOptions options;
    options.root.children = {std::move(child)};
    auto runtime = Runtime::start(std::move(options));
    REQUIRE_FALSE(runtime.has_value());
    CHECK(runtime.error().code == ErrorCode::InvalidArgument);
    return runtime.error().field_path;
  };
  CHECK(refused(process("", {"/bin/true"})) == "children[0].id");
  CHECK(refused(process("p", {})) == "children[0].exec");

  // 5,000 supervisors deep: refused at the limit, without recursing further.
  ChildSpec deep;
  deep.id = "s0";
  deep.kind = ChildKind::Supervisor;
  ChildSpec* innermost = &deep;
  for (int i = 1; i < 5'000; ++i) {
    innermost->children.resize(1);
    innermost = &innermost->children[0];
    innermost->id = "s" + std::to_string(i);
    innermost->kind = ChildKind::Supervisor;
  }
  std::string path = refused(std::move(deep));
  std::string expected = "children[0]";
  for (int i = 1; i <= 64; ++i) expected += ".children[0]";
  CHECK(path == expected);
}
