// Test fixtures for the task runner and drill tests.
//
// DeterministicRunnerFixture: the actor system runs on CAF's deterministic
// test coordinator (scheduler.policy "testing"). Nothing runs until the test
// says so, all of it on the test thread, and timers fire only when the test
// advances the virtual clock: what must not happen is checked with the
// queue empty, never by waiting a while. For reactive tasks whose callbacks
// return.
//
//   TEST_CASE_FIXTURE(DeterministicRunnerFixture, "...") {
//     auto inc = start("a", 1, definition);
//     run();                      // every queued job, timers excluded
//     advance(20ms);              // fires what falls due, runs what it queued
//     REQUIRE(exit_of("a", 1));
//   }
//
// RunnerFixture: a real actor system with 4 workers, for blocking tasks and
// reactive callbacks that block their worker; exits are waited for with
// deadlines (never sleep-and-hope).
//
//   TEST_CASE_FIXTURE(RunnerFixture, "...") {
//     auto inc = start("a", 1, definition);
//     auto exit = wait_exit("a", 1);
//     REQUIRE(exit);
//   }
#pragma once

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/task_runner.hpp"

namespace sup::actors::testing {

// Generous: the CI machine has 2 loaded cores and runs this under ASan.
constexpr auto kDeadline = std::chrono::seconds(30);
// How long a test watches for something that must not happen.
constexpr auto kQuietPeriod = std::chrono::milliseconds(300);

// Polls `condition` until it holds or `deadline` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline = kDeadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline caf::actor_system_config& four_workers(caf::actor_system_config& config) {
  config.set("scheduler.max-threads", 4);
  return config;
}

class RunnerFixture {
 public:
  RunnerFixture()
      : system_(four_workers(config_)),
        runner(std::in_place, system_, [this](IncarnationExit exit) { record(std::move(exit)); }) {}

  std::shared_ptr<Incarnation> start(const std::string& child_id, std::uint64_t generation,
                                     const TaskDefinition& definition) {
    auto incarnation = runner->start(child_id, generation, definition);
    REQUIRE(incarnation.has_value());
    return *incarnation;
  }

  const IncarnationProbe& probe(const std::shared_ptr<Incarnation>& incarnation) const {
    return runner->probe(*incarnation);
  }

  std::optional<IncarnationExit> wait_exit(const std::string& child_id, std::uint64_t generation,
                                           std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock lock(mutex_);
    std::optional<IncarnationExit> found;
    changed_.wait_for(lock, deadline, [&] {
      found = find_locked(child_id, generation);
      return found.has_value();
    });
    return found;
  }

  std::size_t exit_count(const std::string& child_id) {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (const auto& exit : exits_) count += exit.child_id == child_id ? 1 : 0;
    return count;
  }

 private:
  void record(IncarnationExit exit) {
    std::lock_guard lock(mutex_);
    exits_.push_back(std::move(exit));
    changed_.notify_all();
  }

  std::optional<IncarnationExit> find_locked(const std::string& child_id,
                                             std::uint64_t generation) const {
    for (const auto& exit : exits_) {
      if (exit.child_id == child_id && exit.generation == generation) return exit;
    }
    return std::nullopt;
  }

  // Declared before the runner: a report may arrive until ~TaskRunner returns.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<IncarnationExit> exits_;
  caf::actor_system_config config_;
  caf::actor_system system_;

 public:
  // Tests reset it to check what ~TaskRunner does. Handles must be dropped
  // before the fixture (and its actor system) is destroyed.
  std::optional<TaskRunner> runner;
};

inline caf::actor_system_config& deterministic(caf::actor_system_config& config) {
  config.set("scheduler.policy", caf::atom("testing"));
  return config;
}

class DeterministicRunnerFixture {
 public:
  DeterministicRunnerFixture()
      : system_(deterministic(config_)),
        coordinator_(dynamic_cast<caf::scheduler::test_coordinator&>(system_.scheduler())),
        runner(std::in_place, system_, [this](IncarnationExit exit) { exits_.push_back(exit); }) {}

  ~DeterministicRunnerFixture() {
    // The runner's last messages (its actors' ends) must run before
    // ~actor_system waits for the actors.
    runner.reset();
    run();
  }

  std::shared_ptr<Incarnation> start(const std::string& child_id, std::uint64_t generation,
                                     const TaskDefinition& definition,
                                     Incarnation* previous = nullptr) {
    auto incarnation = runner->start(child_id, generation, definition, previous);
    REQUIRE(incarnation.has_value());
    return *incarnation;
  }

  const IncarnationProbe& probe(const std::shared_ptr<Incarnation>& incarnation) const {
    return runner->probe(*incarnation);
  }

  // Runs queued jobs until none is left (timers do not fire); how many ran.
  std::size_t run() {
    std::size_t ran = 0;
    while (coordinator_.try_run_once()) ++ran;
    return ran;
  }

  // Moves the virtual clock on by `interval`, firing the timers that fall
  // due, and runs what that queued.
  void advance(caf::timespan interval) {
    coordinator_.advance_time(interval);
    run();
  }

  bool has_pending_timer() const { return coordinator_.has_pending_timeout(); }

  std::optional<IncarnationExit> exit_of(const std::string& child_id,
                                         std::uint64_t generation) const {
    for (const auto& exit : exits_) {
      if (exit.child_id == child_id && exit.generation == generation) return exit;
    }
    return std::nullopt;
  }

  std::size_t exit_count(const std::string& child_id) const {
    std::size_t count = 0;
    for (const auto& exit : exits_) count += exit.child_id == child_id ? 1 : 0;
    return count;
  }

 private:
  caf::actor_system_config config_;
  caf::actor_system system_;
  caf::scheduler::test_coordinator& coordinator_;
  std::vector<IncarnationExit> exits_;  // written on the test thread only: actors run there

 public:
  // Tests reset it to check what ~TaskRunner does.
  std::optional<TaskRunner> runner;
};

}  // namespace sup::actors::testing
