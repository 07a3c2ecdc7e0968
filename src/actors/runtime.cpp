// The actor shell: an actor system, a detached control-loop actor hosting
// the ControlLoop, the process reactor and the task runner, and the Handle
// and Runtime facades over them.
//
// Everything that touches the tree is a message to the control-loop actor
// (a closure run on its thread), so the tree needs no locks and a Handle is
// safe from any thread. The loop actor is detached: it owns a thread, so a
// child that blocks the worker pool cannot delay supervision.
#include "sup/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "actors/control_loop.hpp"
#include "actors/test_hooks.hpp"
#include "audit/audit_writer.hpp"
#include "common/clock.hpp"
#include "spec/child_spec_check.hpp"
#include "sup/log.hpp"

namespace sup::actors {
struct LoopJob {
  std::function<void(ControlLoop&)> run;
};
}  // namespace sup::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sup::actors::LoopJob)

namespace sup {
namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
// A disk that cannot take the last audit lines must not hold shutdown up.
constexpr std::chrono::seconds kAuditFlushLimit{2};

caf::behavior control_loop_actor(caf::event_based_actor* self, actors::ControlLoop* loop,
                                 std::chrono::milliseconds tick) {
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& failure) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log(LogLevel::Critical, "the control loop failed: " + what);
    return caf::exit_reason::unhandled_exception;
  });
  self->delayed_send(self, tick, tick_atom::value);
  return {
      [=](tick_atom) {
        loop->tick();
        self->delayed_send(self, tick, tick_atom::value);
      },
      [=](const actors::LoopJob& job) { job.run(*loop); },
  };
}

// What only the runtime can check, after spec::check_supervisor_spec:
// registered task names, an endpoint only where an endpoint factory exists.
Status check_runnable(const std::vector<ChildSpec>& children, const RuntimeOptions& options,
                      const std::string& path) {
  for (std::size_t i = 0; i < children.size(); ++i) {
    const ChildSpec& child = children[i];
    std::string at = path + "children[" + std::to_string(i) + "]";
    if (child.kind == ChildKind::Task && !options.tasks.find(child.task)) {
      return make_error(ErrorCode::InvalidArgument,
                        "no task registered under \"" + child.task + "\"", at + ".task");
    }
    if (child.kind == ChildKind::Endpoint && !options.endpoint_factory) {
      return make_error(ErrorCode::InvalidArgument,
                        "an endpoint child needs RuntimeOptions::endpoint_factory", at + ".kind");
    }
    if (auto nested = check_runnable(child.children, options, at + "."); !nested) return nested;
  }
  return {};
}

}  // namespace

namespace detail {

class RuntimeCore : public std::enable_shared_from_this<RuntimeCore> {
 public:
  explicit RuntimeCore(RuntimeOptions opts) : options(std::move(opts)) {}

  void post(std::function<void(actors::ControlLoop&)> fn) {
    caf::anon_send(loop_actor, actors::LoopJob{std::move(fn)});
  }

  // Runs `fn` on the loop and waits for its answer; ErrorCode::Timeout
  // after Handle::kCallTimeout (the job may still run later).
  template <class R>
  Expected<R> call(std::function<R(actors::ControlLoop&)> fn) {
    auto promise = std::make_shared<std::promise<R>>();
    auto answer = promise->get_future();
    post(
        [promise, fn = std::move(fn)](actors::ControlLoop& loop) { promise->set_value(fn(loop)); });
    if (answer.wait_for(call_timeout()) != std::future_status::ready) return timeout_error();
    return answer.get();
  }

  void finish(RunOutcome result) {
    std::lock_guard lock(mutex);
    if (!outcome) outcome = std::move(result);
    done.notify_all();
  }

  RuntimeOptions options;
  // Atomic: a test shortens it while runtime threads make calls.
  std::atomic<std::int64_t> call_timeout_ms{
      std::chrono::milliseconds(Handle::kCallTimeout).count()};
  std::chrono::milliseconds call_timeout() const {
    return std::chrono::milliseconds(call_timeout_ms.load());
  }
  Error timeout_error(std::string_view consequence = {}) const {
    return make_error(ErrorCode::Timeout, "the control loop did not answer within " +
                                              std::to_string(call_timeout_ms.load()) + " ms" +
                                              std::string(consequence));
  }
  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<process::ProcessReactor> reactor;
  std::unique_ptr<actors::TaskRunner> runner;
  std::unique_ptr<audit::AuditWriter> audit;  // outlives the loop, which appends to it
  std::unique_ptr<actors::ControlLoop> loop;
  caf::actor loop_actor;

  std::mutex mutex;
  std::condition_variable done;
  std::optional<RunOutcome> outcome;
  bool shut_down = false;
};

}  // namespace detail

// ---- Test hooks ------------------------------------------------------------

void detail::TestHooks::run_on_control_loop(const Handle& handle, std::function<void()> job) {
  handle.core_->post([job = std::move(job)](actors::ControlLoop&) { job(); });
}

void detail::TestHooks::set_call_timeout(const Handle& handle, std::chrono::milliseconds timeout) {
  handle.core_->call_timeout_ms.store(timeout.count());
}

// ---- Handle ----------------------------------------------------------------

Handle::Handle(std::shared_ptr<detail::RuntimeCore> core) : core_(std::move(core)) {}

Expected<SupervisorState> Handle::current_state() const {
  return core_->call<SupervisorState>(
      [](actors::ControlLoop& loop) { return loop.current_state(); });
}

Expected<Health> Handle::health() const {
  return core_->call<Health>([](actors::ControlLoop& loop) { return loop.health(); });
}

namespace {

CommandRequest child_command(CommandKind kind, std::string_view id, const CommandMeta& meta) {
  CommandRequest request;
  request.kind = kind;
  request.target = id;
  request.meta = meta;
  return request;
}

}  // namespace

CommandResult Handle::execute(CommandRequest request) {
  // Checked on the caller's thread, as for every entry: the loop and the
  // audit log never see a malformed command.
  if (auto valid = spec::check_command_meta(request.meta, request.target); !valid)
    return CommandResult::rejected(valid.error().describe());
  if (request.parent.size() > spec::kMaxIdBytes)
    return CommandResult::rejected(describe_field_error(
        "parent", "must be at most " + std::to_string(spec::kMaxIdBytes) + " bytes"));
  if (request.spec) {
    if (auto valid = spec::check_child_spec(*request.spec, "spec"); !valid)
      return CommandResult::rejected(valid.error().describe());
  }
  auto result = core_->call<CommandResult>(
      [request = std::move(request)](actors::ControlLoop& loop) { return loop.command(request); });
  return result ? *result : CommandResult::rejected(result.error().message);
}

CommandResult Handle::add_child(ChildSpec spec, const CommandMeta& meta,
                                std::string_view parent_id) {
  CommandRequest request = child_command(CommandKind::AddChild, spec.id, meta);
  request.spec = std::move(spec);
  request.parent = parent_id;
  return execute(std::move(request));
}
CommandResult Handle::remove_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::RemoveChild, id, meta));
}
CommandResult Handle::restart_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::RestartChild, id, meta));
}
CommandResult Handle::pause_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::PauseChild, id, meta));
}
CommandResult Handle::resume_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::ResumeChild, id, meta));
}
CommandResult Handle::quarantine_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::QuarantineChild, id, meta));
}
CommandResult Handle::release_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::ReleaseChild, id, meta));
}
CommandResult Handle::kill_child(std::string_view id, const CommandMeta& meta) {
  return execute(child_command(CommandKind::KillChild, id, meta));
}
CommandResult Handle::shutdown_tree(const CommandMeta& meta) {
  return execute(child_command(CommandKind::ShutdownTree, {}, meta));
}

Expected<EventSubscription> Handle::subscribe_events(std::function<void(const Event&)> fn,
                                                     std::uint64_t after_sequence) {
  // Whoever claims first wins: the loop (then the subscription exists and is
  // returned) or a caller that timed out (then the late job subscribes
  // nothing, so no callback outlives the error).
  auto claimed = std::make_shared<std::atomic<bool>>(false);
  auto promise = std::make_shared<std::promise<actors::EventHub::SubscriberId>>();
  auto answer = promise->get_future();
  core_->post([fn = std::move(fn), after_sequence, claimed, promise](actors::ControlLoop& loop) {
    if (claimed->exchange(true)) return;
    promise->set_value(loop.subscribe(fn, after_sequence));
  });
  if (answer.wait_for(core_->call_timeout()) != std::future_status::ready &&
      !claimed->exchange(true))
    return core_->timeout_error("; not subscribed");
  auto id = answer.get();
  std::weak_ptr<detail::RuntimeCore> weak = core_;
  return EventSubscription([weak, id] {
    if (auto core = weak.lock())
      core->post([id](actors::ControlLoop& loop) { loop.unsubscribe(id); });
  });
}

Expected<std::uint64_t> Handle::last_event_sequence() const {
  return core_->call<std::uint64_t>(
      [](actors::ControlLoop& loop) { return loop.last_event_sequence(); });
}

void Handle::report_endpoint_status(EndpointStatus status) {
  core_->post([status](actors::ControlLoop& loop) { loop.report_endpoint_status(status); });
}

void Handle::publish_event(Event event) {
  core_->post([event = std::move(event)](actors::ControlLoop& loop) mutable {
    loop.publish_external(std::move(event));
  });
}

void Handle::record_command(const CommandMeta& meta, std::string_view command,
                            std::string_view target, const CommandResult& result) {
  core_->post([meta, command = std::string(command), target = std::string(target),
               result](actors::ControlLoop& loop) {
    loop.record_external_command(meta, command, target, result);
  });
}

// ---- Runtime ---------------------------------------------------------------

Expected<std::unique_ptr<Runtime>> Runtime::start(RuntimeOptions options) {
  if (auto valid = spec::check_supervisor_spec(options.root); !valid) return valid.error();
  if (auto runnable = check_runnable(options.root.children, options, ""); !runnable)
    return runnable.error();
  auto core = std::make_shared<detail::RuntimeCore>(std::move(options));
  detail::RuntimeCore* raw = core.get();

  unsigned workers = core->options.worker_threads;
  if (workers == 0) workers = std::max(4u, std::thread::hardware_concurrency());
  core->config = std::make_unique<caf::actor_system_config>();
  core->config->set("scheduler.max-threads", static_cast<std::size_t>(workers));
  // One shared queue whose idle workers sleep on a condition variable: a
  // restart's start callback runs within microseconds (work stealing polls
  // with 50 us sleeps first) and a worker blocked by a child never holds
  // queued jobs of other children back.
  core->config->set("scheduler.policy", caf::atom("sharing"));
  core->system = std::make_unique<caf::actor_system>(*core->config);

  process::ReactorCallbacks callbacks;
  callbacks.on_line = [](const std::string& child_id, pid_t pid, process::OutputStream stream,
                         std::string_view line) {
    log(stream == process::OutputStream::Stderr ? LogLevel::Warn : LogLevel::Info, line,
        {{"CHILD_ID", child_id},
         {"STREAM", stream == process::OutputStream::Stderr ? "stderr" : "stdout"},
         {"CHILD_PID", std::to_string(pid)}});
  };
  callbacks.on_dropped = [](const std::string& child_id, pid_t pid, std::uint64_t lines) {
    log(LogLevel::Warn,
        "dropped " + std::to_string(lines) + " lines of output over the output rate limit",
        {{"CHILD_ID", child_id},
         {"CHILD_PID", std::to_string(pid)},
         {"DROPPED_LINES", std::to_string(lines)}});
  };
  callbacks.on_exit = [raw](const std::string&, const process::ProcessExit& exit) {
    raw->post([exit](actors::ControlLoop& loop) { loop.on_process_exit(exit); });
  };
  auto reactor = process::ProcessReactor::start(
      std::move(callbacks), {core->options.process_output, core->options.process_record_dir});
  if (!reactor) return reactor.error();
  core->reactor = std::move(*reactor);
  core->runner =
      std::make_unique<actors::TaskRunner>(*core->system, [raw](actors::IncarnationExit exit) {
        raw->post([exit = std::move(exit)](actors::ControlLoop& loop) { loop.on_task_exit(exit); });
      });

  TaskDefinition endpoint;
  if (core->options.endpoint_factory) endpoint = core->options.endpoint_factory(Handle(core));
  if (!core->options.audit_log_path.empty()) {
    core->audit = std::make_unique<audit::AuditWriter>(
        std::make_unique<audit::FileSink>(core->options.audit_log_path),
        audit::AuditWriter::Options{});
  }
  core->loop = std::make_unique<actors::ControlLoop>(
      core->options, std::exchange(core->options.root, {}), std::move(endpoint), *core->runner,
      *core->reactor, core->audit.get(),
      [raw](RunOutcome outcome) { raw->finish(std::move(outcome)); });
  core->loop_actor = core->system->spawn<caf::detached>(
      control_loop_actor, core->loop.get(),
      std::chrono::milliseconds(std::max(1u, core->options.tick_ms)));
  core->loop_actor->attach_functor([raw](const caf::error&) {
    raw->finish({RunOutcome::Fused, "the control loop terminated"});
  });
  auto started = core->call<bool>([](actors::ControlLoop& loop) {
    loop.start();
    return true;
  });
  if (!started) return started.error();
  return std::unique_ptr<Runtime>(new Runtime(std::move(core)));
}

Runtime::Runtime(std::shared_ptr<detail::RuntimeCore> core) : core_(std::move(core)) {}

// Silent on purpose: ShutdownPhase::Completed must be the last line logged.
void Runtime::teardown(std::vector<std::shared_ptr<actors::Incarnation>> incarnations) {
  {
    caf::scoped_actor self{*core_->system};
    caf::anon_send_exit(core_->loop_actor, caf::exit_reason::user_shutdown);
    self->wait_for(core_->loop_actor);
  }
  core_->loop_actor = nullptr;
  core_->reactor.reset();
  std::vector<const actors::IncarnationProbe*> probes;
  for (const auto& incarnation : incarnations)
    probes.push_back(&core_->runner->probe(*incarnation));
  core_->loop.reset();
  core_->audit.reset();
  core_->runner.reset();
  // ~TaskRunner released the waits it knows of; the callbacks return
  // asynchronously, so give them a moment before deciding a thread is lost.
  auto still_blocked = [&] {
    return std::any_of(probes.begin(), probes.end(),
                       [](const auto* probe) { return probe->busy_since_mono_ns.load() != 0; });
  };
  auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (still_blocked() && std::chrono::steady_clock::now() < give_up_at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool thread_still_blocked = still_blocked();
  if (thread_still_blocked) {
    // A worker thread blocked in user code can be neither interrupted nor
    // joined; destroying the actor system would wait for it forever. Leave
    // it to process exit.
    (void)core_->system.release();
    return;
  }
  incarnations.clear();
  core_->system.reset();
}

Runtime::~Runtime() {
  shutdown();
}

Handle Runtime::handle() const {
  return Handle(core_);
}

std::optional<RunOutcome> Runtime::wait(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(core_->mutex);
  auto ready = [&] { return core_->outcome.has_value(); };
  if (timeout) {
    if (!core_->done.wait_for(lock, *timeout, ready)) return std::nullopt;
  } else {
    core_->done.wait(lock, ready);
  }
  return core_->outcome;
}

void Runtime::shutdown(const std::function<void(ShutdownPhase)>& on_phase) {
  if (core_->shut_down) return;
  core_->shut_down = true;
  auto phase = [&](ShutdownPhase p) {
    if (on_phase) on_phase(p);
  };
  phase(ShutdownPhase::Draining);
  auto drained = core_->call<bool>([](actors::ControlLoop& loop) {
    loop.drain();
    return true;
  });
  // Stopping goes on regardless: the stop job queues behind the drain.
  if (!drained) log(LogLevel::Warn, "draining: " + drained.error().describe());
  phase(ShutdownPhase::StoppingChildren);
  core_->post([](actors::ControlLoop& loop) { loop.shutdown_tree(); });
  wait();
  phase(ShutdownPhase::FlushingState);
  if (core_->audit) (void)core_->audit->flush(kAuditFlushLimit);
  auto incarnations = core_->call<std::vector<std::shared_ptr<actors::Incarnation>>>(
      [](actors::ControlLoop& loop) { return loop.take_incarnations(); });
  if (!incarnations) log(LogLevel::Warn, "flushing state: " + incarnations.error().describe());
  teardown(incarnations ? std::move(*incarnations)
                        : std::vector<std::shared_ptr<actors::Incarnation>>{});
  phase(ShutdownPhase::Completed);
}

}  // namespace sup
