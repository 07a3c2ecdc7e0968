#include "actors/health_watch.hpp"

#include <doctest/doctest.h>

using sup::actors::HealthInputs;
using sup::actors::HealthWatch;
using sup::actors::LoopRate;
using sup::actors::ProbeReading;
using sup::actors::status_for;
using sup::actors::suspicion;

namespace {
HealthInputs inputs(bool started, bool stopping = false, std::uint32_t quarantined = 0,
                    std::vector<std::string> faults = {}) {
  HealthInputs in;
  in.started = started;
  in.stopping = stopping;
  in.quarantined = quarantined;
  in.faults = std::move(faults);
  return in;
}
}  // namespace

TEST_CASE("suspicion: a callback past the blocking threshold, a heartbeat past its timeout") {
  const std::int64_t now_ns = 10'000'000'000;
  const std::int64_t now_unix = 1'700'000'000'000;
  CHECK_FALSE(suspicion({}, now_ns, now_unix, 500));
  CHECK_FALSE(suspicion({.busy_since_mono_ns = now_ns - 499'000'000}, now_ns, now_unix, 500));
  CHECK(suspicion({.busy_since_mono_ns = now_ns - 812'000'000}, now_ns, now_unix, 500) ==
        "has blocked a runtime thread for 812 ms");
  ProbeReading silent{.last_heartbeat_unix_ms = now_unix - 3100, .heartbeat_timeout_ms = 3000};
  CHECK(suspicion(silent, now_ns, now_unix, 500) == "missed its heartbeat for 3100 ms");
  silent.heartbeat_timeout_ms = 0;  // not watched
  CHECK_FALSE(suspicion(silent, now_ns, now_unix, 500));
}

TEST_CASE("status: starting, then stopping over everything, degraded by any fault") {
  CHECK(status_for(inputs(false), true) == "starting");
  CHECK(status_for(inputs(true, true, 3), true) == "stopping");
  CHECK(status_for(inputs(true), false) == "ready");
  CHECK(status_for(inputs(true), true) == "degraded");
  CHECK(status_for(inputs(true, false, 1), false) == "degraded");
  CHECK(status_for(inputs(true, false, 0, {"the audit log x cannot be written"}), false) ==
        "degraded");
}

TEST_CASE("health names suspects and faults, and reports each status change once") {
  HealthWatch watch(0);
  CHECK(watch.update_status(inputs(true)) ==
        std::pair<std::string, std::string>{"starting", "ready"});
  CHECK_FALSE(watch.update_status(inputs(true)));
  watch.set_suspects({{"indexer", "child indexer has blocked a runtime thread for 900 ms"}});
  HealthInputs audit_down =
      inputs(true, false, 0, {"the audit log /s/audit.log cannot be written"});
  CHECK(watch.update_status(audit_down) ==
        std::pair<std::string, std::string>{"ready", "degraded"});
  sup::Health h = watch.report(5'000);
  CHECK(h.status == "degraded");
  CHECK(h.uptime_secs == 5);
  CHECK(h.suspects == std::vector<std::string>{"indexer"});
  CHECK(h.reasons ==
        std::vector<std::string>{"child indexer has blocked a runtime thread for 900 ms",
                                 "the audit log /s/audit.log cannot be written"});
  watch.set_suspects({});
  CHECK(watch.update_status(inputs(true)) ==
        std::pair<std::string, std::string>{"degraded", "ready"});
  CHECK(watch.report(5'000).reasons.empty());
}

TEST_CASE("the loop rate counts passes, not queries: reports ask nothing of it") {
  HealthWatch watch(0);
  for (std::int64_t ms = 10; ms <= 1000; ms += 10) watch.count_loop_pass(ms);  // ticks of 10 ms
  for (int i = 0; i < 10'000; ++i) (void)watch.report(1000);                   // queries
  sup::Health h = watch.report(1000);
  CHECK(h.control_loop_iterations == 100);
  CHECK(h.iterations_per_sec == doctest::Approx(100.0));
}

TEST_CASE("loop rate: the current window once 200 ms long, else the last full second") {
  LoopRate rate(0);
  for (std::int64_t ms = 1; ms <= 1000; ++ms) rate.count(ms);  // 1000 passes in 1 s
  CHECK(rate.per_sec(1000) == doctest::Approx(1000.0));
  CHECK(rate.per_sec(1100) == doctest::Approx(1000.0));  // window of 100 ms: the last second
  for (std::int64_t ms = 1001; ms <= 1300; ms += 10) rate.count(ms);  // 30 passes in 300 ms
  CHECK(rate.per_sec(1300) == doctest::Approx(100.0));
  CHECK(rate.per_sec(4000) == doctest::Approx(10.0));  // 30 in 3 s: a stalled loop shows
}
