#include "metrics/daemon_metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <exception>
#include <mutex>

#include "dag/states.hpp"
#include "executions/execution_types.hpp"

namespace sup::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::array kTaskExitKinds = {TaskExit::Completed, TaskExit::Failed,   TaskExit::Panicked,
                                       TaskExit::Cancelled, TaskExit::TimedOut, TaskExit::Killed};
constexpr std::array kChildStates = {
    ChildState::Starting, ChildState::Running, ChildState::Restarting, ChildState::Stopping,
    ChildState::Stopped,  ChildState::Paused,  ChildState::Failed,     ChildState::Quarantined};
constexpr std::array<std::string_view, 3> kBreakerStates = {"CLOSED", "OPEN", "HALF_OPEN"};
constexpr std::array<std::string_view, 4> kHealthStatuses = {"starting", "ready", "degraded",
                                                             "stopping"};
constexpr std::array<std::string_view, 3> kLinkStates = {"connected", "listening", "disconnected"};

// "TaskExit::Panicked" (the event payload's spelling) -> "Panicked".
std::string exit_kind_label(std::string_view name) {
  constexpr std::string_view kPrefix = "TaskExit::";
  if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
  return std::string(name);
}

double seconds(std::chrono::nanoseconds took) {
  return std::chrono::duration<double>(took).count();
}

// Per-child series built at scrape time from the newest state snapshot, so
// a removed child's series disappear with it.
class PerChildSeries : public prometheus::Collectable {
 public:
  void update(std::shared_ptr<const SupervisorState> state) {
    std::lock_guard lock(mutex_);
    state_ = std::move(state);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::shared_ptr<const SupervisorState> state;
    {
      std::lock_guard lock(mutex_);
      state = state_;
    }
    prometheus::MetricFamily restarts{"supervisor_child_restarts_total",
                                      "Restarts of each child since the daemon started",
                                      prometheus::MetricType::Counter,
                                      {}};
    prometheus::MetricFamily tokens{"supervisor_child_restart_tokens",
                                    "Restart tokens left in each child's budget",
                                    prometheus::MetricType::Gauge,
                                    {}};
    prometheus::MetricFamily backoff{"supervisor_child_backoff_seconds",
                                     "Current (or last) backoff delay of each child",
                                     prometheus::MetricType::Gauge,
                                     {}};
    prometheus::MetricFamily children{"supervisor_children",
                                      "Children (every node of the tree) by state",
                                      prometheus::MetricType::Gauge,
                                      {}};
    std::map<ChildState, std::uint64_t> by_state;
    for (ChildState s : kChildStates) by_state[s] = 0;
    if (state) {
      restarts.metric.reserve(state->child_runtime_records.size());
      tokens.metric.reserve(state->child_runtime_records.size());
      backoff.metric.reserve(state->child_runtime_records.size());
      for (const ChildRuntimeRecord& child : state->child_runtime_records) {
        std::vector<prometheus::ClientMetric::Label> labels{{"child", child.id}};
        prometheus::ClientMetric metric;
        metric.label = labels;
        metric.counter.value = static_cast<double>(child.restart_count);
        restarts.metric.push_back(metric);
        metric.gauge.value = child.restart_budget.tokens;
        tokens.metric.push_back(metric);
        metric.gauge.value = static_cast<double>(child.backoff_ms) / 1000.0;
        backoff.metric.push_back(std::move(metric));
        ++by_state[child.state];
      }
    }
    for (const auto& [child_state, count] : by_state) {
      prometheus::ClientMetric metric;
      metric.label = {{"state", std::string(to_string(child_state))}};
      metric.gauge.value = static_cast<double>(count);
      children.metric.push_back(std::move(metric));
    }
    return {std::move(restarts), std::move(tokens), std::move(backoff), std::move(children)};
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const SupervisorState> state_;
};

template <class Builder>
auto& family(prometheus::Registry& registry, Builder builder, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

struct DaemonMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<PerChildSeries> per_child = std::make_shared<PerChildSeries>();

  // ---- supervision (events and health) ----
  Family<Counter>& exits = family(*registry, prometheus::BuildCounter(),
                                  "supervisor_child_exits_total", "Child exits by TaskExit kind");
  Counter& quarantines =
      family(*registry, prometheus::BuildCounter(), "supervisor_quarantines_total",
             "Children quarantined (budget spent, crash loop, or command)")
          .Add({});
  Family<Counter>& events = family(*registry, prometheus::BuildCounter(), "supervisor_events_total",
                                   "Events emitted by the tree, by event type");
  Counter& loop_iterations =
      family(*registry, prometheus::BuildCounter(), "supervisor_control_loop_iterations_total",
             "Control-loop passes that carried out work (ticks, exits, commands)")
          .Add({});
  Gauge& loop_rate =
      family(*registry, prometheus::BuildGauge(), "supervisor_control_loop_iterations_per_second",
             "Control-loop passes per second, as the loop measures them")
          .Add({});
  Gauge& loop_answering =
      family(*registry, prometheus::BuildGauge(), "supervisor_control_loop_up",
             "1 while the control loop answers the sampler, 0 when its last call failed")
          .Add({});
  Family<Gauge>& health_status =
      family(*registry, prometheus::BuildGauge(), "supervisor_health_status",
             "1 for the daemon's current health status");
  Gauge& uptime = family(*registry, prometheus::BuildGauge(), "supervisor_uptime_seconds",
                         "Seconds since the runtime started")
                      .Add({});
  Gauge& relay_clients = family(*registry, prometheus::BuildGauge(), "supervisor_relay_clients",
                                "Clients connected to the dashboard relay's socket")
                             .Add({});
  Family<Gauge>& dashboard_link =
      family(*registry, prometheus::BuildGauge(), "supervisor_dashboard_link",
             "1 for the dashboard link's current state");
  Counter& relay_drops =
      family(*registry, prometheus::BuildCounter(), "supervisor_relay_drops_total",
             "Relay clients dropped for not keeping up (not wired yet: 0)")
          .Add({});
  Family<Counter>& ipc_requests =
      family(*registry, prometheus::BuildCounter(), "supervisor_ipc_requests_total",
             "Socket requests by method and result (not wired yet: no series)");
  Counter& audit_failures =
      family(*registry, prometheus::BuildCounter(), "supervisor_audit_write_failures_total",
             "Failed writes of the audit log")
          .Add({});
  Family<Counter>& http_requests =
      family(*registry, prometheus::BuildCounter(), "supervisor_http_requests_total",
             "HTTP requests answered, by endpoint and status code");

  // ---- executions and the store ----
  Family<Gauge>& executions = family(*registry, prometheus::BuildGauge(), "supervisor_executions",
                                     "Stored executions by state");
  Family<Gauge>& stuck = family(*registry, prometheus::BuildGauge(), "supervisor_executions_stuck",
                                "Unfinished executions listed as STUCK, by reason");
  Gauge& maintenance_mode =
      family(*registry, prometheus::BuildGauge(), "supervisor_maintenance_mode",
             "1 while maintenance mode is on (submissions are queued, not started)")
          .Add({});
  Family<Gauge>& nodes = family(*registry, prometheus::BuildGauge(), "supervisor_execution_nodes",
                                "Nodes of unfinished executions by state");
  Histogram& transition_latency =
      family(*registry, prometheus::BuildHistogram(),
             "supervisor_execution_transition_latency_seconds",
             "From a transition's decision to its checkpoint being acknowledged")
          .Add({}, Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                               0.025, 0.05, 0.1, 0.25, 1});
  Histogram& commit_latency =
      family(*registry, prometheus::BuildHistogram(), "supervisor_store_commit_seconds",
             "Duration of each store write transaction (puts, commit, fsync)")
          .Add({}, Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                               0.005, 0.01, 0.025, 0.05, 0.1, 0.5});
  Histogram& commit_batch =
      family(*registry, prometheus::BuildHistogram(), "supervisor_store_commit_batch_size",
             "Append requests committed together in one transaction")
          .Add({}, Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096});
  Gauge& store_up = family(*registry, prometheus::BuildGauge(), "supervisor_store_up",
                           "1 while the execution store is open and answers reads")
                        .Add({});
  Gauge& store_map_bytes = family(*registry, prometheus::BuildGauge(), "supervisor_store_map_bytes",
                                  "Size of the store's memory map")
                               .Add({});
  Gauge& store_used_bytes = family(*registry, prometheus::BuildGauge(), "supervisor_store_bytes",
                                   "Bytes of the store's pages in use (up to the last page)")
                                .Add({});
  Gauge& store_free_pages =
      family(*registry, prometheus::BuildGauge(), "supervisor_store_free_pages",
             "Pages on the store's free list, reusable without growth")
          .Add({});

  // ---- the seed runbooks' names (docs/metrics.md says which are fed) ----
  Family<Gauge>& breaker_state =
      family(*registry, prometheus::BuildGauge(), "hlp_executor_circuit_breaker_state",
             "Circuit breaker state per service (0 closed, 1 open, 2 half-open); no breakers "
             "exist yet (issue 10)");
  Gauge& breakers_open =
      family(*registry, prometheus::BuildGauge(), "hlp_executor_circuit_breaker_open",
             "Circuit breakers open now (no breakers yet: 0)")
          .Add({});
  Family<Counter>& breaker_changes =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_circuit_breaker_state_changes",
             "Circuit breaker transitions by new state (no breakers yet: 0)");
  Counter& persistence_failures =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_state_persistence_failures_total",
             "Checkpoint appends the store refused or failed")
          .Add({});
  Counter& corruption =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_state_corruption_total",
             "Stored records or summaries that failed their checksum or "
             "structure checks, as found")
          .Add({});
  Counter& quantum_timeouts =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_quantum_backend_timeouts_total",
             "Scheduler-backend timeouts (no quantum backend: 0)")
          .Add({});
  Counter& quantum_requests =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_quantum_backend_requests_total",
             "Scheduler-backend requests (no quantum backend: 0)")
          .Add({});
  Gauge& fallback_usage = family(*registry, prometheus::BuildGauge(), "hlp_executor_fallback_usage",
                                 "1 while the classical scheduler fallback is in use (no quantum "
                                 "backend: always 0)")
                              .Add({});
  Counter& kubernetes_errors =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_kubernetes_api_errors_total",
             "Kubernetes API errors (no Kubernetes integration: 0)")
          .Add({});
  Family<Gauge>& recovery_duration =
      family(*registry, prometheus::BuildGauge(), "hlp_executor_recovery_duration_seconds",
             "Duration of the last recovery, by failure type");
  Counter& retry_attempts =
      family(*registry, prometheus::BuildCounter(), "hlp_executor_retry_attempts_total",
             "Node attempts after the first (retries)")
          .Add({});
  Histogram& backoff_duration =
      family(*registry, prometheus::BuildHistogram(), "hlp_executor_backoff_duration_seconds",
             "Backoff delays before child restarts")
          .Add({}, Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300});

  std::mutex sample_mutex;  // the deltas below
  std::uint64_t last_iterations = 0;
  std::uint64_t last_audit_failures = 0;
  std::uint64_t last_appends_failed = 0;
  std::uint64_t last_bad_summaries = 0;

  Impl() {
    for (TaskExit::Kind kind : kTaskExitKinds)
      exits.Add({{"kind", exit_kind_label(to_string(kind))}});
    for (std::string_view s : kHealthStatuses) health_status.Add({{"status", std::string(s)}});
    for (std::string_view s : kLinkStates) dashboard_link.Add({{"state", std::string(s)}});
    for (std::string_view s : kBreakerStates) breaker_changes.Add({{"state", std::string(s)}});
#define SUP_METRICS_STATE(name, text) executions.Add({{"state", text}});
    SUP_DAG_EXECUTION_STATES(SUP_METRICS_STATE)
#undef SUP_METRICS_STATE
#define SUP_METRICS_STATE(name, text) nodes.Add({{"state", text}});
    SUP_DAG_NODE_STATES(SUP_METRICS_STATE)
#undef SUP_METRICS_STATE
    executions.Add({{"state", "STUCK"}});
#define SUP_METRICS_REASON(name, text) stuck.Add({{"reason", text}});
    SUP_STUCK_REASONS(SUP_METRICS_REASON)
#undef SUP_METRICS_REASON
    recovery_duration.Add({{"failure_type", "daemon_restart"}});
  }

  static void count_delta(Counter& counter, std::uint64_t now, std::uint64_t& last) {
    if (now > last) counter.Increment(static_cast<double>(now - last));
    last = now;
  }
};

DaemonMetrics::DaemonMetrics() : impl_(std::make_unique<Impl>()) {}
DaemonMetrics::~DaemonMetrics() = default;

void DaemonMetrics::on_event(const Event& event) {
  impl_->events.Add({{"type", event.event_type}}).Increment();
  if (event.event_type == "child_exited") {
    auto kind = event.payload.find("task_exit");
    if (kind != event.payload.end())
      impl_->exits.Add({{"kind", exit_kind_label(kind->second)}}).Increment();
  } else if (event.event_type == "child_quarantined") {
    impl_->quarantines.Increment();
  } else if (event.event_type == "child_restarting") {
    auto backoff = event.payload.find("backoff_ms");
    if (backoff != event.payload.end()) {
      char* end = nullptr;
      double ms = std::strtod(backoff->second.c_str(), &end);
      if (end != backoff->second.c_str()) impl_->backoff_duration.Observe(ms / 1000.0);
    }
  }
}

void DaemonMetrics::on_sample(const DaemonSample& sample) {
  Impl& m = *impl_;
  std::lock_guard lock(m.sample_mutex);
  m.loop_answering.Set(sample.health && sample.health_error.empty() ? 1 : 0);
  if (sample.health) {
    const Health& health = *sample.health;
    Impl::count_delta(m.loop_iterations, health.control_loop_iterations, m.last_iterations);
    m.loop_rate.Set(health.iterations_per_sec);
    m.uptime.Set(static_cast<double>(health.uptime_secs));
    m.relay_clients.Set(health.endpoint.clients);
    for (std::string_view s : kHealthStatuses)
      m.health_status.Add({{"status", std::string(s)}}).Set(health.status == s ? 1 : 0);
    for (std::string_view s : kLinkStates)
      m.dashboard_link.Add({{"state", std::string(s)}})
          .Set(to_string(health.endpoint.link) == s ? 1 : 0);
    Impl::count_delta(m.audit_failures, health.audit_write_failures, m.last_audit_failures);
  }
  const StoreSample& store = sample.store;
  m.store_up.Set(store.open && store.answering ? 1 : 0);
  m.maintenance_mode.Set(sample.maintenance.enabled ? 1 : 0);
  if (!store.answering) return;
  m.store_map_bytes.Set(static_cast<double>(store.map_bytes));
  m.store_used_bytes.Set(static_cast<double>(store.used_bytes));
  m.store_free_pages.Set(static_cast<double>(store.free_pages));
  Impl::count_delta(m.persistence_failures, store.appends_failed, m.last_appends_failed);
  Impl::count_delta(m.corruption, store.corrupt_records, m.last_bad_summaries);
#define SUP_METRICS_STATE(name, text)                                           \
  {                                                                             \
    auto it = store.executions_by_state.find(text);                             \
    m.executions.Add({{"state", text}})                                         \
        .Set(it == store.executions_by_state.end() ? 0.0 : double(it->second)); \
  }
  SUP_DAG_EXECUTION_STATES(SUP_METRICS_STATE)
#undef SUP_METRICS_STATE
  m.executions.Add({{"state", "STUCK"}}).Set(static_cast<double>(store.stuck));
#define SUP_METRICS_REASON(name, text)                                      \
  {                                                                         \
    auto it = store.stuck_by_reason.find(text);                             \
    m.stuck.Add({{"reason", text}})                                         \
        .Set(it == store.stuck_by_reason.end() ? 0.0 : double(it->second)); \
  }
  SUP_STUCK_REASONS(SUP_METRICS_REASON)
#undef SUP_METRICS_REASON
#define SUP_METRICS_STATE(name, text)                                      \
  {                                                                        \
    auto it = store.nodes_by_state.find(text);                             \
    m.nodes.Add({{"state", text}})                                         \
        .Set(it == store.nodes_by_state.end() ? 0.0 : double(it->second)); \
  }
  SUP_DAG_NODE_STATES(SUP_METRICS_STATE)
#undef SUP_METRICS_STATE
}

void DaemonMetrics::on_state(std::shared_ptr<const SupervisorState> state) {
  impl_->per_child->update(std::move(state));
}

void DaemonMetrics::on_store_commit(std::size_t appends, std::chrono::nanoseconds took) {
  impl_->commit_latency.Observe(seconds(took));
  impl_->commit_batch.Observe(static_cast<double>(appends));
}

void DaemonMetrics::on_checkpoint_durable(std::size_t transitions,
                                          std::chrono::nanoseconds latency) {
  for (std::size_t i = 0; i < transitions; ++i) impl_->transition_latency.Observe(seconds(latency));
}

void DaemonMetrics::on_recovery(std::string_view failure_type, std::chrono::nanoseconds took) {
  impl_->recovery_duration.Add({{"failure_type", std::string(failure_type)}}).Set(seconds(took));
}

void DaemonMetrics::on_http_request(std::string_view endpoint, unsigned status) {
  impl_->http_requests.Add({{"endpoint", std::string(endpoint)}, {"code", std::to_string(status)}})
      .Increment();
}

std::string DaemonMetrics::render() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  std::vector<prometheus::MetricFamily> per_child = impl_->per_child->Collect();
  families.insert(families.end(), std::make_move_iterator(per_child.begin()),
                  std::make_move_iterator(per_child.end()));
  return prometheus::TextSerializer().Serialize(families);
}

std::shared_ptr<prometheus::Registry> DaemonMetrics::registry() const {
  return impl_->registry;
}

std::shared_ptr<prometheus::Collectable> DaemonMetrics::per_child_series() const {
  return impl_->per_child;
}

struct MetricsExposer::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
};

Expected<std::unique_ptr<MetricsExposer>> MetricsExposer::start(const std::string& listen,
                                                                const DaemonMetrics& metrics) {
  auto impl = std::make_unique<Impl>();
  try {
    // One thread: a scrape is one request at a time.
    impl->exposer = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::InvalidConfig, "cannot listen on " + listen + ": " + e.what(),
                      "metrics.listen");
  }
  impl->exposer->RegisterCollectable(metrics.registry());
  impl->exposer->RegisterCollectable(metrics.per_child_series());
  return std::unique_ptr<MetricsExposer>(new MetricsExposer(std::move(impl)));
}

MetricsExposer::MetricsExposer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsExposer::~MetricsExposer() = default;

std::uint16_t MetricsExposer::port() const {
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
}

}  // namespace sup::metrics
