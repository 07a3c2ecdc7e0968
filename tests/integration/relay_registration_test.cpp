// Tried as a new user of the seed's relay would: a stand-in for the seed
// relay (developerworks/rust-supervisor-relay) written here, with its
// registration socket (one RegistrationRequest line in, one ack out, the
// connection closed; unknown fields refused) and its registry. The daemon
// registers within one heartbeat and renews; the stand-in lists it and
// binds to the registered ipc_path as the relay does (state, events.subscribe
// and logs.tail with session_established, each on a connection of its own);
// a restart command sent with the relay's params round-trips to a fresh
// state; after the stand-in is killed and restarted, the daemon registers
// again, and health and state say so all along.
//
// The seed's wire shapes of `state` and command results are read through
// state_payload() and command_status() below.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "serving_daemon.hpp"
#include "stand_in_relay.hpp"

using namespace std::chrono_literals;
using sup::it::Clock;
using sup::it::Json;
using sup::it::scaled;
using sup::it::StandInRelay;

namespace {

constexpr unsigned kHeartbeatMs = 1000;
constexpr unsigned kLeaseSeconds = 3;

// --- the seed's wire shapes, read in one place ----------------------------

// The DashboardState of a `state` result: {type:"state", state:{...}}.
Json state_payload(const Json& result) {
  return result.value("state", Json());
}

// A command result's status: {type:"command_result", result:{status}},
// one of accepted|rejected|completed|failed.
std::string command_status(const Json& result) {
  return result.value("result", Json::object()).value("status", std::string());
}

// One request on a connection of its own, as the relay's UnixNdjsonIpcClient sends it.
Json relay_request(const std::string& ipc_path, const std::string& method, const Json& params) {
  auto client = sup::it::SocketClient::connect(ipc_path, sup::it::deadline_in(scaled(5s)));
  REQUIRE_MESSAGE(client, (client ? "" : client.error().describe()));
  auto response = client->call(method, params, sup::it::deadline_in(scaled(10s)));
  REQUIRE_MESSAGE(response, method << ": no response");
  CHECK_MESSAGE((*response)["request_id"].is_string(), response->dump());
  return *response;
}

Json registration_of(const sup::it::Daemon& daemon) {
  auto health = daemon.result_of("health");
  REQUIRE(health);
  return health->value("dashboard_registration", Json());
}

std::optional<Json> wait_for_registration(const sup::it::Daemon& daemon, const std::string& state,
                                          std::chrono::milliseconds timeout) {
  auto health = sup::it::wait_for_health(
      daemon,
      [&](const Json& h) {
        return h.value("dashboard_registration", Json()).value("state", "") == state;
      },
      timeout);
  if (!health) return std::nullopt;
  return health->value("dashboard_registration", Json());
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

TEST_CASE(
    "a seed relay stand-in: the daemon registers within a heartbeat, renews, is bound and "
    "commanded, and registers again after the relay restarts") {
  sup::it::TempDir dir;
  const std::string registration_path = dir.file("relay-registration.sock");
  auto relay = std::make_unique<StandInRelay>(registration_path);

  Json config = sup::it::base_config(dir);
  config["dashboard"]["target_id"] = "it-target";
  config["dashboard"]["registration"] = {{"enabled", true},
                                         {"path", registration_path},
                                         {"display_name", "integration daemon"},
                                         {"lease_seconds", kLeaseSeconds},
                                         {"heartbeat_ms", kHeartbeatMs}};
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  auto daemon = sup::it::require_serving_daemon(dir, config);
  const Clock::time_point serving_at = Clock::now();

  // Registered within one heartbeat of serving, with the seed's fields.
  bool listed =
      sup::it::eventually([&] { return relay->listed("it-target").has_value(); }, scaled(10s));
  REQUIRE_MESSAGE(listed, "never registered; the daemon's log:\n" << daemon->log_text());
  auto first = relay->registrations().front();
  MESSAGE("registered " << ms_between(serving_at, first.at) << " ms after health answered");
  CHECK(first.at <= serving_at + std::chrono::milliseconds(kHeartbeatMs));
  CHECK(relay->refusals().empty());
  CHECK(first.request["display_name"] == "integration daemon");
  CHECK(first.request["ipc_path"] == daemon->socket_path());
  CHECK(first.request["lease_seconds"] == kLeaseSeconds);
  std::set<std::string> commands;
  for (const auto& command : first.request["supported_commands"])
    commands.insert(command["name"].get<std::string>());
  CHECK(commands.count("restart_child"));
  CHECK(commands.count("shutdown_tree"));

  // Renewed before the lease runs out, every heartbeat.
  bool renewed =
      sup::it::eventually([&] { return relay->registrations().size() >= 3; }, scaled(10s));
  REQUIRE(renewed);
  auto all = relay->registrations();
  for (std::size_t i = 1; i < all.size(); ++i) {
    double gap = ms_between(all[i - 1].at, all[i].at);
    CHECK_MESSAGE(gap < kLeaseSeconds * 1000.0, "renewal gap " << gap << " ms");
    CHECK_MESSAGE(gap > kHeartbeatMs * 0.5, "renewal gap " << gap << " ms");
  }
  Json registered = registration_of(*daemon);
  CHECK(registered["state"] == "registered");
  CHECK(registered["relay_path"] == registration_path);
  CHECK(registered["last_error"].is_null());
  CHECK(registered["lease_expires_at_unix_ms"].get<std::int64_t>() >
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
  CHECK(registered["registrations"].get<std::uint64_t>() >= 3);

  // The stand-in binds to the registered target as the relay does.
  const std::string ipc_path = relay->listed("it-target")->request["ipc_path"];
  Json state = relay_request(ipc_path, "state", {{"target_id", "it-target"}});
  REQUIRE_MESSAGE(state["ok"] == true, state.dump());
  const Json dashboard_state = state_payload(state["result"]);
  CHECK(dashboard_state["dashboard_registration"]["state"] == "registered");
  CHECK(dashboard_state["target"]["registration_state"] == "active");
  auto beat = sup::it::find_child(state["result"], "beat");
  REQUIRE(beat);
  const auto generation = (*beat)["generation"].get<std::uint64_t>();
  const std::string child_path = (*beat)["path"];
  for (const char* method : {"events.subscribe", "logs.tail"}) {
    Json subscribed = relay_request(ipc_path, method,
                                    {{"target_id", "it-target"}, {"session_established", true}});
    CHECK_MESSAGE(subscribed["ok"] == true, method << ": " << subscribed.dump());
  }

  // A restart, with exactly the params the relay's forward_command sends.
  Json restarted = relay_request(
      ipc_path, "command.restart_child",
      {{"command_id", "relay-cmd-1"},
       {"target_id", "it-target"},
       {"target", {{"child_path", child_path}}},
       {"reason", "stand-in relay drill"},
       {"requested_by", "operator@relay"},
       {"confirmed", false},
       {"requested_at_unix_nanos", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count()}});
  REQUIRE_MESSAGE(restarted["ok"] == true, restarted.dump());
  CHECK_MESSAGE(command_status(restarted["result"]) == "completed", restarted.dump());
  // The relay re-reads state after the command: a fresh incarnation.
  bool fresh = sup::it::eventually(
      [&] {
        Json again = relay_request(ipc_path, "state", {{"target_id", "it-target"}});
        auto record = sup::it::find_child(again["result"], "beat");
        return record && (*record)["generation"].get<std::uint64_t>() > generation;
      },
      scaled(10s), 100ms);
  CHECK_MESSAGE(fresh, "the restart never showed in state");

  // The relay dies (its socket file left behind): the daemon keeps serving,
  // reports the failure and retries with backoff.
  relay->kill();
  // (An exchange under way when it died may fail otherwise first.)
  auto refused = sup::it::wait_for_health(
      *daemon,
      [](const Json& h) {
        Json registration = h.value("dashboard_registration", Json::object());
        return registration.value("state", "") == "failed" &&
               registration.value("last_error", "").find("Connection refused") != std::string::npos;
      },
      scaled(10s));
  REQUIRE(refused);
  Json* failed = &(*refused)["dashboard_registration"];
  CHECK_MESSAGE((*failed)["state"] == "failed", refused->dump());
  CHECK((*failed)["consecutive_failures"].get<std::uint32_t>() >= 1);
  auto warned = daemon->wait_for_log(
      [](const sup::it::LogLine& line) {
        return line.get("msg") == "dashboard relay registration failed; retrying";
      },
      scaled(5s));
  CHECK(warned);
  Json failed_state = relay_request(daemon->socket_path(), "state", {{"target_id", "it-target"}});
  CHECK(state_payload(failed_state["result"])["dashboard_registration"]["state"] == "failed");

  // A new relay on the same path: registered again within about a heartbeat
  // (the retry backoff is capped at one).
  relay = std::make_unique<StandInRelay>(registration_path);
  const Clock::time_point restarted_at = Clock::now();
  bool again =
      sup::it::eventually([&] { return relay->listed("it-target").has_value(); }, scaled(10s));
  REQUIRE_MESSAGE(again, "never registered again; the daemon's log:\n" << daemon->log_text());
  double took = ms_between(restarted_at, relay->registrations().front().at);
  MESSAGE("registered again " << took << " ms after the relay came back");
  CHECK(took <= scaled(std::chrono::milliseconds(2 * kHeartbeatMs)).count());
  auto recovered = wait_for_registration(*daemon, "registered", scaled(5s));
  REQUIRE(recovered);
  CHECK((*recovered)["consecutive_failures"] == 0);
  CHECK((*recovered)["last_error"].is_null());
  CHECK(relay->refusals().empty());
}

TEST_CASE("without dashboard.registration the daemon reports it disabled and registers nowhere") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, sup::it::base_config(dir));
  Json registration = registration_of(*daemon);
  CHECK(registration["state"] == "disabled");
  CHECK(registration["relay_path"].is_null());
  auto state = daemon->result_of("state");
  REQUIRE(state);
  CHECK(state_payload(*state)["dashboard_registration"]["state"] == "disabled");
}
