// DAG execution benchmarks of the pure core (src/dag): parse + validate of
// a large spec, and the ready-node scheduler's cost per node on a layered
// DAG, next to oneTBB's flow graph running the same graph with no-op nodes
// (when libtbb-dev is installed). One JSON object per figure per line (see
// bench_report.hpp); docs/benchmarks.md has the targets.
//
//   execution_bench                               # every scenario
//   execution_bench --scenario=parse --nodes=10000 --runs=50
//   execution_bench --scenario=schedule --nodes=10000 --width=100
//
// Scenarios: parse, schedule (the ready-node scheduler alone), core (the
// whole ExecutionCore: records, durability barrier, epochs), tbb_flow_graph.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_report.hpp"
#include "dag/execution_core.hpp"
#include "dag/parser.hpp"
#include "dag/scheduler.hpp"
#include "layered_dag.hpp"

#ifdef SUP_BENCH_HAVE_TBB
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#endif

namespace {

using sup::bench::percentile;
using sup::bench::steady_ns;

struct BenchOptions {
  std::string scenario;  // empty: all of them
  int nodes = 10'000;
  int width = 100;  // nodes per layer of the layered DAG
  int runs = 50;    // parse: measured runs; schedule: measured passes
  int threads = 2;  // oneTBB worker threads
};

const std::vector<std::string> kScenarios = {"parse", "schedule", "core", "tbb_flow_graph"};

// CPU time of the calling thread (ns): on a shared machine the wall time of
// a single-threaded step includes waiting for a core; this does not.
std::int64_t thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

sup::dag::DagSpec parsed_layered(const BenchOptions& opt) {
  auto spec = sup::dag::parse_dag(sup::bench::layered_spec(opt.nodes, opt.width));
  if (!spec) {
    std::fprintf(stderr, "spec refused: %s\n", spec.error().describe().c_str());
    std::exit(1);
  }
  return std::move(spec).value();
}

int run_parse(const BenchOptions& opt, bool rich) {
  sup::bench::Reporter out("execution", {{"graph", "layered"},
                                         {"spec", rich ? "rich" : "lean"},
                                         {"nodes", std::to_string(opt.nodes)}});
  std::string text = sup::bench::layered_spec(opt.nodes, opt.width, rich);
  std::vector<double> wall_ms, cpu_ms;
  for (int run = 0; run < opt.runs + 3; ++run) {
    auto start = steady_ns();
    auto start_cpu = thread_cpu_ns();
    // Parsed, validated and freed: what a submission costs.
    bool ok = static_cast<bool>(sup::dag::parse_dag(text));
    auto elapsed_cpu = thread_cpu_ns() - start_cpu;
    auto elapsed = steady_ns() - start;
    if (!ok) {
      std::fprintf(stderr, "spec refused: %s\n",
                   sup::dag::parse_dag(text).error().describe().c_str());
      return 1;
    }
    if (run < 3) continue;  // warm-up
    wall_ms.push_back(static_cast<double>(elapsed) / 1e6);
    cpu_ms.push_back(static_cast<double>(elapsed_cpu) / 1e6);
  }
  out.figure("spec_bytes", static_cast<double>(text.size()), "bytes");
  out.figure("parse_validate_p50", percentile(wall_ms, 0.50), "ms");
  out.figure("parse_validate_p95", percentile(wall_ms, 0.95), "ms");
  out.figure("parse_validate_cpu_p50", percentile(cpu_ms, 0.50), "ms");
  out.figure("parse_validate_cpu_p95", percentile(cpu_ms, 0.95), "ms");
  // The floor: nlohmann's own parse of the same text into a DOM, freed.
  std::vector<double> json_cpu_ms;
  for (int run = 0; run < opt.runs; ++run) {
    auto start_cpu = thread_cpu_ns();
    { auto document = nlohmann::json::parse(text); }
    json_cpu_ms.push_back(static_cast<double>(thread_cpu_ns() - start_cpu) / 1e6);
  }
  out.figure("nlohmann_parse_cpu_p50", percentile(json_cpu_ms, 0.50), "ms");
  return 0;
}

// One pass of the pure scheduler over the whole DAG: every node selected,
// its attempt ended, its completion releasing its dependents, all slots
// free. What the coordinator pays per node, minus the actors and the store.
int run_schedule(const BenchOptions& opt, const sup::bench::Reporter& out) {
  sup::dag::DagSpec spec = parsed_layered(opt);
  std::vector<double> per_node_ns;
  std::vector<double> setup_ns;
  std::vector<sup::dag::NodeIndex> ready, started;
  ready.reserve(spec.nodes.size());
  started.reserve(spec.max_parallel);
  for (int run = 0; run < opt.runs + 3; ++run) {
    auto setup_start = steady_ns();
    sup::dag::ReadyScheduler scheduler(spec);
    auto start = steady_ns();
    ready.clear();
    scheduler.start(ready);
    std::size_t completed = 0;
    while (completed < spec.nodes.size()) {
      started.clear();
      scheduler.select(UINT32_MAX, started);
      for (auto node : started) {
        scheduler.attempt_ended();
        scheduler.node_completed(node, ready);
        ++completed;
      }
    }
    auto end = steady_ns();
    if (run < 3) continue;
    setup_ns.push_back(static_cast<double>(start - setup_start) /
                       static_cast<double>(spec.nodes.size()));
    per_node_ns.push_back(static_cast<double>(end - start) /
                          static_cast<double>(spec.nodes.size()));
  }
  out.figure("schedule_per_node_p50", percentile(per_node_ns, 0.50) / 1000.0, "us");
  out.figure("schedule_per_node_max", percentile(per_node_ns, 1.0) / 1000.0, "us");
  out.figure("schedule_setup_per_node_p50", percentile(setup_ns, 0.50) / 1000.0, "us");
  return 0;
}

// The whole functional core per node: RUNNING/COMPLETED/READY records, the
// durability barrier (acknowledged at once: no store), fencing epochs and
// the scheduler, for no-op nodes that succeed as soon as they start.
int run_core(const BenchOptions& opt, const sup::bench::Reporter& out) {
  sup::dag::DagSpec spec = parsed_layered(opt);
  const sup::dag::AttemptOutcome success{sup::dag::AttemptOutcome::Kind::Succeeded, 0};
  std::vector<double> per_node_ns;
  std::vector<sup::dag::StartAttempt> running;
  std::size_t records = 0;
  for (int run = 0; run < opt.runs + 3; ++run) {
    auto start = steady_ns();
    sup::dag::ExecutionCore core(spec, "bench");
    running.clear();
    records = 0;
    auto apply = [&](sup::dag::Effects fx) {
      records += fx.records.size();
      if (fx.records.empty()) return;
      auto durable = core.on_durable(fx.records.back().sequence);
      running.insert(running.end(), durable.starts.begin(), durable.starts.end());
    };
    apply(core.start(UINT32_MAX));
    while (!running.empty()) {
      auto attempt = running.back();
      running.pop_back();
      apply(core.on_attempt_exit(attempt.node, attempt.epoch, success, 0.0, UINT32_MAX));
    }
    auto end = steady_ns();
    if (core.state() != sup::dag::ExecutionState::Completed) {
      std::fprintf(stderr, "core: execution ended %s\n",
                   std::string(sup::dag::to_string(core.state())).c_str());
      return 1;
    }
    if (run < 3) continue;
    per_node_ns.push_back(static_cast<double>(end - start) /
                          static_cast<double>(spec.nodes.size()));
  }
  out.figure("core_per_node_p50", percentile(per_node_ns, 0.50) / 1000.0, "us");
  out.figure("core_per_node_max", percentile(per_node_ns, 1.0) / 1000.0, "us");
  out.figure("core_records_per_node",
             static_cast<double>(records) / static_cast<double>(spec.nodes.size()), "records");
  return 0;
}

#ifdef SUP_BENCH_HAVE_TBB
// The peer: the same graph as a oneTBB flow graph of continue_nodes with
// empty bodies, roots triggered with try_put, timed to wait_for_all.
int run_tbb_flow_graph(const BenchOptions& opt, const sup::bench::Reporter& out) {
  namespace flow = oneapi::tbb::flow;
  sup::dag::DagSpec spec = parsed_layered(opt);
  oneapi::tbb::global_control threads(oneapi::tbb::global_control::max_allowed_parallelism,
                                      static_cast<std::size_t>(opt.threads));
  std::vector<double> per_node_ns;
  std::vector<double> setup_ns;
  for (int run = 0; run < opt.runs + 3; ++run) {
    auto setup_start = steady_ns();
    flow::graph graph;
    std::vector<std::unique_ptr<flow::continue_node<flow::continue_msg>>> nodes;
    nodes.reserve(spec.nodes.size());
    for (std::size_t i = 0; i < spec.nodes.size(); ++i)
      nodes.push_back(std::make_unique<flow::continue_node<flow::continue_msg>>(
          graph, [](const flow::continue_msg&) {}));
    for (std::size_t i = 0; i < spec.nodes.size(); ++i)
      for (auto dep : spec.nodes[i].deps) flow::make_edge(*nodes[dep], *nodes[i]);
    auto start = steady_ns();
    for (std::size_t i = 0; i < spec.nodes.size(); ++i)
      if (spec.nodes[i].deps.empty()) nodes[i]->try_put(flow::continue_msg());
    graph.wait_for_all();
    auto end = steady_ns();
    if (run < 3) continue;
    setup_ns.push_back(static_cast<double>(start - setup_start) /
                       static_cast<double>(spec.nodes.size()));
    per_node_ns.push_back(static_cast<double>(end - start) /
                          static_cast<double>(spec.nodes.size()));
  }
  out.figure("tbb_flow_graph_per_node_p50", percentile(per_node_ns, 0.50) / 1000.0, "us");
  out.figure("tbb_flow_graph_per_node_max", percentile(per_node_ns, 1.0) / 1000.0, "us");
  out.figure("tbb_flow_graph_setup_per_node_p50", percentile(setup_ns, 0.50) / 1000.0, "us");
  return 0;
}
#endif

std::optional<int> parse_args(int argc, char** argv, BenchOptions& opt) {
  CLI::App app("DAG execution benchmarks of the pure core (src/dag)", "execution_bench");
  app.add_option("--scenario", opt.scenario, "one scenario (default: all)")
      ->check(CLI::IsMember(kScenarios));
  const std::vector<std::pair<std::string, int*>> counts = {{"--nodes", &opt.nodes},
                                                            {"--width", &opt.width},
                                                            {"--runs", &opt.runs},
                                                            {"--threads", &opt.threads}};
  return sup::bench::parse_command_line(app, counts, argc, argv);
}

int run_scenario(const std::string& scenario, const BenchOptions& opt) {
  sup::bench::Reporter out("execution", {{"graph", "layered"},
                                         {"nodes", std::to_string(opt.nodes)},
                                         {"width", std::to_string(opt.width)}});
  if (scenario == "parse") return run_parse(opt, /*rich=*/true) + run_parse(opt, /*rich=*/false);
  if (scenario == "schedule") return run_schedule(opt, out);
  if (scenario == "core") return run_core(opt, out);
#ifdef SUP_BENCH_HAVE_TBB
  return run_tbb_flow_graph(opt, out);
#else
  std::fprintf(stderr, "tbb_flow_graph: built without oneTBB (install libtbb-dev)\n");
  return opt.scenario.empty() ? 0 : 1;
#endif
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
