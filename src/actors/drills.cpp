#include "actors/drills.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "actors/task_runner.hpp"

namespace sup::actors {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kHeartbeatPeriod{1000};
constexpr std::chrono::hours kLongWait{24};  // any length: sleep_for wakes on stop

void announce(TaskContext& ctx) {
  ctx.heartbeat();
  ctx.set_readiness(Readiness::Ready);
}

void heartbeat_periodically(TaskContext& ctx) {
  ctx.heartbeat();
  ctx.after(kHeartbeatPeriod, heartbeat_periodically);
}

// Periods of 0 ms would turn the timer drills into busy loops.
milliseconds period_of(const DrillSpec& drill) {
  return milliseconds(std::max<std::uint32_t>(1, drill.ms));
}

// splitmix64: small enough to copy into every timer callback.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double next_unit_interval(std::uint64_t& state) {
  return static_cast<double>(next_random(state) >> 11) * 0x1.0p-53;
}

TaskDefinition crash_after(std::uint32_t ms) {
  return {.start = [ms](TaskContext& ctx) {
    announce(ctx);
    ctx.after(kHeartbeatPeriod, heartbeat_periodically);
    ctx.after(milliseconds(ms), [ms](TaskContext& c) {
      c.fail(fmt::format("drill.crash_after: failed after {} ms", ms));
    });
  }};
}

TaskDefinition panic(std::uint32_t ms) {
  return {.start = [ms](TaskContext& ctx) {
    announce(ctx);
    ctx.after(kHeartbeatPeriod, heartbeat_periodically);
    ctx.after(milliseconds(ms), [ms](TaskContext&) {
      throw std::runtime_error(fmt::format("drill.panic: panicked after {} ms", ms));
    });
  }};
}

// One period of drill.flaky; re-arms a copy of itself, random state included.
struct FlakyCheck {
  milliseconds period;
  double p;
  std::uint64_t random_state;
  std::uint64_t checks = 0;

  void operator()(TaskContext& ctx) {
    ctx.heartbeat();
    ++checks;
    if (next_unit_interval(random_state) < p) {
      ctx.fail(fmt::format("drill.flaky: failed check {} (p={})", checks, p));
      return;
    }
    ctx.after(period, *this);
  }
};

TaskDefinition flaky(const DrillSpec& drill, std::uint64_t seed) {
  return {.start = [period = period_of(drill), p = drill.p, seed](TaskContext& ctx) {
    announce(ctx);
    std::uint64_t state = seed ^ ctx.generation();
    next_random(state);  // decorrelates neighbouring generations
    ctx.after(period, FlakyCheck{period, p, state});
  }};
}

TaskDefinition block_forever() {
  return {.start = [](TaskContext& ctx) {
    announce(ctx);
    while (ctx.sleep_for(kLongWait)) {
    }
  }};
}

TaskDefinition ignore_cancel() {
  return {.start = [](TaskContext& ctx) {
    announce(ctx);
    ctx.on_cancel([](TaskContext&) {});
    if (auto* runner_ctx = dynamic_cast<RunnerTaskContext*>(&ctx)) {
      runner_ctx->wait_for_teardown();
    } else {
      ctx.fail("drill.ignore_cancel: needs a context from sup::actors::TaskRunner");
    }
  }};
}

// One period of drill.busy.
struct BusySlice {
  milliseconds burn;

  void operator()(TaskContext& ctx) const {
    const auto until = std::chrono::steady_clock::now() + burn;
    while (std::chrono::steady_clock::now() < until && !ctx.cancel_requested()) {
    }
    ctx.heartbeat();
    ctx.after(burn, *this);
  }
};

TaskDefinition busy(const DrillSpec& drill) {
  return {.start = [burn = period_of(drill)](TaskContext& ctx) {
    announce(ctx);
    ctx.after(milliseconds(0), BusySlice{burn});
  }};
}

}  // namespace

TaskDefinition make_drill_task(const DrillSpec& drill, std::uint64_t seed) {
  switch (drill.kind) {
    case DrillKind::CrashAfter:
      return crash_after(drill.ms);
    case DrillKind::Panic:
      return panic(drill.ms);
    case DrillKind::Flaky:
      return flaky(drill, seed);
    case DrillKind::BlockForever:
      return block_forever();
    case DrillKind::IgnoreCancel:
      return ignore_cancel();
    case DrillKind::Busy:
      return busy(drill);
  }
  const int kind = static_cast<int>(drill.kind);
  return {
      .start = [kind](TaskContext& ctx) { ctx.fail(fmt::format("unknown drill kind {}", kind)); }};
}

}  // namespace sup::actors
