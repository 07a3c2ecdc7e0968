// The executions.* methods of the dispatcher against a fake ExecutionPlane:
// params checked once with field paths, commands for privileged peers only,
// deferred answers (submit, control) carrying the nested command_result,
// service errors mapped to protocol errors, and the transition events.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "ipc/dispatcher.hpp"
#include "ipc/execution_encoding.hpp"
#include "ipc/fake_control_plane.hpp"

using nlohmann::json;
using namespace sup::ipc;
namespace ex = sup::executions;

namespace {

constexpr std::uint32_t kDaemonUid = 1000;
const Peer kOwner{kDaemonUid, 10};
const Peer kStranger{65534, 12};

class FakeExecutions : public ExecutionPlane {
 public:
  std::optional<ex::SubmitRequest> submitted;
  std::optional<sup::CommandMeta> meta;
  sup::Expected<ex::SubmitAck> submit_answer = ex::SubmitAck{"e-1", false};
  sup::Expected<ex::ControlAck> control_answer = ex::ControlAck{"PAUSED", true, ""};
  std::optional<ex::ControlAction> controlled;

  void submit(ex::SubmitRequest request, sup::CommandMeta m,
              std::function<void(sup::Expected<ex::SubmitAck>)> done) override {
    submitted = std::move(request);
    meta = std::move(m);
    done(submit_answer);
  }
  void control(std::string, ex::ControlAction action, sup::CommandMeta m,
               std::function<void(sup::Expected<ex::ControlAck>)> done) override {
    controlled = action;
    meta = std::move(m);
    done(control_answer);
  }
  std::optional<ex::RetryRequest> retried;
  sup::Expected<ex::RetryAck> retry_answer = ex::RetryAck{"RUNNING", {"b", "c"}};
  sup::Expected<ex::ResumeAllAck> resume_answer = ex::ResumeAllAck{
      {{"e-1", ex::StuckReason::RunningWithoutProgress, true, "rebuilt"},
       {"e-2", ex::StuckReason::Maintenance, false, "queued until maintenance mode is off"}}};
  std::optional<bool> maintenance_set;
  ex::MaintenanceMode mode{};

  void retry(ex::RetryRequest request, sup::CommandMeta m,
             std::function<void(sup::Expected<ex::RetryAck>)> done) override {
    retried = std::move(request);
    meta = std::move(m);
    done(retry_answer);
  }
  void resume_all(sup::CommandMeta m,
                  std::function<void(sup::Expected<ex::ResumeAllAck>)> done) override {
    meta = std::move(m);
    done(resume_answer);
  }
  void set_maintenance(bool enabled, sup::CommandMeta m,
                       std::function<void(sup::Expected<ex::MaintenanceAck>)> done) override {
    maintenance_set = enabled;
    bool changed = mode.enabled != enabled;
    mode = {enabled, m.reason, m.requested_by, 42};
    meta = std::move(m);
    done(ex::MaintenanceAck{
        mode, changed, enabled ? std::vector<std::string>{} : std::vector<std::string>{"q-1"}});
  }
  ex::MaintenanceMode maintenance() override { return mode; }
  sup::Expected<std::vector<ex::ExecutionInfo>> list(const ex::ListFilter& filter) override {
    if (filter.state == "FAILED") return std::vector<ex::ExecutionInfo>{};
    if (filter.state == "STUCK") {
      ex::ExecutionInfo stuck{"e-9", "RUNNING", false, 1, 2};
      stuck.stuck = ex::StuckFinding{ex::StuckReason::QueuedTooLong, "waiting", 7};
      return std::vector<ex::ExecutionInfo>{stuck};
    }
    return std::vector<ex::ExecutionInfo>{{"e-1", "RUNNING", false, 1, 2}};
  }
  sup::Expected<ex::ExecutionView> describe(std::string_view id) override {
    if (id != "e-1")
      return sup::make_error(sup::ErrorCode::NotFound, "no execution", "execution_id");
    ex::ExecutionView view;
    view.execution_id = "e-1";
    view.state = "RUNNING";
    view.nodes.push_back({"a", "COMPLETED", 1, "", R"({"n":1})", 5});
    view.nodes.push_back({"b", "RUNNING", 2, "", "", 6});
    return view;
  }
  sup::Expected<ex::NodeOutput> node_output(std::string_view, std::string_view node,
                                            std::size_t) override {
    if (node != "a") return sup::make_error(sup::ErrorCode::NotFound, "no node", "node_id");
    return ex::NodeOutput{{{1, false, "hello"}, {2, true, "oops"}}, false};
  }
};

struct Fixture {
  FakeControlPlane plane;
  FakeExecutions executions;
  Dispatcher dispatcher{
      plane, {"sup@test", "supervisor on test", "/tmp/x.sock", kDaemonUid}, &executions};

  // The response, deferred or not.
  json respond(const json& request, const Peer& peer = kOwner) {
    Reply reply = dispatcher.handle_line(request.dump(), peer);
    std::string line = reply.line;
    if (reply.deferred) {
      CHECK(line.empty());
      reply.deferred([&line](Reply later) { line = later.line; });
    }
    REQUIRE(!line.empty());
    return json::parse(line);
  }
};

json request(const std::string& op, json params = json::object(), bool command = false) {
  if (params.is_null()) params = json::object();
  if (command) {
    json meta = {{"command_id", "c-1"}, {"requested_by", "alice"}, {"reason", "test"}};
    meta.update(params);
    params = meta;
  }
  return {{"request_id", "r-" + op}, {"method", "executions." + op}, {"params", params}};
}

const json kDag = {{"nodes", {{{"id", "a"}, {"run", {{"exec", {"true"}}}}}}}};

}  // namespace

TEST_CASE("executions.submit: answered later, nested command_result with status") {
  Fixture f;
  json response = f.respond(request(
      "submit", {{"spec", kDag}, {"params", {{"k", "v"}}}, {"execution_id", "mine"}}, true));
  INFO(response.dump());
  REQUIRE(response["ok"] == true);
  CHECK(response["result"]["type"] == "command_result");
  json result = response["result"]["result"];
  CHECK(result["status"] == "accepted");
  CHECK(result["accepted"] == true);
  CHECK(result["execution_id"] == "e-1");
  CHECK(result["state"] == "PENDING");
  CHECK(result["existing"] == false);
  CHECK(result["command_id"] == "c-1");
  REQUIRE(f.executions.submitted);
  CHECK(json::parse(f.executions.submitted->spec) == kDag);
  CHECK(f.executions.submitted->params == json{{"k", "v"}});
  CHECK(f.executions.submitted->execution_id == "mine");
  CHECK(f.executions.meta->requested_by == "alice");

  f.executions.submit_answer = ex::SubmitAck{"mine", true};
  json again = f.respond(request("submit", {{"spec", kDag}, {"execution_id", "mine"}}, true));
  CHECK(again["result"]["result"]["existing"] == true);
  CHECK(again["result"]["result"]["status"] == "accepted");
}

TEST_CASE("executions.submit: errors name their field") {
  Fixture f;
  auto error_of = [&](const json& req, const Peer& peer = kOwner) {
    json response = f.respond(req, peer);
    INFO(response.dump());
    REQUIRE(response["ok"] == false);
    return response["error"];
  };
  json missing = error_of(request("submit", {{"spec", kDag}}));
  CHECK(missing["code"] == "invalid_command_params");
  CHECK(missing["field_path"] == "params.command_id");
  CHECK(error_of(request("submit", {}, true))["field_path"] == "params.spec");
  CHECK(error_of(request("submit", {{"spec", "text"}}, true))["field_path"] == "params.spec");
  CHECK(error_of(request("submit", {{"spec", kDag}, {"params", 3}}, true))["field_path"] ==
        "params.params");
  CHECK(error_of(request("submit", {{"spec", kDag}, {"bogus", 1}}, true))["field_path"] ==
        "params.bogus");
  CHECK(error_of(request("submit", {{"spec", kDag}, {"reason", " "}}, true))["field_path"] ==
        "params.reason");
  CHECK(error_of(request("submit", {{"spec", kDag}}, true), kStranger)["code"] ==
        "permission_denied");
  CHECK(!f.executions.submitted);

  // The DAG is validated by the service: its paths come back under params.spec.
  f.executions.submit_answer =
      sup::make_error(sup::ErrorCode::InvalidArgument, "unknown node \"x\"", "nodes[0].deps[0]");
  json invalid = error_of(request("submit", {{"spec", kDag}}, true));
  CHECK(invalid["code"] == "invalid_command_params");
  CHECK(invalid["field_path"] == "params.spec.nodes[0].deps[0]");
  f.executions.submit_answer =
      sup::make_error(sup::ErrorCode::InvalidArgument, "bad id", "execution_id");
  CHECK(error_of(request("submit", {{"spec", kDag}}, true))["field_path"] == "params.execution_id");
}

TEST_CASE("executions.pause/resume/cancel: completed, or rejected with the reason") {
  Fixture f;
  json done = f.respond(request("pause", {{"execution_id", "e-1"}}, true));
  CHECK(done["result"]["result"]["status"] == "completed");
  CHECK(done["result"]["result"]["state"] == "PAUSED");
  CHECK(f.executions.controlled == ex::ControlAction::Pause);

  f.executions.control_answer = ex::ControlAck{"COMPLETED", false, "nothing to cancel"};
  json rejected = f.respond(request("cancel", {{"execution_id", "e-1"}}, true));
  CHECK(f.executions.controlled == ex::ControlAction::Cancel);
  CHECK(rejected["result"]["result"]["status"] == "rejected");
  CHECK(rejected["result"]["result"]["accepted"] == false);
  CHECK(rejected["result"]["result"]["reason"] == "nothing to cancel");

  f.executions.control_answer = sup::make_error(sup::ErrorCode::NotFound, "no execution \"x\"");
  json unknown = f.respond(request("resume", {{"execution_id", "x"}}, true));
  CHECK(unknown["ok"] == false);
  CHECK(unknown["error"]["code"] == "not_found");
  CHECK(f.respond(request("resume", {{"execution_id", ""}}, true))["error"]["field_path"] ==
        "params.execution_id");
}

TEST_CASE("executions.get/list/logs: the records, and not_found") {
  Fixture f;
  json got = f.respond(request("get", {{"execution_id", "e-1"}}), kStranger);  // queries are open
  REQUIRE(got["ok"] == true);
  CHECK(got["result"]["type"] == "execution");
  json execution = got["result"]["execution"];
  CHECK(execution["state"] == "RUNNING");
  CHECK(execution["nodes"][0]["result"] == json{{"n", 1}});
  CHECK(execution["nodes"][1]["result"].is_null());
  CHECK(execution["nodes"][1]["attempt"] == 2);

  json missing = f.respond(request("get", {{"execution_id", "nope"}}));
  CHECK(missing["error"]["code"] == "not_found");
  CHECK(missing["error"]["field_path"] == "params.execution_id");
  CHECK(f.respond(request("get"))["error"]["field_path"] == "params.execution_id");

  json list = f.respond(request("list"));
  CHECK(list["result"]["type"] == "executions");
  CHECK(list["result"]["executions"][0]["execution_id"] == "e-1");
  CHECK(f.respond(request("list", {{"state", "FAILED"}}))["result"]["executions"].empty());
  json bad_state = f.respond(request("list", {{"state", "DONE"}}));
  CHECK(bad_state["error"]["code"] == "invalid_request");
  CHECK(bad_state["error"]["field_path"] == "params.state");

  json logs = f.respond(request("logs", {{"execution_id", "e-1"}, {"node_id", "a"}}));
  CHECK(logs["result"]["type"] == "execution_logs");
  CHECK(logs["result"]["lines"][1] == json{{"attempt", 2}, {"stream", "stderr"}, {"text", "oops"}});
  CHECK(f.respond(request("logs", {{"execution_id", "e-1"},
                                   {"node_id", "z"}}))["error"]["field_path"] == "params.node_id");
  CHECK(f.respond(request("logs", {{"execution_id", "e-1"}}))["error"]["field_path"] ==
        "params.node_id");
}

TEST_CASE("without an execution plane the methods are unsupported and not announced") {
  FakeControlPlane plane;
  Dispatcher dispatcher{plane, {"sup@test", "t", "/tmp/x.sock", kDaemonUid}};
  json response = json::parse(dispatcher.handle_line(request("list").dump(), kOwner).line);
  CHECK(response["error"]["code"] == "unsupported_method");
  json hello =
      json::parse(dispatcher.handle_line(R"({"request_id":"h","method":"hello"})", kOwner).line);
  for (const json& method : hello["result"]["methods"])
    CHECK(method.get<std::string>().rfind("executions.", 0) == std::string::npos);
}

TEST_CASE("a transition is an event with its payload") {
  sup::Event node = execution_event({"e-1", "ocr", "RUNNING", "FAILED", 3, "exit status 2"});
  CHECK(node.event_type == "node_state_changed");
  CHECK(node.severity == "warning");
  CHECK(node.target_path == "executions/e-1/ocr");
  CHECK(node.child_id.empty());
  CHECK(node.payload.at("attempt") == "3");
  CHECK(node.payload.at("to_state") == "FAILED");
  sup::Event execution = execution_event({"e-1", "", "RUNNING", "COMPLETED", 0, ""});
  CHECK(execution.event_type == "execution_state_changed");
  CHECK(execution.severity == "info");
  CHECK(execution.target_path == "executions/e-1");
  CHECK(execution.payload.count("node_id") == 0);
}

TEST_CASE("executions.retry: the reset nodes, or rejected with the reason") {
  Fixture f;
  json done = f.respond(request("retry", {{"execution_id", "e-1"}, {"node_id", "b"}}, true));
  INFO(done.dump());
  json result = done["result"]["result"];
  CHECK(result["status"] == "completed");
  CHECK(result["state"] == "RUNNING");
  CHECK(result["nodes"] == json{"b", "c"});
  REQUIRE(f.executions.retried);
  CHECK(f.executions.retried->from_node == "b");
  CHECK(f.executions.retried->reason == "test");

  f.executions.retry_answer =
      sup::make_error(sup::ErrorCode::FailedPrecondition, "node b is RUNNING");
  json busy = f.respond(request("retry", {{"execution_id", "e-1"}, {"node_id", "b"}}, true));
  CHECK(busy["result"]["result"]["status"] == "rejected");
  CHECK(busy["result"]["result"]["reason"] == "node b is RUNNING");
  f.executions.retry_answer = sup::make_error(sup::ErrorCode::NotFound, "no node", "node_id");
  json unknown = f.respond(request("retry", {{"execution_id", "e-1"}, {"node_id", "z"}}, true));
  CHECK(unknown["error"]["code"] == "not_found");
  CHECK(unknown["error"]["field_path"] == "params.node_id");
  CHECK(f.respond(request("retry", {{"execution_id", "e-1"}}, true))["error"]["field_path"] ==
        "params.node_id");
  CHECK(f.respond(
            request("retry", {{"execution_id", "e-1"}, {"node_id", "b"}}))["error"]["field_path"] ==
        "params.command_id");
}

TEST_CASE("executions.resume_all: every stuck execution and what was done") {
  Fixture f;
  json done = f.respond(request("resume_all", json::object(), true));
  INFO(done.dump());
  json result = done["result"]["result"];
  CHECK(result["status"] == "completed");
  CHECK(result["resumed"] == 1);
  REQUIRE(result["executions"].size() == 2);
  CHECK(result["executions"][0]["reason"] == "running_without_progress");
  CHECK(result["executions"][1]["resumed"] == false);
  CHECK(result["executions"][1]["reason"] == "maintenance");
  CHECK(f.respond(request("resume_all"))["error"]["code"] == "invalid_command_params");
  CHECK(f.respond(request("resume_all", json::object(), true), kStranger)["error"]["code"] ==
        "permission_denied");
}

TEST_CASE("executions.set_maintenance and executions.maintenance") {
  Fixture f;
  json status = f.respond(request("maintenance"), kStranger);  // a query: open
  CHECK(status["result"]["type"] == "maintenance");
  CHECK(status["result"]["maintenance"]["enabled"] == false);

  json on = f.respond(request("set_maintenance", {{"enabled", true}}, true));
  INFO(on.dump());
  CHECK(on["result"]["result"]["status"] == "completed");
  CHECK(on["result"]["result"]["maintenance"]["enabled"] == true);
  CHECK(on["result"]["result"]["maintenance"]["reason"] == "test");
  CHECK(on["result"]["result"]["maintenance"]["requested_by"] == "alice");
  CHECK(f.respond(request("maintenance"))["result"]["maintenance"]["enabled"] == true);
  json again = f.respond(request("set_maintenance", {{"enabled", true}}, true));
  CHECK(again["result"]["result"]["status"] == "rejected");
  json off = f.respond(request("set_maintenance", {{"enabled", false}}, true));
  CHECK(off["result"]["result"]["started"] == json{"q-1"});

  CHECK(f.respond(request("set_maintenance", json::object(), true))["error"]["field_path"] ==
        "params.enabled");
  CHECK(f.respond(request("set_maintenance", {{"enabled", "yes"}}, true))["error"]["field_path"] ==
        "params.enabled");
}

TEST_CASE("executions.list: STUCK lists the stuck ones with their finding") {
  Fixture f;
  json listed = f.respond(request("list", {{"state", "STUCK"}}));
  INFO(listed.dump());
  json stuck = listed["result"]["executions"][0]["stuck"];
  CHECK(stuck["reason"] == "queued_too_long");
  CHECK(stuck["detail"] == "waiting");
  CHECK(stuck["since_unix_nanos"] == 7);
  CHECK(f.respond(request("list"))["result"]["executions"][0]["stuck"].is_null());
}
