// Durable store benchmarks (src/store): group-commit throughput with many
// concurrent producers, hand-over -> acknowledgement latency, open + list of
// unfinished executions at 10,000 executions, and the peer figure: this
// disk's raw LMDB rate of synced single-put commits, measured in the same
// run. One JSON object per figure per line (bench_report.hpp);
// docs/benchmarks.md has the targets.
//
//   store_bench                               # every scenario
//   store_bench --scenario=throughput --producers=16 --transitions=400000
//   store_bench --dir=/var/lib/supervisor/bench   # the disk to measure (default: a temp dir)
//
// Scenarios:
//   throughput   producers hand over transitions as fast as they can (at most
//                --in-flight unacknowledged each): durable transitions/s, and
//                the latency of each under that saturation;
//   latency      --concurrency executions each keep one transition in flight
//                and hand over the next from the acknowledgement (as an
//                engine does: a node's dependents start after its commit);
//   open_list    --executions executions (half finished), closed; then open +
//                list the unfinished ones;
//   peer         raw LMDB, one put per synced commit, on the same disk.
#include <lmdb.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_report.hpp"
#include "store/lmdb_store.hpp"

namespace {

namespace fs = std::filesystem;
using sup::bench::percentile;
using sup::bench::steady_ns;
using namespace sup::store;

struct BenchOptions {
  std::string scenario;  // empty: all of them
  std::string dir;       // empty: a fresh directory under the temp dir
  int producers = 16;
  int executions_per_producer = 64;
  int transitions = 400'000;
  int in_flight = 1'024;  // per producer
  int concurrency = 256;
  int latency_transitions = 200'000;
  int executions = 10'000;
  int records_per_execution = 5;
  int peer_commits = 3'000;
  int window_us = 0;
  int max_batch = 4'096;
};

const std::vector<std::string> kScenarios = {"throughput", "latency", "open_list", "peer"};

// Awaits `count` acknowledgements. done() is the last thing a callback does;
// it notifies under the mutex, so the waiter may destroy this as soon as it
// returns.
class Countdown {
 public:
  explicit Countdown(std::size_t count) : left_(count) {}
  void done() {
    std::lock_guard lock(mutex_);
    if (--left_ == 0) zero_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    zero_.wait(lock, [&] { return left_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable zero_;
  std::size_t left_;
};

// What a node transition looks like once the engine has encoded it.
std::string transition_payload(int node, int attempt) {
  return R"({"node_id":"node-)" + std::to_string(node) +
         R"(","from":"READY","to":"RUNNING","attempt":)" + std::to_string(attempt) +
         R"(,"epoch":)" + std::to_string(attempt + 1) + R"(,"pgid":41234,"reason":"deps done"})";
}

AppendRequest transition(const std::string& execution_id, int node, int attempt) {
  return {execution_id,
          {{RecordKind::NodeTransition, transition_payload(node, attempt)}},
          ExecutionStatus{"RUNNING", false},
          false};
}

std::unique_ptr<LmdbCheckpointStore> open_store(const fs::path& path, const BenchOptions& opt) {
  auto store = LmdbCheckpointStore::open({.path = path,
                                          .max_bytes = std::uint64_t{8} << 30,
                                          .initial_map_bytes = std::uint64_t{1} << 30,
                                          .commit_window = std::chrono::microseconds(opt.window_us),
                                          .max_batch = static_cast<std::size_t>(opt.max_batch)});
  if (!store) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.error().describe().c_str());
    return nullptr;
  }
  return std::move(*store);
}

// Hands every request over, then awaits every acknowledgement.
bool append_all(CheckpointStore& store, std::vector<AppendRequest> requests) {
  Countdown acks(requests.size());
  std::atomic<bool> failed{false};
  for (auto& request : requests) {
    auto handed = store.append(std::move(request), [&](sup::Expected<AppendAck> ack) {
      if (!ack) failed = true;
      acks.done();
    });
    if (!handed) {
      failed = true;
      acks.done();
    }
  }
  acks.wait();
  return !failed;
}

bool create_executions(CheckpointStore& store, const std::vector<std::string>& ids) {
  std::vector<AppendRequest> requests;
  for (const auto& id : ids)
    requests.push_back({id,
                        {{RecordKind::ExecutionSubmitted, R"({"spec":"bench"})"}},
                        ExecutionStatus{"PENDING", false},
                        true});
  return append_all(store, std::move(requests));
}

// The writer's work between two snapshots (the maxima are since open).
StoreStats since(const StoreStats& before, StoreStats after) {
  after.commits -= before.commits;
  after.appends_committed -= before.appends_committed;
  after.commit_ns_total -= before.commit_ns_total;
  after.sync_ns_total -= before.sync_ns_total;
  return after;
}

void report_store_stats(const sup::bench::Reporter& out, const std::string& prefix,
                        const StoreStats& stats) {
  out.figure(prefix + "_commits", static_cast<double>(stats.commits), "count");
  out.figure(prefix + "_mean_batch", stats.mean_batch(), "appends");
  out.figure(prefix + "_max_batch", static_cast<double>(stats.max_batch), "appends");
  out.figure(prefix + "_commit_mean",
             stats.commits == 0 ? 0.0 : stats.commit_ns_total / 1e3 / stats.commits, "us");
  out.figure(prefix + "_commit_max", stats.commit_ns_max / 1e3, "us");
  out.figure(prefix + "_sync_mean",
             stats.commits == 0 ? 0.0 : stats.sync_ns_total / 1e3 / stats.commits, "us");
}

void report_latency(const sup::bench::Reporter& out, const std::string& prefix,
                    std::vector<double>& samples_us) {
  out.figure(prefix + "_latency_p50", percentile(samples_us, 0.50), "us");
  out.figure(prefix + "_latency_p90", percentile(samples_us, 0.90), "us");
  out.figure(prefix + "_latency_p99", percentile(samples_us, 0.99), "us");
  out.figure(prefix + "_latency_max", percentile(samples_us, 1.0), "us");
}

// ---- throughput -------------------------------------------------------------------

int run_throughput(const BenchOptions& opt, const fs::path& dir, const sup::bench::Reporter& out) {
  auto store = open_store(dir / "throughput", opt);
  if (!store) return 1;
  std::vector<std::vector<std::string>> executions(opt.producers);
  std::vector<std::string> all;
  for (int p = 0; p < opt.producers; ++p)
    for (int e = 0; e < opt.executions_per_producer; ++e) {
      executions[p].push_back("exec-" + std::to_string(p) + "-" + std::to_string(e));
      all.push_back(executions[p].back());
    }
  if (!create_executions(*store, all)) return 1;
  StoreStats before = store->stats();

  const int per_producer = opt.transitions / opt.producers;
  const std::size_t total = static_cast<std::size_t>(per_producer) * opt.producers;
  std::vector<std::int64_t> handed_at(total);
  std::vector<double> latency_us(total);
  std::vector<std::atomic<int>> in_flight(opt.producers);
  Countdown acks(total);
  std::atomic<std::size_t> failures{0};
  std::int64_t started = steady_ns();
  std::vector<std::thread> producers;
  for (int p = 0; p < opt.producers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        for (int now = in_flight[p].load(); now >= opt.in_flight; now = in_flight[p].load())
          in_flight[p].wait(now);
        std::size_t slot = static_cast<std::size_t>(p) * per_producer + i;
        const auto& id = executions[p][i % executions[p].size()];
        in_flight[p].fetch_add(1);
        handed_at[slot] = steady_ns();
        auto handed =
            store->append(transition(id, i, 1), [&, p, slot](sup::Expected<AppendAck> ack) {
              latency_us[slot] = (steady_ns() - handed_at[slot]) / 1e3;
              if (!ack) failures.fetch_add(1);
              // Wakes the producer once half its window is free, not per ack.
              if (in_flight[p].fetch_sub(1) - 1 == opt.in_flight / 2) in_flight[p].notify_one();
              acks.done();
            });
        if (!handed) {
          failures.fetch_add(1);
          in_flight[p].fetch_sub(1);
          acks.done();
        }
      }
    });
  }
  for (auto& producer : producers) producer.join();
  acks.wait();
  double seconds = (steady_ns() - started) / 1e9;
  if (failures.load() != 0) {
    std::fprintf(stderr, "throughput: %zu appends failed\n", failures.load());
    return 1;
  }
  StoreStats delta = since(before, store->stats());
  out.figure("durable_transitions_per_s", total / seconds, "1/s");
  report_store_stats(out, "throughput", delta);
  report_latency(out, "throughput", latency_us);
  return 0;
}

// ---- closed-loop latency --------------------------------------------------------------

struct ClosedLoop {
  explicit ClosedLoop(std::size_t transitions)
      : total(transitions), latency_us(transitions), acks(transitions) {}

  CheckpointStore* store = nullptr;
  std::vector<std::string> executions;
  std::size_t total = 0;
  std::vector<double> latency_us;
  std::atomic<std::size_t> next{0};
  Countdown acks;
  std::atomic<std::size_t> failures{0};

  // Hands over the next transition of `execution`; called again from its ack.
  void hand_over(std::size_t execution) {
    std::size_t slot = next.fetch_add(1);
    if (slot >= total) return;
    std::int64_t handed_at = steady_ns();
    auto handed = store->append(transition(executions[execution], static_cast<int>(slot), 1),
                                [this, execution, slot, handed_at](sup::Expected<AppendAck> ack) {
                                  latency_us[slot] = (steady_ns() - handed_at) / 1e3;
                                  if (!ack) failures.fetch_add(1);
                                  hand_over(execution);
                                  acks.done();
                                });
    if (!handed) {
      failures.fetch_add(1);
      acks.done();
    }
  }
};

int run_latency(const BenchOptions& opt, const fs::path& dir, const sup::bench::Reporter& out) {
  ClosedLoop loop(static_cast<std::size_t>(opt.latency_transitions));
  auto store = open_store(dir / "latency", opt);
  if (!store) return 1;
  loop.store = store.get();
  for (int e = 0; e < opt.concurrency; ++e) loop.executions.push_back("exec-" + std::to_string(e));
  if (!create_executions(*store, loop.executions)) return 1;
  StoreStats before = store->stats();
  std::int64_t started = steady_ns();
  for (std::size_t e = 0; e < loop.executions.size(); ++e) loop.hand_over(e);
  loop.acks.wait();
  double seconds = (steady_ns() - started) / 1e9;
  if (loop.failures.load() != 0) {
    std::fprintf(stderr, "latency: %zu appends failed\n", loop.failures.load());
    return 1;
  }
  StoreStats delta = since(before, store->stats());
  out.figure("closed_loop_transitions_per_s", loop.total / seconds, "1/s");
  report_store_stats(out, "closed_loop", delta);
  report_latency(out, "closed_loop", loop.latency_us);
  return 0;
}

// ---- open + list ----------------------------------------------------------------------

int run_open_list(const BenchOptions& opt, const fs::path& dir, const sup::bench::Reporter& out) {
  const fs::path path = dir / "open_list";
  {
    auto store = open_store(path, opt);
    if (!store) return 1;
    std::vector<std::string> ids;
    for (int e = 0; e < opt.executions; ++e) ids.push_back("exec-" + std::to_string(e));
    if (!create_executions(*store, ids)) return 1;
    std::vector<AppendRequest> requests;
    for (int r = 1; r < opt.records_per_execution; ++r) {
      for (int e = 0; e < opt.executions; ++e) {
        requests.push_back(transition(ids[e], r, 1));
        if (r + 1 == opt.records_per_execution && e % 2 == 0)
          requests.back().status = ExecutionStatus{"COMPLETED", true};
      }
    }
    if (!append_all(*store, std::move(requests))) return 1;
  }
  std::vector<double> open_ms, list_ms, total_ms;
  std::size_t unfinished = 0;
  for (int round = 0; round < 5; ++round) {
    std::int64_t started = steady_ns();
    auto store = open_store(path, opt);
    if (!store) return 1;
    std::int64_t opened = steady_ns();
    auto list = store->list_executions({.finished = ExecutionFilter::Finished::Unfinished});
    std::int64_t listed = steady_ns();
    if (!list || !list->bad.empty()) return 1;
    unfinished = list->executions.size();
    open_ms.push_back((opened - started) / 1e6);
    list_ms.push_back((listed - opened) / 1e6);
    total_ms.push_back((listed - started) / 1e6);
  }
  out.figure("open_ms", percentile(open_ms, 0.5), "ms");
  out.figure("list_unfinished_ms", percentile(list_ms, 0.5), "ms");
  out.figure("open_and_list_unfinished_ms", percentile(total_ms, 0.5), "ms");
  out.figure("open_and_list_unfinished_ms_max", percentile(total_ms, 1.0), "ms");
  out.figure("unfinished_listed", static_cast<double>(unfinished), "executions");
  return 0;
}

// ---- peer: raw LMDB -----------------------------------------------------------------

int run_peer(const BenchOptions& opt, const fs::path& dir, const sup::bench::Reporter& out) {
  const fs::path path = dir / "peer";
  fs::create_directories(path);
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  MDB_txn* txn = nullptr;
  bool ok = mdb_env_create(&env) == 0 && mdb_env_set_mapsize(env, std::size_t{1} << 30) == 0 &&
            mdb_env_open(env, path.c_str(), 0, 0600) == 0 &&
            mdb_txn_begin(env, nullptr, 0, &txn) == 0 && mdb_dbi_open(txn, nullptr, 0, &dbi) == 0 &&
            mdb_txn_commit(txn) == 0;
  std::vector<double> commit_us;
  const std::string value = transition_payload(7, 1);
  std::int64_t started = steady_ns();
  for (int i = 0; ok && i < opt.peer_commits; ++i) {
    std::string key(8, '\0');
    for (int b = 0; b < 8; ++b)
      key[b] = static_cast<char>((std::uint64_t(i) >> (56 - 8 * b)) & 0xff);
    MDB_val k{key.size(), key.data()}, v{value.size(), const_cast<char*>(value.data())};
    std::int64_t before = steady_ns();
    ok = mdb_txn_begin(env, nullptr, 0, &txn) == 0 && mdb_put(txn, dbi, &k, &v, 0) == 0 &&
         mdb_txn_commit(txn) == 0;
    commit_us.push_back((steady_ns() - before) / 1e3);
  }
  double seconds = (steady_ns() - started) / 1e9;
  mdb_env_close(env);
  if (!ok) {
    std::fprintf(stderr, "peer: raw LMDB failed\n");
    return 1;
  }
  out.figure("peer_lmdb_synced_commits_per_s", commit_us.size() / seconds, "1/s");
  out.figure("peer_lmdb_commit_p50", percentile(commit_us, 0.50), "us");
  out.figure("peer_lmdb_commit_p99", percentile(commit_us, 0.99), "us");
  return 0;
}

// ---- driver -------------------------------------------------------------------------------

std::optional<int> parse_args(int argc, char** argv, BenchOptions& opt) {
  CLI::App app("Durable store (LMDB, group commit) benchmarks", "store_bench");
  app.add_option("--scenario", opt.scenario, "one scenario (default: all)")
      ->check(CLI::IsMember(kScenarios));
  app.add_option("--dir", opt.dir, "directory on the disk to measure (default: a temp dir)");
  app.add_option("--window-us", opt.window_us, "store commit window in microseconds")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  const std::vector<std::pair<std::string, int*>> counts = {
      {"--producers", &opt.producers},
      {"--executions-per-producer", &opt.executions_per_producer},
      {"--transitions", &opt.transitions},
      {"--in-flight", &opt.in_flight},
      {"--concurrency", &opt.concurrency},
      {"--latency-transitions", &opt.latency_transitions},
      {"--executions", &opt.executions},
      {"--records-per-execution", &opt.records_per_execution},
      {"--peer-commits", &opt.peer_commits},
      {"--max-batch", &opt.max_batch}};
  return sup::bench::parse_command_line(app, counts, argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions opt;
  if (auto exit_status = parse_args(argc, argv, opt)) return *exit_status;
  fs::path dir = opt.dir;
  bool temporary = dir.empty();
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "store-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = pattern;
  } else {
    dir /= "store-bench-" + std::to_string(getpid());
    fs::create_directories(dir);
  }
  sup::bench::Reporter out("store", {{"producers", std::to_string(opt.producers)},
                                     {"concurrency", std::to_string(opt.concurrency)},
                                     {"window_us", std::to_string(opt.window_us)},
                                     {"max_batch", std::to_string(opt.max_batch)}});
  int failures = 0;
  for (const auto& scenario : kScenarios) {
    if (!opt.scenario.empty() && opt.scenario != scenario) continue;
    int status = scenario == "throughput"  ? run_throughput(opt, dir, out)
                 : scenario == "latency"   ? run_latency(opt, dir, out)
                 : scenario == "open_list" ? run_open_list(opt, dir, out)
                                           : run_peer(opt, dir, out);
    if (status != 0) {
      std::fprintf(stderr, "scenario %s failed\n", scenario.c_str());
      ++failures;
    }
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return failures == 0 ? 0 : 1;
}
