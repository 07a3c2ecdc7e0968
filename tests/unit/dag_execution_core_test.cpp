// ExecutionCore: events in, effects out. The durability barrier (no start
// before its RUNNING record, and so its deps' COMPLETED records, are
// durable), fencing epochs, retry, pause/resume/cancel, and crash resume
// from the durable history, driven by a simulated shell with random crashes.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "dag/execution_core.hpp"
#include "dag/parser.hpp"

namespace {

using namespace sup::dag;
using nlohmann::json;

DagSpec parse(const json& document) {
  auto spec = parse_dag(document.dump());
  REQUIRE_MESSAGE(spec, (spec ? "" : spec.error().describe()));
  return std::move(spec).value();
}

json node(std::string id, std::vector<std::string> deps = {}, json retry = nullptr) {
  json n{{"id", id}, {"deps", deps}, {"run", {{"exec", {"true"}}}}};
  if (!retry.is_null()) n["retry"] = retry;
  return n;
}

const AttemptOutcome kSuccess{AttemptOutcome::Kind::Succeeded, 0};
AttemptOutcome exit_code(int code) {
  return {AttemptOutcome::Kind::Exited, code};
}

void check_records_valid(const Effects& fx) {
  for (const Record& r : fx.records) {
    TransitionCheck check = r.node ? validate_transition(r.node_from, r.node_to)
                                   : validate_transition(r.execution_from, r.execution_to);
    CHECK_MESSAGE(check.valid, check.reason);
  }
}

std::uint64_t last_sequence(const Effects& fx) {
  REQUIRE(!fx.records.empty());
  return fx.records.back().sequence;
}

}  // namespace

TEST_CASE("a chain runs node by node, each start waiting for its records to be durable") {
  DagSpec spec = parse({{"nodes", {node("a"), node("b", {"a"})}}});
  ExecutionCore core(spec, "e-1");
  Effects fx = core.start(10);
  check_records_valid(fx);
  CHECK(core.state() == ExecutionState::Running);
  REQUIRE(fx.records.size() == 3);  // execution RUNNING, a READY, a RUNNING
  CHECK(fx.records[2].node_to == NodeState::Running);
  CHECK(fx.starts.empty());  // nothing starts before its RUNNING record is durable
  CHECK(fx.slots_taken == 1);

  CHECK(core.on_durable(fx.records[1].sequence).starts.empty());
  Effects durable = core.on_durable(last_sequence(fx));
  REQUIRE(durable.starts.size() == 1);
  StartAttempt a = durable.starts[0];
  CHECK(a.node == 0);
  CHECK(a.attempt == 1);

  Effects done = core.on_attempt_exit(a.node, a.epoch, kSuccess, 0.5, 10, R"({"rows": 3})");
  check_records_valid(done);
  CHECK(done.slots_freed == 1);
  REQUIRE(done.records.size() == 3);  // a COMPLETED, b READY, b RUNNING
  CHECK(done.records[0].node_to == NodeState::Completed);
  CHECK(done.records[0].result == R"({"rows": 3})");
  // b's start waits for b's RUNNING record, which comes after a's COMPLETED.
  CHECK(core.on_durable(done.records[0].sequence).starts.empty());
  Effects b_start = core.on_durable(last_sequence(done));
  REQUIRE(b_start.starts.size() == 1);
  CHECK(b_start.starts[0].epoch > a.epoch);

  Effects finished = core.on_attempt_exit(1, b_start.starts[0].epoch, kSuccess, 0.5, 10);
  CHECK(core.state() == ExecutionState::Completed);
  CHECK(finished.records.back().execution_to == ExecutionState::Completed);
}

TEST_CASE("a result under an older epoch is ignored") {
  DagSpec spec = parse(
      {{"nodes", {node("a", {}, {{"max_attempts", 3}, {"initial_ms", 100}, {"max_ms", 100}})}}});
  ExecutionCore core(spec, "e-2");
  Effects fx = core.start(10);
  StartAttempt first = core.on_durable(last_sequence(fx)).starts.at(0);
  Effects failed = core.on_attempt_exit(0, first.epoch, exit_code(1), 0.5, 10);
  CHECK(core.node_state(0) == NodeState::RetryWait);
  REQUIRE(failed.timers.size() == 1);
  CHECK(failed.timers[0].delay_ms == 50);
  Effects retry = core.on_retry_timer(0, failed.timers[0].epoch, 10);
  check_records_valid(retry);
  StartAttempt second = core.on_durable(last_sequence(retry)).starts.at(0);
  CHECK(second.attempt == 2);
  CHECK(second.epoch > first.epoch);

  Effects stale = core.on_attempt_exit(0, first.epoch, kSuccess, 0.5, 10);
  CHECK(stale.ignored);
  CHECK(stale.records.empty());
  CHECK(core.node_state(0) == NodeState::Running);
  CHECK(core.on_retry_timer(0, first.epoch, 10).ignored);
  core.on_attempt_exit(0, second.epoch, kSuccess, 0.5, 10);
  CHECK(core.state() == ExecutionState::Completed);
}

TEST_CASE("a non-retryable failure fails the node at once and skips its dependents") {
  DagSpec spec = parse({{"nodes",
                         {node("a", {}, {{"non_retryable_exit_codes", {2}}}), node("b", {"a"}),
                          node("c", {"b"}), node("side")}}});
  ExecutionCore core(spec, "e-3");
  Effects fx = core.start(10);
  Effects started = core.on_durable(last_sequence(fx));
  REQUIRE(started.starts.size() == 2);
  std::map<NodeIndex, std::uint64_t> epoch;
  for (auto s : started.starts) epoch[s.node] = s.epoch;
  Effects failed = core.on_attempt_exit(0, epoch[0], exit_code(2), 0.5, 10);
  check_records_valid(failed);
  CHECK(core.node_state(0) == NodeState::Failed);
  CHECK(core.node_state(1) == NodeState::Skipped);
  CHECK(core.node_state(2) == NodeState::Skipped);
  CHECK(failed.records[0].reason == "attempt 1 failed: non-retryable exit code 2");
  // The independent branch still finishes; then the execution fails.
  CHECK(core.state() == ExecutionState::Running);
  core.on_attempt_exit(3, epoch[3], kSuccess, 0.5, 10);
  CHECK(core.state() == ExecutionState::Failed);
}

TEST_CASE("pause lets running nodes finish and starts nothing; resume continues") {
  DagSpec spec = parse({{"nodes", {node("a"), node("b", {"a"})}}});
  ExecutionCore core(spec, "e-4");
  Effects fx = core.start(10);
  StartAttempt a = core.on_durable(last_sequence(fx)).starts.at(0);
  CHECK(core.pause("operator").records.at(0).execution_to == ExecutionState::Paused);
  CHECK(core.pause("again").ignored);
  Effects done = core.on_attempt_exit(0, a.epoch, kSuccess, 0.5, 10);
  CHECK(core.node_state(1) == NodeState::Ready);
  CHECK(done.slots_taken == 0);
  Effects resumed = core.resume(10);
  check_records_valid(resumed);
  CHECK(core.state() == ExecutionState::Resumed);
  CHECK(core.on_durable(last_sequence(resumed)).starts.size() == 1);
}

TEST_CASE("global free slots bound the starts; freed slots start more") {
  DagSpec spec = parse({{"nodes", {node("a"), node("b"), node("c")}}});
  ExecutionCore core(spec, "e-5");
  Effects fx = core.start(1);
  CHECK(fx.slots_taken == 1);
  Effects more = core.on_slots_available(5);
  CHECK(more.slots_taken == 2);
}

TEST_CASE("cancel stops started attempts and ignores their later exits") {
  DagSpec spec = parse({{"nodes", {node("a"), node("b", {"a"}), node("c")}}});
  ExecutionCore core(spec, "e-6");
  Effects fx = core.start(1);  // a runs, c waits for a slot
  StartAttempt a = core.on_durable(last_sequence(fx)).starts.at(0);
  Effects cancelled = core.cancel("operator");
  check_records_valid(cancelled);
  CHECK(core.state() == ExecutionState::Failed);
  REQUIRE(cancelled.stops.size() == 1);
  CHECK(cancelled.stops[0].epoch == a.epoch);
  CHECK(cancelled.slots_freed == 1);
  for (NodeIndex n = 0; n < 3; ++n) CHECK(core.node_state(n) == NodeState::Cancelled);
  CHECK(core.on_attempt_exit(0, a.epoch, kSuccess, 0.5, 10).ignored);
  CHECK(core.cancel("twice").ignored);
}

TEST_CASE("restore refuses a history the tables refuse") {
  DagSpec spec = parse({{"nodes", {node("a")}}});
  ExecutionCore core(spec, "e-7");
  std::vector<Record> history = core.start(10).records;
  CHECK(ExecutionCore::restore(spec, "e-7", history));
  history[2].node_to = NodeState::Compensated;  // READY -> COMPENSATED
  auto refused = ExecutionCore::restore(spec, "e-7", history);
  REQUIRE(!refused);
  CHECK(refused.error().message.find("record 3") != std::string::npos);
  history.erase(history.begin());
  CHECK(!ExecutionCore::restore(spec, "e-7", history));  // a gap in the sequence
}

// A simulated shell: records become durable in batches, attempts end in a
// random order, and the daemon "crashes" at random moments, losing every
// record not yet durable and every running attempt. Whatever the timing,
// the execution ends COMPLETED, a node recorded COMPLETED in the durable
// history never starts again, and each re-run gets the next attempt number
// and a newer epoch.
TEST_CASE("random crashes: resume from the durable history completes every node once") {
  std::mt19937 rng(2026);
  int total_crashes = 0;
  int resumed_running = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<json> nodes;
    std::size_t count = 2 + rng() % 40;
    for (std::size_t i = 0; i < count; ++i) {
      std::vector<std::string> deps;
      for (int k = 0; i > 0 && k < 2; ++k) {
        std::string dep = "n" + std::to_string(rng() % i);
        if (std::find(deps.begin(), deps.end(), dep) == deps.end()) deps.push_back(dep);
      }
      nodes.push_back(node("n" + std::to_string(i), deps,
                           {{"max_attempts", 100}, {"initial_ms", 0}, {"max_ms", 0}}));
    }
    DagSpec spec = parse({{"max_parallel", 1 + rng() % 6}, {"nodes", nodes}});

    std::vector<Record> durable;  // the checkpoint store
    std::vector<Record> pending;  // handed over, not yet committed
    std::vector<StartAttempt> running;
    std::vector<RetryTimer> timers;
    std::set<NodeIndex> completed_durably;
    std::map<NodeIndex, std::uint64_t> last_epoch;
    int crashes = 0;

    ExecutionCore core(spec, "e-sim");
    auto apply = [&](const Effects& fx) {
      check_records_valid(fx);
      pending.insert(pending.end(), fx.records.begin(), fx.records.end());
      for (const auto& start : fx.starts) {
        CHECK(completed_durably.count(start.node) == 0);
        CHECK(start.epoch > last_epoch[start.node]);
        last_epoch[start.node] = start.epoch;
        running.push_back(start);
      }
      timers.insert(timers.end(), fx.timers.begin(), fx.timers.end());
    };
    apply(core.start(100));
    std::optional<ExecutionCore> current(std::move(core));
    for (int step = 0; step < 20'000 && current->state() != ExecutionState::Completed; ++step) {
      switch (rng() % 8) {
        case 0:
        case 1: {  // a group commit
          if (pending.empty()) break;
          std::uint64_t upto = pending.back().sequence;
          for (const Record& r : pending) {
            if (r.node && r.node_to == NodeState::Completed) completed_durably.insert(*r.node);
            durable.push_back(r);
          }
          pending.clear();
          apply(current->on_durable(upto));
          break;
        }
        case 2:
        case 3:
        case 4: {  // an attempt ends: mostly success, sometimes exit 1
          if (running.empty()) break;
          std::size_t pick = rng() % running.size();
          StartAttempt attempt = running[pick];
          running.erase(running.begin() + static_cast<std::ptrdiff_t>(pick));
          apply(current->on_attempt_exit(attempt.node, attempt.epoch,
                                         rng() % 5 == 0 ? exit_code(1) : kSuccess, 0.5, 100));
          break;
        }
        case 5: {  // a retry timer fires
          if (timers.empty()) break;
          RetryTimer timer = timers.front();
          timers.erase(timers.begin());
          apply(current->on_retry_timer(timer.node, timer.epoch, 100));
          break;
        }
        case 6: {  // kill -9: everything not durable is gone
          if (rng() % 4 != 0) break;
          ++crashes;
          pending.clear();
          running.clear();
          timers.clear();
          auto restored = ExecutionCore::restore(spec, "e-sim", durable);
          REQUIRE_MESSAGE(restored, restored.error().message);
          current.reset();
          current.emplace(std::move(restored).value());
          Effects resumed = current->resume_after_restart(100, 0.5);
          for (const Record& r : resumed.records) {
            if (!r.node || r.node_from != NodeState::Running) continue;
            CHECK(completed_durably.count(*r.node) == 0);
            ++resumed_running;
          }
          apply(resumed);
          break;
        }
        default:  // a stale result from a killed attempt's epoch
          if (!last_epoch.empty()) {
            auto it = last_epoch.begin();
            std::advance(it, static_cast<std::ptrdiff_t>(rng() % last_epoch.size()));
            if (std::none_of(running.begin(), running.end(),
                             [&](const StartAttempt& s) { return s.epoch == it->second; }))
              CHECK(current->on_attempt_exit(it->first, it->second, kSuccess, 0.5, 100)
                        .records.empty());
          }
          break;
      }
    }
    CHECK(current->state() == ExecutionState::Completed);
    for (NodeIndex n = 0; n < spec.nodes.size(); ++n)
      CHECK(current->node_state(n) == NodeState::Completed);
    total_crashes += crashes;
  }
  // The crashes did happen, and hit nodes in flight.
  CHECK(total_crashes > 40);
  CHECK(resumed_running > 20);
  MESSAGE("crashes: " << total_crashes << ", attempts interrupted and re-run: " << resumed_running);
}

namespace {

// Drives every start to success until nothing runs; returns the nodes run
// (by id, in start order).
std::vector<std::string> run_to_end(ExecutionCore& core, const DagSpec& spec, Effects fx) {
  std::vector<std::string> ran;
  std::vector<StartAttempt> running;
  for (;;) {
    check_records_valid(fx);
    if (!fx.records.empty()) {
      Effects durable = core.on_durable(last_sequence(fx));
      running.insert(running.end(), durable.starts.begin(), durable.starts.end());
    }
    if (running.empty()) return ran;
    StartAttempt next = running.front();
    running.erase(running.begin());
    ran.push_back(spec.nodes[next.node].id);
    fx = core.on_attempt_exit(next.node, next.epoch, kSuccess, 0.5, 10,
                              "\"" + spec.nodes[next.node].id + "\"");
  }
}

}  // namespace

TEST_CASE("retry --from re-runs the node and its descendants, and nothing else") {
  // a -> b -> c, a -> d, b -> e <- d
  DagSpec spec = parse(
      {{"nodes",
        {node("a"), node("b", {"a"}), node("c", {"b"}), node("d", {"a"}), node("e", {"b", "d"})}}});
  ExecutionCore core(spec, "e-retry");
  CHECK(run_to_end(core, spec, core.start(10)).size() == 5);
  REQUIRE(core.state() == ExecutionState::Completed);
  CHECK(core.downstream_of(1) == std::vector<NodeIndex>{1, 2, 4});

  Effects fx = core.retry_from(1, "bad input fixed", 10);
  REQUIRE_FALSE(fx.ignored);
  check_records_valid(fx);
  CHECK(core.state() == ExecutionState::Running);
  REQUIRE(fx.records.size() >= 4);
  CHECK_FALSE(fx.records[0].node);  // COMPLETED -> RUNNING first
  CHECK(fx.records[0].execution_to == ExecutionState::Running);
  std::vector<std::string> reset;
  for (const Record& r : fx.records)
    if (r.node && r.node_to == NodeState::Pending) reset.push_back(spec.nodes[*r.node].id);
  CHECK(reset == std::vector<std::string>{"b", "c", "e"});
  std::vector<std::string> ran = run_to_end(core, spec, std::move(fx));
  std::sort(ran.begin(), ran.end());
  CHECK(ran == std::vector<std::string>{"b", "c", "e"});
  CHECK(core.state() == ExecutionState::Completed);
  CHECK(core.node_attempt(0) == 1);  // a and d kept their results
  CHECK(core.node_attempt(3) == 1);
  CHECK(core.node_attempt(1) == 2);
}

TEST_CASE("retry --from a failed node gives it a fresh retry budget and ends COMPLETED") {
  DagSpec spec = parse({{"nodes", {node("a", {}, {{"max_attempts", 1}}), node("b", {"a"})}}});
  ExecutionCore core(spec, "e-failed");
  Effects fx = core.start(10);
  Effects durable = core.on_durable(last_sequence(fx));
  REQUIRE(durable.starts.size() == 1);
  Effects failed = core.on_attempt_exit(0, durable.starts[0].epoch, exit_code(1), 0.5, 10);
  CHECK(core.state() == ExecutionState::Failed);
  CHECK(core.node_state(1) == NodeState::Skipped);

  Effects again = core.retry_from(0, "", 10);
  REQUIRE_FALSE(again.ignored);
  // The retry policy counts this run's attempts only: a second failure of
  // max_attempts 1 fails the node, it does not refuse to start it.
  CHECK(run_to_end(core, spec, std::move(again)) == std::vector<std::string>{"a", "b"});
  CHECK(core.state() == ExecutionState::Completed);
  CHECK(core.node_attempt(0) == 2);
}

TEST_CASE("retry --from is refused while a node in scope runs, or before the execution started") {
  DagSpec spec = parse({{"nodes", {node("a"), node("b", {"a"})}}});
  ExecutionCore fresh(spec, "e-fresh");
  CHECK(fresh.retry_from(0, "", 10).ignored);
  ExecutionCore core(spec, "e-busy");
  Effects fx = core.start(10);
  (void)core.on_durable(last_sequence(fx));
  Effects busy = core.retry_from(0, "", 10);
  CHECK(busy.ignored);
  CHECK(busy.ignored_reason.find("node a is RUNNING") != std::string::npos);
  // b is PENDING (a has not completed): nothing of b's scope to reset.
  CHECK(core.retry_from(1, "", 10).ignored);
}

TEST_CASE("an execution re-run by retry --from restores from its history to the same states") {
  DagSpec spec = parse({{"nodes", {node("a"), node("b", {"a"}), node("c", {"b"})}}});
  ExecutionCore core(spec, "e-history");
  std::vector<Record> history;
  auto keep = [&](const Effects& fx) {
    history.insert(history.end(), fx.records.begin(), fx.records.end());
  };
  // Run to the end, keeping every record.
  Effects fx = core.start(10);
  std::vector<StartAttempt> running;
  for (;;) {
    keep(fx);
    if (!fx.records.empty()) {
      Effects durable = core.on_durable(last_sequence(fx));
      running.insert(running.end(), durable.starts.begin(), durable.starts.end());
    }
    if (running.empty()) break;
    StartAttempt next = running.front();
    running.erase(running.begin());
    fx = core.on_attempt_exit(next.node, next.epoch, kSuccess, 0.5, 10);
  }
  Effects retried = core.retry_from(1, "", 10);
  keep(retried);
  auto restored = ExecutionCore::restore(spec, "e-history", history);
  REQUIRE_MESSAGE(restored, (restored ? "" : restored.error().describe()));
  CHECK(restored->state() == ExecutionState::Running);
  CHECK(restored->node_state(0) == NodeState::Completed);
  CHECK(restored->node_state(1) == core.node_state(1));
  CHECK(restored->node_state(2) == NodeState::Pending);
  // Resumed after a restart it runs b and c to the end.
  Effects resumed = restored->resume_after_restart(10, 0.5);
  std::vector<std::string> ran = run_to_end(*restored, spec, std::move(resumed));
  CHECK(ran == std::vector<std::string>{"b", "c"});
  CHECK(restored->state() == ExecutionState::Completed);
}
