#include "http/probes.hpp"

namespace sup::http {
namespace {

bool loop_answering(const metrics::DaemonSample& sample, std::int64_t now_ms,
                    std::int64_t stale_after_ms) {
  return sample.health.has_value() && now_ms - sample.health_at_ms <= stale_after_ms;
}

nlohmann::ordered_json checks_json(const std::vector<std::pair<std::string, std::string>>& checks) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, result] : checks) out[name] = result;
  return out;
}

ProbeAnswer answer(std::vector<std::pair<std::string, std::string>> checks) {
  ProbeAnswer probe;
  for (const auto& [name, result] : checks)
    if (result != "ok") probe.failing.push_back(name);
  probe.ok = probe.failing.empty();
  probe.body = {{"status", probe.ok ? "ok" : "failing"}};
  if (!probe.ok) probe.body["failing"] = probe.failing;
  probe.body["checks"] = checks_json(checks);
  return probe;
}

}  // namespace

ProbeAnswer probe_live(const metrics::DaemonSample& sample, std::int64_t now_ms,
                       std::int64_t stale_after_ms) {
  std::string loop = "ok";
  if (!loop_answering(sample, now_ms, stale_after_ms))
    loop = sample.health ? "no answer from the control loop for " +
                               std::to_string(now_ms - sample.health_at_ms) + " ms"
                         : "the control loop has not answered yet" +
                               (sample.health_error.empty() ? "" : ": " + sample.health_error);
  return answer({{"control_loop", loop}});
}

ProbeAnswer probe_ready(const metrics::DaemonSample& sample, std::int64_t now_ms,
                        std::int64_t stale_after_ms) {
  std::vector<std::pair<std::string, std::string>> checks;
  std::string supervision = "ok";
  if (!loop_answering(sample, now_ms, stale_after_ms)) {
    supervision = "the control loop does not answer";
  } else if (sample.health->status != "ready" && sample.health->status != "degraded") {
    supervision = "health status is " + sample.health->status;
  }
  checks.emplace_back("supervision", supervision);
  std::string store = "ok";
  if (!sample.store.open) {
    store = "not open yet";
  } else if (!sample.store.answering) {
    store = "not answering: " + sample.store.error;
  }
  checks.emplace_back("store", store);
  if (sample.dashboard_enabled) {
    std::string relay = "ok";
    if (!sample.health) {
      relay = "unknown";
    } else if (sample.health->endpoint.link == EndpointLink::Disconnected) {
      relay = "the dashboard relay is down (dashboard_link disconnected)";
    }
    checks.emplace_back("relay", relay);
  }
  ProbeAnswer probe = answer(std::move(checks));
  if (sample.health) probe.body["health_status"] = sample.health->status;
  // Ready to serve either way; submissions are queued while it is on.
  if (sample.maintenance.enabled)
    probe.body["maintenance"] = {{"enabled", true},
                                 {"reason", sample.maintenance.reason},
                                 {"requested_by", sample.maintenance.requested_by},
                                 {"changed_at_unix_nanos", sample.maintenance.changed_at_ns}};
  return probe;
}

ProbeAnswer probe_startup(const metrics::DaemonSample& sample) {
  ProbeAnswer probe =
      answer({{"startup", sample.startup_finished ? "ok" : "resuming unfinished executions"}});
  probe.body["executions_resumed"] = sample.executions_resumed;
  probe.body["executions_not_resumed"] = sample.executions_not_resumed;
  return probe;
}

}  // namespace sup::http
