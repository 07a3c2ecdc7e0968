// The built-in drills of SPEC §3: children that misbehave on purpose, for
// runbook practice and tests. Each is a reactive sup::TaskDefinition meant
// for a TaskRunner; all of them heartbeat and report Ready when they start.
//
//   crash_after{ms}  Failed "drill.crash_after: failed after <ms> ms"
//   panic{ms}        throws std::runtime_error after ms: Panicked "drill.panic: ..."
//   flaky{p, ms}     every ms, fails with probability p ("drill.flaky: ..."),
//                    heartbeating each period; seeded, so runs are repeatable
//   block_forever    start() blocks its worker thread until a stop is
//                    requested (then Cancelled): starves the pool, and
//                    busy_since names it
//   ignore_cancel    start() blocks its worker thread and ignores stop
//                    requests: only abandon() gets rid of it, and its
//                    thread stays blocked (no CPU) until ~TaskRunner
//   busy{ms}         burns CPU for ms in a callback, then idles ms, and
//                    again, heartbeating after each burn; stops burning early
//                    once a stop is requested (then Cancelled)
// crash_after and panic heartbeat every second while they wait.
//
//   sup::TaskDefinition task = sup::actors::make_drill_task(spec.drill, seed);
//   auto incarnation = runner.start(spec.id, generation, task);
#pragma once

#include <cstdint>

#include "sup/child_spec.hpp"
#include "sup/task.hpp"

namespace sup::actors {

// `seed` drives flaky's failures; it is mixed with each incarnation's
// generation, so a restart does not replay the same sequence.
sup::TaskDefinition make_drill_task(const sup::DrillSpec& drill, std::uint64_t seed);

}  // namespace sup::actors
