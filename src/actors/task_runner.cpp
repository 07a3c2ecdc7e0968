#include "actors/task_runner.hpp"

#include <pthread.h>

#include <algorithm>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace sup::actors {

// Runs the next incarnation of a child on the actor of its previous one.
struct NextReactiveIncarnation {
  std::uint64_t generation = 0;
  std::function<void(sup::TaskContext&)> start;
};

}  // namespace sup::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sup::actors::NextReactiveIncarnation)

namespace sup::actors {

namespace {

using TaskFn = std::function<void(sup::TaskContext&)>;
using cancel_atom = caf::atom_constant<caf::atom("supcancel")>;
using timer_atom = caf::atom_constant<caf::atom("suptimer")>;

constexpr const char* kStopRequestedReason = "stop requested";

sup::TaskExit make_exit(sup::TaskExit::Kind kind, std::string reason = {}) {
  return sup::TaskExit{kind, std::move(reason), 0};
}

// Runs one task callback; an exception escaping it is the task's panic.
std::optional<sup::TaskExit> call_task(TaskFn& fn, sup::TaskContext& ctx) noexcept {
  try {
    fn(ctx);
    return std::nullopt;
  } catch (const std::exception& e) {
    return make_exit(sup::TaskExit::Panicked, e.what());
  } catch (...) {
    return make_exit(sup::TaskExit::Panicked, "unknown exception");
  }
}

}  // namespace

// The part of a runner its incarnations may still touch after ~TaskRunner:
// a late exit finds the reports closed, a late wait finds it released.
class RunnerShared {
 public:
  explicit RunnerShared(std::function<void(IncarnationExit)> on_exit)
      : on_exit_(std::move(on_exit)) {}

  void report(IncarnationExit exit) {
    std::shared_lock lock(report_mutex_);
    if (!closed_) on_exit_(std::move(exit));
  }

  // Waits until `stop()` holds or `timeout` passes; true if it holds.
  template <class Stop>
  bool wait(std::chrono::milliseconds timeout, Stop stop) {
    std::unique_lock lock(wait_mutex_);
    return wait_cv_.wait_for(lock, timeout, stop);
  }

  void wait_for_teardown() {
    std::unique_lock lock(wait_mutex_);
    wait_cv_.wait(lock, [this] { return torn_down(); });
  }

  // Call after changing what a waiter's `stop` looks at. Locking first
  // makes sure a waiter is either before its check or inside wait.
  void wake_waiters() {
    { std::lock_guard lock(wait_mutex_); }
    wait_cv_.notify_all();
  }

  bool torn_down() const { return torn_down_.load(); }

  void tear_down() {
    {
      std::unique_lock lock(report_mutex_);  // waits for reports under way
      closed_ = true;
    }
    torn_down_.store(true);
    wake_waiters();
  }

 private:
  std::function<void(IncarnationExit)> on_exit_;
  std::shared_mutex report_mutex_;
  bool closed_ = false;
  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;
  std::atomic<bool> torn_down_{false};
};

namespace {

// State and context behaviour both kinds of incarnation share.
class IncarnationCore : public RunnerTaskContext {
 public:
  IncarnationCore(std::shared_ptr<RunnerShared> shared, std::string_view child_id,
                  std::uint64_t generation)
      : shared_(std::move(shared)), child_id_(child_id), generation_(generation) {}

  IncarnationProbe probe;

  // True for the first call only.
  bool request_cancel() {
    const bool first = !probe.cancel_requested.exchange(true);
    shared_->wake_waiters();
    return first;
  }

  // Reports `exit` unless an exit was reported or the incarnation abandoned before.
  void settle(sup::TaskExit exit) {
    if (settled_.exchange(true)) return;
    exit.at_unix_ms = sup::unix_now_ms();
    shared_->report(IncarnationExit{child_id_, generation_, std::move(exit)});
  }

  // Marks the incarnation as no longer reported; false if it already was.
  bool abandon() { return !settled_.exchange(true); }
  bool settled() const { return settled_.load(); }
  const RunnerShared* runner() const { return shared_.get(); }

  sup::TaskExit stop_or_complete_exit() const {
    return cancel_requested() ? make_exit(sup::TaskExit::Cancelled, kStopRequestedReason)
                              : make_exit(sup::TaskExit::Completed);
  }

  std::string_view child_id() const final { return child_id_; }
  std::uint64_t generation() const final { return generation_; }
  bool cancel_requested() const final {
    return probe.cancel_requested.load() || shared_->torn_down();
  }
  bool sleep_for(std::chrono::milliseconds duration) final {
    return !shared_->wait(duration, [this] { return cancel_requested(); });
  }
  void heartbeat() override { probe.last_heartbeat_unix_ms.store(sup::unix_now_ms()); }
  void set_readiness(sup::Readiness readiness) override {
    probe.readiness.store(static_cast<std::uint8_t>(readiness));
  }
  void wait_for_teardown() final { shared_->wait_for_teardown(); }

 protected:
  // A reactive actor runs the incarnations of its child one after another.
  // The handle's thread, once the previous one has reported its exit and
  // before the next one's start is sent: a fresh probe, reportable again.
  void reset_for_next() {
    probe.cancel_requested.store(false);
    probe.last_heartbeat_unix_ms.store(0);
    probe.readiness.store(0);
    settled_.store(false);
  }
  // The actor's thread, as the next incarnation begins.
  void set_generation(std::uint64_t generation) { generation_ = generation; }

 private:
  std::shared_ptr<RunnerShared> shared_;
  std::atomic<bool> settled_{false};
  std::string child_id_;
  std::uint64_t generation_;
};

// One reactive incarnation at a time: its callbacks run as this actor's
// message handlers, so they never overlap and need no locks. An incarnation
// that ends by itself leaves the actor vacant rather than gone, so that a
// restart costs one message instead of a spawn and an actor teardown (CAF
// wakes its clock thread for every actor that terminates).
class ReactiveTask final : public caf::event_based_actor, public IncarnationCore {
 public:
  ReactiveTask(caf::actor_config& cfg, std::shared_ptr<RunnerShared> shared,
               std::string_view child_id, std::uint64_t generation, const TaskFn& start)
      : caf::event_based_actor(cfg),
        IncarnationCore(std::move(shared), child_id, generation),
        start_(start) {}

  const char* name() const override { return "sup.reactive_task"; }

  void after(std::chrono::milliseconds delay, TaskFn fn) override {
    if (ended_) return;
    const std::uint64_t id = ++last_timer_id_;
    timers_.push_back(Timer{id, std::move(fn)});
    delayed_send(caf::actor_cast<caf::actor>(this), std::max(delay, std::chrono::milliseconds(0)),
                 timer_atom::value, id);
  }
  void on_cancel(TaskFn fn) override { on_cancel_ = std::move(fn); }
  void complete() override { end(stop_or_complete_exit()); }
  void fail(std::string reason) override {
    end(make_exit(sup::TaskExit::Failed, std::move(reason)));
  }
  // Whatever the rest of a callback does after its incarnation ended must
  // not show in the probe of the next one.
  void heartbeat() override {
    if (!ended_) IncarnationCore::heartbeat();
  }
  void set_readiness(sup::Readiness readiness) override {
    if (!ended_) IncarnationCore::set_readiness(readiness);
  }

  // True once the incarnation has ended by itself and reported its exit:
  // the actor waits for a NextReactiveIncarnation (or to be killed).
  bool vacant() const { return vacant_.load(); }
  // The handle's side of a restart on this actor, before the message goes out.
  void prepare_next() {
    vacant_.store(false);
    reset_for_next();
  }

 protected:
  caf::behavior make_behavior() override {
    TaskFn start = std::exchange(start_, nullptr);  // its captures go with it
    if (settled()) return {};                       // abandoned before it ran
    begin(start);
    return {
        [this](timer_atom, std::uint64_t id) { fire_timer(id); },
        [this](cancel_atom, std::uint64_t generation) {
          if (ended_ || generation != this->generation()) return;  // a stop for an earlier one
          TaskFn handler = std::exchange(on_cancel_, nullptr);
          if (handler) {
            run(handler);
          } else {
            end(make_exit(sup::TaskExit::Cancelled, kStopRequestedReason));
          }
        },
        [this](NextReactiveIncarnation& next) {
          set_generation(next.generation);
          if (settled()) return;  // abandoned before it began; the kill is on its way
          ended_ = false;
          TaskFn start = std::move(next.start);
          begin(start);
        },
    };
  }

  void on_exit() override {
    vacant_.store(false);
    // Reached without end(): killed by abandon() (already settled, so not
    // reported), or ended by CAF itself.
    if (!ended_) {
      ended_ = true;
      settle(make_exit(sup::TaskExit::Panicked,
                       "task actor terminated: " + home_system().render(fail_state())));
    }
    drop_callbacks();
  }

 private:
  struct Timer {
    std::uint64_t id;
    TaskFn fn;
  };

  void begin(TaskFn& start) {
    if (probe.cancel_requested.load()) {
      end(make_exit(sup::TaskExit::Cancelled, kStopRequestedReason));
      return;
    }
    run(start);
  }

  void run(TaskFn& fn) {
    probe.busy_since_mono_ns.store(std::max<std::int64_t>(1, sup::mono_now_nanos()));
    if (auto panic = call_task(fn, *this)) end(std::move(*panic));
    probe.busy_since_mono_ns.store(0);
  }

  void fire_timer(std::uint64_t id) {
    auto it =
        std::find_if(timers_.begin(), timers_.end(), [id](const Timer& t) { return t.id == id; });
    if (it == timers_.end()) return;  // dropped when the task ended
    // Out of the vector first: the callback may arm timers (reallocating it).
    TaskFn fn = std::move(it->fn);
    *it = std::move(timers_.back());
    timers_.pop_back();
    run(fn);
  }

  void end(sup::TaskExit exit) {
    if (ended_) return;
    ended_ = true;
    vacant_.store(true);  // before the report: the restart may follow at once
    settle(std::move(exit));
    drop_callbacks();
  }

  void drop_callbacks() {
    timers_.clear();
    on_cancel_ = nullptr;
  }

  TaskFn start_;
  TaskFn on_cancel_;
  std::vector<Timer> timers_;
  // Never reset: a late timer of an earlier incarnation finds nothing.
  std::uint64_t last_timer_id_ = 0;
  bool ended_ = false;
  std::atomic<bool> vacant_{false};
};

// One blocking incarnation, shared by its thread and its handle. start runs
// on the thread; on_cancel on whichever thread requested the stop.
class BlockingTask final : public IncarnationCore {
 public:
  BlockingTask(std::shared_ptr<RunnerShared> shared, std::string_view child_id,
               std::uint64_t generation, const TaskFn& start)
      : IncarnationCore(std::move(shared), child_id, generation), start_(start) {}

  void run() {
    if (!probe.cancel_requested.load()) {
      if (auto panic = call_task(start_, *this)) pick_exit(std::move(*panic));
    }
    start_ = nullptr;
    sup::TaskExit exit = stop_or_complete_exit();
    {
      std::lock_guard lock(mutex_);
      if (picked_exit_) exit = std::move(*picked_exit_);
      on_cancel_ = nullptr;
    }
    settle(std::move(exit));
  }

  void request_stop() {
    TaskFn handler;
    {
      // Before the flag goes up: a task that sees it and then registers
      // on_cancel must find the stop delivered already.
      std::lock_guard lock(mutex_);
      if (cancel_delivered_) return;
      cancel_delivered_ = true;
      handler = std::exchange(on_cancel_, nullptr);
    }
    request_cancel();
    if (handler) call_on_cancel(handler);
  }

  void after(std::chrono::milliseconds, TaskFn) override {
    pick_exit(
        make_exit(sup::TaskExit::Failed,
                  "TaskContext::after() called by a blocking task (loop on sleep_for instead)"));
  }
  void on_cancel(TaskFn fn) override {
    {
      std::lock_guard lock(mutex_);
      if (!cancel_delivered_) {
        on_cancel_ = std::move(fn);
        return;
      }
    }
    call_on_cancel(fn);  // the stop came first: deliver it now, once
  }
  void complete() override { pick_exit(stop_or_complete_exit()); }
  void fail(std::string reason) override {
    pick_exit(make_exit(sup::TaskExit::Failed, std::move(reason)));
  }

 private:
  void call_on_cancel(TaskFn& handler) {
    if (auto panic = call_task(handler, *this)) pick_exit(std::move(*panic));
  }

  void pick_exit(sup::TaskExit exit) {
    std::lock_guard lock(mutex_);
    if (!picked_exit_) picked_exit_ = std::move(exit);
  }

  TaskFn start_;
  std::mutex mutex_;  // guards the members below
  std::optional<sup::TaskExit> picked_exit_;
  TaskFn on_cancel_;
  bool cancel_delivered_ = false;
};

}  // namespace

// The control loop's handle. Dropping it abandons a still running incarnation
// and lets a vacant actor go, so that no forgotten actor keeps ~actor_system
// waiting.
class Incarnation {
 public:
  virtual ~Incarnation() = default;
  virtual const IncarnationProbe& probe() const = 0;
  virtual void request_stop() = 0;
  virtual void abandon() = 0;
  // The next incarnation of the same child, run by this one's actor if this
  // one ended by itself; nullptr when it cannot be (the caller spawns). This
  // handle is inert afterwards.
  virtual std::shared_ptr<Incarnation> restart(const RunnerShared* /*runner*/,
                                               std::string_view /*child_id*/,
                                               std::uint64_t /*generation*/,
                                               const TaskFn& /*start*/) {
    return nullptr;
  }
};

namespace {

class ReactiveIncarnation final : public Incarnation {
 public:
  ReactiveIncarnation(caf::actor actor, ReactiveTask& task, std::uint64_t generation)
      : actor_(std::move(actor)), task_(task), generation_(generation) {}
  ~ReactiveIncarnation() override {
    if (handed_over_) return;
    abandon();
    // Ended by itself, the actor waits for a restart that will not come.
    caf::anon_send_exit(actor_, caf::exit_reason::kill);
  }

  const IncarnationProbe& probe() const override { return task_.probe; }
  void request_stop() override {
    if (handed_over_) return;
    if (task_.request_cancel()) caf::anon_send(actor_, cancel_atom::value, generation_);
  }
  void abandon() override {
    if (handed_over_ || !task_.abandon()) return;
    task_.request_cancel();  // wakes a callback sleeping in sleep_for
    caf::anon_send_exit(actor_, caf::exit_reason::kill);
  }
  std::shared_ptr<Incarnation> restart(const RunnerShared* runner, std::string_view child_id,
                                       std::uint64_t generation, const TaskFn& start) override {
    if (handed_over_ || !task_.vacant() || task_.runner() != runner ||
        task_.child_id() != child_id) {
      return nullptr;
    }
    auto next = std::make_shared<ReactiveIncarnation>(actor_, task_, generation);
    handed_over_ = true;
    task_.prepare_next();
    caf::anon_send(actor_, NextReactiveIncarnation{generation, start});
    return next;
  }

 private:
  caf::actor actor_;  // keeps task_ alive
  ReactiveTask& task_;
  std::uint64_t generation_;
  bool handed_over_ = false;  // the actor runs a later incarnation now
};

class BlockingIncarnation final : public Incarnation {
 public:
  explicit BlockingIncarnation(std::shared_ptr<BlockingTask> task) : task_(std::move(task)) {}
  ~BlockingIncarnation() override { abandon(); }

  const IncarnationProbe& probe() const override { return task_->probe; }
  void request_stop() override { task_->request_stop(); }
  void abandon() override {
    if (task_->abandon()) task_->request_cancel();
  }

 private:
  std::shared_ptr<BlockingTask> task_;
};

std::shared_ptr<Incarnation> start_blocking(const std::shared_ptr<RunnerShared>& shared,
                                            std::string_view child_id, std::uint64_t generation,
                                            const TaskFn& start) {
  auto task = std::make_shared<BlockingTask>(shared, child_id, generation, start);
  std::thread thread([task] { task->run(); });
  // "task:<id>" in top and gdb; the kernel keeps 15 characters.
  const std::string name = "task:" + std::string(child_id.substr(0, 10));
  pthread_setname_np(thread.native_handle(), name.c_str());
  thread.detach();  // nothing may ever wait for task code
  return std::make_shared<BlockingIncarnation>(std::move(task));
}

std::shared_ptr<Incarnation> start_reactive(caf::actor_system& system,
                                            const std::shared_ptr<RunnerShared>& shared,
                                            std::string_view child_id, std::uint64_t generation,
                                            const TaskFn& start) {
  caf::actor actor = system.spawn<ReactiveTask>(shared, child_id, generation, start);
  auto* task = static_cast<ReactiveTask*>(caf::actor_cast<caf::abstract_actor*>(actor));
  return std::make_shared<ReactiveIncarnation>(std::move(actor), *task, generation);
}

}  // namespace

TaskRunner::TaskRunner(caf::actor_system& system, std::function<void(IncarnationExit)> on_exit)
    : system_(system), shared_(std::make_shared<RunnerShared>(std::move(on_exit))) {}

TaskRunner::~TaskRunner() {
  shared_->tear_down();
}

sup::Expected<std::shared_ptr<Incarnation>> TaskRunner::start(std::string_view child_id,
                                                              std::uint64_t generation,
                                                              const sup::TaskDefinition& definition,
                                                              Incarnation* previous) {
  if (!definition.start) {
    return sup::make_error(sup::ErrorCode::Internal, "task definition has no start function");
  }
  try {
    if (definition.blocking) return start_blocking(shared_, child_id, generation, definition.start);
    if (previous != nullptr) {
      if (auto next = previous->restart(shared_.get(), child_id, generation, definition.start)) {
        return next;
      }
    }
    return start_reactive(system_, shared_, child_id, generation, definition.start);
  } catch (const std::exception& e) {  // std::thread and allocation report failure by throwing
    return sup::make_error(sup::ErrorCode::Internal, "cannot start an incarnation of " +
                                                         std::string(child_id) + ": " + e.what());
  }
}

const IncarnationProbe& TaskRunner::probe(const Incarnation& incarnation) const {
  return incarnation.probe();
}

void TaskRunner::request_stop(Incarnation& incarnation) {
  incarnation.request_stop();
}

void TaskRunner::abandon(Incarnation& incarnation) {
  incarnation.abandon();
}

}  // namespace sup::actors
