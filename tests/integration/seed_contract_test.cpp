// Contract tests against the seed's own clients (issue 8): the real daemon,
// registering with a stand-in of the seed relay's registration socket and
// driven exactly as the seed's relay (developerworks/rust-supervisor-relay,
// src/ipc_client.rs) drives a target, and read as the seed's web UI
// (developerworks/rust-supervisor-ui, src/types/protocol.ts,
// src/state/stateStore.ts) reads a DashboardState. Every answer and push is
// checked against the seed's field names, JSON types and enum spellings,
// which are written out here from the seed's sources, independently of our
// encoder (src/wire), so a drift on either side fails here.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "stand_in_relay.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

using Names = std::set<std::string>;

// The seed's enumerations.
const Names kRegistrationStates = {"pending", "active", "rejected", "expired"};
const Names kConnectionStates = {"registered",   "disconnected", "connecting", "connected",
                                 "reconnecting", "unavailable",  "expired"};
const Names kLifecycleStates = {"starting",   "running",  "paused",  "quarantined", "failed",
                                "restarting", "stopping", "stopped", "completed",   "removed"};
const Names kHealthStates = {"unknown", "healthy", "stale", "unhealthy"};
const Names kRowReadiness = {"unknown", "unreported", "ready", "not_ready"};
const Names kRecordReadiness = {"unreported", "ready", "not_ready"};
const Names kSeverities = {"trace", "debug", "info", "warning", "error"};
const Names kNodeKinds = {"root_supervisor", "child_task"};
const Names kCriticalities = {"critical", "standard", "best_effort"};
const Names kEdgeKinds = {"parent_child", "dependency"};
const Names kCommandStatuses = {"accepted", "rejected", "completed", "failed"};
const Names kAttemptStatuses = {"starting", "running", "ready", "cancelling", "stopped"};
const Names kOperations = {"active", "paused", "quarantined", "removed"};
const Names kManagedStates = {"running", "paused", "quarantined", "removed"};
const Names kStopStates = {"idle", "no_active_attempt", "cancel_delivered", "completed", "failed"};
// ControlCommandName of the relay and the UI (protocol.ts controlCommandNames).
const Names kCommandNames = {"restart_child", "pause_child", "resume_child", "quarantine_child",
                             "remove_child",  "add_child",   "shutdown_tree"};

// ---- shape checks: each names the path of what it found wrong ------------

void check_string(const Json& o, const std::string& place, const std::string& key) {
  CHECK_MESSAGE((o.contains(key) && o[key].is_string()), (place + "." + key + " not a string"));
}
void check_optional_string(const Json& o, const std::string& place, const std::string& key) {
  if (o.contains(key) && !o[key].is_null())
    CHECK_MESSAGE(o[key].is_string(), (place + "." + key + " not a string or null"));
}
void check_bool(const Json& o, const std::string& place, const std::string& key) {
  CHECK_MESSAGE((o.contains(key) && o[key].is_boolean()), (place + "." + key + " not a bool"));
}
// Rust's u64/u128 fields: a non-negative integer (as_u64 in the relay).
void check_count(const Json& o, const std::string& place, const std::string& key) {
  CHECK_MESSAGE((o.contains(key) && o[key].is_number_unsigned()),
                (place + "." + key + " not an unsigned integer: " + o.value(key, Json()).dump()));
}
void check_optional_count(const Json& o, const std::string& place, const std::string& key) {
  if (o.contains(key) && !o[key].is_null())
    CHECK_MESSAGE(o[key].is_number_unsigned(), (place + "." + key + " not an unsigned integer"));
}
void check_enum(const Json& o, const std::string& place, const std::string& key,
                const Names& allowed) {
  const bool ok = o.contains(key) && o[key].is_string() && allowed.count(o[key].get<std::string>());
  CHECK_MESSAGE(
      ok, (place + "." + key + " is not one of the seed's values: " + o.value(key, Json()).dump()));
}
void check_string_map(const Json& o, const std::string& place, const std::string& key) {
  REQUIRE_MESSAGE((o.contains(key) && o[key].is_object()), (place + "." + key + " not an object"));
  for (const auto& [name, value] : o[key].items())
    CHECK_MESSAGE(value.is_string(), (place + "." + key + "." + name + " not a string"));
}
const Json& array_of(const Json& o, const std::string& place, const std::string& key) {
  REQUIRE_MESSAGE((o.contains(key) && o[key].is_array()), (place + "." + key + " not an array"));
  return o[key];
}

void check_error(const Json& e, const std::string& place) {
  REQUIRE_MESSAGE(e.is_object(), (place + " not an object"));
  check_string(e, place, "code");
  check_string(e, place, "stage");
  check_optional_string(e, place, "target_id");
  check_string(e, place, "message");
  check_bool(e, place, "retryable");
}

void check_event_record(const Json& e, const std::string& place) {
  REQUIRE_MESSAGE(e.is_object(), (place + " not an object"));
  check_string(e, place, "target_id");
  check_count(e, place, "sequence");
  check_string(e, place, "correlation_id");
  check_string(e, place, "event_type");
  check_enum(e, place, "severity", kSeverities);
  check_string(e, place, "target_path");
  check_optional_string(e, place, "child_id");
  check_count(e, place, "occurred_at_unix_nanos");
  check_string(e, place, "config_version");
  CHECK_MESSAGE((e.contains("payload") && e["payload"].is_object()), (place + ".payload"));
}

void check_log_record(const Json& l, const std::string& place) {
  REQUIRE_MESSAGE(l.is_object(), (place + " not an object"));
  check_string(l, place, "target_id");
  check_optional_count(l, place, "sequence");
  check_optional_string(l, place, "correlation_id");
  check_enum(l, place, "severity", kSeverities);
  check_string(l, place, "message");
  check_string_map(l, place, "fields");
  check_count(l, place, "occurred_at_unix_nanos");
}

void check_node(const Json& n, const std::string& place) {
  REQUIRE_MESSAGE(n.is_object(), (place + " not an object"));
  check_string(n, place, "node_id");
  check_optional_string(n, place, "child_id");
  check_string(n, place, "path");
  check_string(n, place, "name");
  check_enum(n, place, "kind", kNodeKinds);
  for (const Json& tag : array_of(n, place, "tags")) CHECK(tag.is_string());
  check_enum(n, place, "criticality", kCriticalities);
  check_string(n, place, "state_summary");
  check_string_map(n, place, "diagnostics");
}

void check_dashboard_state(const Json& s, const std::string& target_id) {
  REQUIRE_MESSAGE(s.is_object(), "state is not an object");
  const Json& target = s["target"];
  CHECK(target["target_id"] == target_id);
  check_string(target, "state.target", "display_name");
  check_enum(target, "state.target", "registration_state", kRegistrationStates);
  check_enum(target, "state.target", "connection_state", kConnectionStates);

  const Json& topology = s["topology"];
  REQUIRE_MESSAGE(topology.is_object(), "state.topology");
  check_node(topology["root"], "state.topology.root");
  const Json& nodes = array_of(topology, "state.topology", "nodes");
  for (std::size_t i = 0; i < nodes.size(); ++i)
    check_node(nodes[i], "state.topology.nodes[" + std::to_string(i) + "]");
  for (const Json& edge : array_of(topology, "state.topology", "edges")) {
    check_string(edge, "edge", "edge_id");
    check_string(edge, "edge", "source_path");
    check_string(edge, "edge", "target_path");
    check_enum(edge, "edge", "kind", kEdgeKinds);
    check_count(edge, "edge", "order");
  }
  for (const Json& path : array_of(topology, "state.topology", "declaration_order"))
    CHECK(path.is_string());

  for (const Json& row : array_of(s, "state", "runtime_state")) {
    const std::string place = "runtime_state[" + row.value("child_path", "?") + "]";
    check_string(row, place, "child_path");
    check_enum(row, place, "lifecycle_state", kLifecycleStates);
    check_enum(row, place, "health", kHealthStates);
    check_enum(row, place, "readiness", kRowReadiness);
    check_count(row, place, "generation");
    check_count(row, place, "attempt");  // the UI's
    check_count(row, place, "child_start_count");
    check_count(row, place, "restart_count");
    check_optional_string(row, place, "last_failure");
    check_optional_string(row, place, "last_policy_decision");
    check_string(row, place, "shutdown_state");
  }
  for (const Json& r : array_of(s, "state", "child_runtime_records")) {
    const std::string place = "child_runtime_records[" + r.value("child_id", "?") + "]";
    check_string(r, place, "child_id");
    check_string(r, place, "child_path");
    check_optional_count(r, place, "generation");
    check_optional_count(r, place, "attempt");
    if (!r["status"].is_null()) check_enum(r, place, "status", kAttemptStatuses);
    check_enum(r, place, "operation", kOperations);
    check_enum(r, place, "managed_child_state", kManagedStates);
    const Json& liveness = r["liveness"];
    check_optional_count(liveness, place + ".liveness", "last_heartbeat_at_unix_nanos");
    check_bool(liveness, place + ".liveness", "heartbeat_stale");
    check_enum(liveness, place + ".liveness", "readiness", kRecordReadiness);
    const Json& limit = r["restart_limit"];
    for (const char* key : {"window_millis", "limit", "used", "remaining", "updated_at_unix_nanos"})
      check_count(limit, place + ".restart_limit", key);
    check_bool(limit, place + ".restart_limit", "exhausted");
    check_enum(r, place, "stop_state", kStopStates);
    CHECK_MESSAGE((r.contains("failure") && (r["failure"].is_null() || r["failure"].is_object())),
                  (place + ".failure"));
  }
  const Json& events = array_of(s, "state", "recent_events");
  for (std::size_t i = 0; i < events.size(); ++i)
    check_event_record(events[i], "recent_events[" + std::to_string(i) + "]");
  const Json& logs = array_of(s, "state", "recent_logs");
  for (std::size_t i = 0; i < logs.size(); ++i)
    check_log_record(logs[i], "recent_logs[" + std::to_string(i) + "]");
  check_count(s, "state", "dropped_event_count");
  check_count(s, "state", "dropped_log_count");
  check_string(s, "state", "config_version");
  check_count(s, "state", "generated_at_unix_nanos");
  check_count(s, "state", "state_generation");
}

// ---- the relay's calls -----------------------------------------------------

// A relay-style request id (a UUID v4 in the relay).
std::string request_id() {
  static unsigned next = 0;
  char id[40];
  std::snprintf(id, sizeof id, "0b7e4f52-9d1c-4c2a-8f3e-%012u", ++next);
  return id;
}

// As the relay's request_json: a fresh connection, one request line, one
// response line read. Checks the envelope; the response.
Json relay_call(const sup::it::Daemon& daemon, const std::string& method, const Json& params) {
  auto client =
      sup::it::SocketClient::connect(daemon.socket_path(), sup::it::deadline_in(scaled(5000ms)));
  REQUIRE_MESSAGE(client, client.error().describe());
  const std::string id = request_id();
  const Json request = {{"request_id", id}, {"method", method}, {"params", params}};
  REQUIRE(client->send_all(request.dump() + "\n", sup::it::deadline_in(scaled(5000ms))));
  auto line = client->read_line(sup::it::deadline_in(scaled(10'000ms)));
  REQUIRE_MESSAGE(line, ("no answer to " + method));
  const Json response = Json::parse(*line, nullptr, false);
  REQUIRE_MESSAGE(response.is_object(), *line);
  CHECK_MESSAGE(response["request_id"] == id, *line);  // the first line is the answer
  REQUIRE_MESSAGE(response["ok"].is_boolean(), *line);
  if (response["ok"] == true) {
    REQUIRE_MESSAGE(response["result"].is_object(), *line);
    check_string(response["result"], "result", "type");
    check_string(response["result"], "result", "target_id");
  } else {
    check_error(response["error"], "error");
  }
  return response;
}

// The relay's command params (ipc_client.rs forward_command_request, with
// correlation_id and command as the note lists them).
Json relay_command_params(const std::string& target_id, const std::string& command,
                          const Json& child_path, bool confirmed, const std::string& command_id) {
  return {{"command_id", command_id},
          {"correlation_id", nullptr},
          {"target_id", target_id},
          {"command", command},
          {"target", {{"child_path", child_path}}},
          {"reason", "seed relay contract test"},
          {"requested_by", "operator@relay"},
          {"confirmed", confirmed},
          {"requested_at_unix_nanos", 1'795'428'000'123'456'789LL}};
}

// A completed ControlCommandResult, checked; the result object.
Json check_command_result(const Json& response, const std::string& command_id,
                          const std::string& target_id) {
  REQUIRE_MESSAGE(response["ok"] == true, response.dump());
  const Json& answer = response["result"];
  CHECK(answer["type"] == "command_result");
  const Json& r = answer["result"];  // the relay reads result.result
  REQUIRE_MESSAGE(r.is_object(), response.dump());
  CHECK(r["command_id"] == command_id);
  CHECK(r["target_id"] == target_id);
  check_bool(r, "result", "accepted");
  check_enum(r, "result", "status", kCommandStatuses);
  if (r.contains("error") && !r["error"].is_null()) check_error(r["error"], "result.error");
  check_optional_count(r, "result", "completed_at_unix_nanos");
  check_optional_string(r, "result", "correlation_id");
  return r;
}

const Json* row_of(const Json& state, const std::string& path) {
  for (const Json& row : state["runtime_state"])
    if (row["child_path"] == path) return &row;
  return nullptr;
}

const Json* node_of(const Json& state, const std::string& path) {
  for (const Json& node : state["topology"]["nodes"])
    if (node["path"] == path) return &node;
  return nullptr;
}

// state as the relay reads it, checked; the DashboardState.
Json relay_state(const sup::it::Daemon& daemon, const std::string& target_id) {
  const Json response = relay_call(daemon, "state", {{"target_id", target_id}});
  REQUIRE_MESSAGE(response["ok"] == true, response.dump());
  CHECK(response["result"]["type"] == "state");
  CHECK(response["result"]["target_id"] == target_id);
  const Json& state = response["result"]["state"];  // the relay reads result.state
  check_dashboard_state(state, target_id);
  return state;
}

// Polls the relay's state until `holds`; the last state either way.
Json state_until(const sup::it::Daemon& daemon, const std::string& target_id,
                 const std::function<bool(const Json&)>& holds) {
  Json last;
  sup::it::eventually(
      [&] {
        last = relay_state(daemon, target_id);
        return holds(last);
      },
      scaled(15'000ms), 100ms);
  return last;
}

std::string lifecycle_of(const Json& state, const std::string& path) {
  const Json* row = row_of(state, path);
  return row ? (*row)["lifecycle_state"].get<std::string>() : "absent";
}

std::string target_id_of(const sup::it::Daemon& daemon) {
  auto hello = daemon.result_of("hello");
  REQUIRE(hello);
  return (*hello)["registration"]["target_id"].get<std::string>();
}

}  // namespace

TEST_CASE("the seed relay's calls, in its order and with its params, get the seed's answers") {
  sup::it::TempDir dir;
  // The relay's registration socket (a stand-in that refuses what the
  // relay's deny_unknown_fields RegistrationRequest would).
  const std::string registration_path = dir.file("relay-registration.sock");
  sup::it::StandInRelay relay(registration_path);
  Json config = sup::it::base_config(dir);
  config["dashboard"]["registration"] = {{"enabled", true},
                                         {"path", registration_path},
                                         {"display_name", "seed contract"},
                                         {"lease_seconds", 30},
                                         {"heartbeat_ms", 1000}};
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  config["children"].push_back(sup::it::process_child("worker", "while :; do sleep 1; done"));
  config["children"].push_back(sup::it::process_child("spare", "while :; do sleep 1; done"));
  config["children"].push_back(
      sup::it::process_child("talker", "while :; do echo talking; sleep 0.1; done"));
  auto started = sup::it::Daemon::start(dir, config);
  REQUIRE_MESSAGE(started, started.error().describe());
  auto& daemon = **started;
  REQUIRE_MESSAGE(daemon.wait_until_serving(), daemon.log_text());
  const std::string target = target_id_of(daemon);

  // Registration: the daemon registers itself, with the seed's
  // RegistrationRequest and the bare command names; the relay lists it.
  REQUIRE_MESSAGE(
      sup::it::eventually([&] { return relay.listed(target).has_value(); }, scaled(10'000ms)),
      "never registered; the daemon's log:\n"
          << daemon.log_text() << "\nrefused: " << relay.refusals().size());
  CHECK(relay.refusals().empty());
  const Json registration = relay.listed(target)->request;
  CHECK(registration["ipc_path"] == daemon.socket_path());
  CHECK(registration["display_name"] == "seed contract");
  CHECK(registration["lease_seconds"] == 30);
  Names supported;
  for (const Json& command : registration["supported_commands"]) {
    check_bool(command, "supported_commands[]", "idempotent");
    check_count(command, "supported_commands[]", "timeout_seconds");
    supported.insert(command["name"].get<std::string>());
  }
  CHECK(supported == kCommandNames);

  // Bind, each on its own connection: state, events.subscribe, logs.tail.
  // The acknowledged registration shows as the UI's `active`.
  const Json first = state_until(
      daemon, target, [](const Json& s) { return s["target"]["registration_state"] == "active"; });
  CHECK(first["target"]["registration_state"] == "active");
  CHECK(first["target"]["display_name"] == "seed contract");
  CHECK(first["topology"]["root"]["path"] == first["topology"]["nodes"][0]["path"]);
  CHECK(lifecycle_of(first, "root/beat") != "absent");

  auto events =
      sup::it::SocketClient::connect(daemon.socket_path(), sup::it::deadline_in(scaled(5000ms)));
  REQUIRE(events);
  auto subscribed =
      events->call("events.subscribe", {{"target_id", target}, {"session_established", true}},
                   sup::it::deadline_in(scaled(5000ms)));
  REQUIRE(subscribed);
  REQUIRE_MESSAGE((*subscribed)["ok"] == true, subscribed->dump());
  CHECK((*subscribed)["result"]["type"] == "subscription");
  CHECK((*subscribed)["result"]["subscription"] == "events");
  CHECK((*subscribed)["result"]["target_id"] == target);

  const Json tail =
      relay_call(daemon, "logs.tail", {{"target_id", target}, {"session_established", true}});
  REQUIRE_MESSAGE(tail["ok"] == true, tail.dump());
  CHECK(tail["result"]["type"] == "subscription");
  CHECK(tail["result"]["subscription"] == "logs");
  for (const Json& record : tail["result"]["records"]) check_log_record(record, "logs.tail record");

  // Commands, as the relay forwards what the UI sent (confirmed:false for
  // the four that need no confirmation).
  const std::string restart_id = "cmd-seed-restart-1";
  const Json before = *row_of(first, "root/beat");
  Json r = check_command_result(
      relay_call(daemon, "command.restart_child",
                 relay_command_params(target, "restart_child", "root/beat", false, restart_id)),
      restart_id, target);
  CHECK(r["accepted"] == true);
  CHECK(r["status"] == "completed");
  // After `completed` the relay reads state again.
  Json state = state_until(daemon, target, [&](const Json& s) {
    const Json* row = row_of(s, "root/beat");
    return row && (*row)["generation"] > before["generation"];
  });
  CHECK((*row_of(state, "root/beat"))["generation"] > before["generation"]);

  r = check_command_result(relay_call(daemon, "command.pause_child",
                                      relay_command_params(target, "pause_child", "root/worker",
                                                           false, "cmd-seed-pause")),
                           "cmd-seed-pause", target);
  CHECK(r["status"] == "completed");
  state = state_until(daemon, target,
                      [](const Json& s) { return lifecycle_of(s, "root/worker") == "paused"; });
  CHECK(lifecycle_of(state, "root/worker") == "paused");
  for (const Json& record : state["child_runtime_records"])
    if (record["child_id"] == "worker") CHECK(record["operation"] == "paused");

  r = check_command_result(relay_call(daemon, "command.resume_child",
                                      relay_command_params(target, "resume_child", "root/worker",
                                                           false, "cmd-seed-resume")),
                           "cmd-seed-resume", target);
  CHECK(r["status"] == "completed");
  state = state_until(daemon, target,
                      [](const Json& s) { return lifecycle_of(s, "root/worker") == "running"; });
  CHECK(lifecycle_of(state, "root/worker") == "running");

  // The UI sends quarantine with confirmed:false: not a dangerous command.
  r = check_command_result(
      relay_call(daemon, "command.quarantine_child",
                 relay_command_params(target, "quarantine_child", "root/worker", false,
                                      "cmd-seed-quarantine")),
      "cmd-seed-quarantine", target);
  CHECK(r["status"] == "completed");
  state = state_until(daemon, target, [](const Json& s) {
    return lifecycle_of(s, "root/worker") == "quarantined";
  });
  CHECK(lifecycle_of(state, "root/worker") == "quarantined");

  // remove_child is dangerous: refused unconfirmed, done confirmed.
  Json refused = relay_call(
      daemon, "command.remove_child",
      relay_command_params(target, "remove_child", "root/spare", false, "cmd-seed-remove-1"));
  CHECK(refused["ok"] == false);
  CHECK(refused["error"]["code"] == "validation_failed");  // the seed server's
  CHECK(refused["error"]["stage"] == "command_validate");
  CHECK(lifecycle_of(relay_state(daemon, target), "root/spare") != "absent");
  r = check_command_result(relay_call(daemon, "command.remove_child",
                                      relay_command_params(target, "remove_child", "root/spare",
                                                           true, "cmd-seed-remove-2")),
                           "cmd-seed-remove-2", target);
  CHECK(r["status"] == "completed");
  // Removed once it has stopped: gone from every array.
  state = state_until(daemon, target,
                      [](const Json& s) { return lifecycle_of(s, "root/spare") == "absent"; });
  CHECK(lifecycle_of(state, "root/spare") == "absent");
  CHECK(node_of(state, "root/spare") == nullptr);

  // A repeat of a command_id: the first result again, nothing done twice.
  r = check_command_result(
      relay_call(daemon, "command.restart_child",
                 relay_command_params(target, "restart_child", "root/beat", false, restart_id)),
      restart_id, target);
  CHECK(r["status"] == "completed");
  CHECK(r["idempotent"] == true);

  // The relay's older params (no correlation_id, no command) and a
  // correlation_id given as a string, which comes back in the result.
  Json older = relay_command_params(target, "restart_child", "root/beat", false, "cmd-seed-old");
  older.erase("correlation_id");
  older.erase("command");
  r = check_command_result(relay_call(daemon, "command.restart_child", older), "cmd-seed-old",
                           target);
  CHECK(r["status"] == "completed");
  Json correlated =
      relay_command_params(target, "restart_child", "root/beat", false, "cmd-seed-corr");
  correlated["correlation_id"] = "corr-7";
  r = check_command_result(relay_call(daemon, "command.restart_child", correlated), "cmd-seed-corr",
                           target);
  CHECK(r["correlation_id"] == "corr-7");

  // A command the tree cannot carry out is still an answer: rejected, with
  // the seed's error object.
  r = check_command_result(relay_call(daemon, "command.restart_child",
                                      relay_command_params(target, "restart_child", "root/ghost",
                                                           false, "cmd-seed-ghost")),
                           "cmd-seed-ghost", target);
  CHECK(r["accepted"] == false);
  CHECK(r["status"] == "rejected");
  check_error(r["error"], "result.error");

  // Bad input: each an error response with the seed's error object.
  {
    auto client =
        sup::it::SocketClient::connect(daemon.socket_path(), sup::it::deadline_in(scaled(5000ms)));
    REQUIRE(client);
    REQUIRE(client->send_all("{not json\n", sup::it::deadline_in(scaled(5000ms))));
    auto line = client->read_line(sup::it::deadline_in(scaled(5000ms)));
    REQUIRE(line);
    const Json bad = Json::parse(*line);
    CHECK(bad["request_id"] == "invalid-request");  // always a string
    CHECK(bad["ok"] == false);
    check_error(bad["error"], "error");
    CHECK(bad["error"]["code"] == "invalid_json");
    CHECK(bad["error"]["stage"] == "protocol_parse");
  }
  const Json unknown = relay_call(daemon, "command.fly", {{"target_id", target}})["error"];
  CHECK(unknown["code"] == "unsupported_method");
  CHECK(unknown["stage"] == "protocol_parse");
  const Json unsessioned = relay_call(
      daemon, "events.subscribe", {{"target_id", target}, {"session_established", false}})["error"];
  CHECK(unsessioned["code"] == "session_required");
  CHECK(unsessioned["stage"] == "subscription");
  Json blank = relay_command_params(target, "pause_child", "root/beat", false, "cmd-seed-blank");
  blank["reason"] = " ";
  CHECK(relay_call(daemon, "command.pause_child", blank)["error"]["code"] ==
        "invalid_command_params");
  Json elsewhere =
      relay_command_params("someone-else", "pause_child", "root/beat", false, "cmd-seed-else");
  CHECK(relay_call(daemon, "command.pause_child", elsewhere)["ok"] == false);
  // The relay forwards add_child with {child_path} only: without a spec it
  // is refused as invalid params, confirmed or not.
  Json add = relay_command_params(target, "add_child", "root/extra", true, "cmd-seed-add");
  CHECK(relay_call(daemon, "command.add_child", add)["error"]["code"] == "invalid_command_params");

  // Every push the subscription delivered meanwhile: {type:"event",
  // target_id, event: EventRecord}, the restart among them.
  bool saw_restart = false;
  while (auto push =
             events->next_push(sup::it::deadline_in(saw_restart ? 200ms : scaled(5000ms)))) {
    REQUIRE(push->is_object());
    CHECK((*push)["type"] == "event");
    CHECK((*push)["target_id"] == target);
    check_event_record((*push)["event"], "push.event");
    if ((*push)["event"].value("child_id", "") == "beat") saw_restart = true;
  }
  CHECK(saw_restart);

  // A followed log stream (our extension of logs.tail) pushes
  // {type:"log", target_id, log: LogRecord}.
  auto logs =
      sup::it::SocketClient::connect(daemon.socket_path(), sup::it::deadline_in(scaled(5000ms)));
  REQUIRE(logs);
  auto following = logs->call("logs.tail",
                              {{"target_id", target},
                               {"session_established", true},
                               {"child_id", "talker"},
                               {"lines", 0},
                               {"follow", true}},
                              sup::it::deadline_in(scaled(5000ms)));
  REQUIRE(following);
  REQUIRE_MESSAGE((*following)["ok"] == true, following->dump());
  auto pushed = logs->next_push(sup::it::deadline_in(scaled(5000ms)));
  REQUIRE(pushed);
  CHECK((*pushed)["type"] == "log");
  CHECK((*pushed)["target_id"] == target);
  check_log_record((*pushed)["log"], "push.log");

  // shutdown_tree last: the relay sends target {child_path: null}.
  r = check_command_result(
      relay_call(daemon, "command.shutdown_tree",
                 relay_command_params(target, "shutdown_tree", nullptr, true, "cmd-seed-down")),
      "cmd-seed-down", target);
  CHECK(r["status"] == "completed");
  auto ended = daemon.process().wait_exit(scaled(20'000ms));
  REQUIRE_MESSAGE(ended, "the daemon did not exit after shutdown_tree");
  CHECK(ended->exited_with(0));
}

TEST_CASE("the seed UI's reads of DashboardState hold for every child kind and state of the demo") {
  sup::it::TempDir dir;
  // The demo tree (config/supervisor.json) on a private socket and state
  // dir, plus a drill that stays in its backoff (so restarting is seen).
  std::ifstream demo_file(SUP_IT_DEMO_CONFIG);
  REQUIRE(demo_file);
  const std::string text((std::istreambuf_iterator<char>(demo_file)),
                         std::istreambuf_iterator<char>());
  const Json demo = Json::parse(text, nullptr, true, /*ignore_comments=*/true);
  Json config = sup::it::base_config(dir);
  config["children"] = demo["children"];
  config["children"].push_back({{"id", "slow-restart"},
                                {"kind", "drill"},
                                {"drill", {{"kind", "crash_after"}, {"ms", 100}}},
                                {"budget", {{"capacity", 100}, {"refill_per_sec", 1}}},
                                {"backoff", {{"initial_ms", 60'000}, {"max_ms", 60'000}}}});
  auto started = sup::it::Daemon::start(dir, config);
  REQUIRE_MESSAGE(started, started.error().describe());
  auto& daemon = **started;
  REQUIRE_MESSAGE(daemon.wait_until_serving(), daemon.log_text());
  const std::string target = target_id_of(daemon);

  // paused (ticker) and removed (heartbeat), by the relay's commands.
  check_command_result(
      relay_call(daemon, "command.pause_child",
                 relay_command_params(target, "pause_child", "root/ticker", false, "ui-pause")),
      "ui-pause", target);
  check_command_result(
      relay_call(daemon, "command.remove_child",
                 relay_command_params(target, "remove_child", "root/heartbeat", true, "ui-remove")),
      "ui-remove", target);

  // running, restarting, quarantined (crasher spends its budget within ~10 s).
  const Json state = state_until(daemon, target, [](const Json& s) {
    return lifecycle_of(s, "root/crasher") == "quarantined" &&
           lifecycle_of(s, "root/slow-restart") == "restarting" &&
           lifecycle_of(s, "root/ticker") == "paused";
  });
  CHECK(lifecycle_of(state, "root/crasher") == "quarantined");
  CHECK(lifecycle_of(state, "root/slow-restart") == "restarting");
  CHECK(lifecycle_of(state, "root/ticker") == "paused");
  CHECK(lifecycle_of(state, "root/relay") == "running");
  CHECK(lifecycle_of(state, "root/workers") == "running");
  CHECK(lifecycle_of(state, "root/workers/worker-a") == "running");
  CHECK(lifecycle_of(state, "root/heartbeat") == "absent");  // removed

  // stateStore.ts: the root is selected first, by topology.root.path, and
  // must be a node; nodes are found by path.
  const Json& topology = state["topology"];
  const std::string root = topology["root"]["path"];
  REQUIRE(node_of(state, root) != nullptr);
  CHECK(node_of(state, "root/heartbeat") == nullptr);
  // selectedRuntimeState: runtime_state.child_path == a node's path, for
  // every child node; stateCounts: every lifecycle_state counted.
  std::set<std::string> node_paths;
  for (const Json& node : topology["nodes"]) {
    node_paths.insert(node["path"]);
    if (node["kind"] == "child_task") {
      const Json* row = row_of(state, node["path"]);
      REQUIRE_MESSAGE(row, ("no runtime_state row for " + node["path"].dump()));
      // applyStateDelta keeps node.state_summary == lifecycle_state.
      CHECK(node["state_summary"] == (*row)["lifecycle_state"]);
      CHECK(node["child_id"].is_string());
    }
  }
  CHECK(node_paths.size() == topology["nodes"].size());  // paths are unique
  for (const Json& row : state["runtime_state"]) CHECK(node_paths.count(row["child_path"]) == 1);
  // Edges and declaration order name nodes.
  for (const Json& edge : topology["edges"]) {
    CHECK(node_paths.count(edge["source_path"]) == 1);
    CHECK(node_paths.count(edge["target_path"]) == 1);
  }
  CHECK(topology["declaration_order"].size() == topology["nodes"].size());
  for (const Json& path : topology["declaration_order"]) CHECK(node_paths.count(path) == 1);
  // The nested supervisor's workers hang under it.
  bool nested_edge = false;
  for (const Json& edge : topology["edges"])
    nested_edge |=
        edge["source_path"] == "root/workers" && edge["target_path"] == "root/workers/worker-b";
  CHECK(nested_edge);
  // What the quarantined child's row says about why.
  const Json& crasher = *row_of(state, "root/crasher");
  CHECK(crasher["health"] == "unhealthy");
  CHECK(crasher["last_failure"].is_string());
  CHECK(crasher["restart_count"].get<std::uint64_t>() > 0);
  // The runbook's fields stay beside the seed's.
  CHECK(state["children"]["quarantined"].get<int>() >= 1);
  for (const Json& record : state["child_runtime_records"]) {
    CHECK(record["id"] == record["child_id"]);
    CHECK(record.contains("restart_budget"));
  }
}
