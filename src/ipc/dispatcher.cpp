#include "ipc/dispatcher.hpp"

#include <exception>

#include "common/clock.hpp"
#include "ipc/encoding.hpp"
#include "ipc/execution_encoding.hpp"
#include "ipc/request_params.hpp"

namespace sup::ipc {
namespace {

// A logs.tail result is one line in the client's queue; keep it well below
// the default queue limit however long the captured lines are.
constexpr std::size_t kMaxTailBytes = 4u << 20;

// DashboardState.recent_logs: the newest few, for a dashboard's first frame.
constexpr std::uint32_t kRecentLogRecords = 50;
constexpr std::size_t kMaxRecentLogBytes = 64u << 10;

// A query the runtime could not answer: a timeout is retryable.
ProtocolError runtime_failure(const Error& failure) {
  return {failure.code == sup::ErrorCode::Timeout ? ErrorCode::Timeout : ErrorCode::Internal,
          failure.message};
}

}  // namespace

bool peer_may_mutate(const Peer& peer, std::uint32_t daemon_uid) {
  return peer.uid == 0 || peer.uid == daemon_uid;
}

Dispatcher::Dispatcher(ControlPlane& plane, ServerInfo info, ExecutionPlane* executions)
    : plane_(plane), info_(std::move(info)), executions_(executions) {}

Reply Dispatcher::handle_line(std::string_view line, const Peer& peer) const {
  auto decoded = decode_request(line);
  if (auto* bad = std::get_if<RequestError>(&decoded)) return error(bad->request_id, bad->error);
  return dispatch(std::get<Request>(decoded), peer);
}

Reply Dispatcher::dispatch(const Request& request, const Peer& peer) const {
  try {
    switch (request.method->kind) {
      case MethodKind::Hello:
        return hello(request, peer);
      case MethodKind::State:
        return state(request);
      case MethodKind::Health:
        return health(request);
      case MethodKind::EventsSubscribe:
        return subscribe(request);
      case MethodKind::LogsTail:
        return tail(request);
      case MethodKind::Command:
        return command(request, peer);
      case MethodKind::Executions:
        return executions(request, peer);
    }
    return error(request.request_id, {ErrorCode::Internal, "unhandled method kind"});
  } catch (const std::exception& e) {
    return error(request.request_id, {ErrorCode::Internal, e.what()});
  }
}

// hello takes any params: clients may announce themselves in the seed's
// ways, and the handshake should never fail on that.
Reply Dispatcher::hello(const Request& request, const Peer& peer) const {
  return Reply(response_line(request.request_id, "hello", info_.target_id, [&](JsonWriter& w) {
    w.field("protocol_version", kProtocolVersion);
    // What the daemon registers with a relay (ours are listed in `methods`).
    w.key("registration").begin_object();
    registration::write_request_fields(
        w, registration::make_request(info_.target_id, info_.display_name, info_.ipc_path,
                                      info_.lease_seconds));
    w.end_object();
    w.key("methods").begin_array();
    for (const auto& method : methods()) {
      if (method.kind == MethodKind::Executions && executions_ == nullptr) continue;
      w.value(method.name);
    }
    w.end_array();
    w.field("read_only", !peer_may_mutate(peer, info_.daemon_uid));
  }));
}

Reply Dispatcher::state(const Request& request) const {
  auto params = parse_query_params(request.params, info_.target_id);
  if (auto* bad = std::get_if<ProtocolError>(&params)) return error(request.request_id, *bad);
  auto snapshot = plane_.current_state();
  if (!snapshot) return error(request.request_id, runtime_failure(snapshot.error()));
  LogTail logs = plane_.tail_logs({std::nullopt, kRecentLogRecords, kMaxRecentLogBytes});
  const registration::RegistrationStatus relay_registration = registration_status();
  DashboardContext context{info_.target_id, info_.display_name, &relay_registration, &logs.records};
  return Reply(response_line(request.request_id, "state", info_.target_id, [&](JsonWriter& w) {
    w.key("state");
    write_dashboard_state(w, *snapshot, context);
    // Ours, beside the seed's DashboardState: whether submissions are queued.
    if (executions_ != nullptr) {
      w.key("maintenance");
      wire::write(w, to_wire(executions_->maintenance()));
    }
  }));
}

Reply Dispatcher::health(const Request& request) const {
  auto params = parse_query_params(request.params, info_.target_id);
  if (auto* bad = std::get_if<ProtocolError>(&params)) return error(request.request_id, *bad);
  auto snapshot = plane_.health();
  if (!snapshot) return error(request.request_id, runtime_failure(snapshot.error()));
  return Reply(response_line(request.request_id, "health", info_.target_id, [&](JsonWriter& w) {
    wire::Health health = to_wire(*snapshot, registration_status());
    if (executions_ != nullptr) health.maintenance = to_wire(executions_->maintenance());
    wire::write_fields(w, health);
  }));
}

Reply Dispatcher::subscribe(const Request& request) const {
  auto params = parse_subscribe_params(request.params, info_.target_id);
  if (auto* bad = std::get_if<ProtocolError>(&params)) return error(request.request_id, *bad);
  // No answer means no subscription: never one from 0 (all history) in
  // place of "from now".
  auto last = plane_.last_event_sequence();
  if (!last) return error(request.request_id, runtime_failure(last.error()));
  Reply reply(
      response_line(request.request_id, "subscription", info_.target_id, [&](JsonWriter& w) {
        wire::write_fields(w, wire::Subscription{"events", *last, {}, false});
      }));
  // Without after_sequence the stream starts after `last`, so an event
  // emitted between this answer and the subscription is still delivered.
  reply.subscribe_events_after = std::get<SubscribeParams>(params).after_sequence.value_or(*last);
  return reply;
}

Reply Dispatcher::tail(const Request& request) const {
  auto params = parse_tail_params(request.params, info_.target_id);
  if (auto* bad = std::get_if<ProtocolError>(&params)) return error(request.request_id, *bad);
  const auto& tail_params = std::get<TailParams>(params);
  LogTail tail = plane_.tail_logs({tail_params.child_id, tail_params.lines, kMaxTailBytes});
  wire::Subscription answer{"logs", tail.last_sequence, {}, tail.truncated};
  answer.records.reserve(tail.records.size());
  for (const auto& entry : tail.records) answer.records.push_back(to_wire(*entry, info_.target_id));
  Reply reply(response_line(request.request_id, "subscription", info_.target_id,
                            [&](JsonWriter& w) { wire::write_fields(w, answer); }));
  if (tail_params.follow) reply.follow_logs = LogFollow{tail_params.child_id, tail.last_sequence};
  return reply;
}

Reply Dispatcher::command(const Request& request, const Peer& peer) const {
  if (!peer_may_mutate(peer, info_.daemon_uid))
    return error(request.request_id,
                 {ErrorCode::PermissionDenied,
                  std::string(request.method->name) + " is refused to uid " +
                      std::to_string(peer.uid) + ": only root and the daemon's uid (" +
                      std::to_string(info_.daemon_uid) + ") may run commands"});
  auto parsed = parse_command_params(*request.method, request.params, info_.target_id);
  if (auto* bad = std::get_if<ProtocolError>(&parsed)) return error(request.request_id, *bad);
  const auto& command = std::get<Command>(parsed);
  CommandResult result = plane_.execute(command);
  std::optional<std::string> correlation_id;
  if (auto it = request.params.find("correlation_id");
      it != request.params.end() && it->is_string())
    correlation_id = it->get<std::string>();
  wire::CommandResult answer =
      to_wire(result, info_.target_id, command.meta.command_id, correlation_id, unix_now_nanos());
  return Reply(
      response_line(request.request_id, "command_result", info_.target_id, [&](JsonWriter& w) {
        w.key("result");
        wire::write(w, answer);
      }));
}

registration::RegistrationStatus Dispatcher::registration_status() const {
  return info_.registration_status ? info_.registration_status()
                                   : registration::RegistrationStatus{};
}

Reply Dispatcher::error(const std::optional<std::string>& request_id,
                        const ProtocolError& error) const {
  return Reply(error_response_line(request_id, error, info_.target_id));
}

}  // namespace sup::ipc
