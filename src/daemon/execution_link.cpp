#include "daemon/execution_link.hpp"

#include <deque>

#include "ipc/execution_encoding.hpp"
#include "sup/log.hpp"

namespace sup::daemon {

struct ExecutionLink::State {
  std::mutex mutex;
  std::optional<Handle> handle;
  std::deque<Event> pending;  // before attach()
  std::uint64_t dropped = 0;
  bool detached = false;
};

namespace {

class ServicePlane : public ipc::ExecutionPlane {
 public:
  ServicePlane(executions::ExecutionService& service, Handle handle)
      : service_(service), handle_(std::move(handle)) {}

  void submit(executions::SubmitRequest request, CommandMeta meta,
              std::function<void(Expected<executions::SubmitAck>)> done) override {
    std::string wanted = request.execution_id;
    service_.submit(std::move(request), [handle = handle_, meta = std::move(meta), wanted,
                                         done = std::move(done)](
                                            Expected<executions::SubmitAck> ack) mutable {
      CommandResult result = !ack ? CommandResult::rejected(ack.error().describe())
                             : ack->existing
                                 ? CommandResult{CommandResult::Accepted, "already submitted", true}
                                 : CommandResult::accepted();
      handle.record_command(meta, "executions.submit", ack ? ack->execution_id : wanted, result);
      done(std::move(ack));
    });
  }

  void control(std::string execution_id, executions::ControlAction action, CommandMeta meta,
               std::function<void(Expected<executions::ControlAck>)> done) override {
    std::string command = "executions." + std::string(executions::to_string(action));
    std::string reason = meta.reason;
    service_.control(execution_id, action, std::move(reason),
                     [handle = handle_, meta = std::move(meta), command, execution_id,
                      done = std::move(done)](Expected<executions::ControlAck> ack) mutable {
                       CommandResult result = !ack ? CommandResult::rejected(ack.error().describe())
                                              : ack->changed ? CommandResult::accepted()
                                                             : CommandResult::rejected(ack->reason);
                       handle.record_command(meta, command, execution_id, result);
                       done(std::move(ack));
                     });
  }

  void retry(executions::RetryRequest request, CommandMeta meta,
             std::function<void(Expected<executions::RetryAck>)> done) override {
    std::string target = request.execution_id + "/" + request.from_node;
    service_.retry(
        std::move(request), [handle = handle_, meta = std::move(meta), target,
                             done = std::move(done)](Expected<executions::RetryAck> ack) mutable {
          handle.record_command(
              meta, "executions.retry", target,
              ack ? CommandResult::accepted() : CommandResult::rejected(ack.error().describe()));
          done(std::move(ack));
        });
  }

  void resume_all(CommandMeta meta,
                  std::function<void(Expected<executions::ResumeAllAck>)> done) override {
    std::string reason = meta.reason;
    service_.resume_all(
        std::move(reason), [handle = handle_, meta = std::move(meta), done = std::move(done)](
                               Expected<executions::ResumeAllAck> ack) mutable {
          CommandResult result = ack ? CommandResult{CommandResult::Accepted,
                                                     std::to_string(ack->resumed()) + " of " +
                                                         std::to_string(ack->executions.size()) +
                                                         " stuck executions resumed",
                                                     false}
                                     : CommandResult::rejected(ack.error().describe());
          handle.record_command(meta, "executions.resume_all", "executions", result);
          done(std::move(ack));
        });
  }

  void set_maintenance(bool enabled, CommandMeta meta,
                       std::function<void(Expected<executions::MaintenanceAck>)> done) override {
    executions::MaintenanceChange change{enabled, meta.reason, meta.requested_by};
    service_.set_maintenance(
        std::move(change),
        [handle = handle_, meta = std::move(meta), enabled,
         done = std::move(done)](Expected<executions::MaintenanceAck> ack) mutable {
          CommandResult result = !ack ? CommandResult::rejected(ack.error().describe())
                                 : ack->changed
                                     ? CommandResult::accepted()
                                     : CommandResult::rejected("maintenance mode is already so");
          handle.record_command(meta, "executions.set_maintenance",
                                enabled ? "maintenance:on" : "maintenance:off", result);
          done(std::move(ack));
        });
  }

  executions::MaintenanceMode maintenance() override { return service_.maintenance(); }

  Expected<std::vector<executions::ExecutionInfo>> list(
      const executions::ListFilter& filter) override {
    return service_.list(filter);
  }
  Expected<executions::ExecutionView> describe(std::string_view execution_id) override {
    return service_.describe(execution_id);
  }
  Expected<executions::NodeOutput> node_output(std::string_view execution_id,
                                               std::string_view node_id,
                                               std::size_t max_lines) override {
    return service_.node_output(execution_id, node_id, max_lines);
  }

 private:
  executions::ExecutionService& service_;
  Handle handle_;
};

}  // namespace

ExecutionLink::ExecutionLink() : state_(std::make_shared<State>()) {}

void ExecutionLink::install(executions::ExecutionServiceOptions& options) {
  options.on_transition = [state = state_](const executions::TransitionEvent& transition) {
    Event event = ipc::execution_event(transition);
    std::lock_guard lock(state->mutex);
    if (state->detached) return;
    if (state->handle) return state->handle->publish_event(std::move(event));
    if (state->pending.size() == kMaxPendingEvents) {
      state->pending.pop_front();
      ++state->dropped;
    }
    state->pending.push_back(std::move(event));
  };
}

void ExecutionLink::attach(Handle handle) {
  std::lock_guard lock(state_->mutex);
  if (state_->dropped > 0)
    log(LogLevel::Warn, "execution events before the runtime started were dropped",
        {{"DROPPED", std::to_string(state_->dropped)}});
  for (Event& event : state_->pending) handle.publish_event(std::move(event));
  state_->pending.clear();
  state_->handle = std::move(handle);
}

void ExecutionLink::detach() {
  std::lock_guard lock(state_->mutex);
  state_->detached = true;
  state_->handle.reset();
}

std::shared_ptr<ipc::ExecutionPlane> ExecutionLink::plane(executions::ExecutionService& service,
                                                          Handle handle) {
  return std::make_shared<ServicePlane>(service, std::move(handle));
}

}  // namespace sup::daemon
