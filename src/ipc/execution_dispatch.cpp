// The executions.* methods of the Dispatcher (docs/ipc.md, "Executions"):
// validated once here, then handed to the ExecutionPlane. Submissions and
// control answer later (deferred replies), once the execution service has
// committed what they did, so no lane thread waits for a commit.
#include <utility>

#include "common/clock.hpp"
#include "ipc/dispatcher.hpp"
#include "ipc/encoding.hpp"
#include "ipc/execution_encoding.hpp"
#include "ipc/execution_params.hpp"

namespace sup::ipc {
namespace {

using enum ExecutionOp;

// A service error as the protocol reports it. Field paths of the DAG
// (`nodes[3].deps[0]`) sit under params.spec; the service's own fields
// (`execution_id`, `node_id`) under params.
ProtocolError protocol_error(const Error& failure, bool mutating) {
  std::string path = failure.field_path;
  bool own_field = path == "execution_id" || path == "node_id" || path == "reason";
  switch (failure.code) {
    case sup::ErrorCode::NotFound:
      return {ErrorCode::NotFound, failure.message, path.empty() ? "" : "params." + path};
    case sup::ErrorCode::InvalidArgument:
      if (!own_field) path = path.empty() ? "spec" : "spec." + path;
      return {mutating ? ErrorCode::InvalidCommandParams : ErrorCode::InvalidRequest,
              failure.message, "params." + path};
    case sup::ErrorCode::Timeout:
      return {ErrorCode::Timeout, failure.message};
    default:
      return {ErrorCode::Internal, failure.describe()};
  }
}

std::string command_result_line(std::string_view request_id, std::string_view target_id,
                                const wire::CommandResult& result) {
  return response_line(request_id, "command_result", target_id, [&](JsonWriter& w) {
    w.key("result");
    wire::write(w, result);
  });
}

std::string command_result_line(std::string_view request_id, std::string_view target_id,
                                const ExecutionCommandOutcome& outcome) {
  return command_result_line(request_id, target_id, to_wire(outcome, target_id, unix_now_nanos()));
}

// The result of a command on no single execution (resume_all,
// set_maintenance): the seed's fields, the op's own beside them.
wire::CommandResult service_result(std::string_view command_id, std::string_view target_id,
                                   bool completed, std::string_view reason) {
  wire::CommandResult result =
      to_wire(ExecutionCommandOutcome{.command_id = command_id,
                                      .status = completed ? "completed" : "rejected",
                                      .reason = reason},
              target_id, unix_now_nanos());
  result.execution.reset();
  return result;
}

// A command the service refused for a reason of state (FailedPrecondition:
// a node in scope still runs, ...) is a rejected command with the reason;
// anything else is an error response.
Reply refusal(const std::string& request_id, std::string_view target_id, std::string_view command_id,
              std::string_view execution_id, const Error& failure) {
  if (failure.code == sup::ErrorCode::FailedPrecondition)
    return Reply(command_result_line(request_id, target_id,
                                     ExecutionCommandOutcome{.command_id = command_id,
                                                             .status = "rejected",
                                                             .execution_id = execution_id,
                                                             .reason = failure.message}));
  return Reply(error_response_line(request_id, protocol_error(failure, true), target_id));
}

}  // namespace

Reply Dispatcher::executions(const Request& request, const Peer& peer) const {
  const ExecutionOpInfo& op = *request.method->execution;
  if (executions_ == nullptr)
    return error(request.request_id,
                 {ErrorCode::UnsupportedMethod, "this server does not run executions", "method"});
  if (op.mutating && !peer_may_mutate(peer, info_.daemon_uid))
    return error(request.request_id,
                 {ErrorCode::PermissionDenied,
                  std::string(request.method->name) + " is refused to uid " +
                      std::to_string(peer.uid) + ": only root and the daemon's uid (" +
                      std::to_string(info_.daemon_uid) + ") may run commands"});
  auto parsed = parse_execution_params(op, request.params, info_.target_id);
  if (auto* bad = std::get_if<ProtocolError>(&parsed)) return error(request.request_id, *bad);
  ExecutionParams params = std::move(std::get<ExecutionParams>(parsed));
  const std::string& target_id = info_.target_id;

  switch (op.op) {
    case Submit: {
      Reply reply{std::string()};
      reply.deferred = [plane = executions_, request_id = request.request_id, target_id,
                        params = std::move(params)](ReplyCallback answer) mutable {
        executions::SubmitRequest submit{std::move(params.spec), std::move(params.params),
                                         params.execution_id};
        plane->submit(std::move(submit), params.meta,
                      [request_id, target_id, command_id = params.meta.command_id,
                       answer = std::move(answer)](Expected<executions::SubmitAck> ack) {
                        if (!ack)
                          return answer(Reply(error_response_line(
                              request_id, protocol_error(ack.error(), true), target_id)));
                        answer(Reply(command_result_line(
                            request_id, target_id,
                            {.command_id = command_id,
                             .status = "accepted",
                             .execution_id = ack->execution_id,
                             .state = ack->existing ? "" : "PENDING",
                             .reason = ack->existing ? "the execution_id was submitted before: "
                                                       "this is that execution, nothing started"
                                                     : "",
                             .existing = ack->existing})));
                      });
      };
      return reply;
    }
    case Pause:
    case Resume:
    case Cancel: {
      executions::ControlAction action = op.op == Pause    ? executions::ControlAction::Pause
                                         : op.op == Resume ? executions::ControlAction::Resume
                                                           : executions::ControlAction::Cancel;
      Reply reply{std::string()};
      reply.deferred = [plane = executions_, request_id = request.request_id, target_id, action,
                        params = std::move(params)](ReplyCallback answer) mutable {
        std::string id = params.execution_id;
        plane->control(
            std::move(id), action, params.meta,
            [request_id, target_id, execution_id = params.execution_id,
             command_id = params.meta.command_id,
             answer = std::move(answer)](Expected<executions::ControlAck> ack) {
              if (!ack)
                return answer(Reply(
                    error_response_line(request_id, protocol_error(ack.error(), true), target_id)));
              answer(Reply(command_result_line(request_id, target_id,
                                               {.command_id = command_id,
                                                .status = ack->changed ? "completed" : "rejected",
                                                .execution_id = execution_id,
                                                .state = ack->state,
                                                .reason = ack->reason})));
            });
      };
      return reply;
    }
    case Retry: {
      Reply reply{std::string()};
      reply.deferred = [plane = executions_, request_id = request.request_id, target_id,
                        params = std::move(params)](ReplyCallback answer) mutable {
        executions::RetryRequest retry{params.execution_id, params.node_id, params.meta.reason};
        plane->retry(std::move(retry), params.meta,
                     [request_id, target_id, execution_id = params.execution_id,
                      command_id = params.meta.command_id,
                      answer = std::move(answer)](Expected<executions::RetryAck> ack) {
                       if (!ack)
                         return answer(
                             refusal(request_id, target_id, command_id, execution_id, ack.error()));
                       wire::CommandResult result =
                           to_wire(ExecutionCommandOutcome{.command_id = command_id,
                                                           .status = "completed",
                                                           .execution_id = execution_id,
                                                           .state = ack->state},
                                   target_id, unix_now_nanos());
                       result.execution->nodes = ack->nodes;
                       answer(Reply(command_result_line(request_id, target_id, result)));
                     });
      };
      return reply;
    }
    case ResumeAll: {
      Reply reply{std::string()};
      reply.deferred = [plane = executions_, request_id = request.request_id, target_id,
                        params = std::move(params)](ReplyCallback answer) mutable {
        plane->resume_all(
            params.meta, [request_id, target_id, command_id = params.meta.command_id,
                          answer = std::move(answer)](Expected<executions::ResumeAllAck> ack) {
              if (!ack) return answer(refusal(request_id, target_id, command_id, "", ack.error()));
              wire::CommandResult result = service_result(command_id, target_id, true, "");
              result.resumed.emplace();
              for (const executions::ResumeOutcome& outcome : ack->executions)
                result.resumed->push_back({outcome.execution_id,
                                           std::string(executions::to_string(outcome.reason)),
                                           outcome.resumed, outcome.detail});
              answer(Reply(command_result_line(request_id, target_id, result)));
            });
      };
      return reply;
    }
    case SetMaintenance: {
      Reply reply{std::string()};
      reply.deferred = [plane = executions_, request_id = request.request_id, target_id,
                        params = std::move(params)](ReplyCallback answer) mutable {
        plane->set_maintenance(
            params.enabled, params.meta,
            [request_id, target_id, command_id = params.meta.command_id,
             answer = std::move(answer)](Expected<executions::MaintenanceAck> ack) {
              if (!ack) return answer(refusal(request_id, target_id, command_id, "", ack.error()));
              wire::CommandResult result =
                  service_result(command_id, target_id, ack->changed,
                                 ack->changed ? "" : "maintenance mode is already so");
              result.maintenance = to_wire(ack->mode);
              result.started = ack->started;
              answer(Reply(command_result_line(request_id, target_id, result)));
            });
      };
      return reply;
    }
    case Maintenance:
      return Reply(response_line(request.request_id, "maintenance", target_id, [&](JsonWriter& w) {
        w.key("maintenance");
        wire::write(w, to_wire(executions_->maintenance()));
      }));
    case List: {
      auto listed = executions_->list({params.state, params.limit});
      if (!listed) return error(request.request_id, protocol_error(listed.error(), false));
      return Reply(response_line(request.request_id, "executions", target_id, [&](JsonWriter& w) {
        w.key("executions").begin_array();
        for (const auto& info : *listed) wire::write(w, to_wire(info));
        w.end_array();
      }));
    }
    case Get: {
      auto view = executions_->describe(params.execution_id);
      if (!view) return error(request.request_id, protocol_error(view.error(), false));
      return Reply(response_line(request.request_id, "execution", target_id, [&](JsonWriter& w) {
        w.key("execution");
        wire::write(w, to_wire(*view));
      }));
    }
    case Logs: {
      auto output = executions_->node_output(params.execution_id, params.node_id, params.lines);
      if (!output) return error(request.request_id, protocol_error(output.error(), false));
      return Reply(
          response_line(request.request_id, "execution_logs", target_id, [&](JsonWriter& w) {
            wire::write_fields(w, to_wire(params.execution_id, params.node_id, *output));
          }));
    }
  }
  return error(request.request_id, {ErrorCode::Internal, "unhandled executions method"});
}

}  // namespace sup::ipc
