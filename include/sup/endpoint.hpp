// The tree's control endpoint: the one child (of kind ChildKind::Endpoint)
// that serves the tree to outside clients, say over a socket, with a Handle
// to the runtime it runs in. The daemon serves its IPC socket so; an
// embedder may bring its own (RuntimeOptions::endpoint_factory) or none.
//
// The runtime treats it as what it is, the way in for commands: it cannot be
// paused, quarantined, removed or added at run time (nothing could bring it
// back), and health shows the link it last reported, but only while that
// incarnation runs (a restarted endpoint starts out Disconnected).
//
//   handle.report_endpoint_status({sup::EndpointLink::Connected, 2});
//   health->endpoint.link == sup::EndpointLink::Connected  // while it runs
#pragma once

#include <cstdint>
#include <string_view>

namespace sup {

// Disconnected: not serving (down, restarting, or not reported yet);
// Listening: serving, no client watching; Connected: a client is watching.
enum class EndpointLink : std::uint8_t { Disconnected, Listening, Connected };
std::string_view to_string(EndpointLink link);  // "disconnected", "listening", "connected"

struct EndpointStatus {
  EndpointLink link = EndpointLink::Disconnected;
  std::uint32_t clients = 0;  // connected clients, watching or not

  friend bool operator==(const EndpointStatus&, const EndpointStatus&) = default;
};

}  // namespace sup
