// The dispatcher against the fake control plane: every method end to end
// from a request line to the response line, and the actions it hands back.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "ipc/dispatcher.hpp"
#include "ipc/fake_control_plane.hpp"

using nlohmann::json;
using namespace sup::ipc;
using sup::CommandKind;

namespace {

constexpr std::uint32_t kDaemonUid = 1000;
const Peer kOwner{kDaemonUid, 10};
const Peer kRoot{0, 11};
const Peer kStranger{65534, 12};

struct Fixture {
  FakeControlPlane plane;
  Dispatcher dispatcher{plane, {"sup@test", "supervisor on test", "/tmp/x.sock", kDaemonUid}};

  Reply call(const json& request, const Peer& peer = kOwner) {
    return dispatcher.handle_line(request.dump(), peer);
  }
  json result(const json& request, const Peer& peer = kOwner) {
    json response = json::parse(call(request, peer).line);
    INFO(response.dump());
    REQUIRE(response["ok"] == true);
    CHECK(response["request_id"] == request["request_id"]);
    return response["result"];
  }
  json error(const json& request, const Peer& peer = kOwner) {
    json response = json::parse(call(request, peer).line);
    INFO(response.dump());
    REQUIRE(response["ok"] == false);
    return response["error"];
  }
};

json command(std::string method, json params = json::object()) {
  json base = {{"command_id", "c-1"},
               {"requested_by", "alice"},
               {"reason", "test"},
               {"target", "ingest"},
               {"confirmed", true}};
  base.update(params);
  return {{"request_id", "r-" + method}, {"method", std::move(method)}, {"params", base}};
}

class ThrowingPlane : public FakeControlPlane {
 public:
  sup::Expected<sup::SupervisorState> current_state() override {
    throw std::runtime_error("snapshot failed");
  }
};

// A runtime whose control loop does not answer.
class SilentPlane : public FakeControlPlane {
 public:
  static sup::Error timeout() {
    return sup::make_error(sup::ErrorCode::Timeout, "the control loop did not answer within 10 ms");
  }
  sup::Expected<sup::SupervisorState> current_state() override { return timeout(); }
  sup::Expected<sup::Health> health() override { return timeout(); }
  sup::Expected<std::uint64_t> last_event_sequence() override { return timeout(); }
};

}  // namespace

TEST_CASE("only root and the daemon's uid may mutate") {
  CHECK(peer_may_mutate({0, 1}, kDaemonUid));
  CHECK(peer_may_mutate({kDaemonUid, 1}, kDaemonUid));
  CHECK_FALSE(peer_may_mutate({kDaemonUid + 1, 1}, kDaemonUid));
  CHECK_FALSE(peer_may_mutate({65534, 1}, 0));
}

TEST_CASE_FIXTURE(Fixture, "hello answers the seed's registration") {
  json hello = result({{"request_id", "h"}, {"method", "hello"}, {"params", {{"client", "x"}}}});
  CHECK(hello["type"] == "hello");
  CHECK(hello["target_id"] == "sup@test");
  CHECK(hello["protocol_version"] == "dashboard-ipc.v1");
  const json& reg = hello["registration"];
  CHECK(reg["target_id"] == "sup@test");
  CHECK(reg["display_name"] == "supervisor on test");
  CHECK(reg["ipc_path"] == "/tmp/x.sock");
  CHECK(reg["lease_seconds"].get<int>() > 0);
  std::vector<std::string> names;
  for (const auto& c : reg["supported_commands"]) {
    names.push_back(c["name"]);
    REQUIRE(sup::find_command(names.back()));
    CHECK(c["idempotent"] == sup::find_command(names.back())->idempotent);
    CHECK(c["timeout_seconds"].get<int>() > 0);
  }
  // The seed's seven, by their bare names; our extensions are in `methods`.
  CHECK(names == std::vector<std::string>{"add_child", "remove_child", "restart_child",
                                          "pause_child", "resume_child", "quarantine_child",
                                          "shutdown_tree"});
  // Every method but executions.* (this dispatcher has no execution plane).
  auto served = std::count_if(methods().begin(), methods().end(), [](const MethodInfo& method) {
    return method.kind != MethodKind::Executions;
  });
  CHECK(hello["methods"].size() == static_cast<std::size_t>(served));
  CHECK(hello["read_only"] == false);
  CHECK(result({{"request_id", "h"}, {"method", "hello"}}, kStranger)["read_only"] == true);
}

TEST_CASE_FIXTURE(Fixture, "state and health come from the control plane") {
  plane.add_child_record("ingest");
  plane.add_child_record("relay");
  json answer = result({{"request_id", "s"}, {"method", "state"}});
  CHECK(answer["type"] == "state");
  const json& state = answer["state"];  // the seed's DashboardState
  REQUIRE(state["child_runtime_records"].size() == 2);
  CHECK(state["child_runtime_records"][1]["child_id"] == "relay");
  CHECK(state["child_runtime_records"][1]["id"] == "relay");
  CHECK(state["topology"]["nodes"].size() == 3);
  CHECK(state["runtime_state"].size() == 2);

  sup::Health health;
  health.status = "ready";
  health.endpoint.link = sup::EndpointLink::Listening;
  plane.set_health(health);
  json h = result({{"request_id", "h"}, {"method", "health"}});
  CHECK(h["type"] == "health");
  CHECK(h["status"] == "ready");
  CHECK(h["dashboard_link"] == "listening");

  CHECK(error({{"request_id", "s"},
               {"method", "state"},
               {"params", {{"target_id", "else"}}}})["field_path"] == "params.target_id");
}

TEST_CASE_FIXTURE(Fixture, "events.subscribe answers last_sequence and asks for a stream") {
  plane.emit_event("child_started", "a");
  plane.emit_event("child_exited", "a");
  Reply fresh = call({{"request_id", "e"}, {"method", "events.subscribe"}});
  CHECK(json::parse(fresh.line)["result"] == json{{"type", "subscription"},
                                                  {"target_id", "sup@test"},
                                                  {"subscription", "events"},
                                                  {"last_sequence", 2}});
  CHECK(fresh.subscribe_events_after == 2u);
  CHECK_FALSE(fresh.follow_logs);

  Reply resume = call(
      {{"request_id", "e"}, {"method", "events.subscribe"}, {"params", {{"after_sequence", 0}}}});
  CHECK(resume.subscribe_events_after == 0u);

  Reply bad = call(
      {{"request_id", "e"}, {"method", "events.subscribe"}, {"params", {{"after_sequence", "x"}}}});
  CHECK_FALSE(bad.subscribe_events_after);
  CHECK(json::parse(bad.line)["error"]["code"] == "invalid_request");
}

TEST_CASE_FIXTURE(Fixture, "logs.tail returns the newest records and can follow") {
  for (int i = 0; i < 5; ++i) {
    sup::LogField fields[] = {{"CHILD_ID", i % 2 ? "odd" : "even"}, {"STREAM", "stdout"}};
    plane.logs().append({sup::LogLevel::Info, "line " + std::to_string(i), fields, i});
  }
  plane.logs().append({sup::LogLevel::Warn, "daemon says", {}, 9});

  json all = result({{"request_id", "l"}, {"method", "logs.tail"}, {"params", {{"lines", 2}}}});
  CHECK(all["type"] == "subscription");
  CHECK(all["subscription"] == "logs");
  REQUIRE(all["records"].size() == 2);
  CHECK(all["records"][0]["message"] == "line 4");
  CHECK(all["records"][1]["message"] == "daemon says");
  CHECK(all["records"][1]["severity"] == "warning");
  CHECK(all["last_sequence"] == 6);
  CHECK(all["truncated"] == false);

  Reply odd = call({{"request_id", "l"},
                    {"method", "logs.tail"},
                    {"params", {{"child_id", "odd"}, {"follow", true}}}});
  json odd_result = json::parse(odd.line)["result"];
  REQUIRE(odd_result["records"].size() == 2);
  CHECK(odd_result["records"][0]["fields"]["CHILD_ID"] == "odd");
  REQUIRE(odd.follow_logs);
  CHECK(odd.follow_logs->child_id == "odd");
  CHECK(odd.follow_logs->after_sequence == 6);
}

TEST_CASE_FIXTURE(Fixture, "every command reaches the control plane with its metadata") {
  plane.add_child_record("ingest");
  std::size_t commands_seen = 0;
  for (const auto& method : methods()) {
    if (method.kind != MethodKind::Command) continue;
    CAPTURE(method.name);
    json request = command(std::string(method.name));
    if (method.command->kind == CommandKind::AddChild) {
      request["params"].erase("target");
      request["params"]["spec"] = {
          {"id", "new-one"}, {"kind", "drill"}, {"drill", {{"kind", "busy"}}}};
    }
    json answer = result(request);
    CHECK(answer["type"] == "command_result");
    const json& r = answer["result"];  // the seed's ControlCommandResult
    CHECK(r["command_id"] == "c-1");
    CHECK(r["target_id"] == "sup@test");
    CHECK(r["accepted"] == true);
    CHECK(r["status"] == "completed");
    CHECK(r["outcome"] == "CommandResult::Accepted");
    CHECK(r["completed_at_unix_nanos"].get<std::int64_t>() > 0);
    auto commands = plane.commands();
    REQUIRE(commands.size() == ++commands_seen);
    const Command& received = commands.back();
    CHECK(received.kind == method.command->kind);
    CHECK(received.meta.command_id == "c-1");
    CHECK(received.meta.requested_by == "alice");
    CHECK(received.meta.reason == "test");
    if (method.command->kind == CommandKind::AddChild) {
      CHECK(received.target == "new-one");
      REQUIRE(received.spec);
      CHECK(received.spec->drill.kind == sup::DrillKind::Busy);
    } else if (method.command->kind == CommandKind::ShutdownTree) {
      CHECK(received.target.empty());
    } else {
      CHECK(received.target == "ingest");
    }
  }
  CHECK(commands_seen == 9);

  SUBCASE("a NotFound result is still ok:true") {
    json r = result(command("command.restart_child", {{"target", "ghost"}}))["result"];
    CHECK(r["accepted"] == false);
    CHECK(r["status"] == "rejected");
    CHECK(r["error"]["code"] == "not_found");
    CHECK(r["outcome"] == "CommandResult::NotFound");
    CHECK(r["reason"].get<std::string>().find("ghost") != std::string::npos);
  }
}

TEST_CASE_FIXTURE(Fixture, "a stranger is refused every command, before any validation") {
  for (const auto& method : methods()) {
    if (method.kind != MethodKind::Command) continue;
    CAPTURE(method.name);
    json e = error({{"request_id", "x"}, {"method", method.name}, {"params", json::object()}},
                   kStranger);
    CHECK(e["code"] == "permission_denied");
    CHECK(e["stage"] == "authorization");
    CHECK(e["message"].get<std::string>().find("65534") != std::string::npos);
  }
  CHECK(plane.commands().empty());
  result(command("command.pause_child"), kRoot);
  CHECK(plane.commands().size() == 1);
  // Queries stay open to everyone who can connect.
  result({{"request_id", "s"}, {"method", "state"}}, kStranger);
}

TEST_CASE_FIXTURE(Fixture, "protocol errors become error responses") {
  json e = json::parse(dispatcher.handle_line("{oops", kOwner).line);
  CHECK(e["ok"] == false);
  CHECK(e["request_id"] == "invalid-request");
  CHECK(e["error"]["code"] == "invalid_json");
  json unknown = error({{"request_id", "u"}, {"method", "command.fly"}});
  CHECK(unknown["code"] == "unsupported_method");
  json confirm = error(command("command.remove_child", {{"confirmed", false}}));
  CHECK(confirm["code"] == "validation_failed");  // the seed server's
  CHECK(confirm["stage"] == "command_validate");
  CHECK(confirm["field_path"] == "params.confirmed");
  CHECK(plane.commands().empty());
}

TEST_CASE("a throwing control plane gives an internal error, not an exception") {
  ThrowingPlane plane;
  Dispatcher dispatcher(plane, {"t", "t", "/p", 0});
  json e =
      json::parse(dispatcher.handle_line(R"({"request_id":"s","method":"state"})", kRoot).line);
  CHECK(e["request_id"] == "s");
  CHECK(e["error"]["code"] == "internal");
  CHECK(e["error"]["message"] == "snapshot failed");
}

TEST_CASE("a runtime that does not answer: retryable timeout errors, and no subscription from 0") {
  SilentPlane plane;
  plane.emit_event("child_started", "a");  // history a subscription from 0 would replay
  Dispatcher dispatcher(plane, {"t", "t", "/p", 0});
  for (std::string method : {"state", "health", "events.subscribe"}) {
    CAPTURE(method);
    Reply reply =
        dispatcher.handle_line(json{{"request_id", "q"}, {"method", method}}.dump(), kRoot);
    json e = json::parse(reply.line);
    CHECK(e["ok"] == false);
    CHECK(e["error"]["code"] == "timeout");
    CHECK(e["error"]["retryable"] == true);
    CHECK(e["error"]["message"].get<std::string>().find("did not answer") != std::string::npos);
    CHECK_FALSE(reply.subscribe_events_after.has_value());
  }
}

TEST_CASE("health and state carry dashboard_registration: disabled unless a source reports it") {
  FakeControlPlane plane;
  sup::SupervisorState captured;
  captured.captured_at_unix_ms = 1'700'000'000'000;
  plane.set_state(captured);
  auto answer = [](const Dispatcher& dispatcher, std::string_view method) {
    json response = json::parse(
        dispatcher
            .handle_line(R"({"request_id":"1","method":")" + std::string(method) + R"("})", kOwner)
            .line);
    REQUIRE(response["ok"] == true);
    return response["result"];
  };
  Dispatcher disabled(plane, {"t", "t", "/p", 0});
  CHECK(answer(disabled, "health")["dashboard_registration"] ==
        json::parse(R"({"state":"disabled","relay_path":null,"last_error":null,
            "lease_expires_at_unix_ms":null,"consecutive_failures":0,"registrations":0})"));
  CHECK(answer(disabled, "state")["state"]["target"]["registration_state"] == "pending");

  sup::registration::RegistrationStatus status;
  status.state = sup::registration::State::Failed;
  status.relay_path = "/run/relay.sock";
  status.last_error = "connect: Connection refused";
  status.consecutive_failures = 2;
  Dispatcher reporting(plane, {"t", "t", "/p", 0, 30, [&status] { return status; }});
  json reported = answer(reporting, "health")["dashboard_registration"];
  CHECK(reported["state"] == "failed");
  CHECK(reported["relay_path"] == "/run/relay.sock");
  CHECK(reported["last_error"] == "connect: Connection refused");
  CHECK(reported["consecutive_failures"] == 2);
  json state = answer(reporting, "state")["state"];
  CHECK(state["dashboard_registration"] == reported);
  CHECK(state["target"]["registration_state"] == "pending");  // never acknowledged

  // The seed's registration_state follows the lease as the relay holds it.
  status.state = sup::registration::State::Registered;
  status.last_error.clear();
  status.lease_expires_at_unix_ms = captured.captured_at_unix_ms + 30'000;
  status.registrations = 1;
  state = answer(reporting, "state")["state"];
  CHECK(state["target"]["registration_state"] == "active");
  CHECK(state["dashboard_registration"]["state"] == "registered");
  CHECK(state["dashboard_registration"]["last_error"].is_null());
  CHECK(state["dashboard_registration"]["lease_expires_at_unix_ms"] ==
        captured.captured_at_unix_ms + 30'000);
  status.state = sup::registration::State::Failed;  // a renewal failed: the lease still holds
  CHECK(answer(reporting, "state")["state"]["target"]["registration_state"] == "active");
  status.lease_expires_at_unix_ms = captured.captured_at_unix_ms;
  CHECK(answer(reporting, "state")["state"]["target"]["registration_state"] == "expired");
}
