// What the control endpoint (include/sup/endpoint.hpp) last reported, as
// health shows it.
//
// The endpoint reports whenever its link changes; what it said holds only
// while that incarnation runs: an endpoint that is down, restarting or not
// yet reporting shows as Disconnected with no clients.
//
//   EndpointStatusView view;
//   view.endpoint_started();  // a new incarnation: nothing said yet
//   view.reported({EndpointLink::Connected, 2});
//   EndpointStatus shown = view.seen(endpoint_running);
#pragma once

#include "sup/endpoint.hpp"

namespace sup::actors {

class EndpointStatusView {
 public:
  void endpoint_started() { reported({}); }
  void reported(EndpointStatus status) { status_ = status; }
  EndpointStatus seen(bool endpoint_running) const {
    return endpoint_running ? status_ : EndpointStatus{};
  }

 private:
  EndpointStatus status_;
};

}  // namespace sup::actors
