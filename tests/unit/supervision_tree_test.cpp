#include "supervisor/supervision_tree.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace sup;
using namespace sup::core;

namespace {

ChildSpec worker(std::string id, RestartType restart = RestartType::Permanent) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.kind = ChildKind::Task;
  spec.restart = restart;
  spec.backoff = {.initial_ms = 0, .max_ms = 0, .multiplier = 2.0, .reset_after_ms = 60'000};
  spec.budget = {.capacity = 100, .refill_per_sec = 0};
  spec.crash_loop = {.max_failures = 0, .window_ms = 1'000};
  spec.shutdown_timeout_ms = 1'000;
  return spec;
}

TaskExit failed(std::string why = "boom") {
  return {TaskExit::Failed, std::move(why), 0};
}

// Drives a tree the way the actor shell does and records what it was asked to do.
struct Harness {
  explicit Harness(SupervisorSpec root) : tree(std::move(root), {.jitter_seed = 3}, now) {
    tree.start(now);
    drain();
  }

  void drain() {
    for (auto& effect : tree.take_effects()) {
      if (auto* start = std::get_if<StartIncarnation>(&effect)) {
        log.push_back("start " + tree.id(start->node));
      } else if (auto* stop = std::get_if<StopIncarnation>(&effect)) {
        log.push_back("stop " + tree.id(stop->node));
      } else if (auto* kill = std::get_if<KillIncarnation>(&effect)) {
        log.push_back("kill " + tree.id(kill->node));
      } else if (auto* event = std::get_if<EmitEvent>(&effect)) {
        events.push_back(event->event.event_type + " " + event->event.child_id);
      } else if (auto* stopped = std::get_if<TreeStopped>(&effect)) {
        log.push_back(stopped->fused ? "fused: " + stopped->reason : "tree stopped");
      }
    }
  }
  NodeIndex node(const std::string& id) { return *tree.find(id); }
  void exit(const std::string& id, TaskExit how) {
    tree.on_exit(node(id), tree.generation(node(id)), how, now);
    drain();
  }
  // The child acknowledges a cooperative stop.
  void stopped(const std::string& id) { exit(id, {TaskExit::Cancelled, "", 0}); }
  void advance(std::int64_t ms) {
    now.mono_ms += ms;
    now.unix_ms += ms;
    tree.on_tick(now);
    drain();
  }
  ChildState state(const std::string& id) { return tree.record(node(id), now).state; }
  std::vector<std::string> take_log() { return std::exchange(log, {}); }
  CommandResult run(CommandResult result) {
    drain();
    return result;
  }

  Now now{1'000'000, 1'700'000'000'000};
  SupervisionTree tree;
  std::vector<std::string> log;
  std::vector<std::string> events;
};

SupervisorSpec tree_of(Strategy strategy, std::vector<ChildSpec> children) {
  SupervisorSpec root;
  root.strategy = strategy;
  root.intensity = 100;
  root.period_ms = 1'000;
  root.children = std::move(children);
  return root;
}

using Log = std::vector<std::string>;

}  // namespace

TEST_CASE("children start in declaration order and stop in reverse, one at a time") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), worker("b"), worker("c")}));
  CHECK(h.take_log() == Log{"start a", "start b", "start c"});
  CHECK(h.run(h.tree.shutdown_tree(h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"stop c"});
  h.stopped("c");
  CHECK(h.take_log() == Log{"stop b"});
  h.stopped("b");
  CHECK(h.take_log() == Log{"stop a"});
  h.stopped("a");
  CHECK(h.take_log() == Log{"tree stopped"});
  CHECK(h.state("a") == ChildState::Stopped);
}

TEST_CASE("a child that ignores its stop is killed at its shutdown timeout") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), worker("b")}));
  h.take_log();
  h.run(h.tree.shutdown_tree(h.now));
  CHECK(h.take_log() == Log{"stop b"});
  h.advance(999);
  CHECK(h.take_log().empty());
  h.advance(1);
  CHECK(h.take_log() == Log{"kill b"});
  h.exit("b", {TaskExit::Killed, "SIGKILL", 0});
  CHECK(h.take_log() == Log{"stop a"});
}

TEST_CASE("one_for_one restarts only the failed child, after its backoff") {
  auto b = worker("b");
  b.backoff = {.initial_ms = 100, .max_ms = 100, .multiplier = 1.0, .reset_after_ms = 60'000};
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), b, worker("c")}));
  h.take_log();
  h.exit("b", failed());
  CHECK(h.state("b") == ChildState::Restarting);
  auto delay = h.tree.record(h.node("b"), h.now).backoff_ms;
  CHECK(delay <= 100);
  h.advance(static_cast<std::int64_t>(delay) + 1);
  CHECK(h.take_log() == Log{"start b"});
  auto record = h.tree.record(h.node("b"), h.now);
  CHECK(record.generation == 2);
  CHECK(record.restart_count == 1);
  CHECK(record.last_exit->kind == TaskExit::Failed);
  CHECK(record.last_exit->reason == "boom");
}

TEST_CASE("zero backoff restarts synchronously") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a")}));
  h.take_log();
  h.exit("a", {TaskExit::Panicked, "std::runtime_error: x", 0});
  CHECK(h.take_log() == Log{"start a"});
  CHECK(h.state("a") == ChildState::Running);
}

TEST_CASE("one_for_all stops the others in reverse order and restarts all in order") {
  Harness h(tree_of(Strategy::OneForAll, {worker("a"), worker("b"), worker("c")}));
  h.take_log();
  h.exit("b", failed());
  CHECK(h.take_log() == Log{"stop c"});
  h.stopped("c");
  CHECK(h.take_log() == Log{"stop a"});
  h.stopped("a");
  CHECK(h.take_log() == Log{"start a", "start b", "start c"});
  CHECK(h.tree.summary().running == 3);
}

TEST_CASE("rest_for_one restarts the failed child and those declared after it") {
  Harness h(tree_of(Strategy::RestForOne, {worker("a"), worker("b"), worker("c"), worker("d")}));
  h.take_log();
  h.exit("b", failed());
  CHECK(h.take_log() == Log{"stop d"});
  h.stopped("d");
  CHECK(h.take_log() == Log{"stop c"});
  h.stopped("c");
  CHECK(h.take_log() == Log{"start b", "start c", "start d"});
  CHECK(h.tree.record(h.node("a"), h.now).generation == 1);
}

TEST_CASE("restart types: permanent always, transient on failure, temporary never") {
  Harness h(tree_of(Strategy::OneForOne,
                    {worker("p"), worker("t", RestartType::Transient),
                     worker("t2", RestartType::Transient), worker("tmp", RestartType::Temporary)}));
  h.take_log();
  h.exit("p", {TaskExit::Completed, "", 0});
  h.exit("t", {TaskExit::Completed, "", 0});
  h.exit("t2", failed());
  h.exit("tmp", failed());
  CHECK(h.take_log() == Log{"start p", "start t2"});
  CHECK(h.state("t") == ChildState::Stopped);
  CHECK(h.state("tmp") == ChildState::Failed);
  auto summary = h.tree.summary();
  CHECK(summary.running == 2);
  CHECK(summary.target_count == 2);
  CHECK(summary.failed == 1);
}

TEST_CASE("an exhausted budget quarantines the child; release brings it back") {
  auto a = worker("a");
  a.budget = {.capacity = 2, .refill_per_sec = 0};
  Harness h(tree_of(Strategy::OneForOne, {a}));
  h.take_log();
  h.exit("a", failed());
  h.exit("a", failed());
  CHECK(h.take_log() == Log{"start a", "start a"});
  CHECK(h.tree.record(h.node("a"), h.now).restart_budget.tokens == 0);
  h.exit("a", failed());
  CHECK(h.take_log().empty());
  CHECK(h.state("a") == ChildState::Quarantined);
  CHECK(h.tree.record(h.node("a"), h.now).quarantine_reason.find("budget") != std::string::npos);
  CHECK(h.events.back() == "child_quarantined a");
  auto summary = h.tree.summary();
  CHECK(summary.quarantined == 1);
  CHECK(summary.target_count == 0);
  CHECK(h.run(h.tree.release_child("a", h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"start a"});
  CHECK(h.tree.record(h.node("a"), h.now).restart_budget.tokens == 2);
  CHECK(h.tree.release_child("a", h.now).kind == CommandResult::Rejected);
}

TEST_CASE("crash-loop detection quarantines after N failures inside the window") {
  auto a = worker("a");
  a.crash_loop = {.max_failures = 3, .window_ms = 1'000};
  Harness h(tree_of(Strategy::OneForOne, {a}));
  h.exit("a", failed());
  h.advance(600);
  h.exit("a", failed());
  h.advance(600);  // the first failure has left the window
  h.exit("a", failed());
  CHECK(h.state("a") == ChildState::Running);
  h.advance(100);
  h.exit("a", failed());
  CHECK(h.state("a") == ChildState::Quarantined);
  CHECK(h.tree.record(h.node("a"), h.now).quarantine_reason.find("crash loop") == 0);
}

TEST_CASE("normal exits do not count toward a crash loop") {
  auto a = worker("a");
  a.crash_loop = {.max_failures = 2, .window_ms = 1'000};
  Harness h(tree_of(Strategy::OneForOne, {a}));
  for (int i = 0; i < 5; ++i) h.exit("a", {TaskExit::Completed, "", 0});
  CHECK(h.state("a") == ChildState::Running);
}

TEST_CASE("backoff attempts grow, then reset after a healthy period") {
  auto a = worker("a");
  a.backoff = {.initial_ms = 10, .max_ms = 10'000, .multiplier = 2.0, .reset_after_ms = 5'000};
  Harness h(tree_of(Strategy::OneForOne, {a}));
  for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
    h.exit("a", failed());
    CHECK(h.tree.record(h.node("a"), h.now).attempt == attempt);
    h.advance(10'000);
  }
  h.advance(5'000);  // healthy long enough
  h.exit("a", failed());
  CHECK(h.tree.record(h.node("a"), h.now).attempt == 1);
}

TEST_CASE("a nested supervisor whose intensity blows escalates to its parent") {
  ChildSpec nested;
  nested.id = "workers";
  nested.kind = ChildKind::Supervisor;
  nested.strategy = Strategy::OneForOne;
  nested.intensity = 1;
  nested.period_ms = 10'000;
  nested.budget = {.capacity = 10, .refill_per_sec = 0};
  nested.backoff = {.initial_ms = 0, .max_ms = 0, .multiplier = 1, .reset_after_ms = 60'000};
  nested.children = {worker("w1"), worker("w2")};
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), nested}));
  CHECK(h.take_log() == Log{"start a", "start w1", "start w2"});
  h.exit("w1", failed());
  CHECK(h.take_log() == Log{"start w1"});
  h.exit("w1", failed());  // second restart inside the period: more than intensity 1
  CHECK(h.take_log() == Log{"stop w2"});
  h.stopped("w2");
  // The nested supervisor reported a failure to root, which restarted it.
  CHECK(h.take_log() == Log{"start w1", "start w2"});
  auto record = h.tree.record(h.node("workers"), h.now);
  CHECK(record.restart_count == 1);
  CHECK(record.last_exit->reason.find("intensity exceeded") == 0);
  CHECK(h.state("a") == ChildState::Running);
}

TEST_CASE("records and events carry the path from the root") {
  ChildSpec nested;
  nested.id = "workers";
  nested.kind = ChildKind::Supervisor;
  nested.children = {worker("ingest")};
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), nested}));
  CHECK(h.tree.record(h.node("ingest"), h.now).path == "root/workers/ingest");
  CHECK(h.tree.record(h.node("ingest"), h.now).parent == "workers");
  CHECK(h.tree.record(h.node("workers"), h.now).path == "root/workers");
  CHECK(h.tree.record(h.node("a"), h.now).path == "root/a");
  h.tree.on_exit(h.node("ingest"), h.tree.generation(h.node("ingest")), failed(), h.now);
  std::vector<std::string> paths;
  for (auto& effect : h.tree.take_effects()) {
    if (auto* event = std::get_if<EmitEvent>(&effect)) paths.push_back(event->event.target_path);
  }
  REQUIRE_FALSE(paths.empty());
  for (const auto& path : paths) CHECK(path == "root/workers/ingest");
}

TEST_CASE("the root fuses when its own intensity is exceeded") {
  SupervisorSpec root = tree_of(Strategy::OneForOne, {worker("a"), worker("b")});
  root.intensity = 2;
  Harness h(root);
  h.take_log();
  h.exit("a", failed());
  h.exit("a", failed());
  h.take_log();
  h.exit("a", failed());
  CHECK(h.take_log() == Log{"stop b"});
  h.stopped("b");
  auto log = h.take_log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("fused: intensity exceeded") == 0);
}

TEST_CASE("remove_child stops and forgets the child; running equals target_count") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), worker("b")}));
  h.take_log();
  CHECK(h.run(h.tree.remove_child("b", h.now)).kind == CommandResult::Accepted);
  auto summary = h.tree.summary();
  CHECK(summary.running == summary.target_count);
  CHECK(h.take_log() == Log{"stop b"});
  h.stopped("b");
  CHECK_FALSE(h.tree.find("b").has_value());
  CHECK(h.tree.remove_child("b", h.now).kind == CommandResult::NotFound);
  CHECK(h.tree.summary().running == 1);
  CHECK(h.tree.remove_child("root", h.now).kind == CommandResult::Rejected);
}

TEST_CASE("a late exit from a stale generation is ignored") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a")}));
  NodeIndex a = h.node("a");
  h.exit("a", failed());  // generation 1 -> 2
  h.take_log();
  h.tree.on_exit(a, 1, failed(), h.now);
  h.drain();
  CHECK(h.take_log().empty());
  CHECK(h.tree.record(a, h.now).generation == 2);
}

TEST_CASE("pause, resume, restart, kill and quarantine commands") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a")}));
  h.take_log();
  CHECK(h.run(h.tree.pause_child("a", h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"stop a"});
  CHECK(h.state("a") == ChildState::Paused);
  h.stopped("a");
  CHECK(h.state("a") == ChildState::Paused);
  CHECK(h.tree.summary().target_count == 0);
  CHECK(h.run(h.tree.resume_child("a", h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"start a"});
  CHECK(h.tree.resume_child("a", h.now).kind == CommandResult::Rejected);

  CHECK(h.run(h.tree.restart_child("a", h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"stop a"});
  h.stopped("a");
  CHECK(h.take_log() == Log{"start a"});

  CHECK(h.run(h.tree.kill_child("a", h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"kill a"});
  h.exit("a", {TaskExit::Killed, "killed by operator", 0});
  CHECK(h.take_log() == Log{"start a"});

  CHECK(h.run(h.tree.quarantine_child("a", "blocks a worker", h.now)).kind ==
        CommandResult::Accepted);
  CHECK(h.state("a") == ChildState::Quarantined);  // at once, while the stop proceeds
  CHECK(h.take_log() == Log{"stop a"});
  h.stopped("a");
  CHECK(h.state("a") == ChildState::Quarantined);
  CHECK(h.tree.restart_child("a", h.now).kind == CommandResult::Rejected);
  CHECK(h.tree.kill_child("nope", h.now).kind == CommandResult::NotFound);
}

TEST_CASE("add_child starts the new child and refuses duplicate ids") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a")}));
  h.take_log();
  CHECK(h.run(h.tree.add_child(worker("b"), "root", h.now)).kind == CommandResult::Accepted);
  CHECK(h.take_log() == Log{"start b"});
  CHECK(h.tree.add_child(worker("b"), "root", h.now).kind == CommandResult::Rejected);
  CHECK(h.tree.add_child(worker("c"), "nope", h.now).kind == CommandResult::NotFound);
  CHECK(h.tree.add_child(worker("c"), "a", h.now).kind == CommandResult::Rejected);
}

TEST_CASE("no restarts while the tree shuts down") {
  Harness h(tree_of(Strategy::OneForOne, {worker("a"), worker("b")}));
  h.take_log();
  h.run(h.tree.shutdown_tree(h.now));
  CHECK(h.take_log() == Log{"stop b"});
  h.exit("a", failed());  // crashes while waiting its turn
  CHECK(h.take_log().empty());
  h.stopped("b");
  CHECK(h.take_log() == Log{"tree stopped"});
  CHECK(h.tree.pause_child("a", h.now).kind == CommandResult::Rejected);
}

namespace {

// A shell that carries out effects faithfully and does random things in
// between: exits, acknowledged stops, commands, time passing.
struct RandomShell {
  explicit RandomShell(SupervisorSpec root, std::uint64_t seed)
      : tree(std::move(root), {.jitter_seed = seed}, now), rng(seed) {
    tree.start(now);
    drain();
  }
  struct Incarnation {
    NodeIndex node;
    std::uint64_t generation;
  };
  void drain() {
    for (auto& effect : tree.take_effects()) {
      if (auto* start = std::get_if<StartIncarnation>(&effect)) {
        live.push_back({start->node, start->generation});
      } else if (auto* stop = std::get_if<StopIncarnation>(&effect)) {
        stopping.push_back({stop->node, stop->generation});
      } else if (auto* kill = std::get_if<KillIncarnation>(&effect)) {
        killed.push_back({kill->node, kill->generation});
      } else if (std::holds_alternative<TreeStopped>(effect)) {
        ended = true;
      }
    }
  }
  Incarnation take(std::vector<Incarnation>& from) {
    std::size_t i = rng() % from.size();
    Incarnation picked = from[i];
    from[i] = from.back();
    from.pop_back();
    return picked;
  }
  void exit(Incarnation inc, TaskExit how) {
    std::erase_if(live, [&](const Incarnation& l) {
      return l.node == inc.node && l.generation == inc.generation;
    });
    tree.on_exit(inc.node, inc.generation, std::move(how), now);
  }
  void step(const std::vector<std::string>& ids) {
    switch (rng() % 8) {
      case 0:
      case 1:
        if (!live.empty()) {
          static const TaskExit::Kind kinds[] = {TaskExit::Failed, TaskExit::Completed,
                                                 TaskExit::Panicked};
          exit(take(live), {kinds[rng() % 3], "random", now.unix_ms});
        }
        break;
      case 2:
        if (!stopping.empty()) exit(take(stopping), {TaskExit::Cancelled, "", now.unix_ms});
        break;
      case 3:
        if (!killed.empty()) exit(take(killed), {TaskExit::Killed, "", now.unix_ms});
        break;
      case 4:
      case 5: {
        const std::string& id = ids[rng() % ids.size()];
        switch (rng() % 8) {
          case 0:
            (void)tree.restart_child(id, now);
            break;
          case 1:
            (void)tree.pause_child(id, now);
            break;
          case 2:
            (void)tree.resume_child(id, now);
            break;
          case 3:
            (void)tree.quarantine_child(id, "random", now);
            break;
          case 4:
            (void)tree.release_child(id, now);
            break;
          case 5:
            (void)tree.kill_child(id, now);
            break;
          case 6:
            (void)tree.remove_child(id, now);
            break;
          default: {
            ChildSpec spec = worker(id);
            spec.backoff.initial_ms = 5;
            spec.backoff.max_ms = 40;
            (void)tree.add_child(spec, rng() % 2 ? "all" : "rest", now);
          }
        }
        break;
      }
      default:
        now.mono_ms += static_cast<std::int64_t>(rng() % 30);
        now.unix_ms = now.mono_ms;
        tree.on_tick(now);
        break;
    }
    drain();
  }

  Now now{1'000'000, 1'000'000};
  SupervisionTree tree;
  std::mt19937_64 rng;
  std::vector<Incarnation> live, stopping, killed;
  bool ended = false;
};

SupervisorSpec mixed_tree() {
  auto with_backoff = [](ChildSpec spec, RestartType restart) {
    spec.restart = restart;
    spec.backoff = {.initial_ms = 5, .max_ms = 40, .multiplier = 2.0, .reset_after_ms = 500};
    spec.budget = {.capacity = 20, .refill_per_sec = 5};
    spec.crash_loop = {.max_failures = 8, .window_ms = 200};
    spec.shutdown_timeout_ms = 50;
    return spec;
  };
  auto supervisor = [&](std::string id, Strategy strategy, std::vector<ChildSpec> children) {
    ChildSpec spec = with_backoff(worker(std::move(id)), RestartType::Permanent);
    spec.kind = ChildKind::Supervisor;
    spec.strategy = strategy;
    spec.intensity = 50;
    spec.period_ms = 1'000;
    spec.children = std::move(children);
    return spec;
  };
  std::vector<ChildSpec> all, rest, nested;
  const RestartType types[] = {RestartType::Permanent, RestartType::Transient,
                               RestartType::Temporary};
  for (int i = 0; i < 5; ++i) {
    all.push_back(with_backoff(worker("a" + std::to_string(i)), types[i % 3]));
    rest.push_back(with_backoff(worker("r" + std::to_string(i)), types[(i + 1) % 3]));
    nested.push_back(with_backoff(worker("n" + std::to_string(i)), RestartType::Permanent));
  }
  rest.push_back(supervisor("nested", Strategy::OneForAll, std::move(nested)));
  SupervisorSpec root =
      tree_of(Strategy::OneForOne, {with_backoff(worker("w0"), RestartType::Permanent),
                                    with_backoff(worker("w1"), RestartType::Transient),
                                    supervisor("all", Strategy::OneForAll, std::move(all)),
                                    supervisor("rest", Strategy::RestForOne, std::move(rest))});
  root.intensity = 1'000;
  return root;
}

}  // namespace

TEST_CASE("a child's state, liveness and pending stop agree after every step of random runs") {
  std::vector<std::string> ids = {"w0", "w1", "all", "rest", "nested", "x0", "x1"};
  for (int i = 0; i < 5; ++i) {
    for (const char* prefix : {"a", "r", "n"}) ids.push_back(prefix + std::to_string(i));
  }
  int steps_checked = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    RandomShell shell(mixed_tree(), seed);
    for (int step = 0; step < 2'000 && !shell.ended; ++step) {
      shell.step(ids);
      auto broken = shell.tree.invariant_violations();
      REQUIRE_MESSAGE(broken.empty(), "seed " << seed << " step " << step << ": " << broken[0]);
      ++steps_checked;
    }
    (void)shell.tree.shutdown_tree(shell.now);
    shell.drain();
    for (int step = 0; step < 10'000 && !shell.ended; ++step) {
      if (!shell.stopping.empty()) {
        shell.exit(shell.take(shell.stopping), {TaskExit::Cancelled, "", 0});
      } else if (!shell.killed.empty()) {
        shell.exit(shell.take(shell.killed), {TaskExit::Killed, "", 0});
      } else {
        shell.now.mono_ms += 10;
        shell.tree.on_tick(shell.now);
      }
      shell.drain();
      auto broken = shell.tree.invariant_violations();
      REQUIRE_MESSAGE(broken.empty(), "seed " << seed << " shutdown: " << broken[0]);
    }
    CHECK_MESSAGE(shell.ended, "seed " << seed << ": the tree never stopped");
  }
  CHECK(steps_checked > 40'000);
}

TEST_CASE("one_for_all: every member failing at once restarts the group once, in order") {
  std::vector<ChildSpec> children;
  for (int i = 0; i < 1'000; ++i) children.push_back(worker("c" + std::to_string(i)));
  SupervisorSpec root = tree_of(Strategy::OneForAll, std::move(children));
  root.intensity = 10'000;
  Harness h(std::move(root));
  h.take_log();
  // c999 is stopped first (reverse order); the rest fail on their own meanwhile.
  h.exit("c0", failed());
  CHECK(h.take_log() == Log{"stop c999"});
  for (int i = 1; i < 999; ++i) h.exit("c" + std::to_string(i), failed());
  CHECK(h.take_log().empty());
  h.stopped("c999");
  Log starts = h.take_log();
  REQUIRE(starts.size() == 1'000);
  CHECK(starts.front() == "start c0");
  CHECK(starts.back() == "start c999");
  CHECK(h.tree.summary().running == 1'000);
  CHECK(h.tree.invariant_violations().empty());
}
