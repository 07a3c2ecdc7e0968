#include "actors/health_watch.hpp"

#include <algorithm>

#include "sup/log.hpp"

namespace sup::actors {

std::optional<std::string> suspicion(const ProbeReading& probe, std::int64_t now_mono_ns,
                                     std::int64_t now_unix_ms, std::int64_t blocking_threshold_ms) {
  if (probe.busy_since_mono_ns != 0) {
    std::int64_t busy_ms = (now_mono_ns - probe.busy_since_mono_ns) / 1'000'000;
    if (busy_ms >= blocking_threshold_ms)
      return "has blocked a runtime thread for " + std::to_string(busy_ms) + " ms";
  }
  if (probe.last_heartbeat_unix_ms == 0 || probe.heartbeat_timeout_ms == 0) return std::nullopt;
  std::int64_t silent_ms = now_unix_ms - probe.last_heartbeat_unix_ms;
  if (silent_ms > probe.heartbeat_timeout_ms)
    return "missed its heartbeat for " + std::to_string(silent_ms) + " ms";
  return std::nullopt;
}

std::string status_for(const HealthInputs& inputs, bool any_suspect) {
  if (!inputs.started) return "starting";
  if (inputs.stopping) return "stopping";
  if (any_suspect || inputs.quarantined > 0 || !inputs.faults.empty()) return "degraded";
  return "ready";
}

void LoopRate::count(std::int64_t now_mono_ms) {
  ++passes_;
  if (now_mono_ms - sample_at_ms_ >= 1000) {
    per_sec_ = static_cast<double>(passes_ - passes_at_sample_) * 1000.0 /
               static_cast<double>(now_mono_ms - sample_at_ms_);
    passes_at_sample_ = passes_;
    sample_at_ms_ = now_mono_ms;
  }
}

double LoopRate::per_sec(std::int64_t now_mono_ms) const {
  std::int64_t window_ms = now_mono_ms - sample_at_ms_;
  if (window_ms < 200) return per_sec_;
  return static_cast<double>(passes_ - passes_at_sample_) * 1000.0 / static_cast<double>(window_ms);
}

void HealthWatch::set_suspects(std::vector<Suspect> suspects) {
  for (const auto& suspect : suspects) {
    bool known = std::any_of(suspects_.begin(), suspects_.end(),
                             [&](const Suspect& old) { return old.id == suspect.id; });
    if (!known) {
      log(LogLevel::Warn, "child suspected of starving the runtime or stalled",
          {{"CHILD_ID", suspect.id}, {"REASON", suspect.reason}});
    }
  }
  suspects_ = std::move(suspects);
}

std::optional<std::pair<std::string, std::string>> HealthWatch::update_status(
    const HealthInputs& inputs) {
  faults_ = inputs.faults;
  std::string status = status_for(inputs, !suspects_.empty());
  if (status == status_) return std::nullopt;
  return std::pair{std::exchange(status_, status), status};
}

Health HealthWatch::report(std::int64_t now_mono_ms) const {
  Health h;
  h.status = status_;
  h.uptime_secs = static_cast<std::uint64_t>((now_mono_ms - started_at_ms_) / 1000);
  h.control_loop_iterations = rate_.passes();
  h.iterations_per_sec = rate_.per_sec(now_mono_ms);
  for (const auto& suspect : suspects_) {
    h.suspects.push_back(suspect.id);
    h.reasons.push_back(suspect.reason);
  }
  h.reasons.insert(h.reasons.end(), faults_.begin(), faults_.end());
  return h;
}

}  // namespace sup::actors
