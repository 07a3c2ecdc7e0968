// End-to-end DAG execution benchmarks through the execution service
// (src/executions: the durable LMDB store, real node processes), each next
// to its peer measured in the same run. One JSON object per figure per line
// (bench_report.hpp); docs/benchmarks.md has the targets.
//
//   execution_service_bench                                  # every scenario
//   execution_service_bench --scenario=ninja_peer --nodes=1000 --width=50 --parallel=4
//   execution_service_bench --scenario=resume --executions=1000
//
// Scenarios:
//   ninja_peer  a layered DAG of `true` processes, durable, against ninja
//               running the same graph as a build file at the same -j
//   resume      start (store open, leftover sweep, rebuild, resume) with
//               N unfinished executions in the store: what the daemon waits
//               for before `ready`
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bench_report.hpp"
#include "executions/execution_service.hpp"
#include "layered_dag.hpp"
#include "sup/log.hpp"

namespace {

namespace fs = std::filesystem;
using sup::bench::percentile;
using sup::bench::steady_ns;
using sup::executions::ExecutionService;

struct BenchOptions {
  std::string scenario;  // empty: all of them
  int nodes = 1'000;
  int width = 50;
  int parallel = 4;  // node processes at once, ours and ninja's -j
  int runs = 3;
  int executions = 1'000;  // resume: unfinished executions in the store
  // null: the transition log lines are dropped (the daemon writes them to
  // journald, off the service thread)
  std::string log_sink = "stderr";
};

const std::vector<std::string> kScenarios = {"ninja_peer", "resume"};

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/sup-exec-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

// Counts the executions the service reports finished (durably).
class FinishedExecutions {
 public:
  void on_state(const std::string& execution_id, std::string_view state, bool finished) {
    if (!finished) return;
    std::lock_guard lock(mutex_);
    if (finished_.insert(execution_id).second && state != "COMPLETED") ++not_completed_;
    changed_.notify_all();
  }
  // False if `execution_id` did not finish within `limit_ms`.
  bool await(const std::string& execution_id, std::int64_t limit_ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(limit_ms),
                             [&] { return finished_.contains(execution_id); });
  }
  int not_completed() {
    std::lock_guard lock(mutex_);
    return not_completed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> finished_;
  int not_completed_ = 0;
};

std::unique_ptr<ExecutionService> start_service(const fs::path& state_dir, int parallel,
                                                FinishedExecutions* finished) {
  sup::executions::ExecutionServiceOptions options;
  options.state_dir = state_dir;
  options.max_parallel_nodes = static_cast<std::uint32_t>(parallel);
  if (finished != nullptr) {
    options.on_state_durable = [finished](const std::string& id, std::string_view state,
                                          bool done) { finished->on_state(id, state, done); };
  }
  auto service = ExecutionService::start(std::move(options));
  if (!service) {
    std::fprintf(stderr, "execution service: %s\n", service.error().describe().c_str());
    std::exit(1);
  }
  return std::move(service).value();
}

std::string submit(ExecutionService& service, std::string spec) {
  auto ack = sup::executions::submit_and_wait(service, {.spec = std::move(spec)});
  if (!ack) {
    std::fprintf(stderr, "submit: %s\n", ack.error().describe().c_str());
    std::exit(1);
  }
  return ack->execution_id;
}

// The same graph as a ninja build file: one `true` per node, order-only
// edges for the deps (the outputs are never written, so every run is full).
void write_build_ninja(const fs::path& file, int nodes, int width) {
  std::ofstream out(file);
  out << "rule run\n  command = true\n";
  for (int i = 0; i < nodes; ++i) {
    out << "build " << sup::bench::layered_node_id(i) << ": run";
    const auto deps = sup::bench::layered_deps(i, width);
    if (!deps.empty()) out << " ||";
    for (int dep : deps) out << ' ' << sup::bench::layered_node_id(dep);
    out << '\n';
  }
}

// Wall time (ms) of `ninja -C dir -j parallel`, its output discarded.
double run_ninja(const fs::path& dir, int parallel) {
  const auto start = steady_ns();
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    const std::string jobs = std::to_string(parallel);
    ::execlp("ninja", "ninja", "-C", dir.c_str(), "-j", jobs.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "ninja failed (status %d): is ninja-build installed?\n", status);
    std::exit(1);
  }
  return static_cast<double>(steady_ns() - start) / 1e6;
}

int run_ninja_peer(const BenchOptions& opt) {
  sup::bench::Reporter out("execution_service", {{"graph", "layered"},
                                                 {"nodes", std::to_string(opt.nodes)},
                                                 {"width", std::to_string(opt.width)},
                                                 {"parallel", std::to_string(opt.parallel)}});
  const std::string spec = sup::bench::layered_spec(
      opt.nodes, opt.width,
      sup::bench::LayeredSpecOptions{.rich = false, .max_parallel = opt.parallel});
  std::vector<double> ours_ms, ninja_ms;
  for (int run = 0; run < opt.runs; ++run) {
    TempDir state;
    FinishedExecutions finished;
    auto service = start_service(state.path, opt.parallel, &finished);
    const auto start = steady_ns();
    const std::string id = submit(*service, spec);
    if (!finished.await(id, 600'000) || finished.not_completed() != 0) {
      std::fprintf(stderr, "execution %s did not complete\n", id.c_str());
      return 1;
    }
    ours_ms.push_back(static_cast<double>(steady_ns() - start) / 1e6);

    TempDir build;
    write_build_ninja(build.path / "build.ninja", opt.nodes, opt.width);
    ninja_ms.push_back(run_ninja(build.path, opt.parallel));
  }
  const double ours = percentile(ours_ms, 0.50);
  const double ninja = percentile(ninja_ms, 0.50);
  out.figure("durable_process_dag_wall_p50", ours, "ms");
  out.figure("ninja_same_graph_wall_p50", ninja, "ms");
  out.figure("ours_over_ninja", ours / ninja, "ratio");
  out.figure("durable_process_nodes_per_sec", opt.nodes / (ours / 1000.0), "nodes/s");
  return 0;
}

int run_resume(const BenchOptions& opt) {
  sup::bench::Reporter out("execution_service", {{"executions", std::to_string(opt.executions)}});
  TempDir state;
  {
    // Every execution has a node that never finishes by itself: the
    // service's stop leaves them all unfinished, as a crash would.
    auto service = start_service(state.path, 16, nullptr);
    const std::string spec =
        R"({"name":"unfinished","nodes":[{"id":"wait","run":{"exec":["sleep","1000"]}},)"
        R"({"id":"after","deps":["wait"],"run":{"exec":["true"]}}]})";
    for (int i = 0; i < opt.executions; ++i) submit(*service, spec);
  }
  const auto start = steady_ns();
  auto service = start_service(state.path, 16, nullptr);
  const double start_ms = static_cast<double>(steady_ns() - start) / 1e6;
  const auto& report = service->resume_report();
  if (report.resumed != static_cast<std::size_t>(opt.executions) || report.failed != 0) {
    std::fprintf(stderr, "resumed %zu of %d (%zu failed)\n", report.resumed, opt.executions,
                 report.failed);
    return 1;
  }
  out.figure("start_to_resumed_ms", start_ms, "ms");
  out.figure("resumed_executions", static_cast<double>(report.resumed), "executions");
  return 0;
}

std::optional<int> parse_args(int argc, char** argv, BenchOptions& opt) {
  CLI::App app("End-to-end DAG execution benchmarks (src/executions)", "execution_service_bench");
  app.add_option("--scenario", opt.scenario, "one scenario (default: all)")
      ->check(CLI::IsMember(kScenarios));
  app.add_option("--log-sink", opt.log_sink, "stderr: the default text sink; null: drop records")
      ->check(CLI::IsMember({"stderr", "null"}))
      ->capture_default_str();
  const std::vector<std::pair<std::string, int*>> counts = {{"--nodes", &opt.nodes},
                                                            {"--width", &opt.width},
                                                            {"--parallel", &opt.parallel},
                                                            {"--runs", &opt.runs},
                                                            {"--executions", &opt.executions}};
  return sup::bench::parse_command_line(app, counts, argc, argv);
}

int run_scenario(const std::string& scenario, const BenchOptions& opt) {
  if (opt.log_sink == "null") sup::set_log_sink([](const sup::LogRecord&) {});
  return scenario == "ninja_peer" ? run_ninja_peer(opt) : run_resume(opt);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions opt;
  if (auto exit_status = parse_args(argc, argv, opt)) return *exit_status;
  if (!opt.scenario.empty()) return run_scenario(opt.scenario, opt);
  int failures = 0;
  for (const auto& scenario : kScenarios) failures += run_scenario(scenario, opt) != 0;
  return failures == 0 ? 0 : 1;
}
