// The relay's socket server: listens on dashboard.path, accepts dashboard
// clients (refusing those beyond max_clients with too_many_clients), checks
// each peer's uid (SO_PEERCRED), and serves them on the thread that calls
// run() while two small worker pools answer requests: one for cheap ones,
// one for snapshots. It reports the link to
// the control plane: "connected" while a client holds an events
// subscription, "listening" otherwise, "disconnected" once it stops.
//
//   SocketServer server({.dashboard = config.dashboard}, plane);
//   if (auto bound = server.bind(); !bound) return fail(bound.error().describe());
//   ctx.on_cancel([&](auto&) { server.stop(); });
//   server.run();  // until stop(), or until another relay takes the path
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/daemon_config.hpp"
#include "dashboard_relay/client_session.hpp"
#include "dashboard_relay/event_feed.hpp"
#include "dashboard_relay/socket_path.hpp"
#include "ipc/control_plane.hpp"
#include "registration/registration_lease.hpp"
#include "sup/error.hpp"

namespace sup::relay {

struct ServerOptions {
  config::DashboardConfig dashboard;
  // Threads answering requests, and those taking snapshots (state,
  // logs.tail) in a lane of their own.
  unsigned request_threads = 2;
  unsigned snapshot_threads = 2;
  EventFeedLimits event_feed;
  // How often the server checks that its socket file is still its own and
  // calls on_tick (on the serving thread); on_tick returning false stops it.
  std::chrono::milliseconds maintenance_interval{100};
  std::function<bool()> on_tick;
  // Serves the executions.* methods; null: they answer unsupported_method.
  std::shared_ptr<ipc::ExecutionPlane> executions;
  // The daemon's registration with a relay, for health and state; unset:
  // registration is disabled.
  std::function<registration::RegistrationStatus()> registration_status = {};
};

struct CountersSnapshot {
  std::uint64_t accepted = 0;
  std::uint64_t rejected_too_many_clients = 0;
  std::uint64_t dropped_slow_consumers = 0;
  std::uint64_t event_gaps = 0;
  std::uint64_t closed_idle = 0;
  std::uint64_t closed_line_too_long = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t requests = 0;
};

enum class RunEnd : unsigned char {
  Stopped,   // stop() was called
  PathLost,  // the socket file was removed or replaced (by a newer relay)
};

class SocketServer {
 public:
  SocketServer(ServerOptions options, std::shared_ptr<ipc::ControlPlane> plane);
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // Takes the path: replaces a stale socket file, takes over from an
  // earlier relay of this process still listening there, and refuses a
  // path another process listens on (errors name field_path
  // "dashboard.path"). Then binds, applies the mode, and listens.
  Status bind();

  // Serves on the calling thread; returns once stopped, with every client
  // closed, the socket file removed if still ours, and the link reported
  // "disconnected".
  RunEnd run();

  // From any thread, before or during run(). Idempotent. Accepts no more
  // clients, lets the replies already on their way out (for at most a few
  // hundred milliseconds), then closes everything.
  void stop();

  CountersSnapshot counters() const;
  std::uint32_t clients() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "supervisor@<hostname>": the default dashboard target_id.
std::string default_target_id();

}  // namespace sup::relay
