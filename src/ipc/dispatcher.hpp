// Answers one request: decodes the line, checks the peer's right to mutate,
// validates the params, asks the control plane, and encodes the response.
// What outlives the request (an event stream, a log follow) comes back as an
// action for the connection to set up, so this stays free of sockets.
//
// Stateless apart from its references: call it from any thread. Calls into
// the control plane may block briefly, so the relay calls it off its I/O
// thread.
//
//   sup::ipc::Dispatcher dispatcher(plane, {.target_id = "supervisor@host", .ipc_path = path});
//   sup::ipc::Reply reply = dispatcher.handle_line(R"({"request_id":"1","method":"health"})",
//   peer); send(reply.line);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/control_plane.hpp"
#include "ipc/execution_plane.hpp"
#include "ipc/protocol.hpp"
#include "registration/registration_lease.hpp"

namespace sup::ipc {

struct ServerInfo {
  std::string target_id;
  std::string display_name;
  std::string ipc_path;
  std::uint32_t daemon_uid = 0;      // besides root, the only uid allowed to mutate
  std::uint32_t lease_seconds = 30;  // dashboard.registration.lease_seconds, as hello says it
  // The daemon's registration with a relay, for health and state
  // (`dashboard_registration`); unset: registration is disabled.
  std::function<registration::RegistrationStatus()> registration_status = {};
};

// The connecting process, from SO_PEERCRED.
struct Peer {
  std::uint32_t uid = 0;
  std::int32_t pid = 0;
};

// Mutating methods (command.*) are for root and the daemon's own uid.
bool peer_may_mutate(const Peer& peer, std::uint32_t daemon_uid);

struct LogFollow {
  std::optional<std::string> child_id;
  std::uint64_t after_sequence = 0;
};

struct Reply;
// Takes the reply once it is known; callable from any thread, once.
using ReplyCallback = std::function<void(Reply)>;

struct Reply {
  explicit Reply(std::string response) : line(std::move(response)) {}

  std::string line;  // the response, '\n'-terminated
  // events.subscribe: stream events after this sequence (replaces a
  // previous subscription of the connection).
  std::optional<std::uint64_t> subscribe_events_after;
  // logs.tail with follow: stream matching log records after the tail.
  std::optional<LogFollow> follow_logs;
  // Set (and `line` empty) when the answer comes later, from another
  // thread (an executions.* method waiting for a commit): call it with
  // where the reply goes. It returns at once.
  std::function<void(ReplyCallback)> deferred;
};

class Dispatcher {
 public:
  // `executions` may be null: the executions.* methods then answer
  // unsupported_method.
  Dispatcher(ControlPlane& plane, ServerInfo info, ExecutionPlane* executions = nullptr);

  // `line` without its '\n'. Never throws.
  Reply handle_line(std::string_view line, const Peer& peer) const;
  Reply dispatch(const Request& request, const Peer& peer) const;

  const ServerInfo& info() const { return info_; }

 private:
  Reply hello(const Request& request, const Peer& peer) const;
  Reply state(const Request& request) const;
  Reply health(const Request& request) const;
  Reply subscribe(const Request& request) const;
  Reply tail(const Request& request) const;
  Reply command(const Request& request, const Peer& peer) const;
  Reply executions(const Request& request, const Peer& peer) const;  // execution_dispatch.cpp
  Reply error(const std::optional<std::string>& request_id, const ProtocolError& error) const;
  registration::RegistrationStatus registration_status() const;

  ControlPlane& plane_;
  ServerInfo info_;
  ExecutionPlane* executions_;
};

}  // namespace sup::ipc
