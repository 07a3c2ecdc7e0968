// The operator's grip on a running tree.
//
// A Handle is cheap to copy and safe to use from any thread. Queries return
// consistent snapshots, or ErrorCode::Timeout when the control loop does not
// answer within kCallTimeout (never an empty tree or a 0); commands return
// `CommandResult` and are audited and idempotent by `command_id` (see
// command.hpp).
//
//   sup::Handle h = runtime->handle();
//   sup::Expected<sup::Health> health = h.health();  // status, iterations_per_sec, ...
//   if (!health) log(health.error().describe());    // "the control loop did not answer ..."
//   h.quarantine_child("indexer", {"c-1", "bob", "blocks a worker"});
//   auto sub = h.subscribe_events([](const sup::Event& e) { ... });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sup/child_spec.hpp"
#include "sup/command.hpp"
#include "sup/endpoint.hpp"
#include "sup/error.hpp"
#include "sup/state.hpp"

namespace sup {

namespace detail {
class RuntimeCore;
struct TestHooks;  // src/actors/test_hooks.hpp: tests only
}  // namespace detail

// Keeps an event subscription alive; unsubscribes when destroyed.
class EventSubscription {
 public:
  EventSubscription() = default;
  explicit EventSubscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  EventSubscription(EventSubscription&& other) noexcept : cancel_(std::move(other.cancel_)) {
    other.cancel_ = nullptr;
  }
  EventSubscription& operator=(EventSubscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::move(other.cancel_);
      other.cancel_ = nullptr;
    }
    return *this;
  }
  ~EventSubscription() { reset(); }
  void reset() {
    if (cancel_) std::exchange(cancel_, nullptr)();
  }

 private:
  std::function<void()> cancel_;
};

class Handle {
 public:
  // How long a call waits for the control loop before ErrorCode::Timeout.
  static constexpr std::chrono::seconds kCallTimeout{10};

  explicit Handle(std::shared_ptr<detail::RuntimeCore> core);

  Expected<SupervisorState> current_state() const;
  Expected<Health> health() const;

  // Any command of the vocabulary (command.hpp); the named methods below
  // are shorthands for it.
  CommandResult execute(CommandRequest request);

  // parent_id: the supervisor to add under ("root" or a nested supervisor's id).
  // The spec and the meta pass spec::check_child_spec / check_command_meta
  // first, as over the socket and in the config: a refusal is Rejected with
  // the field path in its reason (field_path="spec.exec[0]": ...).
  CommandResult add_child(ChildSpec spec, const CommandMeta& meta,
                          std::string_view parent_id = "root");
  CommandResult remove_child(std::string_view id, const CommandMeta& meta);
  CommandResult restart_child(std::string_view id, const CommandMeta& meta);
  CommandResult pause_child(std::string_view id, const CommandMeta& meta);
  CommandResult resume_child(std::string_view id, const CommandMeta& meta);
  CommandResult quarantine_child(std::string_view id, const CommandMeta& meta);
  CommandResult release_child(std::string_view id, const CommandMeta& meta);
  // Drill: terminates the child at once (SIGKILL for processes; in-process
  // tasks are abandoned) and records TaskExit::Killed; it is then restarted
  // like any failed child.
  CommandResult kill_child(std::string_view id, const CommandMeta& meta);
  // Stops every child in reverse declaration order; the runtime then ends
  // (Runtime::wait returns).
  CommandResult shutdown_tree(const CommandMeta& meta);

  // `fn` is called for every event, in sequence order, from a runtime
  // thread; it must not block. Events after `after_sequence` that are still
  // in the replay ring (the last few thousand) are delivered first, so a
  // reconnecting client can catch up; gaps tell it what was lost.
  // ErrorCode::Timeout when the loop did not answer: no subscription exists.
  Expected<EventSubscription> subscribe_events(std::function<void(const Event&)> fn,
                                               std::uint64_t after_sequence = UINT64_MAX);
  // The sequence of the newest event; a caller that subscribes "from now"
  // must stop on an error here, not subscribe after 0 (all history).
  Expected<std::uint64_t> last_event_sequence() const;

  // Reported by the tree's control endpoint (see endpoint.hpp) whenever its
  // link changes; health shows it while that incarnation runs.
  void report_endpoint_status(EndpointStatus status);

  // For what runs beside the tree (DAG executions). Both return at once.
  // An event joins the one numbered stream (sequence and time are set
  // here); a command carried out elsewhere is audited and logged as the
  // tree's own commands are (`command` names it, e.g. "executions.cancel").
  void publish_event(Event event);
  void record_command(const CommandMeta& meta, std::string_view command, std::string_view target,
                      const CommandResult& result);

 private:
  friend struct detail::TestHooks;
  std::shared_ptr<detail::RuntimeCore> core_;
};

}  // namespace sup
