// The wire records: what the daemon writes, supctl reads back unchanged
// (one set of types for both directions), and rows made one at a time are
// the same document as the vectors.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "wire/dashboard_records.hpp"
#include "wire/execution_records.hpp"

using nlohmann::json;
using namespace sup::wire;

namespace {

template <class Record>
json written(const Record& record) {
  sup::JsonWriter w;
  write(w, record);
  return json::parse(w.take());
}

ChildRecord sample_record(std::string id) {
  ChildRecord r;
  r.id = id;
  r.path = "root/" + id;
  r.generation = 3;
  r.attempt = 1;
  r.status = "running";
  r.operation = "active";
  r.managed_child_state = "running";
  r.liveness = {1'700'000'000'000'000'000, true, "ready", 1'700'000'000'000};
  r.restart_limit = {50'000, 5, 2, 3, false, 7};
  r.stop_state = "idle";
  r.generation_fence_phase = "current";
  r.pending_restart_backoff_ms = 400;
  r.parent = "root";
  r.kind = "process";
  r.restart = "transient";
  r.state = "Restarting";
  r.restart_count = 4;
  r.last_exit = LastExit{"TaskExit::Failed", "exit status 3", 1'700'000'000'001};
  r.restart_budget = {2.5, 5, 0.1};
  r.backoff_ms = 400;
  r.started_at_ms = 1'699'999'999'000;
  r.pid = 4242;
  r.quarantine_reason = "";
  return r;
}

DashboardState sample_state() {
  DashboardState s;
  s.target = {"sup@host", "demo", "pending", "connected"};
  s.root = {"root",         std::nullopt, "root",    "root", "root_supervisor",
            {"supervisor"}, "critical",   "running", {}};
  s.nodes = {s.root,
             {"root/ingest",
              "ingest",
              "root/ingest",
              "ingest",
              "child_task",
              {"process", "transient"},
              "standard",
              "restarting",
              {{"message", "why"}}}};
  s.edges = {{"root->root/ingest", "root", "root/ingest", "parent_child", 0}};
  s.declaration_order = {"root", "root/ingest"};
  s.runtime_state = {{"root/ingest", "restarting", "unknown", "ready", 3, 1, 3, 4,
                      "TaskExit::Failed: exit status 3", std::nullopt, "running"}};
  s.child_runtime_records = {sample_record("ingest")};
  s.recent_events = {{"sup@host",
                      9,
                      "c-1",
                      "child_exited",
                      "warning",
                      "root/ingest",
                      "ingest",
                      11,
                      "1",
                      {{"exit_kind", "TaskExit::Failed"}}}};
  s.recent_logs = {{"sup@host", 4, "", "info", "tick", {{"CHILD_ID", "ingest"}}, 12}};
  s.dropped_event_count = 1;
  s.dropped_log_count = 2;
  s.config_version = "1";
  s.generated_at_unix_nanos = 1'700'000'000'123'000'000;
  s.state_generation = 17;
  s.children = {0, 0, 1, 0, 0, 1};
  s.captured_at_ms = 1'700'000'000'123;
  s.dashboard_registration = {
      "registered", "/run/relay.sock", std::nullopt, 1'700'000'030'000, 0, 4};
  return s;
}

// The per-child rows of sample_state(), made one at a time.
class SampleRows final : public ChildRows {
 public:
  explicit SampleRows(const DashboardState& state) : state_(state) {}
  std::size_t size() const override { return state_.child_runtime_records.size(); }
  void node(std::size_t i, Node& out) const override { out = state_.nodes[i + 1]; }
  void edge(std::size_t i, Edge& out) const override { out = state_.edges[i]; }
  void runtime_state(std::size_t i, RuntimeState& out) const override {
    out = state_.runtime_state[i];
  }
  void record(std::size_t i, ChildRecord& out) const override {
    out = state_.child_runtime_records[i];
  }

 private:
  const DashboardState& state_;
};

}  // namespace

TEST_CASE("every record reads back as it was written") {
  const DashboardState state = sample_state();
  CHECK(read_dashboard_state(written(state)) == state);
  CHECK(read_child_record(written(state.child_runtime_records[0])) ==
        state.child_runtime_records[0]);
  CHECK(read_event(written(state.recent_events[0])) == state.recent_events[0]);
  CHECK(read_log(written(state.recent_logs[0])) == state.recent_logs[0]);

  CommandResult rejected{"c-1",
                         "sup@host",
                         false,
                         "rejected",
                         ErrorObject{"not_found", "command", "sup@host", "no child", false, ""},
                         77,
                         "corr-1",
                         "CommandResult::NotFound",
                         "no child",
                         false,
                         std::nullopt};
  CHECK(read_command_result(written(rejected)) == rejected);
  CommandResult completed{"c-2",        "sup@host", true,         "completed",
                          std::nullopt, 78,         std::nullopt, "CommandResult::Accepted",
                          "",           true,       std::nullopt};
  CHECK(read_command_result(written(completed)) == completed);
  ErrorObject error{"invalid_command_params", "validation", "t", "bad", false, "params.reason"};
  CHECK(read_error(written(error)) == error);

  sup::JsonWriter w;
  w.begin_object();
  Subscription logs{"logs", 9, state.recent_logs, true};
  write_fields(w, logs);
  w.end_object();
  CHECK(read_subscription(json::parse(w.take())) == logs);
  w.begin_object();
  Health health{"degraded",
                12,
                1200,
                99.5,
                "connected",
                {"why"},
                {"stuck"},
                2,
                3,
                Registration{"failed", "/run/relay.sock", "connect: refused", std::nullopt, 2, 0}};
  write_fields(w, health);
  w.end_object();
  CHECK(read_health(json::parse(w.take())) == health);
}

TEST_CASE("execution records read back as they were written") {
  Execution execution{"e-1", "demo", "RUNNING", false, "", 10, 20, 5, {}};
  execution.nodes = {{"a", "COMPLETED", 1, "", R"({"n":1})", 15},
                     {"b", "FAILED", 2, "exit status 3", "", 18, {"a"}}};
  CHECK(read_execution(written(execution)) == execution);
  // A result that is not JSON goes out as a string, and comes back as one.
  ExecutionNode odd{"c", "COMPLETED", 1, "", "not json", 1};
  CHECK(written(odd)["result"] == "not json");
  CHECK(read_execution_node(written(odd)).result == R"("not json")");

  ExecutionSummary summary{"e-1", "PAUSED", false, 10, 20};
  CHECK(read_execution_summary(written(summary)) == summary);

  sup::JsonWriter w;
  w.begin_object();
  ExecutionLogs logs{"e-1", "a", {{1, "stdout", "hello"}, {2, "stderr", "oops"}}, true};
  write_fields(w, logs);
  w.end_object();
  CHECK(read_execution_logs(json::parse(w.take())) == logs);

  CommandResult submitted{"c-3",
                          "sup@host",
                          true,
                          "accepted",
                          std::nullopt,
                          79,
                          std::nullopt,
                          "",
                          "",
                          false,
                          ExecutionOutcome{"e-1", "PENDING", false}};
  json submitted_json = written(submitted);
  CHECK_FALSE(submitted_json.contains("outcome"));  // the tree's commands' only
  CHECK(submitted_json["execution_id"] == "e-1");
  CHECK(read_command_result(submitted_json) == submitted);
}

TEST_CASE("a transition travels as an EventRecord and reads back") {
  ExecutionTransition node{"e-1", "ocr", "RUNNING", "FAILED", 3, "exit status 2"};
  EventRecord event = transition_event(node);
  CHECK(event.event_type == "node_state_changed");
  CHECK(event.severity == "warning");
  CHECK(event.target_path == "executions/e-1/ocr");
  CHECK(read_transition(read_event(written(event))) == node);
  ExecutionTransition whole{"e-1", "", "RUNNING", "COMPLETED", 0, ""};
  EventRecord done = transition_event(whole);
  CHECK(done.event_type == "execution_state_changed");
  CHECK(done.severity == "info");
  CHECK(done.target_path == "executions/e-1");
  CHECK(read_transition(done) == whole);
  CHECK_FALSE(read_transition(EventRecord{}));
}

TEST_CASE("rows made one at a time write the same document as the vectors") {
  const DashboardState full = sample_state();
  DashboardState head = full;
  head.nodes = {full.root};
  head.edges.clear();
  head.declaration_order = {"root"};
  head.runtime_state.clear();
  head.child_runtime_records.clear();
  SampleRows rows(full);
  sup::JsonWriter w;
  write(w, head, &rows);
  CHECK(json::parse(w.take()) == written(full));
}

TEST_CASE("the seed's names and our extensions side by side in one child record") {
  const json r = written(sample_record("ingest"));
  // The seed's DashboardChildRuntimeRecord ...
  CHECK(r["child_id"] == "ingest");
  CHECK(r["child_path"] == "root/ingest");
  CHECK(r["liveness"]["last_heartbeat_at_unix_nanos"] == 1'700'000'000'000'000'000);
  CHECK(r["restart_limit"]["remaining"] == 3);
  CHECK(r["failure"].is_null());
  CHECK(r["pending_restart"] == json{{"backoff_ms", 400}});
  // ... and ours (SPEC §2) in the same object.
  CHECK(r["id"] == "ingest");
  CHECK(r["path"] == "root/ingest");
  CHECK(r["restart_budget"]["tokens"] == 2.5);
  CHECK(r["last_exit"]["at"] == 1'700'000'000'001);
  CHECK(r["liveness"]["last_heartbeat_at"] == 1'700'000'000'000);

  // A reader of our older records (id/path only) still finds the child.
  const ChildRecord ours = read_child_record({{"id", "old"}, {"path", "root/old"}});
  CHECK(ours.id == "old");
  CHECK(ours.path == "root/old");
  CHECK(ours.depth() == 0);
}

TEST_CASE("reading is lenient: wrong types take defaults, nothing throws") {
  const DashboardState odd = read_dashboard_state(
      {{"topology", {{"nodes", {1, "x", {{"path", 3}}}}}}, {"state_generation", "seven"}});
  REQUIRE(odd.nodes.size() == 1);
  CHECK(odd.nodes[0].path.empty());
  CHECK(odd.state_generation == 0);
  CHECK(read_dashboard_state(json("nonsense")).child_runtime_records.empty());
  CHECK(read_command_result(json::array()).status.empty());
  CHECK(nested(json{{"state", 1}}, "event").is_null());
}

TEST_CASE("operating executions: stuck, maintenance, retry, resume-all read back as written") {
  ExecutionSummary stuck{"e-1", "RUNNING",
                         false, 10,
                         20,    ExecutionStuck{"running_without_progress", "no transition", 7}};
  CHECK(read_execution_summary(written(stuck)) == stuck);
  ExecutionSummary moving{"e-2", "RUNNING", false, 10, 20, std::nullopt};
  CHECK(written(moving)["stuck"].is_null());
  CHECK(read_execution_summary(written(moving)) == moving);
  Execution execution{"e-1", "demo", "PENDING", false, "",
                      10,    20,     1,         {},    ExecutionStuck{"maintenance", "queued", 3}};
  CHECK(read_execution(written(execution)) == execution);

  MaintenanceMode mode{true, "index rebuild", "ops@host", 42};
  CHECK(read_maintenance(written(mode)) == mode);

  CommandResult retried{"c-4",
                        "sup@host",
                        true,
                        "completed",
                        std::nullopt,
                        80,
                        std::nullopt,
                        "",
                        "",
                        false,
                        ExecutionOutcome{"e-1", "RUNNING", false, {"b", "c"}}};
  CHECK(written(retried)["nodes"] == json{"b", "c"});
  CHECK(read_command_result(written(retried)) == retried);

  CommandResult maintenance{"c-5",        "sup@host", true, "completed", std::nullopt, 81,
                            std::nullopt, "",         "",   false,       std::nullopt};
  maintenance.maintenance = mode;
  maintenance.started = {"q-1"};
  CHECK(read_command_result(written(maintenance)) == maintenance);

  CommandResult resumed{"c-6",        "sup@host", true, "completed", std::nullopt, 82,
                        std::nullopt, "",         "",   false,       std::nullopt};
  resumed.resumed = std::vector<ResumeOutcome>{{"e-1", "running_without_progress", true, "ok"},
                                               {"e-2", "maintenance", false, "queued"}};
  json resumed_json = written(resumed);
  CHECK(resumed_json["resumed"] == 1);
  CHECK(read_command_result(resumed_json) == resumed);

  sup::JsonWriter w;
  w.begin_object();
  Health health{"ready", 1, 2, 3.0, "listening", {}, {}, 0, 0, Registration{}, mode};
  write_fields(w, health);
  w.end_object();
  CHECK(read_health(json::parse(w.take())) == health);
}
