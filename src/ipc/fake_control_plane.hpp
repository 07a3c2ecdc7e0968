// A scriptable in-memory ControlPlane for the IPC tests and the fuzzer: no
// runtime, no threads of its own. Tests set the state and health it
// returns, emit events as the control loop would, and inspect the commands
// it received and the dashboard link reported to it.
//
//   sup::ipc::FakeControlPlane plane;
//   plane.add_child_record("ingest", sup::ChildState::Running);
//   plane.emit_event("child_exited", "ingest");  // delivered to subscribers
//   CHECK(plane.commands().empty());
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ipc/control_plane.hpp"

namespace sup::ipc {

class FakeControlPlane : public ControlPlane {
 public:
  FakeControlPlane() : history_(std::make_shared<LogHistory>()) {}

  void add_child_record(std::string id, ChildState state = ChildState::Running) {
    std::lock_guard lock(mutex_);
    ChildRuntimeRecord record;
    record.path = "root/" + id;
    record.parent = "root";
    record.id = std::move(id);
    record.state = state;
    state_.child_runtime_records.push_back(std::move(record));
    ++state_.state_generation;
  }
  void set_state(SupervisorState state) {
    std::lock_guard lock(mutex_);
    state_ = std::move(state);
  }
  void set_health(Health health) {
    std::lock_guard lock(mutex_);
    health_ = std::move(health);
  }

  // Emits an event to every subscriber, on the calling thread, as the
  // control loop would; the sequence is assigned here.
  std::uint64_t emit(Event event) {
    std::lock_guard lock(mutex_);
    event.sequence = ++last_sequence_;
    events_.push_back(event);
    if (events_.size() > kReplayCapacity) events_.pop_front();
    for (const auto& [id, fn] : subscribers_) fn(event);
    return event.sequence;
  }
  std::uint64_t emit_event(std::string event_type, std::string child_id = {}) {
    Event event;
    event.event_type = std::move(event_type);
    event.severity = "info";
    event.target_path = child_id.empty() ? "root" : "root/" + child_id;
    event.child_id = std::move(child_id);
    event.occurred_at_unix_nanos = 1'700'000'000'000'000'000;
    return emit(std::move(event));
  }

  LogHistory& logs() { return *history_; }

  std::vector<Command> commands() const {
    std::lock_guard lock(mutex_);
    return commands_;
  }
  std::size_t event_subscribers() const {
    std::lock_guard lock(mutex_);
    return subscribers_.size();
  }
  EndpointStatus endpoint_status() const {
    std::lock_guard lock(mutex_);
    return endpoint_status_;
  }
  // Waits until `predicate(status)` holds for the latest report.
  template <class Predicate>
  bool wait_for_endpoint_status(Predicate predicate, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return endpoint_status_changed_.wait_for(lock, timeout,
                                             [&] { return predicate(endpoint_status_); });
  }

  Expected<SupervisorState> current_state() override {
    std::lock_guard lock(mutex_);
    return state_;
  }
  Expected<Health> health() override {
    std::lock_guard lock(mutex_);
    return health_;
  }
  CommandResult execute(const Command& command) override {
    std::lock_guard lock(mutex_);
    commands_.push_back(command);
    if (command.kind == CommandKind::AddChild || command.kind == CommandKind::ShutdownTree)
      return CommandResult::accepted();
    for (const auto& record : state_.child_runtime_records)
      if (record.id == command.target) return CommandResult::accepted();
    return CommandResult::not_found("no child \"" + command.target + "\"");
  }
  Expected<std::uint64_t> last_event_sequence() override {
    std::lock_guard lock(mutex_);
    return last_sequence_;
  }
  Expected<Subscription> subscribe_events(std::function<void(const Event&)> fn,
                                          std::uint64_t after_sequence) override {
    std::lock_guard lock(mutex_);
    for (const auto& event : events_)
      if (event.sequence > after_sequence) fn(event);
    auto id = next_subscriber_id_++;
    subscribers_.emplace(id, std::move(fn));
    return Subscription([this, id] {
      std::lock_guard inner(mutex_);
      subscribers_.erase(id);
    });
  }
  LogTail tail_logs(const LogQuery& query) override { return history_->tail(query); }
  Subscription follow_logs(std::optional<std::string> child_id, std::uint64_t after_sequence,
                           std::function<void(const LogEntryPtr&)> fn) override {
    return history_->follow(std::move(child_id), after_sequence, std::move(fn));
  }
  void report_endpoint_status(EndpointStatus status) override {
    std::lock_guard lock(mutex_);
    endpoint_status_ = status;
    endpoint_status_changed_.notify_all();
  }

 private:
  static constexpr std::size_t kReplayCapacity = 4096;

  mutable std::mutex mutex_;
  std::condition_variable endpoint_status_changed_;
  SupervisorState state_;
  Health health_;
  std::vector<Command> commands_;
  std::deque<Event> events_;
  std::uint64_t last_sequence_ = 0;
  std::map<std::uint64_t, std::function<void(const Event&)>> subscribers_;
  std::uint64_t next_subscriber_id_ = 1;
  std::shared_ptr<LogHistory> history_;
  EndpointStatus endpoint_status_;
};

}  // namespace sup::ipc
