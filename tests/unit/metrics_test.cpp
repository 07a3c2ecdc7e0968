// The daemon's series: every documented name is exposed, events and samples
// move them, per-child series follow the newest state.
#include <doctest/doctest.h>

#include "../integration/exposition_parser.hpp"
#include "metrics/daemon_metrics.hpp"

namespace {

sup::it::Exposition scrape(const sup::metrics::DaemonMetrics& metrics) {
  auto parsed = sup::it::parse_exposition(metrics.render());
  REQUIRE_MESSAGE(parsed, parsed.error().describe());
  return *parsed;
}

sup::Event exited(const std::string& child, const std::string& kind) {
  sup::Event event;
  event.event_type = "child_exited";
  event.child_id = child;
  event.payload = {{"task_exit", kind}, {"exit_reason", "boom"}};
  return event;
}

}  // namespace

TEST_CASE("every series of docs/metrics.md is exposed from the start") {
  sup::metrics::DaemonMetrics metrics;
  auto first = scrape(metrics);
  for (const char* family : {"supervisor_child_exits_total",
                             "supervisor_quarantines_total",
                             "supervisor_control_loop_iterations_total",
                             "supervisor_relay_clients",
                             "supervisor_relay_drops_total",
                             "supervisor_executions",
                             "supervisor_execution_nodes",
                             "supervisor_execution_transition_latency_seconds",
                             "supervisor_store_commit_seconds",
                             "supervisor_store_commit_batch_size",
                             "supervisor_store_bytes",
                             "supervisor_store_free_pages",
                             "supervisor_child_restarts_total",
                             "supervisor_child_restart_tokens",
                             "supervisor_child_backoff_seconds",
                             "supervisor_children",
                             "hlp_executor_circuit_breaker_open",
                             "hlp_executor_circuit_breaker_state_changes",
                             "hlp_executor_state_persistence_failures_total",
                             "hlp_executor_state_corruption_total",
                             "hlp_executor_quantum_backend_timeouts_total",
                             "hlp_executor_quantum_backend_requests_total",
                             "hlp_executor_fallback_usage",
                             "hlp_executor_recovery_duration_seconds",
                             "hlp_executor_retry_attempts_total",
                             "hlp_executor_backoff_duration_seconds",
                             "hlp_executor_kubernetes_api_errors_total"})
    CHECK_MESSAGE(first.has_family(family), family);
  CHECK(first.value("supervisor_child_exits_total", {{"kind", "Panicked"}}) == 0.0);
  CHECK(first.value("hlp_executor_circuit_breaker_state_changes", {{"state", "OPEN"}}) == 0.0);
  CHECK(first.value("supervisor_executions", {{"state", "RUNNING"}}) == 0.0);
  CHECK(first.value("supervisor_executions", {{"state", "STUCK"}}) == 0.0);
  CHECK(first.value("supervisor_execution_nodes", {{"state", "RETRY_WAIT"}}) == 0.0);
  CHECK(first.value("hlp_executor_recovery_duration_seconds",
                    {{"failure_type", "daemon_restart"}}) == 0.0);
}

TEST_CASE("events, samples and commits move their series") {
  sup::metrics::DaemonMetrics metrics;
  metrics.on_event(exited("crasher", "TaskExit::Panicked"));
  metrics.on_event(exited("crasher", "TaskExit::Panicked"));
  metrics.on_event(exited("worker", "TaskExit::Killed"));
  sup::Event quarantined;
  quarantined.event_type = "child_quarantined";
  metrics.on_event(quarantined);
  sup::Event restarting;
  restarting.event_type = "child_restarting";
  restarting.payload = {{"backoff_ms", "250"}};
  metrics.on_event(restarting);

  sup::metrics::DaemonSample sample;
  sample.health = sup::Health{};
  sample.health->control_loop_iterations = 40;
  sample.health->endpoint.clients = 3;
  sample.health->status = "degraded";
  sample.store = {.open = true,
                  .answering = true,
                  .map_bytes = 1 << 20,
                  .used_bytes = 8192,
                  .free_pages = 5,
                  .appends_failed = 2,
                  .corrupt_records = 1,
                  .executions_by_state = {{"COMPLETED", 4}},
                  .nodes_by_state = {{"RUNNING", 2}}};
  metrics.on_sample(sample);
  sample.health->control_loop_iterations = 100;
  sample.store.appends_failed = 3;
  metrics.on_sample(sample);
  metrics.on_store_commit(7, std::chrono::microseconds(300));
  metrics.on_checkpoint_durable(2, std::chrono::microseconds(900));
  metrics.on_recovery("daemon_restart", std::chrono::milliseconds(1500));

  auto s = scrape(metrics);
  CHECK(s.value("supervisor_child_exits_total", {{"kind", "Panicked"}}) == 2.0);
  CHECK(s.value("supervisor_child_exits_total", {{"kind", "Killed"}}) == 1.0);
  CHECK(s.value("supervisor_quarantines_total") == 1.0);
  CHECK(s.value("hlp_executor_backoff_duration_seconds_count") == 1.0);
  CHECK(s.value("supervisor_control_loop_iterations_total") == 100.0);
  CHECK(s.value("supervisor_relay_clients") == 3.0);
  CHECK(s.value("supervisor_health_status", {{"status", "degraded"}}) == 1.0);
  CHECK(s.value("supervisor_health_status", {{"status", "ready"}}) == 0.0);
  CHECK(s.value("supervisor_store_bytes") == 8192.0);
  CHECK(s.value("supervisor_store_free_pages") == 5.0);
  CHECK(s.value("hlp_executor_state_persistence_failures_total") == 3.0);
  CHECK(s.value("hlp_executor_state_corruption_total") == 1.0);
  CHECK(s.value("supervisor_executions", {{"state", "COMPLETED"}}) == 4.0);
  CHECK(s.value("supervisor_execution_nodes", {{"state", "RUNNING"}}) == 2.0);
  CHECK(s.value("supervisor_store_commit_batch_size_count") == 1.0);
  CHECK(s.value("supervisor_store_commit_batch_size_sum") == 7.0);
  CHECK(s.value("supervisor_execution_transition_latency_seconds_count") == 2.0);
  CHECK(s.value("hlp_executor_recovery_duration_seconds", {{"failure_type", "daemon_restart"}}) ==
        doctest::Approx(1.5));
}

TEST_CASE("per-child series follow the newest state; a removed child's go with it") {
  sup::metrics::DaemonMetrics metrics;
  auto state = std::make_shared<sup::SupervisorState>();
  sup::ChildRuntimeRecord a;
  a.id = "a";
  a.state = sup::ChildState::Running;
  a.restart_count = 4;
  a.restart_budget.tokens = 2.5;
  a.backoff_ms = 1500;
  sup::ChildRuntimeRecord b = a;
  b.id = "b";
  b.state = sup::ChildState::Quarantined;
  state->child_runtime_records = {a, b};
  metrics.on_state(state);
  auto s = scrape(metrics);
  CHECK(s.value("supervisor_child_restarts_total", {{"child", "a"}}) == 4.0);
  CHECK(s.value("supervisor_child_restart_tokens", {{"child", "a"}}) == 2.5);
  CHECK(s.value("supervisor_child_backoff_seconds", {{"child", "a"}}) == 1.5);
  CHECK(s.value("supervisor_children", {{"state", "Quarantined"}}) == 1.0);
  CHECK(s.value("supervisor_children", {{"state", "Running"}}) == 1.0);

  auto fewer = std::make_shared<sup::SupervisorState>();
  fewer->child_runtime_records = {a};
  metrics.on_state(fewer);
  auto after = scrape(metrics);
  CHECK(after.find("supervisor_child_restarts_total", {{"child", "b"}}).empty());
  CHECK(after.value("supervisor_children", {{"state", "Quarantined"}}) == 0.0);
}

TEST_CASE("the exposition parser refuses what is not the format") {
  CHECK(sup::it::parse_exposition("# TYPE x counter\nx 1\ny{a=\"b\",c=\"d\"} 2.5 123\n"));
  CHECK_FALSE(sup::it::parse_exposition("x\n"));
  CHECK_FALSE(sup::it::parse_exposition("x{a=b} 1\n"));
  CHECK_FALSE(sup::it::parse_exposition("x{a=\"b\" 1\n"));
  CHECK_FALSE(sup::it::parse_exposition("# TYPE x colour\n"));
  CHECK_FALSE(sup::it::parse_exposition("x one\n"));
}
