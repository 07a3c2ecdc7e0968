// Supervision benchmarks through the public Runtime / Handle API: in-process
// restart latency, restart throughput of a crash storm, resident memory per
// idle child, and external-process restart latency. Prints one JSON object
// per figure per line (see bench_report.hpp); docs/benchmarks.md has the
// targets and how to read them.
//
//   supervision_bench                         # every scenario, each in a fresh process
//   supervision_bench --scenario=latency --log-sink=null
//   supervision_bench --scenario=memory --idle-children=100000
//
// Scenarios: latency, idle_latency, throughput, group_restart, memory,
// process. --log-sink:
// "stderr" (the library's default text sink; redirect stderr to a file) or
// "null" (a sink that drops every record: the runtime's own cost).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_report.hpp"
#include "spec/child_spec_check.hpp"
#include "sup/log.hpp"
#include "sup/runtime.hpp"
#include "supervisor/supervision_tree.hpp"

namespace {

using namespace std::chrono_literals;
using sup::bench::percentile;
using sup::bench::steady_ns;

struct BenchOptions {
  std::string scenario;  // empty: all of them
  std::string log_sink = "stderr";
  int restarts = 20'000;      // latency: measured restarts ...
  int warmup = 2'000;         // ... after this many unmeasured ones
  int idle_restarts = 2'000;  // idle_latency: restarts of a child that idles 1 ms first
  int storm_children = 10'000;
  int storm_rounds = 5;
  int group_children = 10'000;
  int group_rounds = 5;
  int idle_children = 100'000;
  int process_restarts = 1'000;
};

const std::vector<std::string> kScenarios = {"latency",       "idle_latency", "throughput",
                                             "group_restart", "memory",       "process"};

// Restarts as fast as the runtime can: no backoff, budgets that never run
// out, no crash-loop detection (the targets measure the restart path, not
// the policies that slow it down on purpose).
sup::ChildSpec fast_restart_child(std::string id) {
  sup::ChildSpec spec;
  spec.id = std::move(id);
  spec.kind = sup::ChildKind::Task;
  spec.backoff = {.initial_ms = 0, .max_ms = 0, .multiplier = 1.0, .reset_after_ms = 30'000};
  spec.budget = {.capacity = sup::spec::kMaxBudgetRate,
                 .refill_per_sec = sup::spec::kMaxBudgetRate};
  spec.crash_loop = {.max_failures = 0, .window_ms = 1'000};
  spec.shutdown_timeout_ms = 1'000;
  return spec;
}

sup::RuntimeOptions base_options() {
  sup::RuntimeOptions options;
  // As many restarts as the spec check allows: the bench must never trip the budget.
  options.root.intensity = sup::spec::kMaxCount;
  options.root.period_ms = 5'000;
  options.jitter_seed = 1;
  return options;
}

std::unique_ptr<sup::Runtime> start_runtime(sup::RuntimeOptions options) {
  auto runtime = sup::Runtime::start(std::move(options));
  if (!runtime) {
    std::fprintf(stderr, "runtime did not start: %s\n", runtime.error().describe().c_str());
    std::exit(1);
  }
  return std::move(*runtime);
}

// Waits (polling, the waited-for side is lock-free) until `done` or `limit`.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

void fetch_max(std::atomic<std::int64_t>& target, std::int64_t value) {
  std::int64_t seen = target.load(std::memory_order_relaxed);
  while (seen < value && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

void fetch_min(std::atomic<std::int64_t>& target, std::int64_t value) {
  std::int64_t seen = target.load(std::memory_order_relaxed);
  while (seen > value && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

void report_latency(const sup::bench::Reporter& out, const std::string& prefix,
                    std::vector<double> us) {
  out.figure(prefix + "_p50", percentile(us, 0.50), "us");
  out.figure(prefix + "_p90", percentile(us, 0.90), "us");
  out.figure(prefix + "_p99", percentile(us, 0.99), "us");
  out.figure(prefix + "_p999", percentile(us, 0.999), "us");
  out.figure(prefix + "_max", percentile(us, 1.0), "us");
  out.figure(prefix + "_samples", static_cast<double>(us.size()), "count");
}

// CPU spent per restart, by runtime thread: where a restart's cost lands.
void report_cpu_per_restart(const sup::bench::Reporter& out, const std::string& prefix,
                            const std::map<std::string, std::int64_t>& before,
                            std::int64_t restarts) {
  const std::map<std::string, std::string> roles = {
      {"caf.actor", "loop"}, {"caf.multiplexer", "workers"}, {"caf.clock", "timer"}};
  std::map<std::string, std::int64_t> by_role;
  for (const auto& [name, ns] : sup::bench::cpu_ns_by_thread_name()) {
    auto role = roles.find(name);
    auto earlier = before.find(name);
    by_role[role == roles.end() ? "other" : role->second] +=
        ns - (earlier == before.end() ? 0 : earlier->second);
  }
  for (const auto& [role, ns] : by_role) {
    out.figure(prefix + "_cpu_per_restart_" + role,
               static_cast<double>(ns) / 1e3 / static_cast<double>(restarts), "us");
  }
}

// ---- in-process restart latency -------------------------------------------

// One child that fails as soon as it starts (or after idling `idle_first`),
// `warmup + restarts` times in a row. Each sample: from just before
// ctx.fail() to the next incarnation's start callback. The incarnations run
// one after another, each started by the previous one's exit, so the plain
// vector is handed over through the runtime's own message passing.
int run_restart_latency(const BenchOptions& opt, const sup::bench::Reporter& out, bool idle_first) {
  struct Run {
    std::size_t total = 0;
    std::chrono::milliseconds idle{0};
    std::atomic<std::int64_t> fail_at{0};
    std::vector<double> samples_us;
    std::atomic<bool> done{false};
  };
  auto run = std::make_shared<Run>();
  int measured = idle_first ? opt.idle_restarts : opt.restarts;
  int warmup = idle_first ? opt.idle_restarts / 10 : opt.warmup;
  run->total = static_cast<std::size_t>(warmup + measured);
  run->idle = idle_first ? 1ms : 0ms;
  run->samples_us.reserve(run->total);

  auto crash = [run](sup::TaskContext& ctx) {
    run->fail_at.store(steady_ns(), std::memory_order_relaxed);
    ctx.fail("bench crash");
  };
  sup::RuntimeOptions options = base_options();
  options.tasks.add("crasher", {.start = [run, crash](sup::TaskContext& ctx) {
                      std::int64_t now = steady_ns();
                      std::int64_t failed = run->fail_at.load(std::memory_order_relaxed);
                      if (failed != 0)
                        run->samples_us.push_back(static_cast<double>(now - failed) / 1e3);
                      if (run->samples_us.size() >= run->total) {
                        run->done.store(true);
                        return;  // stays up, idle
                      }
                      if (run->idle.count() > 0) {
                        ctx.after(run->idle, crash);
                      } else {
                        crash(ctx);
                      }
                    }});
  sup::ChildSpec child = fast_restart_child("crasher");
  child.task = "crasher";
  options.root.children = {child};

  std::int64_t began = steady_ns();
  auto runtime = start_runtime(std::move(options));
  auto cpu_before = sup::bench::cpu_ns_by_thread_name();
  if (!wait_until([&] { return run->done.load(); }, 300s)) {
    std::fprintf(stderr, "latency: only %zu of %zu restarts\n", run->samples_us.size(), run->total);
    return 1;
  }
  double elapsed_s = static_cast<double>(steady_ns() - began) / 1e9;
  std::vector<double> samples(run->samples_us.begin() + warmup, run->samples_us.end());
  std::string prefix = idle_first ? "restart_latency_after_idle" : "restart_latency";
  report_latency(out, prefix, samples);
  if (!idle_first)
    out.figure("sequential_restarts_per_sec", static_cast<double>(run->total) / elapsed_s, "1/s");
  report_cpu_per_restart(out, prefix, cpu_before, static_cast<std::int64_t>(run->total));
  runtime->shutdown();
  return 0;
}

// ---- crash storm throughput -----------------------------------------------

// `children` tasks fail together at fixed instants (slot k at t0 + k*period,
// k = 1..rounds): each incarnation arms a timer for the next slot when it
// starts. A round lasts from its first ctx.fail() to its last start
// callback; throughput = children / that time.
int run_storm_throughput(const BenchOptions& opt, const sup::bench::Reporter& out) {
  struct Run {
    int rounds = 0;
    std::int64_t t0 = 0;
    std::int64_t period = 0;
    std::vector<std::atomic<int>> started;
    std::vector<std::atomic<std::int64_t>> last_start;
    std::vector<std::atomic<std::int64_t>> first_fail;
    explicit Run(int r) : rounds(r), started(r + 1), last_start(r + 1), first_fail(r + 1) {
      for (auto& f : first_fail) f.store(INT64_MAX);
    }
  };
  auto run = std::make_shared<Run>(opt.storm_rounds);
  run->period = std::chrono::nanoseconds(1500ms).count();
  // Slot 1 (the first storm) comes 3 s after now: time to start them all.
  std::int64_t began = steady_ns();
  run->t0 = began + std::chrono::nanoseconds(3s).count() - run->period;

  sup::RuntimeOptions options = base_options();
  options.tasks.add("storm", {.start = [run](sup::TaskContext& ctx) {
                      std::int64_t now = steady_ns();
                      int round =
                          now < run->t0 ? 0 : static_cast<int>((now - run->t0) / run->period);
                      round = std::min(round, run->rounds);
                      run->started[round].fetch_add(1, std::memory_order_relaxed);
                      fetch_max(run->last_start[round], now);
                      if (round == run->rounds) return;
                      std::int64_t slot = run->t0 + (round + 1) * run->period;
                      auto delay = std::chrono::milliseconds((slot - now + 999'999) / 1'000'000);
                      ctx.after(delay, [run, round](sup::TaskContext& c) {
                        fetch_min(run->first_fail[round + 1], steady_ns());
                        c.fail("storm");
                      });
                    }});
  for (int i = 0; i < opt.storm_children; ++i) {
    sup::ChildSpec child = fast_restart_child("storm-" + std::to_string(i));
    child.task = "storm";
    options.root.children.push_back(std::move(child));
  }
  auto runtime = start_runtime(std::move(options));
  // CPU from just before the first storm: the initial start is not counted.
  std::int64_t first_storm = run->t0 + run->period;
  std::this_thread::sleep_for(
      std::chrono::nanoseconds(std::max<std::int64_t>(0, first_storm - steady_ns() - 200'000'000)));
  auto cpu_before = sup::bench::cpu_ns_by_thread_name();
  auto limit = std::chrono::milliseconds(5000 + 2000 * opt.storm_rounds);
  bool finished =
      wait_until([&] { return run->started[run->rounds].load() >= opt.storm_children; }, limit);
  // Let stragglers land so a miscount shows as such, not as a smaller total.
  std::this_thread::sleep_for(100ms);

  out.figure("storm_children", opt.storm_children, "count");
  out.figure("storm_initial_start_ms", static_cast<double>(run->last_start[0].load() - began) / 1e6,
             "ms");
  std::vector<double> rates;
  std::vector<double> recovery_ms;
  for (int k = 1; k <= run->rounds; ++k) {
    int started = run->started[k].load();
    double ms = static_cast<double>(run->last_start[k].load() - run->first_fail[k].load()) / 1e6;
    if (started != opt.storm_children) {
      std::fprintf(stderr, "storm round %d: %d of %d restarted inside the round\n", k, started,
                   opt.storm_children);
    }
    recovery_ms.push_back(ms);
    rates.push_back(static_cast<double>(started) / (ms / 1e3));
  }
  if (!finished) std::fprintf(stderr, "storm: not every round completed in time\n");
  std::vector<double> rates_copy = rates;
  out.figure("restart_throughput", percentile(rates, 0.5), "restarts/s");
  out.figure("restart_throughput_worst_round", percentile(rates_copy, 0.0), "restarts/s");
  out.figure("storm_recovery_p50", percentile(recovery_ms, 0.5), "ms");
  out.figure("storm_recovery_max", percentile(recovery_ms, 1.0), "ms");
  report_cpu_per_restart(out, "storm", cpu_before,
                         static_cast<std::int64_t>(opt.storm_children) * run->rounds);
  runtime->shutdown();
  return finished ? 0 : 1;
}

// ---- one_for_all group restart ----------------------------------------------

// A one_for_all root with `children` idle tasks. One member is killed
// (kill_child): the others are stopped one at a time, last declared first,
// and the whole group starts again in declaration order. A round lasts from
// the kill to the last start callback. Run at a tenth of the size too: the
// per-child cost must not grow with the group (no quadratic step).
int run_group_restart(const BenchOptions& opt, const sup::bench::Reporter& out) {
  for (int children : {opt.group_children / 10, opt.group_children}) {
    struct Run {
      std::atomic<int> started{0};
      std::atomic<std::int64_t> last_start{0};
    };
    auto run = std::make_shared<Run>();
    sup::RuntimeOptions options = base_options();
    options.root.strategy = sup::Strategy::OneForAll;
    options.tasks.add("member", {.start = [run](sup::TaskContext&) {
                        fetch_max(run->last_start, steady_ns());
                        run->started.fetch_add(1, std::memory_order_relaxed);
                      }});
    for (int i = 0; i < children; ++i) {
      sup::ChildSpec child = fast_restart_child("member-" + std::to_string(i));
      child.task = "member";
      options.root.children.push_back(std::move(child));
    }
    auto runtime = start_runtime(std::move(options));
    sup::Handle handle = runtime->handle();
    if (!wait_until([&] { return run->started.load() >= children; }, 120s)) {
      std::fprintf(stderr, "group_restart: only %d of %d children started\n", run->started.load(),
                   children);
      return 1;
    }
    std::vector<double> round_ms;
    for (int round = 1; round <= opt.group_rounds; ++round) {
      const int target = children * (round + 1);
      std::int64_t began = steady_ns();
      auto killed = handle.kill_child(
          "member-0", {"group-" + std::to_string(children) + "-" + std::to_string(round), "bench",
                       "group restart"});
      if (killed.kind != sup::CommandResult::Accepted) {
        std::fprintf(stderr, "group_restart: kill_child refused: %s\n", killed.reason.c_str());
        return 1;
      }
      if (!wait_until([&] { return run->started.load() >= target; }, 120s)) {
        std::fprintf(stderr, "group_restart: round %d: %d of %d started\n", round,
                     run->started.load() - children * round, children);
        return 1;
      }
      round_ms.push_back(static_cast<double>(run->last_start.load() - began) / 1e6);
    }
    std::string prefix = "group_restart_" + std::to_string(children);
    double p50 = percentile(round_ms, 0.5);
    out.figure(prefix + "_ms_p50", p50, "ms");
    out.figure(prefix + "_ms_max", percentile(round_ms, 1.0), "ms");
    out.figure(prefix + "_per_child", p50 * 1e3 / children, "us");
    runtime->shutdown();
  }
  return 0;
}

// The same restart in the functional core alone (SupervisionTree, no
// threads): each stop is acknowledged at once, so what is left is the
// tree's own work per member, which must not grow with the group.
void run_group_restart_core(const BenchOptions& opt, const sup::bench::Reporter& out) {
  for (int children : {opt.group_children, opt.group_children * 10}) {
    sup::SupervisorSpec root;
    root.strategy = sup::Strategy::OneForAll;
    root.intensity = sup::spec::kMaxCount;
    root.period_ms = 5'000;
    for (int i = 0; i < children; ++i)
      root.children.push_back(fast_restart_child("m" + std::to_string(i)));
    sup::core::Now now{1'000'000, 1'700'000'000'000};
    sup::core::SupervisionTree tree(std::move(root), {.jitter_seed = 1}, now);
    tree.start(now);
    (void)tree.take_effects();
    std::int64_t began = steady_ns();
    tree.on_exit(1, tree.generation(1), {sup::TaskExit::Killed, "bench", now.unix_ms}, now);
    int started = 0;
    for (auto effects = tree.take_effects(); !effects.empty(); effects = tree.take_effects()) {
      for (const auto& effect : effects) {
        if (const auto* stop = std::get_if<sup::core::StopIncarnation>(&effect)) {
          tree.on_exit(stop->node, stop->generation, {sup::TaskExit::Cancelled, "", now.unix_ms},
                       now);
        } else if (std::holds_alternative<sup::core::StartIncarnation>(effect)) {
          ++started;
        }
      }
    }
    double ms = static_cast<double>(steady_ns() - began) / 1e6;
    if (started != children)
      std::fprintf(stderr, "group_restart core: %d of %d started\n", started, children);
    std::string prefix = "group_restart_core_" + std::to_string(children);
    out.figure(prefix + "_ms", ms, "ms");
    out.figure(prefix + "_per_child", ms * 1e6 / children, "ns");
  }
}

// ---- memory per idle child --------------------------------------------------

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// `idle_children` tasks that report ready and then idle (no timer, no
// thread). Resident memory is read before the specs are built (the runtime
// keeps its own copies of them) and once every start callback has run.
int run_idle_memory(const BenchOptions& opt, const sup::bench::Reporter& out) {
  const std::int64_t rss_before = sup::bench::resident_bytes();
  const std::int64_t heap_before = sup::bench::heap_in_use_bytes();
  auto started = std::make_shared<std::atomic<int>>(0);
  auto last_start = std::make_shared<std::atomic<std::int64_t>>(0);
  std::int64_t began = steady_ns();
  {
    sup::RuntimeOptions options = base_options();
    options.tasks.add("idle", {.start = [started, last_start](sup::TaskContext& ctx) {
                        ctx.set_readiness(sup::Readiness::Ready);
                        fetch_max(*last_start, steady_ns());
                        started->fetch_add(1, std::memory_order_relaxed);
                      }});
    options.root.children.reserve(static_cast<std::size_t>(opt.idle_children));
    for (int i = 0; i < opt.idle_children; ++i) {
      sup::ChildSpec child = fast_restart_child("idle-" + std::to_string(i));
      child.task = "idle";
      options.root.children.push_back(std::move(child));
    }
    auto runtime = start_runtime(std::move(options));
    if (!wait_until([&] { return started->load() >= opt.idle_children; }, 300s)) {
      std::fprintf(stderr, "memory: only %d of %d children started\n", started->load(),
                   opt.idle_children);
      return 1;
    }
    std::this_thread::sleep_for(300ms);  // let the loop settle (events, health)
    const std::int64_t rss_after = sup::bench::resident_bytes();
    const std::int64_t heap_after = sup::bench::heap_in_use_bytes();
    const double n = opt.idle_children;
    out.figure("idle_children", n, "count");
    out.figure("start_all_children", static_cast<double>(last_start->load() - began) / 1e6, "ms");
    out.figure("resident_per_idle_child", static_cast<double>(rss_after - rss_before) / n, "bytes");
    // malloc's view (every arena), to tell live allocations from slack.
    out.figure("heap_per_idle_child", static_cast<double>(heap_after - heap_before) / n, "bytes");
    out.figure("resident_total_delta",
               static_cast<double>(rss_after - rss_before) / (1024.0 * 1024.0), "MiB");

    sup::Handle handle = runtime->handle();
    // The control loop's steady cost with this many children (its 100 ms
    // health walk), with nothing happening.
    double cpu_before = cpu_seconds();
    std::int64_t idle_began = steady_ns();
    std::this_thread::sleep_for(3s);
    double idle_wall = static_cast<double>(steady_ns() - idle_began) / 1e9;
    out.figure("idle_cpu", 100.0 * (cpu_seconds() - cpu_before) / idle_wall, "percent_of_one_core");

    std::vector<double> health_us;
    for (int i = 0; i < 200; ++i) {
      std::int64_t t = steady_ns();
      auto health = handle.health();
      health_us.push_back(static_cast<double>(steady_ns() - t) / 1e3);
      if (!health) {
        std::fprintf(stderr, "memory: health: %s\n", health.error().describe().c_str());
        return 1;
      }
    }
    out.figure("health_call_p50", percentile(health_us, 0.5), "us");
    out.figure("health_call_p99", percentile(health_us, 0.99), "us");
    std::vector<double> state_ms;
    std::uint32_t running = 0;
    for (int i = 0; i < 10; ++i) {
      std::int64_t t = steady_ns();
      auto state = handle.current_state();
      state_ms.push_back(static_cast<double>(steady_ns() - t) / 1e6);
      if (!state) {
        std::fprintf(stderr, "memory: current_state: %s\n", state.error().describe().c_str());
        return 1;
      }
      running = state->children.running;
    }
    out.figure("current_state_call_p50", percentile(state_ms, 0.5), "ms");
    if (running != static_cast<std::uint32_t>(opt.idle_children)) {
      std::fprintf(stderr, "memory: current_state reports %u running\n", running);
      return 1;
    }
    std::int64_t stop_began = steady_ns();
    runtime->shutdown();
    out.figure("shutdown_all_children", static_cast<double>(steady_ns() - stop_began) / 1e6, "ms");
  }
  return 0;
}

// ---- external process restart latency --------------------------------------

std::string helper_path() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return (self.parent_path() / "sup_bench_exit_helper").string();
}

// A process child (sup_bench_exit_helper) that prints its monotonic time at
// start and just before exiting 1; its lines reach us as log records. A
// sample is the next incarnation's start minus this one's exit.
int run_process_restarts(const BenchOptions& opt, const sup::bench::Reporter& out) {
  struct Run {
    std::mutex mutex;
    std::condition_variable changed;
    std::int64_t last_exit = 0;
    std::vector<double> samples_us;
  };
  auto run = std::make_shared<Run>();
  const std::size_t warmup = 50;
  const std::size_t wanted = warmup + static_cast<std::size_t>(opt.process_restarts);
  auto subscription = sup::subscribe_logs([run](const sup::LogRecord& record) {
    bool ours = std::any_of(record.fields.begin(), record.fields.end(), [](const sup::LogField& f) {
      return f.key == "CHILD_ID" && f.value == "proc";
    });
    if (!ours || record.message.size() < 3) return;
    std::int64_t at = 0;
    std::from_chars(record.message.data() + 2, record.message.data() + record.message.size(), at);
    std::lock_guard lock(run->mutex);
    if (record.message[0] == 'E') {
      run->last_exit = at;
    } else if (record.message[0] == 'S' && run->last_exit != 0) {
      run->samples_us.push_back(static_cast<double>(at - run->last_exit) / 1e3);
      run->changed.notify_all();
    }
  });

  sup::RuntimeOptions options = base_options();
  sup::ChildSpec child = fast_restart_child("proc");
  child.kind = sup::ChildKind::Process;
  child.process.argv = {helper_path()};
  options.root.children = {child};
  std::int64_t began = steady_ns();
  auto runtime = start_runtime(std::move(options));
  std::vector<double> samples;
  {
    std::unique_lock lock(run->mutex);
    if (!run->changed.wait_for(lock, 120s, [&] { return run->samples_us.size() >= wanted; })) {
      std::fprintf(stderr, "process: only %zu of %zu restarts\n", run->samples_us.size(), wanted);
      return 1;
    }
    samples.assign(run->samples_us.begin() + static_cast<std::ptrdiff_t>(warmup),
                   run->samples_us.end());
  }
  double elapsed_s = static_cast<double>(steady_ns() - began) / 1e9;
  runtime->shutdown();
  sup::unsubscribe_logs(subscription);
  report_latency(out, "process_restart_latency", samples);
  out.figure("process_restarts_per_sec", static_cast<double>(wanted) / elapsed_s, "1/s");
  return 0;
}

// ---- driver -------------------------------------------------------------------

// Empty to run; else the exit status (CLI11 has printed the help or the error).
std::optional<int> parse_args(int argc, char** argv, BenchOptions& opt) {
  CLI::App app("Supervision benchmarks through the Runtime/Handle API", "supervision_bench");
  app.add_option("--scenario", opt.scenario, "one scenario (default: all)")
      ->check(CLI::IsMember(kScenarios));
  app.add_option("--log-sink", opt.log_sink, "stderr: the default text sink; null: drop records")
      ->check(CLI::IsMember({"stderr", "null"}))
      ->capture_default_str();
  const std::vector<std::pair<std::string, int*>> counts = {
      {"--restarts", &opt.restarts},
      {"--warmup", &opt.warmup},
      {"--idle-restarts", &opt.idle_restarts},
      {"--storm-children", &opt.storm_children},
      {"--storm-rounds", &opt.storm_rounds},
      {"--group-children", &opt.group_children},
      {"--group-rounds", &opt.group_rounds},
      {"--idle-children", &opt.idle_children},
      {"--process-restarts", &opt.process_restarts}};
  return sup::bench::parse_command_line(app, counts, argc, argv);
}

int run_scenario(const BenchOptions& opt) {
  if (opt.log_sink == "null") sup::set_log_sink([](const sup::LogRecord&) {});
  sup::bench::Reporter out("supervision", {{"log_sink", opt.log_sink}});
  if (opt.scenario == "latency") return run_restart_latency(opt, out, false);
  if (opt.scenario == "idle_latency") return run_restart_latency(opt, out, true);
  if (opt.scenario == "throughput") return run_storm_throughput(opt, out);
  if (opt.scenario == "group_restart") {
    run_group_restart_core(opt, out);
    return run_group_restart(opt, out);
  }
  if (opt.scenario == "memory") return run_idle_memory(opt, out);
  return run_process_restarts(opt, out);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions opt;
  if (auto exit_status = parse_args(argc, argv, opt)) return *exit_status;
  if (!opt.scenario.empty()) return run_scenario(opt);
  // Every scenario in a fresh process: memory baselines and allocator state
  // must not carry over from one to the next.
  int failures = 0;
  for (const auto& scenario : kScenarios) {
    pid_t pid = fork();
    if (pid == 0) {
      opt.scenario = scenario;
      std::_Exit(run_scenario(opt));
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "scenario %s failed\n", scenario.c_str());
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
