// supervisor_quickstart: the smallest program that embeds the supervision
// runtime. It builds a demo tree in code (an in-process task registered
// through the TaskRegistry, an external process, a crashing drill), reports
// how long the tree took to become ready, prints health every second, and
// on Ctrl-C (or after --run-for seconds) shuts down, printing each phase.
//
//   build/examples/supervisor_quickstart              # until Ctrl-C
//   build/examples/supervisor_quickstart --run-for 5  # scripted
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "sup/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A reactive task: no thread of its own, just a timer that heartbeats.
void greet(sup::TaskContext& context) {
  context.heartbeat();
  context.after(1s, greet);
}

sup::RuntimeOptions demo_tree() {
  sup::RuntimeOptions options;
  options.tasks.add("greeter", {.start = [](sup::TaskContext& context) {
                      context.set_readiness(sup::Readiness::Ready);
                      greet(context);
                    }});

  sup::ChildSpec greeter;
  greeter.id = "greeter";
  greeter.kind = sup::ChildKind::Task;
  greeter.task = "greeter";
  greeter.heartbeat_timeout_ms = 3000;

  sup::ChildSpec sleeper;
  sleeper.id = "sleeper";
  sleeper.kind = sup::ChildKind::Process;
  sleeper.process.argv = {"/bin/sh", "-c", "while :; do sleep 1; done"};
  sleeper.shutdown_timeout_ms = 2000;

  // Crashes 2 s after each start; three tokens that barely refill, so it is
  // quarantined after a few restarts.
  sup::ChildSpec crasher;
  crasher.id = "crasher";
  crasher.kind = sup::ChildKind::Drill;
  crasher.drill = {.kind = sup::DrillKind::CrashAfter, .ms = 2000};
  crasher.budget = {.capacity = 3, .refill_per_sec = 0.01};

  options.root.children = {greeter, sleeper, crasher};
  return options;
}

bool is_up(const sup::Expected<sup::Health>& health) {
  return health && (health->status == "ready" || health->status == "degraded");
}

void print_health(const sup::Handle& handle) {
  // Queries answer an error (ErrorCode::Timeout) when the control loop is
  // stuck, never a made-up empty value.
  auto answered = handle.health();
  auto state = handle.current_state();
  if (!answered || !state) {
    std::printf("health: %s\n", (!answered ? answered.error() : state.error()).describe().c_str());
    std::fflush(stdout);
    return;
  }
  const sup::Health& health = *answered;
  const sup::ChildrenSummary& children = state->children;
  std::printf(
      "health: status=%s uptime=%llus iterations/s=%.0f children running=%u/%u restarting=%u "
      "quarantined=%u\n",
      health.status.c_str(), static_cast<unsigned long long>(health.uptime_secs),
      health.iterations_per_sec, children.running, children.target_count, children.restarting,
      children.quarantined);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // Blocked before the runtime starts its threads, so only sigtimedwait()
  // below sees Ctrl-C.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app{"Embeds the supervision runtime with a demo tree"};
  unsigned run_for_seconds = 0;
  app.add_option("--run-for", run_for_seconds, "stop after this many seconds (0: until Ctrl-C)");
  CLI11_PARSE(app, argc, argv);

  auto started = Clock::now();
  auto runtime = sup::Runtime::start(demo_tree());
  if (!runtime) {
    std::fprintf(stderr, "cannot start: %s\n", runtime.error().describe().c_str());
    return 1;
  }
  sup::Handle handle = (*runtime)->handle();

  auto health = handle.health();
  while (!is_up(health) && Clock::now() - started < 30s) {
    std::this_thread::sleep_for(1ms);
    health = handle.health();
  }
  auto ready_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  if (!health) {
    std::fprintf(stderr, "no health answer: %s\n", health.error().describe().c_str());
    return 1;
  }
  std::printf("health.status == \"%s\" %.1f ms after start\n", health->status.c_str(), ready_ms);

  const timespec one_second{1, 0};
  for (unsigned elapsed = 0; run_for_seconds == 0 || elapsed < run_for_seconds; ++elapsed) {
    if (sigtimedwait(&stop_signals, nullptr, &one_second) > 0) break;
    if (auto outcome = (*runtime)->wait(0ms)) {
      std::printf("the tree %s: %s\n",
                  outcome->kind == sup::RunOutcome::Fused ? "fused" : "was shut down",
                  outcome->reason.c_str());
      break;
    }
    print_health(handle);
  }

  (*runtime)->shutdown([](sup::ShutdownPhase phase) {
    std::printf("%s\n", std::string(sup::to_string(phase)).c_str());
    std::fflush(stdout);
  });
  return 0;
}
