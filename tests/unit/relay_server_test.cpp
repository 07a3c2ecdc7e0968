// The relay's socket server over a real socket against the fake control
// plane: the methods end to end, event and log streams, reconnect with
// replay, the dashboard link it reports, and stopping.
#include <doctest/doctest.h>

#include <future>

#include "relay_test_support.hpp"

using namespace relay_test;
using sup::EndpointLink;
using sup::EndpointStatus;

namespace {

bool link_is(RunningServer& s, EndpointLink link, std::uint32_t clients) {
  return s.plane->wait_for_endpoint_status(
      [&](EndpointStatus status) {
        return status == EndpointStatus{link, clients};
      },
      kTimeout);
}

json subscribe_request(std::optional<std::uint64_t> after = std::nullopt) {
  json request = {
      {"request_id", "sub"}, {"method", "events.subscribe"}, {"params", json::object()}};
  if (after) request["params"]["after_sequence"] = *after;
  return request;
}

}  // namespace

TEST_CASE("requests are answered over the socket") {
  TempDir dir;
  RunningServer s(test_config(dir));
  s.plane->add_child_record("ingest");
  Client client(s.path);
  REQUIRE(client.connected());

  json hello = client.request(hello_request());
  CHECK(hello["ok"] == true);
  CHECK(hello["result"]["protocol_version"] == "dashboard-ipc.v1");
  CHECK(hello["result"]["registration"]["ipc_path"] == s.path);
  CHECK(hello["result"]["target_id"] == "sup@test");
  // The test runs as root or as the daemon's own uid: it may mutate.
  CHECK(hello["result"]["read_only"] == false);

  json state = client.request({{"request_id", "s"}, {"method", "state"}});
  CHECK(state["result"]["state"]["child_runtime_records"][0]["id"] == "ingest");

  json command = client.request({{"request_id", "c"},
                                 {"method", "command.restart_child"},
                                 {"params",
                                  {{"command_id", "c-1"},
                                   {"requested_by", "test"},
                                   {"reason", "over the socket"},
                                   {"target", "ingest"}}}});
  CHECK(command["result"]["result"]["outcome"] == "CommandResult::Accepted");
  REQUIRE(s.plane->commands().size() == 1);
  CHECK(s.plane->commands()[0].meta.reason == "over the socket");

  SUBCASE("pipelined requests are answered in order") {
    std::string batch;
    for (int i = 0; i < 20; ++i)
      batch += json{{"request_id", std::to_string(i)}, {"method", "health"}}.dump() + "\r\n";
    REQUIRE(client.send(batch + "\n  \n"));  // blank lines are ignored
    for (int i = 0; i < 20; ++i) {
      auto response = client.read_json();
      REQUIRE(response);
      CHECK((*response)["request_id"] == std::to_string(i));
    }
  }
}

TEST_CASE("events stream to subscribers, and a reconnecting client catches up") {
  TempDir dir;
  RunningServer s(test_config(dir));
  CHECK(link_is(s, EndpointLink::Listening, 0));

  std::uint64_t seen = 0;
  {
    Client dashboard(s.path);
    CHECK(link_is(s, EndpointLink::Listening, 1));
    json subscribed = dashboard.request(subscribe_request());
    CHECK(subscribed["result"]["type"] == "subscription");
    CHECK(subscribed["result"]["last_sequence"] == 0);
    CHECK(link_is(s, EndpointLink::Connected, 1));

    s.plane->emit_event("child_started", "ingest");
    s.plane->emit_event("child_exited", "ingest");
    for (std::uint64_t expected : {1u, 2u}) {
      auto event = dashboard.read_json();
      REQUIRE(event);
      CHECK((*event)["type"] == "event");
      CHECK((*event)["event"]["sequence"] == expected);
      CHECK((*event)["event"]["child_id"] == "ingest");
      seen = (*event)["event"]["sequence"];
    }
  }
  CHECK(link_is(s, EndpointLink::Listening, 0));

  // Missed while disconnected:
  s.plane->emit_event("child_restarting", "ingest");
  s.plane->emit_event("child_started", "ingest");

  Client again(s.path);
  json resumed = again.request(subscribe_request(seen));
  CHECK(resumed["result"]["last_sequence"] == 4);
  s.plane->emit_event("health_changed");
  std::vector<std::string> types;
  for (std::uint64_t expected = 3; expected <= 5; ++expected) {
    auto event = again.read_json();
    REQUIRE(event);
    CHECK((*event)["event"]["sequence"] == expected);
    types.push_back((*event)["event"]["event_type"]);
  }
  CHECK(types == std::vector<std::string>{"child_restarting", "child_started", "health_changed"});

  SUBCASE("subscribing again replaces the stream instead of doubling it") {
    again.request(subscribe_request());
    s.plane->emit_event("child_exited", "x");
    auto event = again.read_json();
    REQUIRE(event);
    CHECK((*event)["event"]["sequence"] == 6);
    CHECK(s.plane->event_subscribers() == 1);
  }
}

TEST_CASE("logs.tail answers history and follows new records") {
  TempDir dir;
  RunningServer s(test_config(dir));
  sup::LogField ingest[] = {{"CHILD_ID", "ingest"}, {"STREAM", "stdout"}};
  s.plane->logs().append({sup::LogLevel::Info, "before", ingest, 1});
  s.plane->logs().append({sup::LogLevel::Info, "daemon line", {}, 2});

  Client client(s.path);
  json tail = client.request({{"request_id", "t"},
                              {"method", "logs.tail"},
                              {"params", {{"child_id", "ingest"}, {"follow", true}}}});
  REQUIRE(tail["result"]["records"].size() == 1);
  CHECK(tail["result"]["records"][0]["message"] == "before");

  s.plane->logs().append({sup::LogLevel::Info, "daemon again", {}, 3});
  s.plane->logs().append({sup::LogLevel::Error, "after", ingest, 4});
  auto pushed = client.read_json();
  REQUIRE(pushed);
  CHECK((*pushed)["type"] == "log");
  CHECK((*pushed)["log"]["message"] == "after");
  CHECK((*pushed)["log"]["severity"] == "error");
  CHECK((*pushed)["log"]["fields"]["STREAM"] == "stdout");
}

TEST_CASE("stop closes every client promptly and reports the link disconnected") {
  TempDir dir;
  RunningServer s(test_config(dir));
  std::vector<Client> clients;
  for (int i = 0; i < 5; ++i) {
    clients.emplace_back(s.path);
    clients.back().request(subscribe_request());
  }
  CHECK(link_is(s, EndpointLink::Connected, 5));
  // A request still queued when the stop comes must not hold it up.
  REQUIRE(clients[0].send_json({{"request_id", "late"}, {"method", "state"}}));

  auto stopper = std::async(std::launch::async, [&] { s.stop(); });
  REQUIRE(stopper.wait_for(kTimeout) == std::future_status::ready);
  CHECK(s.end == sup::relay::RunEnd::Stopped);
  for (auto& client : clients) CHECK(client.wait_closed());
  CHECK(s.plane->endpoint_status() == EndpointStatus{});
  CHECK_FALSE(std::filesystem::exists(s.path));
  CHECK(s.plane->event_subscribers() == 0);
}
