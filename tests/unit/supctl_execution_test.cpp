// What supctl prints about executions, from the socket's records: progress
// lines of `execute --wait`, its outcome, and the `status` report.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "supctl/dashboard_model.hpp"
#include "supctl/dashboard_render.hpp"
#include "supctl/execution_format.hpp"

using nlohmann::json;
using namespace sup::cli;

namespace {

// An executions.get result.
json snapshot() {
  json execution = {
      {"execution_id", "e-1"},
      {"name", "demo"},
      {"state", "RUNNING"},
      {"finished", false},
      {"reason", ""},
      {"submitted_at_unix_nanos", 1'000'000'000},
      {"updated_at_unix_nanos", 2'000'000'000},
      {"nodes",
       {{{"node_id", "a"}, {"state", "COMPLETED"}, {"attempt", 1}, {"result", {{"n", 1}}}},
        {{"node_id", "b"}, {"state", "RUNNING"}, {"attempt", 2}, {"result", nullptr}},
        {{"node_id", "c"}, {"state", "PENDING"}, {"attempt", 0}, {"result", nullptr}}}}};
  return {{"type", "execution"}, {"target_id", "t"}, {"execution", execution}};
}

json transition(std::string node, std::string to, std::string attempt = "1",
                std::string reason = "") {
  json payload = {
      {"execution_id", "e-1"}, {"from_state", "RUNNING"}, {"to_state", to}, {"reason", reason}};
  std::string type = "execution_state_changed";
  if (!node.empty()) {
    payload["node_id"] = node;
    payload["attempt"] = attempt;
    type = "node_state_changed";
  }
  return {{"type", "event"},
          {"target_id", "t"},
          {"event", {{"sequence", 9}, {"event_type", type}, {"payload", payload}}}};
}

}  // namespace

TEST_CASE("transitions are read from event pushes, others ignored") {
  auto node = parse_transition(transition("b", "COMPLETED", "2"));
  REQUIRE(node);
  CHECK(node->node_id == "b");
  CHECK(node->attempt == 2);
  CHECK(node->to_state == "COMPLETED");
  auto execution = parse_transition(transition("", "FAILED", "", "node c failed"));
  REQUIRE(execution);
  CHECK(execution->node_id.empty());
  CHECK(execution->reason == "node c failed");
  CHECK_FALSE(parse_transition({{"type", "event"}, {"event", {{"event_type", "child_started"}}}}));
  CHECK_FALSE(
      parse_transition({{"type", "event"}, {"event", {{"event_type", "node_state_changed"}}}}));
}

TEST_CASE("progress: a line per node transition, the outcome at the end") {
  ExecutionProgress progress(parse_execution(snapshot()));
  CHECK(progress.total() == 3);
  CHECK(progress.completed() == 1);
  CHECK_FALSE(progress.finished());
  CHECK(*progress.apply(*parse_transition(transition("b", "COMPLETED", "2"))) ==
        "[2/3] b COMPLETED (attempt 2)");
  CHECK(*progress.apply(*parse_transition(transition("c", "RETRY_WAIT", "1", "exit status 3"))) ==
        "[2/3] c RETRY_WAIT (attempt 1): exit status 3");
  json other = transition("c", "COMPLETED");
  other["event"]["payload"]["execution_id"] = "e-2";
  CHECK_FALSE(progress.apply(*parse_transition(other)));
  CHECK(*progress.apply(*parse_transition(transition("", "FAILED", "", "node c failed"))) ==
        "execution e-1 FAILED: node c failed");
  CHECK(progress.finished());
  CHECK(progress.summary() == "FAILED: 2/3 nodes completed (node c failed)");
}

TEST_CASE("status: a summary line and the node table with results and reasons") {
  auto lines = execution_report(parse_execution(snapshot()), 3'000, std::nullopt);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] ==
        "execution e-1 (demo): RUNNING, 1/3 nodes completed, submitted 2.0s ago, updated 1.0s ago");
  CHECK(lines[1].find("NODE") == 0);
  CHECK(lines[2].find("{\"n\":1}") != std::string::npos);
  CHECK(lines[4].find("PENDING") != std::string::npos);
  CHECK(lines[4].find(" - ") != std::string::npos);  // no attempt yet
}

TEST_CASE("the dashboard's executions pane: counts, then the unfinished ones") {
  DashboardModel model("/tmp/x.sock");
  auto text_of = [&] {
    std::string all;
    for (const FrameLine& line : render_dashboard(model, {100, 30}, 10'000))
      all += line.text + "\n";
    return all;
  };
  CHECK(text_of().find("EXECUTIONS") == std::string::npos);  // none: no pane
  model.set_executions({{"type", "executions"},
                        {"executions",
                         {{{"execution_id", "e-1"}, {"state", "COMPLETED"}, {"finished", true}},
                          {{"execution_id", "e-2"},
                           {"state", "RUNNING"},
                           {"finished", false},
                           {"updated_at_unix_nanos", 8'000'000'000}}}}});
  std::string frame = text_of();
  CHECK_MESSAGE(frame.find("EXECUTIONS  1 COMPLETED  1 RUNNING") != std::string::npos, frame);
  CHECK_MESSAGE(frame.find("e-2  RUNNING  updated 2.0s ago") != std::string::npos, frame);
  CHECK(frame.find("e-1  COMPLETED") == std::string::npos);
}

TEST_CASE("a stuck execution: a STUCK line in its report, its reason in the table") {
  json stuck = snapshot();
  stuck["execution"]["stuck"] = {{"reason", "running_without_progress"},
                                 {"detail", "no transition for 700000 ms"},
                                 {"since_unix_nanos", 1'000'000'000}};
  auto lines = execution_report(parse_execution(stuck), 3'000, std::nullopt);
  REQUIRE(lines.size() == 6);
  CHECK(lines[1] == "STUCK (running_without_progress): no transition for 700000 ms");

  json row = stuck["execution"];
  json other = row;
  other["execution_id"] = "e-2";
  other["stuck"] = nullptr;
  json listed = {{"type", "executions"}, {"executions", json::array({row, other})}};
  auto table = executions_table(parse_executions(listed), 3'000, std::nullopt);
  REQUIRE(table.size() == 3);
  CHECK(table[0].find("STUCK") != std::string::npos);
  CHECK(table[1].find("running_without_progress") != std::string::npos);
  CHECK(table[2].find("running_without_progress") == std::string::npos);
}
