// What supctl prints for people, from JSON fixtures shaped like the
// daemon's answers (docs/ipc.md): lenient parsing, the children table,
// state, health, event and log lines, command outcomes and refusals.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "supctl/report_format.hpp"
#include "supctl/wire_view.hpp"
#include "supctl_fake_daemon.hpp"

using namespace sup::cli;
using nlohmann::json;
using sup::cli::testing::demo_event;
using sup::cli::testing::demo_health;
using sup::cli::testing::demo_state;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string* line_starting(const std::vector<std::string>& lines, const std::string& start) {
  for (const auto& line : lines)
    if (line.rfind(start, 0) == 0) return &line;
  return nullptr;
}

struct UtcClock {
  UtcClock() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

}  // namespace

TEST_CASE("the daemon's JSON is read leniently: wrong types take defaults, nothing throws") {
  const json odd_state = {{"children", {{"running", "three"}, {"target_count", -4}}},
                          {"child_runtime_records",
                           {{{"id", 7},
                             {"state", "SomethingNew"},
                             {"restart_count", 2.7},
                             {"last_exit", "not an object"},
                             {"restart_budget", {{"tokens", "x"}}},
                             {"pid", 18446744073709551615ull}},
                            "not a record"}},
                          {"state_generation", {1, 2}}};
  const json odd = {{"type", "state"}, {"state", odd_state}};
  const sup::wire::DashboardState state = parse_state(odd);
  CHECK(state.children.running == 0);
  CHECK(state.children.target_count == 0);
  REQUIRE(state.child_runtime_records.size() == 1);
  CHECK(state.child_runtime_records[0].id.empty());
  CHECK(state.child_runtime_records[0].state == "SomethingNew");  // shown as the daemon spelt it
  CHECK(state.child_runtime_records[0].restart_count == 2);
  CHECK_FALSE(state.child_runtime_records[0].last_exit);
  CHECK(state.child_runtime_records[0].pid == INT64_MAX);

  CHECK(parse_state(json("nonsense")).child_runtime_records.empty());
  CHECK(parse_state(odd_state).child_runtime_records.empty());  // not nested: not the seed's shape
  CHECK(parse_health(json::array()).status.empty());
  CHECK(parse_event(json(nullptr)).sequence == 0);
  const sup::wire::LogRecord log = parse_log({{"log", {{"fields", {{"N", 3}, {"S", "x"}}}}}});
  REQUIRE(log.fields.size() == 2);
  CHECK(log.fields[0].second == "3");  // non-strings as compact JSON
  CHECK(to_line(json("bad \xff utf8")) == "\"bad \xef\xbf\xbd utf8\"");
}

TEST_CASE("the children table shows the tree with its runtime columns") {
  const sup::wire::DashboardState state = parse_state(demo_state(kNow));
  const auto lines = children_table(state, kNow, std::nullopt);
  REQUIRE(lines.size() == 9);
  CHECK(lines[0].rfind("ID", 0) == 0);
  for (const char* header :
       {"KIND", "STATE", "RESTARTS", "TOKENS", "BACKOFF", "LAST EXIT", "PID", "UPTIME"})
    CHECK(contains(lines[0], header));

  const std::string* crasher = line_starting(lines, "crasher ");
  REQUIRE(crasher);
  CHECK(contains(*crasher, "Quarantined"));
  CHECK(contains(*crasher, "0.0/3"));
  CHECK(contains(*crasher, "Panicked 5.0s ago: crash_after drill"));

  const std::string* flaky = line_starting(lines, "flaky ");
  REQUIRE(flaky);
  CHECK(contains(*flaky, "2.5/5"));
  CHECK(contains(*flaky, "1.6s"));  // its backoff

  const std::string* ticker = line_starting(lines, "ticker ");
  REQUIRE(ticker);
  CHECK(contains(*ticker, "4242"));
  CHECK(contains(*ticker, "1m05s"));  // uptime

  CHECK(line_starting(lines, "  worker-a "));  // nested under workers
  CHECK(line_starting(lines, "  worker-b "));

  // An 80-column terminal: ids and counts whole, PID and KIND left out.
  const auto narrow = children_table(state, kNow, 80);
  CHECK(narrow[0] ==
        "ID          STATE        RESTARTS  TOKENS  BACKOFF  LAST EXIT             UPTIME");
  CHECK(narrow[4] ==
        "flaky       Restarting          7   2.5/5     1.6s  Failed 2.0s ago: fl\xe2\x80\xa6       "
        "-");
  CHECK(narrow[8] ==
        "  worker-b  Running             1   4.0/5        -  Failed 12s ago: exi\xe2\x80\xa6   "
        "1m05s");
  for (const auto& line : children_table(state, kNow, 50)) CHECK(display_width(line) <= 50);
}

TEST_CASE("state summary, quarantine notes and health") {
  UtcClock utc;
  const sup::wire::DashboardState state = parse_state(demo_state(kNow));
  CHECK(state_summary(state) ==
        "8 children: running 6/7 target, restarting 1, failed 0, quarantined 1, stopped 0 "
        "(state generation 42, captured 2023-11-14 22:13:20.000)");
  const auto notes = quarantine_notes(state);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "crasher: quarantined: restart budget exhausted (supctl release crasher gives it another "
        "go)");

  const auto ready = health_report(parse_health(demo_health()));
  CHECK(ready[0] == "status:          ready");
  CHECK(ready[1] == "uptime:          1h02m (3725 s)");
  CHECK(ready[2] == "control loop:    372500 iterations, 99.5/s");
  CHECK(ready[3] == "dashboard link:  connected (1 client)");
  CHECK(ready[4] == "registration:    registered with /run/relay.sock (12 registrations)");
  CHECK(ready[5] == "suspects:        none");
  CHECK(ready[6] == "reasons:         none");

  const auto degraded = health_report(parse_health(demo_health("degraded")));
  CHECK(degraded[0] == "status:          degraded");
  CHECK(degraded[4] ==
        "registration:    failed with /run/relay.sock: connect: Connection refused (3 failures in "
        "a row; retrying)");
  CHECK(degraded[5] == "suspects:        blocker");
  CHECK(degraded[6] == "reasons:         child 'blocker' has blocked a runtime thread for 1.2s");

  sup::wire::Health off;
  CHECK(health_report(off)[4] == "registration:    off (dashboard.registration)");
}

TEST_CASE("event and log lines") {
  UtcClock utc;
  CHECK(event_line(parse_event(demo_event(41)), TimeStyle::Full) ==
        "2023-11-14 22:14:01.000 #41 warning child_exited flaky exit_kind=TaskExit::Failed "
        "reason=\"flaky drill failed\"");
  json tree_wide = demo_event(5, "health_changed", "", "info");
  tree_wide["event"].erase("child_id");
  tree_wide["event"]["target_path"] = "root";
  tree_wide["event"]["payload"] = {{"status", "degraded"}};
  CHECK(event_line(parse_event(tree_wide), TimeStyle::Clock) ==
        "22:13:25 #5 info    health_changed root status=degraded");

  const json record = {
      {"sequence", 9},
      {"severity", "info"},
      {"message", "tick\x1b]0;pwned\x07"},
      {"fields", {{"CHILD_ID", "ticker"}, {"STREAM", "stdout"}, {"GENERATION", "2"}}},
      {"occurred_at_unix_nanos", kNow * 1'000'000}};
  CHECK(log_line(parse_log({{"type", "log"}, {"log", record}})) ==
        "2023-11-14 22:13:20.000 info    [ticker stdout] tick?]0;pwned? GENERATION=2");

  CHECK(gap_line({41, 43}) == "missed events 41-43");
  CHECK(gap_line({7, 7}) == "missed event 7");
}

TEST_CASE("command outcomes use the runbook's spelling") {
  auto result = [](std::string id, std::string outcome, std::string reason) {
    sup::wire::CommandResult r;
    r.command_id = std::move(id);
    r.accepted = outcome == "CommandResult::Accepted";
    r.status = r.accepted ? "completed" : "rejected";
    r.outcome = std::move(outcome);
    r.reason = std::move(reason);
    return r;
  };
  auto accepted = result("c0ffee", "CommandResult::Accepted", "");
  CHECK(command_outcome("remove", "crasher", accepted) ==
        "CommandResult::Accepted: remove crasher (command_id c0ffee)");
  accepted.idempotent = true;
  CHECK(contains(command_outcome("remove", "crasher", accepted), "nothing was done again"));

  const auto rejected = result("c1", "CommandResult::Rejected", "the relay cannot be removed");
  CHECK(command_outcome("remove", "relay", rejected) ==
        "CommandResult::Rejected: remove relay: the relay cannot be removed (command_id c1)");
  const auto shutdown = result("c2", "CommandResult::Accepted", "");
  CHECK(command_outcome("shutdown-tree", "", shutdown) ==
        "CommandResult::Accepted: shutdown-tree (command_id c2)");
  auto seed_only = shutdown;  // a daemon without our outcome: the seed's status
  seed_only.outcome.clear();
  CHECK(command_outcome("shutdown-tree", "", seed_only) ==
        "completed: shutdown-tree (command_id c2)");
}

TEST_CASE("the daemon's refusals name the field and say what to do") {
  const sup::wire::ErrorObject invalid{
      "invalid_command_params",  "validation", "t",
      "must be at most 3600000", false,        "params.spec.backoff.max_ms"};
  CHECK(daemon_error_text("command.add_child", invalid) ==
        "the supervisor refused `command.add_child`: invalid_command_params (validation): "
        "field_path=\"params.spec.backoff.max_ms\": must be at most 3600000");

  const sup::wire::ErrorObject confirmation{
      "validation_failed", "command_validate", "t", "remove_child is dangerous", false,
      "params.confirmed"};
  CHECK(contains(daemon_error_text("command.remove_child", confirmation), "confirm with --yes"));
  const sup::wire::ErrorObject limited{"rate_limited", "admission", "t", "slow down", true, ""};
  CHECK(contains(daemon_error_text("state", limited), "retryable"));
  const sup::wire::ErrorObject denied{"permission_denied", "authorization", "t",
                                      "uid 1000",          false,           ""};
  CHECK(
      contains(daemon_error_text("command.kill_child", denied), "root and the daemon's own user"));
}
