// STUCK as a pure reading of an execution's committed view at a time, and
// the maintenance mode's stored form.
#include <doctest/doctest.h>

#include "executions/maintenance.hpp"
#include "executions/stuck.hpp"

namespace {

using namespace sup::executions;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kT0 = 1'700'000'000'000 * kMs;

ExecutionView view_of(std::string state, std::vector<NodeView> nodes, std::int64_t updated) {
  ExecutionView view;
  view.execution_id = "e-1";
  view.state = std::move(state);
  view.finished = state == "COMPLETED" || state == "FAILED";
  view.updated_at_ns = updated;
  view.nodes = std::move(nodes);
  return view;
}

NodeView node(std::string id, std::string state, std::int64_t updated, std::uint64_t timeout = 0) {
  NodeView n;
  n.node_id = std::move(id);
  n.state = std::move(state);
  n.updated_at_ns = updated;
  n.timeout_ms = timeout;
  return n;
}

const StuckPolicy kPolicy{.stuck_after_ms = 1000, .stop_grace_ms = 200, .maintenance = false};

}  // namespace

TEST_CASE("every stuck reason has one name, and names read back") {
  for (StuckReason reason :
       {StuckReason::QueuedTooLong, StuckReason::RunningWithoutProgress,
        StuckReason::OwnerProcessDead, StuckReason::BreakerOpen, StuckReason::Maintenance}) {
    CAPTURE(to_string(reason));
    CHECK(stuck_reason_from_string(to_string(reason)) == reason);
  }
  CHECK(to_string(StuckReason::QueuedTooLong) == "queued_too_long");
  CHECK(to_string(StuckReason::RunningWithoutProgress) == "running_without_progress");
  CHECK(to_string(StuckReason::OwnerProcessDead) == "owner_process_dead");
  CHECK(to_string(StuckReason::BreakerOpen) == "breaker_open");
  CHECK(to_string(StuckReason::Maintenance) == "maintenance");
  CHECK_FALSE(stuck_reason_from_string("STUCK"));
}

TEST_CASE("an execution that moved within stuck_after_ms is not stuck; one that did not is") {
  auto view = view_of("RUNNING", {node("a", "RUNNING", kT0)}, kT0);
  CHECK_FALSE(assess_stuck(view, kT0 + 1000 * kMs, kPolicy));
  auto finding = assess_stuck(view, kT0 + 1001 * kMs, kPolicy);
  REQUIRE(finding);
  CHECK(finding->reason == StuckReason::RunningWithoutProgress);
  CHECK(finding->since_ns == kT0);
  CHECK(finding->detail.find("no transition for 1001 ms") != std::string::npos);
}

TEST_CASE("finished and paused executions are never stuck") {
  for (const char* state : {"COMPLETED", "FAILED", "PAUSED"}) {
    CAPTURE(state);
    auto view = view_of(state, {node("a", "COMPLETED", kT0)}, kT0);
    view.finished = std::string(state) != "PAUSED";
    CHECK_FALSE(assess_stuck(view, kT0 + 3'600'000 * kMs, kPolicy));
  }
}

TEST_CASE("a queued execution is queued_too_long, or maintenance while the mode is on") {
  auto view = view_of("PENDING", {node("a", "PENDING", 0)}, kT0);
  auto queued = assess_stuck(view, kT0 + 2000 * kMs, kPolicy);
  REQUIRE(queued);
  CHECK(queued->reason == StuckReason::QueuedTooLong);
  StuckPolicy maintenance = kPolicy;
  maintenance.maintenance = true;
  auto held = assess_stuck(view, kT0 + 2000 * kMs, maintenance);
  REQUIRE(held);
  CHECK(held->reason == StuckReason::Maintenance);
  CHECK_FALSE(assess_stuck(view, kT0 + 500 * kMs, maintenance));
}

TEST_CASE("READY nodes with none running wait for a slot: queued_too_long") {
  auto view = view_of("RUNNING", {node("a", "COMPLETED", kT0), node("b", "READY", kT0)}, kT0);
  auto finding = assess_stuck(view, kT0 + 5000 * kMs, kPolicy);
  REQUIRE(finding);
  CHECK(finding->reason == StuckReason::QueuedTooLong);
  view.nodes.push_back(node("c", "RETRY_WAIT", kT0));
  CHECK(assess_stuck(view, kT0 + 5000 * kMs, kPolicy)->reason ==
        StuckReason::RunningWithoutProgress);
}

TEST_CASE("a node past its timeout and the stop grace is stuck even while others move") {
  // The execution's last transition is recent (another node moved), but a
  // has run past timeout + grace: its process did not die.
  auto view =
      view_of("RUNNING", {node("a", "RUNNING", kT0, 300), node("b", "RUNNING", kT0 + 400 * kMs)},
              kT0 + 400 * kMs);
  CHECK_FALSE(assess_stuck(view, kT0 + 500 * kMs, kPolicy));  // 300 + 200 grace
  auto finding = assess_stuck(view, kT0 + 501 * kMs, kPolicy);
  REQUIRE(finding);
  CHECK(finding->reason == StuckReason::RunningWithoutProgress);
  CHECK(finding->since_ns == kT0);
  CHECK(finding->detail.find("node a") != std::string::npos);
  CHECK(finding->detail.find("did not die") != std::string::npos);
  // The timeout rule holds with the idle rule off.
  StuckPolicy idle_off = kPolicy;
  idle_off.stuck_after_ms = 0;
  CHECK(assess_stuck(view, kT0 + 501 * kMs, idle_off));
  CHECK_FALSE(assess_stuck(view_of("RUNNING", {node("b", "RUNNING", kT0)}, kT0),
                           kT0 + 3'600'000 * kMs, idle_off));
}

TEST_CASE("the maintenance mode round-trips through its stored form") {
  MaintenanceMode mode{true, "state index rebuild", "alice@host", kT0};
  auto back = decode_maintenance(encode_maintenance(mode));
  REQUIRE(back);
  CHECK(back->enabled);
  CHECK(back->reason == mode.reason);
  CHECK(back->requested_by == mode.requested_by);
  CHECK(back->changed_at_ns == kT0);
}

TEST_CASE("a stored maintenance mode that is not one is refused with its field") {
  for (auto [text, field] :
       {std::pair{"[]", "setting.maintenance"}, std::pair{"not json", "setting.maintenance"},
        std::pair{R"({"enabled":"yes"})", "setting.maintenance.enabled"},
        std::pair{R"({"enabled":true,"reason":1})", "setting.maintenance.reason"},
        std::pair{R"({"enabled":true,"reason":"r","requested_by":"x"})",
                  "setting.maintenance.changed_at_unix_nanos"}}) {
    CAPTURE(text);
    auto decoded = decode_maintenance(text);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == sup::ErrorCode::DataLoss);
    CHECK(decoded.error().field_path == field);
  }
}

TEST_CASE("a maintenance change needs a reason") {
  CHECK(check_maintenance_change({true, "index rebuild", "ops"}));
  for (const char* blank : {"", "  \n"}) {
    auto refused = check_maintenance_change({false, blank, "ops"});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().field_path == "reason");
  }
  CHECK_FALSE(check_maintenance_change({true, std::string(2000, 'x'), "ops"}));
}
