#include "actors/drills.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>

#include "task_runner_fixture.hpp"

using sup::DrillKind;
using sup::DrillSpec;
using sup::Readiness;
using sup::TaskExit;
using sup::actors::make_drill_task;
using sup::actors::testing::DeterministicRunnerFixture;
using sup::actors::testing::eventually;
using sup::actors::testing::kQuietPeriod;
using sup::actors::testing::RunnerFixture;

using namespace std::chrono_literals;

namespace {

DrillSpec drill(DrillKind kind, std::uint32_t ms = 1000, double p = 0.5) {
  return DrillSpec{.kind = kind, .ms = ms, .p = p};
}

bool announced(const sup::actors::IncarnationProbe& probe) {
  return probe.last_heartbeat_unix_ms.load() != 0 &&
         probe.readiness.load() == std::uint8_t(Readiness::Ready);
}

}  // namespace

// On the deterministic coordinator: the drill ends exactly at its ms of
// virtual time, not before.
TEST_CASE_FIXTURE(DeterministicRunnerFixture, "drill.crash_after fails after ms with its reason") {
  auto inc = start("crash", 1, make_drill_task(drill(DrillKind::CrashAfter, 30), 1));
  run();
  CHECK(announced(probe(inc)));
  advance(29ms);
  CHECK_FALSE(exit_of("crash", 1));
  advance(1ms);
  auto exit = exit_of("crash", 1);
  REQUIRE(exit);
  CHECK(exit->exit.kind == TaskExit::Failed);
  CHECK(exit->exit.reason == "drill.crash_after: failed after 30 ms");
}

TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                  "drill.panic throws after ms: Panicked, message kept") {
  auto inc = start("panic", 1, make_drill_task(drill(DrillKind::Panic, 30), 1));
  run();
  CHECK(announced(probe(inc)));
  advance(29ms);
  CHECK_FALSE(exit_of("panic", 1));
  advance(1ms);
  auto exit = exit_of("panic", 1);
  REQUIRE(exit);
  CHECK(exit->exit.kind == TaskExit::Panicked);
  CHECK(exit->exit.reason == "drill.panic: panicked after 30 ms");
}

TEST_CASE_FIXTURE(RunnerFixture, "drill.flaky fails with probability p, repeatably") {
  SUBCASE("p = 1 fails on the first check") {
    auto inc = start("always", 1, make_drill_task(drill(DrillKind::Flaky, 5, 1.0), 9));
    auto exit = wait_exit("always", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Failed);
    CHECK(exit->exit.reason == "drill.flaky: failed check 1 (p=1)");
  }
  SUBCASE("p = 0 never fails and heartbeats every period") {
    auto inc = start("never", 1, make_drill_task(drill(DrillKind::Flaky, 5, 0.0), 9));
    std::set<std::int64_t> heartbeats;
    REQUIRE(eventually([&] {
      heartbeats.insert(probe(inc).last_heartbeat_unix_ms.load());
      return heartbeats.size() >= 4;  // 0 and three distinct beats
    }));
    CHECK(exit_count("never") == 0);
    runner->request_stop(*inc);
    auto exit = wait_exit("never", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Cancelled);
  }
  SUBCASE("the same seed and generation fail on the same check") {
    const auto task = make_drill_task(drill(DrillKind::Flaky, 1, 0.3), 1234);
    auto first = start("seeded", 5, task);
    auto a = wait_exit("seeded", 5);
    REQUIRE(a);
    auto second = start("again", 5, task);
    auto b = wait_exit("again", 5);
    REQUIRE(b);
    CHECK(a->exit.kind == TaskExit::Failed);
    CHECK(a->exit.reason.rfind("drill.flaky: failed check ", 0) == 0);
    CHECK(a->exit.reason == b->exit.reason);
  }
}

TEST_CASE_FIXTURE(RunnerFixture, "drill.block_forever holds its worker until a stop request") {
  auto inc = start("block", 1, make_drill_task(drill(DrillKind::BlockForever), 1));
  // The worker is busy before the drill announces itself: both are awaited.
  REQUIRE(eventually(
      [&] { return probe(inc).busy_since_mono_ns.load() != 0 && announced(probe(inc)); }));
  std::this_thread::sleep_for(kQuietPeriod);
  CHECK(probe(inc).busy_since_mono_ns.load() != 0);
  CHECK(exit_count("block") == 0);

  runner->request_stop(*inc);
  auto exit = wait_exit("block", 1);
  REQUIRE(exit);
  CHECK(exit->exit.kind == TaskExit::Cancelled);
  CHECK(probe(inc).busy_since_mono_ns.load() == 0);
}

TEST_CASE_FIXTURE(RunnerFixture,
                  "drill.ignore_cancel survives stop requests; abandon, then teardown") {
  auto inc = start("deaf", 1, make_drill_task(drill(DrillKind::IgnoreCancel), 1));
  // The worker is busy before the drill announces itself: both are awaited.
  REQUIRE(eventually(
      [&] { return probe(inc).busy_since_mono_ns.load() != 0 && announced(probe(inc)); }));

  runner->request_stop(*inc);
  std::this_thread::sleep_for(kQuietPeriod);
  CHECK(probe(inc).busy_since_mono_ns.load() != 0);
  CHECK(exit_count("deaf") == 0);

  runner->abandon(*inc);
  std::this_thread::sleep_for(kQuietPeriod);
  CHECK(probe(inc).busy_since_mono_ns.load() != 0);  // C++ cannot take the thread back

  // ~TaskRunner releases the worker, so that ~actor_system can finish.
  runner.reset();
  REQUIRE(eventually([&] { return probe(inc).busy_since_mono_ns.load() == 0; }));
  CHECK(exit_count("deaf") == 0);
}

TEST_CASE_FIXTURE(RunnerFixture, "drill.busy burns CPU in slices, heartbeating between them") {
  auto inc = start("busy", 1, make_drill_task(drill(DrillKind::Busy, 20), 1));
  std::set<std::int64_t> heartbeats;
  bool seen_busy = false;
  REQUIRE(eventually([&] {
    seen_busy = seen_busy || probe(inc).busy_since_mono_ns.load() != 0;
    heartbeats.insert(probe(inc).last_heartbeat_unix_ms.load());
    return seen_busy && heartbeats.size() >= 4;  // the start's beat and three slices
  }));
  CHECK(exit_count("busy") == 0);

  runner->request_stop(*inc);
  auto exit = wait_exit("busy", 1);
  REQUIRE(exit);
  CHECK(exit->exit.kind == TaskExit::Cancelled);
}
