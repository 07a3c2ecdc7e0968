// Runs incarnations of in-process children (sup::TaskDefinition) for the
// supervisor's control loop, which lives on its own thread and must never be
// blocked by user code.
//
// Reactive tasks get one CAF event-based actor each: start, timers and
// on_cancel run on the actor system's worker pool, and an idle task costs
// memory (about 1.5 KiB) but no thread. An incarnation that ended by itself
// leaves its actor waiting for the child's next incarnation: a restart
// passes the previous handle to start() and costs a message, not a spawn.
// Blocking tasks get a detached std::thread of their own. Either way the
// control loop only calls start(), request_stop() and abandon(), which never
// wait for task code (with one exception: on_cancel of a *blocking* task
// runs on the caller's thread), and watches each incarnation through its
// IncarnationProbe, lock-free.
//
//   sup::actors::TaskRunner runner(system, [](sup::actors::IncarnationExit e) {
//     caf::anon_send(control_loop, std::move(e));  // must not block
//   });
//   auto inc = runner.start("ingest", generation, definition);
//   if (!inc) return inc.error();
//   ...its exit arrives...
//   auto next = runner.start("ingest", generation + 1, definition, inc->get());
//   if (runner.probe(**inc).busy_since_mono_ns != 0) { /* a callback is running */ }
//   runner.request_stop(**inc);  // cooperative; exit arrives as Cancelled (or as chosen)
//   runner.abandon(**inc);       // after shutdown_timeout_ms: record TaskExit::Killed yourself
//
// Lifetimes (the actor system waits for every live actor when destroyed):
//   - Dropping the last shared_ptr<Incarnation> of a running incarnation
//     abandons it; of an ended one, lets its waiting actor go. Drop every
//     handle, then destroy the TaskRunner, then the actor_system.
//   - ~TaskRunner stops exit reports (none runs after it returns) and
//     releases every wait a task is blocked in through its context
//     (sleep_for, RunnerTaskContext::wait_for_teardown): that is how the
//     block_forever and ignore_cancel drills let go of their worker threads
//     at shutdown. C++ cannot kill a thread: a reactive callback that blocks
//     on something else keeps its worker, and ~actor_system then waits for
//     it forever. If an abandoned incarnation's probe still shows
//     busy_since_mono_ns != 0 after ~TaskRunner, the host must not destroy
//     the actor_system (flush state and _exit instead). A blocking task's
//     thread is detached from the start; nothing ever waits for it.
#pragma once

#include <atomic>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sup/error.hpp"
#include "sup/task.hpp"
#include "sup/task_exit.hpp"

namespace sup::actors {

// Written by one incarnation, read lock-free by the control loop's tick.
struct IncarnationProbe {
  // steady_clock nanoseconds (sup::mono_now_nanos) at which the reactive
  // callback now running (start, a timer or on_cancel) began; 0 while none
  // runs. A value older than the blocking threshold names a task that holds
  // a worker thread. Blocking tasks own their thread and leave it 0.
  std::atomic<std::int64_t> busy_since_mono_ns{0};
  std::atomic<std::int64_t> last_heartbeat_unix_ms{0};  // 0: no heartbeat yet
  std::atomic<std::uint8_t> readiness{0};               // a sup::Readiness
  std::atomic<bool> cancel_requested{false};
};

struct IncarnationExit {
  std::string child_id;
  std::uint64_t generation = 0;
  sup::TaskExit exit;
};

// The context every task started by a TaskRunner receives. The drills need
// one wait plain tasks do not; everything else is sup::TaskContext:
//   - sleep_for also works in a reactive task, where it blocks the worker
//     thread (and shows in busy_since_mono_ns); it returns false early once
//     a stop is requested or the runner is torn down.
//   - cancel_requested() is also true once the runner is torn down.
//   - complete() after a stop was requested ends the task as Cancelled.
//   - A reactive task's context may only be used inside its callbacks.
//   - A blocking task's complete()/fail() pick the exit reported when start
//     returns (first pick wins); after() there is a bug and picks Failed.
class RunnerTaskContext : public sup::TaskContext {
 public:
  // Blocks the calling thread, without using CPU, until the TaskRunner is
  // destroyed. Cancellation does not end the wait.
  virtual void wait_for_teardown() = 0;
};

class Incarnation;  // one running incarnation; opaque outside task_runner.cpp
class RunnerShared;

class TaskRunner {
 public:
  // `on_exit` runs exactly once per incarnation that is not abandoned, on
  // whichever thread ended it (a worker, a task thread, or even before
  // start() returned). It must neither block nor throw, nor destroy the
  // runner.
  TaskRunner(caf::actor_system& system, std::function<void(IncarnationExit)> on_exit);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Thread-safe. Returns at once: the start callback runs on a worker (or on
  // the new thread). Errors (code "task_start_failed"): no start function,
  // no thread or memory to run it. `previous`: the same child's incarnation
  // before this one, whose exit was reported; a reactive one that ended by
  // itself runs the new incarnation on its actor (`previous` is inert
  // afterwards: its probe is the new one's, stop and abandon do nothing).
  sup::Expected<std::shared_ptr<Incarnation>> start(std::string_view child_id,
                                                    std::uint64_t generation,
                                                    const sup::TaskDefinition& definition,
                                                    Incarnation* previous = nullptr);

  // Valid as long as the handle is held.
  const IncarnationProbe& probe(const Incarnation& incarnation) const;

  // Cooperative stop (idempotent): sets cancel_requested, wakes sleep_for,
  // and calls on_cancel once. Reactive: on the task's actor, after the
  // callback now running; without an on_cancel the task ends as Cancelled.
  // Blocking: on_cancel runs here, on the caller's thread, before this
  // returns (an exception in it makes the exit Panicked); the task ends when
  // start returns. A task that has not started yet ends as Cancelled
  // without running start.
  void request_stop(Incarnation& incarnation);

  // Forcible end: the caller records TaskExit::Killed itself; this
  // incarnation's exit is never reported, unless the report was already
  // under way when abandon() was called (the generation fences that one).
  // A reactive task's actor is killed (its timers and callbacks are dropped)
  // as soon as its running callback returns, and cancellation is requested
  // so that waits wake. A thread blocked in task code cannot be killed: it
  // keeps running, unreported, until it returns by itself.
  void abandon(Incarnation& incarnation);

 private:
  caf::actor_system& system_;
  std::shared_ptr<RunnerShared> shared_;
};

}  // namespace sup::actors
