// In-process tasks: C++ code the supervisor runs as a child.
//
// A task is registered by name and started once per incarnation. Reactive
// tasks (the default) run on the runtime's worker pool and must not block:
// they arm timers with `after()` and end with `complete()` / `fail()`; an
// idle reactive task costs no thread. Blocking tasks get a thread of their
// own; returning from `start` ends them. An exception escaping either kind
// ends the incarnation as `TaskExit::Panicked` with the `what()` text kept.
//
//   sup::TaskRegistry tasks;
//   tasks.add("ticker", {.start = [](sup::TaskContext& ctx) {
//     ctx.after(std::chrono::seconds(1), [](sup::TaskContext& c) { c.heartbeat(); });
//   }});
//   tasks.add("poller", {.start = [](sup::TaskContext& ctx) {
//     while (ctx.sleep_for(std::chrono::milliseconds(100))) poll_once();
//   }, .blocking = true});
//
// C++ gives in-process tasks no memory isolation: a segfault in a task is
// the daemon's own crash. Run untrusted or crash-prone work as a process
// child instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "sup/state.hpp"

namespace sup {

class TaskContext {
 public:
  virtual ~TaskContext() = default;

  virtual std::string_view child_id() const = 0;
  virtual std::uint64_t generation() const = 0;

  // True once the supervisor asked the task to stop.
  virtual bool cancel_requested() const = 0;
  // Blocking tasks: sleeps up to `duration`; returns false (early) when
  // cancellation is requested. Never call it from a reactive task.
  virtual bool sleep_for(std::chrono::milliseconds duration) = 0;

  virtual void heartbeat() = 0;
  virtual void set_readiness(Readiness readiness) = 0;

  // Reactive tasks: runs `fn` on this task after `delay`, unless the
  // incarnation has ended by then.
  virtual void after(std::chrono::milliseconds delay, std::function<void(TaskContext&)> fn) = 0;
  // Called once when a cooperative stop is requested. Reactive tasks: on the
  // task itself; the default ends the task as Cancelled. Blocking tasks: from
  // a runtime thread (make it thread-safe), in addition to cancel_requested().
  virtual void on_cancel(std::function<void(TaskContext&)> fn) = 0;

  // End this incarnation (reactive tasks; a blocking task may call them
  // before returning to pick its exit).
  virtual void complete() = 0;
  virtual void fail(std::string reason) = 0;
};

struct TaskDefinition {
  std::function<void(TaskContext&)> start;
  bool blocking = false;
};

class TaskRegistry {
 public:
  void add(std::string name, TaskDefinition definition) {
    tasks_[std::move(name)] = std::move(definition);
  }
  const TaskDefinition* find(std::string_view name) const {
    auto it = tasks_.find(std::string(name));
    return it == tasks_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, TaskDefinition> tasks_;
};

}  // namespace sup
