// What the daemon's relay last said about its clients, as health shows it.
//
// The relay reports whenever its link changes; what it said holds only
// while that incarnation runs: a relay that is down, restarting or not yet
// reporting shows as "disconnected" with no clients.
//
//   DashboardLinkView link;
//   link.relay_started();                        // a new incarnation: nothing said yet
//   link.reported(DashboardLink::Connected, 2);
//   auto [state, clients] = link.seen(relay_running);
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "sup/handle.hpp"

namespace sup::actors {

class DashboardLinkView {
 public:
  void relay_started() { reported(DashboardLink::Disconnected, 0); }
  void reported(DashboardLink link, std::uint32_t clients) {
    link_ = link;
    clients_ = clients;
  }
  std::pair<std::string_view, std::uint32_t> seen(bool relay_running) const {
    if (!relay_running) return {to_string(DashboardLink::Disconnected), 0};
    return {to_string(link_), clients_};
  }

 private:
  DashboardLink link_ = DashboardLink::Disconnected;
  std::uint32_t clients_ = 0;
};

}  // namespace sup::actors
