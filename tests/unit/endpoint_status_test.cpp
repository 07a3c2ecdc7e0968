// EndpointStatusView: what health shows of the control endpoint's reports
// (include/sup/endpoint.hpp), and the wire names of its links.
#include <doctest/doctest.h>

#include "actors/endpoint_status_view.hpp"

using sup::EndpointLink;
using sup::EndpointStatus;
using sup::actors::EndpointStatusView;

TEST_CASE("the endpoint's report shows only while it runs") {
  EndpointStatusView view;
  CHECK(view.seen(true) == EndpointStatus{});
  view.reported({EndpointLink::Connected, 3});
  CHECK(view.seen(true) == EndpointStatus{EndpointLink::Connected, 3});
  // Down or restarting: whatever it said last no longer holds.
  CHECK(view.seen(false) == EndpointStatus{EndpointLink::Disconnected, 0});
  view.reported({EndpointLink::Listening, 1});
  CHECK(view.seen(true) == EndpointStatus{EndpointLink::Listening, 1});
}

TEST_CASE("a new incarnation of the endpoint has said nothing yet") {
  EndpointStatusView view;
  view.reported({EndpointLink::Connected, 2});
  view.endpoint_started();
  CHECK(view.seen(true) == EndpointStatus{});
}

TEST_CASE("the links' names are the wire's (health.dashboard_link)") {
  CHECK(to_string(EndpointLink::Disconnected) == "disconnected");
  CHECK(to_string(EndpointLink::Listening) == "listening");
  CHECK(to_string(EndpointLink::Connected) == "connected");
}
