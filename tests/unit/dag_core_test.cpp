// The pure core of executions: state machine tables, retry backoff, and the
// ready-node scheduler.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "dag/parser.hpp"
#include "dag/retry.hpp"
#include "dag/scheduler.hpp"
#include "dag/states.hpp"

namespace {

using namespace sup::dag;
using nlohmann::json;

DagSpec parse(const json& document) {
  auto spec = parse_dag(document.dump());
  REQUIRE_MESSAGE(spec, (spec ? "" : spec.error().describe()));
  return std::move(spec).value();
}

json node(std::string id, std::vector<std::string> deps = {}, std::string risk = "medium") {
  return json{{"id", id}, {"deps", deps}, {"risk", risk}, {"run", {{"exec", {"true"}}}}};
}

std::vector<std::string> ids(const DagSpec& spec, const std::vector<NodeIndex>& indices) {
  std::vector<std::string> out;
  for (auto i : indices) out.push_back(spec.nodes[i].id);
  return out;
}

}  // namespace

// --- State machines ---

TEST_CASE("execution state names round-trip and the table holds the documented transitions") {
  for (auto state : {ExecutionState::Pending, ExecutionState::Running, ExecutionState::Paused,
                     ExecutionState::Resumed, ExecutionState::Completed, ExecutionState::Failed,
                     ExecutionState::Recovering, ExecutionState::Recovered})
    CHECK(execution_state_from_string(to_string(state)) == state);
  CHECK(to_string(ExecutionState::Recovering) == "RECOVERING");
  CHECK(!execution_state_from_string("running"));

  using E = ExecutionState;
  CHECK(validate_transition(E::Pending, E::Running).valid);
  CHECK(validate_transition(E::Running, E::Paused).valid);
  CHECK(validate_transition(E::Paused, E::Resumed).valid);
  CHECK(validate_transition(E::Resumed, E::Completed).valid);
  CHECK(validate_transition(E::Failed, E::Recovering).valid);
  CHECK(validate_transition(E::Recovering, E::Recovered).valid);
  CHECK(validate_transition(E::Recovering, E::Failed).valid);

  TransitionCheck refused = validate_transition(E::Paused, E::Completed);
  CHECK(!refused.valid);
  CHECK(refused.reason ==
        "PAUSED -> COMPLETED is not allowed; from PAUSED: RESUMED, FAILED, RECOVERING");
  CHECK(!validate_transition(E::Completed, E::Paused).valid);
  // retry --from re-runs part of a finished execution.
  CHECK(validate_transition(E::Completed, E::Running).valid);
  CHECK(validate_transition(E::Failed, E::Running).valid);
  CHECK(!validate_transition(E::Paused, E::Running).valid);
  CHECK(validate_transition(E::Running, E::Running).reason == "already RUNNING");

  // Every state is reachable from PENDING and the table has no self-loops
  // or duplicates.
  std::set<std::pair<E, E>> seen;
  std::set<E> reached{E::Pending};
  for (int round = 0; round < 8; ++round)
    for (const auto& t : execution_transitions())
      if (reached.count(t.from)) reached.insert(t.to);
  CHECK(reached.size() == 8);
  for (const auto& t : execution_transitions()) {
    CHECK(t.from != t.to);
    CHECK(seen.insert({t.from, t.to}).second);
  }
  CHECK(is_unfinished(E::Paused));
  CHECK(!is_unfinished(E::Completed));
}

TEST_CASE("node states: the table and its invariants") {
  using N = NodeState;
  for (const auto& t : node_transitions()) {
    CHECK(node_state_from_string(to_string(t.from)) == t.from);
    CHECK(t.from != t.to);
    CHECK(!t.when.empty());
  }
  CHECK(to_string(N::RetryWait) == "RETRY_WAIT");
  CHECK(validate_transition(N::Pending, N::Ready).valid);
  CHECK(validate_transition(N::Running, N::Ready).valid);  // interrupted by a restart
  CHECK(!validate_transition(N::Completed, N::Running).valid);
  CHECK(!validate_transition(N::Pending, N::Running).valid);
  CHECK(!validate_transition(N::Failed, N::Completed).valid);
  // A settled node only leaves its state through a rollback or a reset.
  for (const auto& t : node_transitions())
    if (is_settled(t.from))
      CHECK((t.to == N::Pending || t.to == N::Compensating || t.to == N::Compensated));
}

TEST_CASE("transition log objects") {
  auto valid = transition_log("e-1", ExecutionState::Running, ExecutionState::Paused, "operator");
  CHECK(
      valid.dump() ==
      R"({"execution_id":"e-1","from_state":"RUNNING","to_state":"PAUSED","valid":true,"reason":"operator"})");
  auto refused =
      transition_log("e-1", ExecutionState::Completed, ExecutionState::Paused, "ignored");
  CHECK(refused["valid"] == false);
  CHECK(refused["reason"] ==
        "COMPLETED -> PAUSED is not allowed; from COMPLETED: RECOVERING, RUNNING");
  auto by_table = transition_log("e-1", "b", NodeState::RetryWait, NodeState::Ready);
  CHECK(by_table["node_id"] == "b");
  CHECK(by_table["reason"] == "backoff elapsed");
}

// --- Retry ---

TEST_CASE("risk-adaptive defaults: riskier nodes retry fewer times and wait longer") {
  RetryPolicy previous = default_retry_policy(Risk::Low);
  for (Risk risk : {Risk::Medium, Risk::High, Risk::Critical}) {
    RetryPolicy policy = default_retry_policy(risk);
    CHECK(policy.max_attempts < previous.max_attempts);
    CHECK(policy.initial_ms > previous.initial_ms);
    CHECK(policy.max_ms > previous.max_ms);
    previous = policy;
  }
}

TEST_CASE("backoff ceilings grow by the multiplier up to the cap") {
  RetryPolicy policy{.max_attempts = 10,
                     .initial_ms = 100,
                     .max_ms = 1000,
                     .multiplier = 2.0,
                     .non_retryable_exit_codes = {}};
  CHECK(backoff_ceiling_ms(policy, 1) == 100);
  CHECK(backoff_ceiling_ms(policy, 2) == 200);
  CHECK(backoff_ceiling_ms(policy, 4) == 800);
  CHECK(backoff_ceiling_ms(policy, 5) == 1000);
  CHECK(backoff_ceiling_ms(policy, 1'000'000) == 1000);
  CHECK(backoff_ceiling_ms(policy, UINT64_MAX) == 1000);
  policy.multiplier = 100.0;
  policy.max_ms = 86'400'000;
  CHECK(backoff_ceiling_ms(policy, 1'000'000) == 86'400'000);
  policy.initial_ms = 0;
  CHECK(backoff_ceiling_ms(policy, 1'000'000) == 0);
  CHECK(backoff_delay_ms(policy, 1'000'000, 0.99) == 0);
  policy.initial_ms = 7;
  policy.multiplier = 1.0;
  CHECK(backoff_ceiling_ms(policy, 1'000'000) == 7);
}

TEST_CASE("full jitter: delays spread over [0, ceiling) and bad random input is clamped") {
  RetryPolicy policy = default_retry_policy(Risk::Medium);
  std::uint64_t ceiling = backoff_ceiling_ms(policy, 3);
  CHECK(backoff_delay_ms(policy, 3, 0.0) == 0);
  CHECK(backoff_delay_ms(policy, 3, 0.5) == ceiling / 2);
  CHECK(backoff_delay_ms(policy, 3, 1.0) == ceiling - 1);
  CHECK(backoff_delay_ms(policy, 3, 7.0) == ceiling - 1);
  CHECK(backoff_delay_ms(policy, 3, -1.0) == 0);
  CHECK(backoff_delay_ms(policy, 3, std::nan("")) == 0);
  CHECK(backoff_delay_ms(policy, 3, INFINITY) == ceiling - 1);

  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::uint64_t> delays;
  for (int i = 0; i < 10'000; ++i) delays.push_back(backoff_delay_ms(policy, 3, uniform(rng)));
  CHECK(*std::max_element(delays.begin(), delays.end()) < ceiling);
  // Spread: each quarter of the range gets about a quarter of the delays.
  for (int quarter = 0; quarter < 4; ++quarter) {
    auto in_quarter = std::count_if(delays.begin(), delays.end(), [&](std::uint64_t d) {
      return d >= ceiling * quarter / 4 && d < ceiling * (quarter + 1) / 4;
    });
    CHECK(in_quarter > 2'200);
    CHECK(in_quarter < 2'800);
  }
}

TEST_CASE("retry decisions") {
  RetryPolicy policy{.max_attempts = 3,
                     .initial_ms = 100,
                     .max_ms = 1000,
                     .multiplier = 2.0,
                     .non_retryable_exit_codes = {2}};
  using Kind = AttemptOutcome::Kind;
  auto exited = [](int code) { return AttemptOutcome{Kind::Exited, code}; };
  RetryDecision first = decide_retry(policy, 1, exited(1), 0.5);
  CHECK(first.retry);
  CHECK(first.delay_ms == 50);
  CHECK(decide_retry(policy, 2, AttemptOutcome{Kind::TimedOut, 0}, 0.5).delay_ms == 100);
  RetryDecision exhausted = decide_retry(policy, 3, exited(1), 0.5);
  CHECK(!exhausted.retry);
  CHECK(exhausted.reason == "3 of 3 attempts failed");
  RetryDecision permanent = decide_retry(policy, 1, exited(2), 0.5);
  CHECK(!permanent.retry);
  CHECK(permanent.reason == "non-retryable exit code 2");
  CHECK(decide_retry(policy, 1, AttemptOutcome{Kind::Signaled, 2}, 0.5).retry);
  CHECK(!decide_retry(policy, 1, AttemptOutcome{Kind::Cancelled, 0}, 0.5).retry);
}

// --- Ready order and scheduling ---

TEST_CASE("critical path lengths count the nodes on the longest path to a sink") {
  DagSpec spec =
      parse({{"nodes", {node("a"), node("b", {"a"}), node("c", {"b"}), node("d", {"a"})}}});
  CHECK(critical_path_lengths(spec) == std::vector<std::uint32_t>{3, 2, 1, 1});
}

TEST_CASE("ready nodes start by risk, then critical path, then declaration order") {
  DagSpec spec =
      parse({{"max_parallel", 10},
             {"nodes",
              {node("short"), node("long"), node("long2", {"long"}), node("risky", {}, "high"),
               node("also_short"), node("critical", {}, "critical")}}});
  ReadyScheduler scheduler(spec);
  std::vector<NodeIndex> ready;
  scheduler.start(ready);
  CHECK(ids(spec, ready) ==
        std::vector<std::string>{"short", "long", "risky", "also_short", "critical"});
  std::vector<NodeIndex> started;
  scheduler.select(100, started);
  CHECK(ids(spec, started) ==
        std::vector<std::string>{"critical", "risky", "long", "short", "also_short"});
}

TEST_CASE(
    "max_parallel and the global free slots bound the starts; completions release dependents") {
  DagSpec spec =
      parse({{"max_parallel", 2},
             {"nodes", {node("a"), node("b"), node("c"), node("join", {"a", "b", "c"})}}});
  ReadyScheduler scheduler(spec);
  std::vector<NodeIndex> ready, started;
  scheduler.start(ready);
  scheduler.select(1, started);  // one global slot free
  CHECK(ids(spec, started) == std::vector<std::string>{"a"});
  scheduler.select(5, started);  // the execution's own bound: 2
  CHECK(ids(spec, started) == std::vector<std::string>{"a", "b"});
  CHECK(scheduler.running_count() == 2);

  ready.clear();
  scheduler.attempt_ended();
  scheduler.node_completed(0, ready);
  CHECK(ready.empty());
  started.clear();
  scheduler.select(5, started);
  CHECK(ids(spec, started) == std::vector<std::string>{"c"});
  scheduler.attempt_ended();
  scheduler.node_completed(1, ready);
  scheduler.attempt_ended();
  scheduler.node_completed(2, ready);
  CHECK(ids(spec, ready) == std::vector<std::string>{"join"});
  started.clear();
  scheduler.select(0, started);  // no global slot: nothing starts
  CHECK(started.empty());
  scheduler.select(1, started);
  CHECK(ids(spec, started) == std::vector<std::string>{"join"});
}

TEST_CASE("restore from recorded node states") {
  DagSpec spec = parse(
      {{"max_parallel", 4},
       {"nodes",
        {node("a"), node("b", {"a"}), node("c", {"a"}), node("d", {"b", "c"}), node("e", {"a"})}}});
  using N = NodeState;
  // a completed; b running at the crash; c's READY was not recorded yet; e ready.
  std::vector<NodeState> states{N::Completed, N::Running, N::Pending, N::Pending, N::Ready};
  ReadyScheduler scheduler(spec);
  std::vector<NodeIndex> ready, started;
  scheduler.restore(states, ready);
  CHECK(ids(spec, ready) == std::vector<std::string>{"c"});
  CHECK(scheduler.running_count() == 1);
  scheduler.select(10, started);
  CHECK(ids(spec, started).size() == 2);
  CHECK(scheduler.running_count() == 3);
}

TEST_CASE("random DAGs run to completion in an order that respects every dep") {
  std::mt19937 rng(11);
  for (int round = 0; round < 30; ++round) {
    std::vector<json> nodes;
    std::size_t count = 1 + rng() % 300;
    for (std::size_t i = 0; i < count; ++i) {
      std::vector<std::string> deps;
      for (int k = 0; i > 0 && k < 3; ++k) {
        std::string dep = "n" + std::to_string(rng() % i);
        if (std::find(deps.begin(), deps.end(), dep) == deps.end()) deps.push_back(dep);
      }
      static const char* kRisks[] = {"low", "medium", "high", "critical"};
      nodes.push_back(node("n" + std::to_string(i), deps, kRisks[rng() % 4]));
    }
    DagSpec spec = parse({{"max_parallel", 1 + rng() % 8}, {"nodes", nodes}});
    ReadyScheduler scheduler(spec);
    std::vector<NodeIndex> ready, started;
    std::vector<bool> done(count);
    scheduler.start(ready);
    std::size_t completed = 0;
    while (completed < count) {
      started.clear();
      scheduler.select(static_cast<std::uint32_t>(1 + rng() % 4), started);
      REQUIRE(!started.empty());
      CHECK(scheduler.running_count() <= spec.max_parallel);
      for (NodeIndex n : started) {
        for (NodeIndex dep : spec.nodes[n].deps) CHECK(done[dep]);
        done[n] = true;
        ++completed;
        scheduler.attempt_ended();
        scheduler.node_completed(n, ready);
      }
    }
    CHECK(scheduler.ready_count() == 0);
  }
}
