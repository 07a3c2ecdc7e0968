// The protocol codec: request decoding, params validation and
// the records, each checked by parsing the output back with nlohmann.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "ipc/encoding.hpp"
#include "ipc/protocol.hpp"
#include "ipc/request_params.hpp"

using nlohmann::json;
using namespace sup::ipc;
using sup::CommandKind;
using sup::JsonWriter;

namespace {

RequestError decode_error(std::string_view line) {
  auto decoded = decode_request(line);
  REQUIRE(std::holds_alternative<RequestError>(decoded));
  return std::get<RequestError>(decoded);
}

Request decode_ok(std::string_view line) {
  auto decoded = decode_request(line);
  REQUIRE(std::holds_alternative<Request>(decoded));
  return std::get<Request>(decoded);
}

template <class T>
ProtocolError params_error(const ParamsResult<T>& result) {
  REQUIRE(std::holds_alternative<ProtocolError>(result));
  return std::get<ProtocolError>(result);
}

template <class T>
T params_ok(ParamsResult<T> result) {
  if (auto* error = std::get_if<ProtocolError>(&result))
    FAIL(error->field_path << ": " << error->message);
  return std::get<T>(std::move(result));
}

// Numbers built in C++ are signed JSON integers, which the strict readers
// refuse where they want unsigned ones; on the wire, parsed numbers are
// unsigned. Hence the `u` suffixes below.
json command_params(json extra = json::object()) {
  json params = {{"command_id", "c-1"},
                 {"requested_by", "alice"},
                 {"reason", "testing"},
                 {"target", "ingest"}};
  params.update(extra);
  return params;
}

ProtocolError command_error(std::string_view method, const json& params) {
  return params_error(parse_command_params(*find_method(method), params, "sup@test"));
}

json parse_line(const std::string& line) {
  REQUIRE(!line.empty());
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  return json::parse(line);
}

}  // namespace

TEST_CASE("error codes have their documented stage and retryability") {
  struct Expected {
    ErrorCode code;
    std::string_view name, stage;
    bool retryable;
  };
  const Expected table[] = {
      {ErrorCode::InvalidJson, "invalid_json", "protocol_parse", false},
      {ErrorCode::InvalidRequest, "invalid_request", "protocol_parse", false},
      {ErrorCode::LineTooLong, "line_too_long", "protocol_parse", false},
      {ErrorCode::UnsupportedMethod, "unsupported_method", "protocol_parse", false},
      {ErrorCode::InvalidCommandParams, "invalid_command_params", "validation", false},
      {ErrorCode::ConfirmationRequired, "validation_failed", "command_validate", false},
      {ErrorCode::PermissionDenied, "permission_denied", "authorization", false},
      {ErrorCode::RateLimited, "rate_limited", "admission", true},
      {ErrorCode::TooManyClients, "too_many_clients", "admission", true},
      {ErrorCode::SlowConsumer, "slow_consumer", "backpressure", true},
      {ErrorCode::Timeout, "timeout", "dispatch", true},
      {ErrorCode::IdleTimeout, "idle_timeout", "admission", true},
      {ErrorCode::Internal, "internal", "dispatch", false},
      {ErrorCode::NotFound, "not_found", "dispatch", false},
  };
  for (const auto& row : table) {
    CAPTURE(row.name);
    CHECK(code_name(row.code) == row.name);
    CHECK(stage_of(row.code) == row.stage);
    CHECK(is_retryable(row.code) == row.retryable);
  }
}

TEST_CASE("the method table holds the seed's methods and our extensions") {
  for (std::string_view name :
       {"hello", "state", "health", "events.subscribe", "logs.tail", "command.add_child",
        "command.remove_child", "command.restart_child", "command.pause_child",
        "command.resume_child", "command.quarantine_child", "command.release_child",
        "command.kill_child", "command.shutdown_tree"}) {
    CAPTURE(name);
    REQUIRE(find_method(name) != nullptr);
    CHECK(find_method(name)->name == name);
  }
  CHECK(find_method("command.unknown") == nullptr);
  for (auto dangerous :
       {"command.add_child", "command.remove_child", "command.kill_child", "command.shutdown_tree"})
    CHECK(find_method(dangerous)->command->needs_confirmation);
  // The seed's UI sends quarantine with confirmed: false.
  CHECK_FALSE(find_method("command.quarantine_child")->command->needs_confirmation);
  CHECK_FALSE(find_method("command.restart_child")->command->needs_confirmation);
  CHECK(method_of(CommandKind::ReleaseChild).name == "command.release_child");
  CHECK(find_method("state")->command == nullptr);
}

TEST_CASE("decode_request accepts a well-formed request") {
  Request r = decode_ok(R"({"request_id":"r1","method":"state","params":{"target_id":"x"}})");
  CHECK(r.request_id == "r1");
  CHECK(r.method->kind == MethodKind::State);
  CHECK(r.params["target_id"] == "x");

  SUBCASE("params may be absent or null: they default to {}") {
    CHECK(decode_ok(R"({"request_id":"r","method":"health"})").params == json::object());
    CHECK(decode_ok(R"({"request_id":"r","method":"health","params":null})").params ==
          json::object());
  }
  SUBCASE("unknown envelope keys are ignored, for forward compatibility") {
    CHECK(decode_ok(R"({"request_id":"r","method":"hello","version":2})").method->name == "hello");
  }
}

TEST_CASE("decode_request reports each malformation with its code and field_path") {
  SUBCASE("invalid JSON") {
    for (std::string_view line : {"{", "not json", "{\"request_id\":\"r\",}", "\xFF\xFE\x00\x01",
                                  "{\"request_id\":\"\xC3\x28\"}", ""}) {
      CAPTURE(line);
      auto e = decode_error(line);
      CHECK(e.error.code == ErrorCode::InvalidJson);
      CHECK_FALSE(e.request_id);
    }
  }
  SUBCASE("nesting too deep is invalid_json, without recursing through it") {
    std::string deep(100'000, '[');
    auto e = decode_error(deep);
    CHECK(e.error.code == ErrorCode::InvalidJson);
    CHECK(e.error.message.find("nested deeper") != std::string::npos);
    // Brackets inside strings do not count.
    std::string quoted = R"({"request_id":")" + std::string(200, '[') + R"(","method":"hello"})";
    CHECK(decode_ok(quoted).method->name == "hello");
  }
  SUBCASE("a key twice in one object is refused, as in the config") {
    auto method = decode_error(R"({"request_id":"r","method":"hello","method":"state"})");
    CHECK(method.error.code == ErrorCode::InvalidJson);
    CHECK(method.error.field_path == "method");
    CHECK(method.error.message.find("duplicate key") != std::string::npos);
    auto nested = decode_error(
        R"({"request_id":"r","method":"command.add_child","params":{"spec":{"id":"a","id":"b"}}})");
    CHECK(nested.error.field_path == "params.spec.id");
    auto reason = decode_error(
        R"({"request_id":"r","method":"command.restart_child","params":{"reason":"a","reason":"b"}})");
    CHECK(reason.error.field_path == "params.reason");
  }
  SUBCASE("a number beyond a double is refused with its path") {
    auto e = decode_error(R"({"request_id":"r","method":"hello","params":{"n":1e999}})");
    CHECK(e.error.code == ErrorCode::InvalidJson);
    CHECK(e.error.field_path == "params.n");
  }
  SUBCASE("not an object") {
    for (std::string_view line : {"[]", "42", "\"text\"", "null", "true"}) {
      CAPTURE(line);
      auto e = decode_error(line);
      CHECK(e.error.code == ErrorCode::InvalidRequest);
      CHECK(e.error.field_path.empty());
    }
  }
  SUBCASE("request_id missing, of the wrong type, empty or too long") {
    for (std::string_view line : {R"({"method":"state"})", R"({"request_id":7,"method":"state"})",
                                  R"({"request_id":"","method":"state"})"}) {
      CAPTURE(line);
      auto e = decode_error(line);
      CHECK(e.error.code == ErrorCode::InvalidRequest);
      CHECK(e.error.field_path == "request_id");
      CHECK_FALSE(e.request_id);
    }
    json long_id = {{"request_id", std::string(kMaxRequestIdBytes + 1, 'x')}, {"method", "state"}};
    CHECK(decode_error(long_id.dump()).error.field_path == "request_id");
  }
  SUBCASE("method missing or not a string; the request_id is echoed") {
    for (std::string_view line :
         {R"({"request_id":"r9"})", R"({"request_id":"r9","method":[1]})"}) {
      CAPTURE(line);
      auto e = decode_error(line);
      CHECK(e.error.code == ErrorCode::InvalidRequest);
      CHECK(e.error.field_path == "method");
      CHECK(e.request_id == "r9");
    }
  }
  SUBCASE("unknown method") {
    auto e = decode_error(R"({"request_id":"r2","method":"command.format_disk"})");
    CHECK(e.error.code == ErrorCode::UnsupportedMethod);
    CHECK(e.error.field_path == "method");
    CHECK(e.error.message.find("command.format_disk") != std::string::npos);
    CHECK(e.request_id == "r2");
  }
  SUBCASE("params not an object") {
    auto e = decode_error(R"({"request_id":"r3","method":"state","params":[1,2]})");
    CHECK(e.error.code == ErrorCode::InvalidRequest);
    CHECK(e.error.field_path == "params");
    CHECK(e.request_id == "r3");
  }
}

TEST_CASE("query params: only target_id, and it must name this daemon") {
  CHECK(std::holds_alternative<std::monostate>(parse_query_params(json::object(), "sup@test")));
  params_ok(parse_query_params({{"target_id", "sup@test"}}, "sup@test"));
  auto other = params_error(parse_query_params({{"target_id", "sup@elsewhere"}}, "sup@test"));
  CHECK(other.code == ErrorCode::InvalidRequest);
  CHECK(other.field_path == "params.target_id");
  auto unknown = params_error(parse_query_params({{"verbose", true}}, "sup@test"));
  CHECK(unknown.field_path == "params.verbose");
  CHECK(unknown.message.find("unknown key") != std::string::npos);
}

TEST_CASE("events.subscribe params") {
  CHECK_FALSE(params_ok(parse_subscribe_params(json::object(), "t")).after_sequence);
  CHECK(params_ok(parse_subscribe_params({{"after_sequence", 41u}}, "t")).after_sequence == 41u);
  for (json bad : {json("7"), json(-1), json(1.5), json(nullptr)}) {
    CAPTURE(bad.dump());
    auto e = params_error(parse_subscribe_params({{"after_sequence", bad}}, "t"));
    CHECK(e.code == ErrorCode::InvalidRequest);
    CHECK(e.field_path == "params.after_sequence");
  }
  CHECK(params_error(parse_subscribe_params({{"after_sequense", 1u}}, "t"))
            .message.find("did you mean") != std::string::npos);
}

TEST_CASE("logs.tail params") {
  auto defaults = params_ok(parse_tail_params(json::object(), "t"));
  CHECK_FALSE(defaults.child_id);
  CHECK(defaults.lines == 100);
  CHECK_FALSE(defaults.follow);
  auto full =
      params_ok(parse_tail_params({{"child_id", "ingest"}, {"lines", 5u}, {"follow", true}}, "t"));
  CHECK(full.child_id == "ingest");
  CHECK(full.lines == 5);
  CHECK(full.follow);

  struct Case {
    json params;
    std::string field_path;
  };
  for (const auto& c :
       {Case{{{"child_id", 3}}, "params.child_id"}, Case{{{"child_id", "  "}}, "params.child_id"},
        Case{{{"lines", "ten"}}, "params.lines"},
        Case{{{"lines", kMaxTailLines + 1}}, "params.lines"},
        Case{{{"follow", "yes"}}, "params.follow"}, Case{{{"tail", 1u}}, "params.tail"}}) {
    CAPTURE(c.params.dump());
    auto e = params_error(parse_tail_params(c.params, "t"));
    CHECK(e.code == ErrorCode::InvalidRequest);
    CHECK(e.field_path == c.field_path);
  }
}

TEST_CASE("command params: the common fields") {
  const MethodInfo& restart = *find_method("command.restart_child");
  Command c = params_ok(
      parse_command_params(restart,
                           command_params({{"target_id", "sup@test"},
                                           {"command", "restart_child"},
                                           {"requested_at_unix_nanos", 1700000000000000000u},
                                           {"confirmed", false}}),
                           "sup@test"));
  CHECK(c.kind == CommandKind::RestartChild);
  CHECK(c.target == "ingest");
  CHECK(c.meta.command_id == "c-1");
  CHECK(c.meta.requested_by == "alice");
  CHECK(c.meta.reason == "testing");
  params_ok(parse_command_params(restart, command_params({{"command", "command.restart_child"}}),
                                 "sup@test"));

  struct Case {
    json params;
    std::string field_path;
  };
  json missing_id = command_params();
  missing_id.erase("command_id");
  json missing_target = command_params();
  missing_target.erase("target");
  for (const auto& c : {
           Case{missing_id, "params.command_id"},
           Case{command_params({{"command_id", " "}}), "params.command_id"},
           Case{command_params({{"command_id", std::string(kMaxCommandIdBytes + 1, 'c')}}),
                "params.command_id"},
           Case{command_params({{"requested_by", ""}}), "params.requested_by"},
           Case{command_params({{"requested_by", 5}}), "params.requested_by"},
           Case{command_params({{"reason", "\t"}}), "params.reason"},
           Case{command_params({{"reason", std::string(kMaxReasonBytes + 1, 'r')}}),
                "params.reason"},
           Case{missing_target, "params.target"},
           Case{command_params({{"target", json::array()}}), "params.target"},
           Case{command_params({{"confirmed", "true"}}), "params.confirmed"},
           Case{command_params({{"requested_at_unix_nanos", "now"}}),
                "params.requested_at_unix_nanos"},
           Case{command_params({{"command", "remove_child"}}), "params.command"},
           Case{command_params({{"target_id", "sup@other"}}), "params.target_id"},
           Case{command_params({{"spec", json::object()}}), "params.spec"},
           Case{command_params({{"forse", true}}), "params.forse"},
       }) {
    CAPTURE(c.params.dump());
    auto e = command_error("command.restart_child", c.params);
    CHECK(e.code == ErrorCode::InvalidCommandParams);
    CHECK(e.field_path == c.field_path);
  }
}

TEST_CASE("dangerous commands need confirmed: true") {
  const json spec = {{"id", "ingest"}, {"kind", "drill"}, {"drill", {{"kind", "busy"}}}};
  for (auto method : {"command.add_child", "command.remove_child", "command.kill_child",
                      "command.shutdown_tree"}) {
    CAPTURE(method);
    auto params = [&](json extra) {
      if (std::string_view(method) == "command.add_child") extra["spec"] = spec;
      return command_params(std::move(extra));
    };
    auto e = command_error(method, params(json::object()));
    CHECK(e.code == ErrorCode::ConfirmationRequired);
    CHECK(e.field_path == "params.confirmed");
    CHECK(e.message.find(method) != std::string::npos);
    params_ok(parse_command_params(*find_method(method), params({{"confirmed", true}}), "t"));
  }
  SUBCASE("a malformed dangerous command reports the malformation first") {
    auto e = command_error("command.remove_child", command_params({{"reason", ""}}));
    CHECK(e.code == ErrorCode::InvalidCommandParams);
  }
}

TEST_CASE("every child command names its target; shutdown_tree does not need one") {
  for (const auto& method : methods()) {
    if (method.kind != MethodKind::Command || method.command->kind == CommandKind::AddChild)
      continue;
    CAPTURE(method.name);
    json params = command_params({{"confirmed", true}});
    Command c = params_ok(parse_command_params(method, params, "t"));
    CHECK(c.kind == method.command->kind);
    params.erase("target");
    auto without = parse_command_params(method, params, "t");
    if (method.command->kind == CommandKind::ShutdownTree) {
      CHECK(params_ok(std::move(without)).target.empty());
    } else {
      CHECK(params_error(without).field_path == "params.target");
    }
  }
}

TEST_CASE("command.add_child parses the spec with the config's parser") {
  const MethodInfo& add = *find_method("command.add_child");
  json spec = {{"id", "worker-9"}, {"kind", "process"}, {"exec", {"/bin/sleep", "60"}}};
  json params = command_params({{"spec", spec}, {"parent", "workers"}, {"confirmed", true}});
  params.erase("target");
  Command c = params_ok(parse_command_params(add, params, "t"));
  CHECK(c.kind == CommandKind::AddChild);
  CHECK(c.target == "worker-9");
  CHECK(c.parent == "workers");
  REQUIRE(c.spec);
  CHECK(c.spec->kind == sup::ChildKind::Process);
  CHECK(c.spec->process.argv == std::vector<std::string>{"/bin/sleep", "60"});

  SUBCASE("parent defaults to root") {
    json no_parent = params;
    no_parent.erase("parent");
    CHECK(params_ok(parse_command_params(add, no_parent, "t")).parent == "root");
  }
  SUBCASE("errors inside the spec name the field under params.spec") {
    json bad = params;
    bad["spec"]["backoff"] = {{"max_ms", "soon"}};
    auto e = params_error(parse_command_params(add, bad, "t"));
    CHECK(e.code == ErrorCode::InvalidCommandParams);
    CHECK(e.field_path == "params.spec.backoff.max_ms");
  }
  SUBCASE("spec is required") {
    json no_spec = params;
    no_spec.erase("spec");
    CHECK(params_error(parse_command_params(add, no_spec, "t")).field_path == "params.spec");
  }
  SUBCASE("a target must agree with the spec's id") {
    json mismatched = params;
    mismatched["target"] = "other";
    CHECK(params_error(parse_command_params(add, mismatched, "t")).field_path == "params.target");
  }
}

TEST_CASE("responses and errors have the seed's envelope") {
  json ok = parse_line(
      response_line("r1", "health", "sup@test", [](JsonWriter& w) { w.field("status", "ready"); }));
  CHECK(ok ==
        json{{"request_id", "r1"},
             {"ok", true},
             {"result", {{"type", "health"}, {"target_id", "sup@test"}, {"status", "ready"}}}});

  json error = parse_line(error_response_line(
      "r2", {ErrorCode::InvalidCommandParams, "must not be blank", "params.reason"}, "sup@test"));
  CHECK(error == json{{"request_id", "r2"},
                      {"ok", false},
                      {"error",
                       {{"code", "invalid_command_params"},
                        {"stage", "validation"},
                        {"target_id", "sup@test"},
                        {"message", "must not be blank"},
                        {"retryable", false},
                        {"field_path", "params.reason"}}}});

  json anonymous =
      parse_line(error_response_line(std::nullopt, {ErrorCode::InvalidJson, "bad"}, "t"));
  CHECK(anonymous["request_id"] == "invalid-request");  // the seed's placeholder
  CHECK_FALSE(anonymous["error"].contains("field_path"));

  json push = parse_line(error_push_line({ErrorCode::SlowConsumer, "queue full"}, "t"));
  CHECK(push["type"] == "error");
  CHECK(push["target_id"] == "t");
  CHECK(push["error"]["code"] == "slow_consumer");
  CHECK(push["error"]["retryable"] == true);
}

TEST_CASE("state is the seed's DashboardState, with the SPEC names inside it") {
  sup::SupervisorState state;
  state.children = {3, 1, 0, 1, 2, 4};
  state.state_generation = 17;
  state.captured_at_unix_ms = 1700000000123;
  sup::ChildRuntimeRecord full;
  full.id = "ingest";
  full.path = "root/ingest";
  full.parent = "root";
  full.kind = sup::ChildKind::Process;
  full.restart = sup::RestartType::Transient;
  full.state = sup::ChildState::Quarantined;
  full.restart_count = 6;
  full.last_exit = sup::TaskExit{sup::TaskExit::Failed, "exit status 3", 1700000000001};
  full.restart_budget = {0, 5, 0.1};
  full.backoff_ms = 800;
  full.started_at_unix_ms = 1699999999000;
  full.pid = 4242;
  full.generation = 7;
  full.attempt = 3;
  full.liveness = {1700000000100, true, sup::Readiness::NotReady};
  full.quarantine_reason = "restart budget exhausted";
  sup::ChildRuntimeRecord bare;
  bare.id = "idle";
  state.child_runtime_records = {full, bare};

  DashboardContext context{"t", "demo", nullptr, nullptr};
  std::string line = response_line("r", "state", "t", [&](JsonWriter& w) {
    w.key("state");
    write_dashboard_state(w, state, context);
  });
  json answer = parse_line(line)["result"];
  CHECK(answer["type"] == "state");
  CHECK(answer["target_id"] == "t");
  const json& result = answer["state"];
  CHECK(result["target"] == json{{"target_id", "t"},
                                 {"display_name", "demo"},
                                 {"registration_state", "pending"},
                                 {"connection_state", "connected"}});
  CHECK(result["config_version"] == "1");
  CHECK(result["generated_at_unix_nanos"] == 1700000000123000000);
  CHECK(result["recent_events"] == json::array());
  CHECK(result["recent_logs"] == json::array());
  const json& topology = result["topology"];
  CHECK(topology["root"]["kind"] == "root_supervisor");
  CHECK(topology["root"]["child_id"].is_null());
  REQUIRE(topology["nodes"].size() == 3);
  CHECK(topology["nodes"][0] == topology["root"]);
  CHECK(topology["nodes"][1]["path"] == "root/ingest");
  CHECK(topology["nodes"][1]["kind"] == "child_task");
  CHECK(topology["nodes"][1]["state_summary"] == "quarantined");
  CHECK(topology["nodes"][1]["diagnostics"] == json{{"message", "restart budget exhausted"}});
  CHECK(topology["edges"][0] == json{{"edge_id", "root->root/ingest"},
                                     {"source_path", "root"},
                                     {"target_path", "root/ingest"},
                                     {"kind", "parent_child"},
                                     {"order", 0}});
  CHECK(topology["edges"][1]["order"] == 1);
  CHECK(topology["declaration_order"] == json::array({"root", "root/ingest", ""}));
  const json& row = result["runtime_state"][0];
  CHECK(row["child_path"] == "root/ingest");
  CHECK(row["lifecycle_state"] == "quarantined");
  CHECK(row["health"] == "stale");
  CHECK(row["readiness"] == "not_ready");
  CHECK(row["generation"] == 7);
  CHECK(row["restart_count"] == 6);
  CHECK(row["last_failure"] == "TaskExit::Failed: exit status 3");
  CHECK(row["last_policy_decision"] == "quarantined: restart budget exhausted");
  CHECK_FALSE(result["runtime_state"][1].contains("last_failure"));
  CHECK(result["children"] == json{{"running", 3},
                                   {"failed", 1},
                                   {"restarting", 0},
                                   {"quarantined", 1},
                                   {"stopped", 2},
                                   {"target_count", 4}});
  CHECK(result["state_generation"] == 17);
  CHECK(result["captured_at"] == 1700000000123);
  const json& r = result["child_runtime_records"][0];
  CHECK(r["child_id"] == "ingest");
  CHECK(r["child_path"] == "root/ingest");
  CHECK(r["operation"] == "quarantined");
  CHECK(r["managed_child_state"] == "quarantined");
  CHECK(r["status"] == "stopped");
  CHECK(r["stop_state"] == "no_active_attempt");
  CHECK(r["restart_limit"] == json{{"window_millis", 50000},
                                   {"limit", 5},
                                   {"used", 5},
                                   {"remaining", 0},
                                   {"exhausted", true},
                                   {"updated_at_unix_nanos", 1700000000123000000}});
  CHECK(r["id"] == "ingest");
  CHECK(r["path"] == "root/ingest");
  CHECK(r["parent"] == "root");
  CHECK(r["kind"] == "process");
  CHECK(r["restart"] == "transient");
  CHECK(r["state"] == "Quarantined");
  CHECK(r["restart_count"] == 6);
  CHECK(r["last_exit"] ==
        json{{"kind", "TaskExit::Failed"}, {"reason", "exit status 3"}, {"at", 1700000000001}});
  CHECK(r["restart_budget"] == json{{"tokens", 0}, {"capacity", 5}, {"refill_per_sec", 0.1}});
  CHECK(r["backoff_ms"] == 800);
  CHECK(r["started_at"] == 1699999999000);
  CHECK(r["pid"] == 4242);
  CHECK(r["generation"] == 7);
  CHECK(r["attempt"] == 3);
  CHECK(r["liveness"] == json{{"last_heartbeat_at_unix_nanos", 1700000000100000000},
                              {"heartbeat_stale", true},
                              {"readiness", "not_ready"},
                              {"last_heartbeat_at", 1700000000100}});
  CHECK(r["quarantine_reason"] == "restart budget exhausted");

  const json& b = result["child_runtime_records"][1];
  CHECK(b["last_exit"].is_null());
  CHECK(b["started_at"].is_null());
  CHECK_FALSE(b.contains("pid"));
  CHECK(b["liveness"]["last_heartbeat_at"].is_null());
  CHECK(b["liveness"]["readiness"] == "unreported");
}

TEST_CASE("health, event, log and command_result records") {
  sup::Health health;
  health.status = "degraded";
  health.uptime_secs = 12;
  health.control_loop_iterations = 1200;
  health.iterations_per_sec = 99.5;
  health.endpoint = {sup::EndpointLink::Connected, 2};
  health.reasons = {"child blocked"};
  health.suspects = {"stuck"};
  health.audit_write_failures = 3;
  json h = parse_line(response_line("r", "health", "t", [&](JsonWriter& w) {
    sup::wire::write_fields(w, to_wire(health, {}));
  }))["result"];
  CHECK(h["status"] == "degraded");
  CHECK(h["uptime_secs"] == 12);
  CHECK(h["control_loop_iterations"] == 1200);
  CHECK(h["iterations_per_sec"] == 99.5);
  CHECK(h["dashboard_link"] == "connected");
  CHECK(h["reasons"] == json::array({"child blocked"}));
  CHECK(h["suspects"] == json::array({"stuck"}));
  CHECK(h["dashboard_clients"] == 2);
  CHECK(h["audit_write_failures"] == 3);

  sup::Event event;
  event.sequence = 42;
  event.event_type = "child_quarantined";
  event.severity = "warning";
  event.child_id = "ingest";
  event.target_path = "root/ingest";
  event.occurred_at_unix_nanos = 1700000000000000001;
  event.payload = {{"command_id", "c-9"}, {"reason", "crash loop"}};
  json e = parse_line(event_push_line(event, "t"));
  CHECK(e["type"] == "event");
  CHECK(e["target_id"] == "t");
  CHECK(e["event"] == json{{"target_id", "t"},
                           {"sequence", 42},
                           {"correlation_id", "c-9"},
                           {"event_type", "child_quarantined"},
                           {"severity", "warning"},
                           {"target_path", "root/ingest"},
                           {"child_id", "ingest"},
                           {"occurred_at_unix_nanos", 1700000000000000001},
                           {"config_version", "1"},
                           {"payload", {{"command_id", "c-9"}, {"reason", "crash loop"}}}});
  event.child_id.clear();
  CHECK_FALSE(parse_line(event_push_line(event, "t"))["event"].contains("child_id"));

  LogEntry entry;
  entry.sequence = 5;
  entry.level = sup::LogLevel::Warn;
  entry.message = "out of \xFF disk";
  entry.fields = {{"CHILD_ID", "ingest"}, {"STREAM", "stderr"}};
  entry.at_unix_nanos = 99;
  json l = parse_line(log_push_line(entry, "t"));
  CHECK(l["type"] == "log");
  CHECK(l["log"] == json{{"target_id", "t"},
                         {"sequence", 5},
                         {"severity", "warning"},
                         {"message", "out of \xEF\xBF\xBD disk"},
                         {"fields", {{"CHILD_ID", "ingest"}, {"STREAM", "stderr"}}},
                         {"occurred_at_unix_nanos", 99}});

  json c = parse_line(response_line("r", "command_result", "t", [&](JsonWriter& w) {
    w.key("result");
    sup::wire::write(w,
                     to_wire(sup::CommandResult::not_found("no child"), "t", "c-1", "corr-1", 77));
  }))["result"];
  CHECK(c["type"] == "command_result");
  CHECK(c["result"] == json{{"command_id", "c-1"},
                            {"target_id", "t"},
                            {"accepted", false},
                            {"status", "rejected"},
                            {"error",
                             {{"code", "not_found"},
                              {"stage", "command"},
                              {"target_id", "t"},
                              {"message", "no child"},
                              {"retryable", false}}},
                            {"completed_at_unix_nanos", 77},
                            {"correlation_id", "corr-1"},
                            {"outcome", "CommandResult::NotFound"},
                            {"reason", "no child"},
                            {"idempotent", false}});
  auto repeat = sup::CommandResult::accepted();
  repeat.idempotent = true;
  json accepted = parse_line(response_line("r", "command_result", "t", [&](JsonWriter& w) {
    w.key("result");
    sup::wire::write(w, to_wire(repeat, "t", "c-1", std::nullopt, 78));
  }))["result"]["result"];
  CHECK(accepted["accepted"] == true);
  CHECK(accepted["status"] == "completed");
  CHECK(accepted["outcome"] == "CommandResult::Accepted");
  CHECK(accepted["idempotent"] == true);
  CHECK_FALSE(accepted.contains("reason"));
  CHECK_FALSE(accepted.contains("error"));
  CHECK_FALSE(accepted.contains("correlation_id"));
}
