#include "actors/task_runner.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "task_runner_fixture.hpp"

using namespace std::chrono_literals;
using sup::Readiness;
using sup::TaskContext;
using sup::TaskDefinition;
using sup::TaskExit;
using sup::actors::testing::DeterministicRunnerFixture;
using sup::actors::testing::eventually;
using sup::actors::testing::kQuietPeriod;
using sup::actors::testing::RunnerFixture;

namespace {

// Sets a flag when destroyed: shows that the runner let go of a callback.
struct Sentinel {
  explicit Sentinel(std::shared_ptr<std::atomic<bool>> flag) : destroyed(std::move(flag)) {}
  ~Sentinel() { destroyed->store(true); }
  std::shared_ptr<std::atomic<bool>> destroyed;
};

std::shared_ptr<std::atomic<bool>> make_flag() {
  return std::make_shared<std::atomic<bool>>(false);
}

TaskDefinition idle_task() {
  return {.start = [](TaskContext& ctx) { ctx.set_readiness(Readiness::Ready); }};
}

}  // namespace

// Reactive tasks run on CAF's deterministic test coordinator: every
// callback runs on this thread when the test runs the queue, and timers fire
// when it advances the virtual clock. Callbacks that block their worker
// need real threads: those cases use RunnerFixture.
TEST_SUITE("task_runner: reactive tasks") {
  TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                    "complete() reports Completed once, with id and generation") {
    std::string seen_id;
    std::uint64_t seen_generation = 0;
    auto inc = start("worker", 7, {.start = [&](TaskContext& ctx) {
                       seen_id = ctx.child_id();
                       seen_generation = ctx.generation();
                       ctx.complete();
                       ctx.complete();  // ignored: the first exit wins
                       ctx.fail("too late");
                     }});
    run();
    CHECK(seen_id == "worker");
    CHECK(seen_generation == 7);
    auto exit = exit_of("worker", 7);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Completed);
    CHECK(exit->exit.at_unix_ms > 0);
    // The next incarnation of the same child is reported on its own.
    auto next = start("worker", 8, {.start = [](TaskContext& ctx) { ctx.complete(); }});
    run();
    REQUIRE(exit_of("worker", 8));
    CHECK(exit_count("worker") == 2);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "fail() keeps its reason") {
    auto inc = start("f", 1, {.start = [](TaskContext& ctx) { ctx.fail("disk full: /var"); }});
    run();
    auto exit = exit_of("f", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Failed);
    CHECK(exit->exit.reason == "disk full: /var");
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "an exception is Panicked with what() kept") {
    auto from_start = start(
        "p1", 1, {.start = [](TaskContext&) { throw std::runtime_error("bad config value"); }});
    auto from_timer =
        start("p2", 1, {.start = [](TaskContext& ctx) {
                ctx.after(1ms, [](TaskContext&) { throw std::logic_error("timer blew up"); });
              }});
    auto non_standard = start("p3", 1, {.start = [](TaskContext&) { throw 42; }});
    auto from_cancel =
        start("p4", 1, {.start = [](TaskContext& ctx) {
                ctx.set_readiness(Readiness::Ready);
                ctx.on_cancel([](TaskContext&) { throw std::runtime_error("cleanup failed"); });
              }});
    run();
    CHECK_FALSE(exit_of("p2", 1));  // its timer has not fired yet
    REQUIRE(probe(from_cancel).readiness.load() != 0);
    runner->request_stop(*from_cancel);
    advance(1ms);

    auto p1 = exit_of("p1", 1);
    auto p2 = exit_of("p2", 1);
    auto p3 = exit_of("p3", 1);
    auto p4 = exit_of("p4", 1);
    REQUIRE((p1 && p2 && p3 && p4));
    CHECK(p1->exit.kind == TaskExit::Panicked);
    CHECK(p1->exit.reason == "bad config value");
    CHECK(p2->exit.kind == TaskExit::Panicked);
    CHECK(p2->exit.reason == "timer blew up");
    CHECK(p3->exit.kind == TaskExit::Panicked);
    CHECK(p3->exit.reason == "unknown exception");
    CHECK(p4->exit.kind == TaskExit::Panicked);
    CHECK(p4->exit.reason == "cleanup failed");
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                    "timers fire in deadline order, not before their delay") {
    std::vector<int> order;
    auto inc = start("t", 1, {.start = [&order](TaskContext& ctx) {
                       ctx.after(60ms, [&order](TaskContext& c) {
                         order.push_back(60);
                         c.complete();
                       });
                       ctx.after(20ms, [&order](TaskContext& c) {
                         order.push_back(20);
                         c.after(10ms, [&order](TaskContext&) { order.push_back(30); });
                       });
                     }});
    run();
    advance(19ms);
    CHECK(order.empty());
    advance(1ms);  // 20 ms
    CHECK(order == std::vector<int>{20});
    advance(9ms);
    CHECK(order == std::vector<int>{20});
    advance(1ms);  // 30 ms
    CHECK(order == std::vector<int>{20, 30});
    advance(29ms);
    CHECK_FALSE(exit_of("t", 1));
    advance(1ms);  // 60 ms
    CHECK(order == std::vector<int>{20, 30, 60});
    auto exit = exit_of("t", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Completed);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                    "an idle task stays running until a stop request: Cancelled") {
    auto inc = start("idle", 1, idle_task());
    run();
    CHECK(probe(inc).readiness.load() == std::uint8_t(Readiness::Ready));
    // Nothing is queued and no timer is pending: nothing else can happen.
    CHECK_FALSE(has_pending_timer());
    CHECK(exit_count("idle") == 0);
    CHECK(probe(inc).busy_since_mono_ns.load() == 0);

    runner->request_stop(*inc);
    runner->request_stop(*inc);  // idempotent
    CHECK(probe(inc).cancel_requested.load());
    run();
    auto exit = exit_of("idle", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Cancelled);
    CHECK(exit_count("idle") == 1);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "on_cancel runs on the task and picks the exit") {
    int calls = 0;
    bool cancel_seen = false;
    auto failing = start("c1", 1, {.start = [&](TaskContext& ctx) {
                           ctx.set_readiness(Readiness::Ready);
                           ctx.on_cancel([&](TaskContext& c) {
                             ++calls;
                             cancel_seen = c.cancel_requested();
                             c.fail("could not flush");
                           });
                         }});
    auto completing = start("c2", 1, {.start = [](TaskContext& ctx) {
                              ctx.set_readiness(Readiness::Ready);
                              // Finishes a moment after the stop request, as
                              // a task flushing its state would.
                              ctx.on_cancel([](TaskContext& c) {
                                c.after(5ms, [](TaskContext& later) { later.complete(); });
                              });
                            }});
    run();
    runner->request_stop(*failing);
    runner->request_stop(*completing);
    run();
    auto c1 = exit_of("c1", 1);
    REQUIRE(c1);
    CHECK(c1->exit.kind == TaskExit::Failed);
    CHECK(c1->exit.reason == "could not flush");
    CHECK(calls == 1);
    CHECK(cancel_seen);
    CHECK_FALSE(exit_of("c2", 1));  // still flushing
    advance(5ms);
    auto c2 = exit_of("c2", 1);
    REQUIRE(c2);
    // complete() after a stop request: the stop is why it ended.
    CHECK(c2->exit.kind == TaskExit::Cancelled);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "heartbeat and readiness show in the probe") {
    auto inc = start("hb", 1, {.start = [](TaskContext& ctx) {
                       ctx.set_readiness(Readiness::NotReady);
                       ctx.after(20ms, [](TaskContext& c) {
                         c.heartbeat();
                         c.set_readiness(Readiness::Ready);
                       });
                     }});
    run();
    CHECK(probe(inc).last_heartbeat_unix_ms.load() == 0);
    CHECK(probe(inc).readiness.load() == std::uint8_t(Readiness::NotReady));
    advance(20ms);
    CHECK(probe(inc).readiness.load() == std::uint8_t(Readiness::Ready));
    // Heartbeats carry wall-clock time, not the virtual clock.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    CHECK(probe(inc).last_heartbeat_unix_ms.load() <= now_ms);
    CHECK(probe(inc).last_heartbeat_unix_ms.load() > now_ms - 60'000);
  }

  TEST_CASE_FIXTURE(RunnerFixture, "busy_since is set while a callback blocks its worker") {
    auto inc = start("blocker", 1, {.start = [](TaskContext& ctx) {
                       while (ctx.sleep_for(1h)) {
                       }
                     }});
    REQUIRE(eventually([&] { return probe(inc).busy_since_mono_ns.load() != 0; }));
    const auto busy_since = probe(inc).busy_since_mono_ns.load();
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    CHECK(busy_since <= now_ns);

    runner->request_stop(*inc);  // wakes sleep_for; then the default on_cancel runs
    auto exit = wait_exit("blocker", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Cancelled);
    CHECK(probe(inc).busy_since_mono_ns.load() == 0);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                    "abandon: no exit report, timers and callbacks dropped") {
    auto released = make_flag();
    auto inc = start("ab", 1, {.start = [released](TaskContext& ctx) {
                       ctx.set_readiness(Readiness::Ready);
                       auto sentinel = std::make_shared<Sentinel>(released);
                       ctx.after(1h, [sentinel](TaskContext& c) { c.complete(); });
                       ctx.on_cancel([sentinel](TaskContext& c) { c.complete(); });
                     }});
    run();
    runner->abandon(*inc);
    runner->abandon(*inc);  // idempotent
    CHECK(probe(inc).cancel_requested.load());
    run();
    CHECK(released->load());  // the actor ended and dropped its callbacks
    advance(2h);              // past the timer's deadline: it is gone
    CHECK(exit_count("ab") == 0);
    runner->request_stop(*inc);  // harmless after abandon
    run();
    CHECK(exit_count("ab") == 0);
  }

  TEST_CASE_FIXTURE(RunnerFixture, "abandon wakes a blocked callback and never reports it") {
    auto returned = make_flag();
    auto inc = start("ab2", 1, {.start = [returned](TaskContext& ctx) {
                       while (ctx.sleep_for(1h)) {
                       }
                       returned->store(true);
                       ctx.complete();
                     }});
    REQUIRE(eventually([&] { return probe(inc).busy_since_mono_ns.load() != 0; }));
    runner->abandon(*inc);
    REQUIRE(eventually([&] { return returned->load(); }));
    REQUIRE(eventually([&] { return probe(inc).busy_since_mono_ns.load() == 0; }));
    // The callback called complete() before it returned: a report, had there
    // been one, was made by then. ~TaskRunner closes reports; none came.
    runner.reset();
    CHECK(exit_count("ab2") == 0);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "dropping the handle abandons the incarnation") {
    auto released = make_flag();
    auto inc = start("drop", 1, {.start = [released](TaskContext& ctx) {
                       ctx.set_readiness(Readiness::Ready);
                       auto sentinel = std::make_shared<Sentinel>(released);
                       ctx.after(1h, [sentinel](TaskContext&) {});
                     }});
    run();
    CHECK_FALSE(released->load());
    inc.reset();
    run();
    CHECK(released->load());
    advance(2h);
    CHECK(exit_count("drop") == 0);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "a definition without start is an error value") {
    auto result = runner->start("empty", 1, TaskDefinition{});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == sup::ErrorCode::Internal);
  }
}

TEST_SUITE("task_runner: blocking tasks") {
  TEST_CASE_FIXTURE(RunnerFixture, "returning from start is Completed, on a thread of its own") {
    const auto test_thread = std::this_thread::get_id();
    auto task_thread = std::make_shared<std::thread::id>();
    auto inc = start("b", 3,
                     {.start =
                          [task_thread](TaskContext& ctx) {
                            *task_thread = std::this_thread::get_id();
                            ctx.heartbeat();
                            ctx.set_readiness(Readiness::Ready);
                          },
                      .blocking = true});
    auto exit = wait_exit("b", 3);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Completed);
    CHECK(*task_thread != test_thread);
    CHECK(*task_thread != std::thread::id());
    CHECK(probe(inc).last_heartbeat_unix_ms.load() != 0);
    CHECK(probe(inc).readiness.load() == std::uint8_t(Readiness::Ready));
    CHECK(probe(inc).busy_since_mono_ns.load() == 0);
  }

  TEST_CASE_FIXTURE(RunnerFixture, "fail(), after() and exceptions pick the exit") {
    auto failed = start("bf", 1,
                        {.start =
                             [](TaskContext& ctx) {
                               ctx.fail("upstream gone");
                               ctx.complete();  // the first pick wins
                             },
                         .blocking = true});
    auto misused = start(
        "ba", 1,
        {.start = [](TaskContext& ctx) { ctx.after(1ms, [](TaskContext&) {}); }, .blocking = true});
    auto panicked =
        start("bp", 1,
              {.start = [](TaskContext&) { throw std::runtime_error("oops"); }, .blocking = true});
    auto bf = wait_exit("bf", 1);
    auto ba = wait_exit("ba", 1);
    auto bp = wait_exit("bp", 1);
    REQUIRE((bf && ba && bp));
    CHECK(bf->exit.kind == TaskExit::Failed);
    CHECK(bf->exit.reason == "upstream gone");
    CHECK(ba->exit.kind == TaskExit::Failed);
    CHECK(ba->exit.reason.find("blocking task") != std::string::npos);
    CHECK(bp->exit.kind == TaskExit::Panicked);
    CHECK(bp->exit.reason == "oops");
  }

  TEST_CASE_FIXTURE(RunnerFixture,
                    "sleep_for wakes on a stop request; on_cancel runs on the caller") {
    auto cancel_thread = std::make_shared<std::thread::id>();
    auto sleeps = std::make_shared<std::atomic<int>>(0);
    auto inc = start("bs", 1,
                     {.start =
                          [cancel_thread, sleeps](TaskContext& ctx) {
                            ctx.on_cancel([cancel_thread](TaskContext&) {
                              *cancel_thread = std::this_thread::get_id();
                            });
                            ctx.set_readiness(Readiness::Ready);
                            while (ctx.sleep_for(1h)) ++*sleeps;
                          },
                      .blocking = true});
    REQUIRE(eventually([&] { return probe(inc).readiness.load() != 0; }));
    runner->request_stop(*inc);
    CHECK(*cancel_thread == std::this_thread::get_id());  // ran before request_stop returned
    auto exit = wait_exit("bs", 1);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Cancelled);
    CHECK(sleeps->load() == 0);
  }

  TEST_CASE_FIXTURE(RunnerFixture, "on_cancel registered after the stop request still runs once") {
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto inc = start("late", 1,
                     {.start =
                          [calls](TaskContext& ctx) {
                            ctx.set_readiness(Readiness::Ready);
                            while (!ctx.cancel_requested()) ctx.sleep_for(1h);
                            ctx.on_cancel([calls](TaskContext&) { ++*calls; });
                          },
                      .blocking = true});
    REQUIRE(eventually([&] { return probe(inc).readiness.load() != 0; }));
    runner->request_stop(*inc);
    REQUIRE(wait_exit("late", 1));
    CHECK(calls->load() == 1);
  }

  TEST_CASE_FIXTURE(RunnerFixture, "abandon: the thread runs on, its exit is never reported") {
    auto returned = make_flag();
    auto inc = start("bab", 1,
                     {.start =
                          [returned](TaskContext& ctx) {
                            ctx.set_readiness(Readiness::Ready);
                            while (ctx.sleep_for(1h)) {
                            }
                            returned->store(true);
                          },
                      .blocking = true});
    REQUIRE(eventually([&] { return probe(inc).readiness.load() != 0; }));
    runner->abandon(*inc);
    REQUIRE(eventually([&] { return returned->load(); }));
    std::this_thread::sleep_for(kQuietPeriod);
    CHECK(exit_count("bab") == 0);
  }
}

TEST_CASE_FIXTURE(RunnerFixture, "~TaskRunner releases waits and stops reporting") {
  auto blocking_returned = make_flag();
  auto blocking_saw_cancel = make_flag();  // asserted here: no CHECK on the task's thread
  auto reactive_returned = make_flag();
  auto blocking = start("tb", 1,
                        {.start =
                             [blocking_returned, blocking_saw_cancel](TaskContext& ctx) {
                               ctx.set_readiness(Readiness::Ready);
                               while (ctx.sleep_for(1h)) {
                               }
                               blocking_saw_cancel->store(ctx.cancel_requested());
                               blocking_returned->store(true);
                             },
                         .blocking = true});
  auto reactive = start("tr", 1, {.start = [reactive_returned](TaskContext& ctx) {
                          auto* runner_ctx = dynamic_cast<sup::actors::RunnerTaskContext*>(&ctx);
                          if (runner_ctx == nullptr) return ctx.fail("not a RunnerTaskContext");
                          ctx.set_readiness(Readiness::Ready);
                          runner_ctx->wait_for_teardown();
                          reactive_returned->store(true);
                        }});
  REQUIRE(eventually([&] { return probe(blocking).readiness.load() != 0; }));
  REQUIRE(eventually([&] { return probe(reactive).busy_since_mono_ns.load() != 0; }));
  runner->request_stop(*reactive);  // wait_for_teardown ignores stop requests
  std::this_thread::sleep_for(kQuietPeriod);
  CHECK_FALSE(reactive_returned->load());

  runner.reset();  // no report runs after it returns
  REQUIRE(eventually([&] { return blocking_returned->load(); }));
  REQUIRE(eventually([&] { return reactive_returned->load(); }));
  CHECK(blocking_saw_cancel->load());
  CHECK(exit_count("tb") == 0);
  CHECK(exit_count("tr") == 0);
}

TEST_SUITE("task_runner: a restart on the previous incarnation's actor") {
  // The TaskContext a reactive incarnation sees is its actor: the same
  // address means the same actor.
  struct Seen {
    const TaskContext* context = nullptr;
    std::uint64_t generation = 0;
  };

  TaskDefinition remember(const std::shared_ptr<Seen>& seen, bool fail_at_once) {
    return {.start = [seen, fail_at_once](TaskContext& ctx) {
      seen->context = &ctx;
      seen->generation = ctx.generation();
      if (fail_at_once) return ctx.fail("crash");
      ctx.set_readiness(Readiness::Ready);
    }};
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                    "an incarnation that ended by itself hands its actor on") {
    auto first_seen = std::make_shared<Seen>();
    auto first = start("r", 1, remember(first_seen, true));
    run();
    REQUIRE(exit_of("r", 1));

    auto next_seen = std::make_shared<Seen>();
    auto second = start("r", 2, remember(next_seen, false), first.get());
    run();
    REQUIRE(probe(second).readiness.load() != 0);
    CHECK(next_seen->context == first_seen->context);
    CHECK(next_seen->generation == 2);
    CHECK_FALSE(probe(second).cancel_requested.load());

    // The handed-over handle is inert: it neither stops nor abandons the new one.
    runner->request_stop(*first);
    runner->abandon(*first);
    first.reset();
    run();
    CHECK(exit_count("r") == 1);
    CHECK_FALSE(probe(second).cancel_requested.load());

    runner->request_stop(*second);
    run();
    auto exit = exit_of("r", 2);
    REQUIRE(exit);
    CHECK(exit->exit.kind == TaskExit::Cancelled);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture,
                    "timers of the previous incarnation never fire in the next") {
    bool fired = false;
    auto first = start("t", 1, {.start = [&fired](TaskContext& ctx) {
                         ctx.after(50ms, [&fired](TaskContext&) { fired = true; });
                         ctx.fail("crash");
                       }});
    run();
    REQUIRE(exit_of("t", 1));
    auto second = start("t", 2, idle_task(), first.get());
    run();
    advance(50ms);
    advance(1h);
    CHECK_FALSE(fired);
    CHECK(exit_count("t") == 1);
  }

  TEST_CASE_FIXTURE(DeterministicRunnerFixture, "a running incarnation is not handed on") {
    auto first_seen = std::make_shared<Seen>();
    auto first = start("busy", 1, remember(first_seen, false));
    run();
    REQUIRE(first_seen->context != nullptr);
    auto next_seen = std::make_shared<Seen>();
    auto second = start("busy", 2, remember(next_seen, false), first.get());
    run();
    REQUIRE(next_seen->context != nullptr);
    CHECK(next_seen->context != first_seen->context);
    // Both run, each stops on its own.
    runner->request_stop(*first);
    run();
    CHECK(exit_of("busy", 1));
    CHECK_FALSE(exit_of("busy", 2));
    runner->request_stop(*second);
    run();
    CHECK(exit_of("busy", 2));
  }
}
