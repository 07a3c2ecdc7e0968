// The state machines of an execution and of its nodes: the states, their
// names, and the one table of allowed transitions each (docs/dag.md,
// "State machines"). Every transition is checked here before it is
// recorded; the result is logged as one JSON object.
//
//   TransitionCheck check = validate_transition(ExecutionState::Paused, ExecutionState::Completed);
//   // check.valid == false, check.reason == "PAUSED -> COMPLETED is not allowed; ..."
//   log(transition_log("e-17", ExecutionState::Running, ExecutionState::Paused, "paused by
//   operator"));
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sup::dag {

// X(enumerator, "NAME"): the states and their spelling, defined once.
#define SUP_DAG_EXECUTION_STATES(X) \
  X(Pending, "PENDING")             \
  X(Running, "RUNNING")             \
  X(Paused, "PAUSED")               \
  X(Resumed, "RESUMED")             \
  X(Completed, "COMPLETED")         \
  X(Failed, "FAILED")               \
  X(Recovering, "RECOVERING")       \
  X(Recovered, "RECOVERED")

#define SUP_DAG_NODE_STATES(X)    \
  X(Pending, "PENDING")           \
  X(Ready, "READY")               \
  X(Running, "RUNNING")           \
  X(RetryWait, "RETRY_WAIT")      \
  X(Completed, "COMPLETED")       \
  X(Failed, "FAILED")             \
  X(Skipped, "SKIPPED")           \
  X(Cancelled, "CANCELLED")       \
  X(Compensating, "COMPENSATING") \
  X(Compensated, "COMPENSATED")   \
  X(CompensationFailed, "COMPENSATION_FAILED")

#define SUP_DAG_ENUMERATOR(name, text) name,
enum class ExecutionState : std::uint8_t { SUP_DAG_EXECUTION_STATES(SUP_DAG_ENUMERATOR) };
enum class NodeState : std::uint8_t { SUP_DAG_NODE_STATES(SUP_DAG_ENUMERATOR) };
#undef SUP_DAG_ENUMERATOR

std::string_view to_string(ExecutionState state);
std::string_view to_string(NodeState state);
std::optional<ExecutionState> execution_state_from_string(std::string_view text);
std::optional<NodeState> node_state_from_string(std::string_view text);

template <class State>
struct Transition {
  State from;
  State to;
  // When it happens: the reason logged for a valid transition without a
  // more specific cause.
  std::string_view when;
};

// The allowed transitions; anything else is refused.
std::span<const Transition<ExecutionState>> execution_transitions();
std::span<const Transition<NodeState>> node_transitions();

struct TransitionCheck {
  bool valid = false;
  // Valid: the table's "when". Refused: why, and what is allowed instead.
  std::string reason;
};

TransitionCheck validate_transition(ExecutionState from, ExecutionState to);
TransitionCheck validate_transition(NodeState from, NodeState to);

// Work still to do: resumed after a daemon restart (PENDING, RUNNING,
// PAUSED, RESUMED, RECOVERING).
bool is_unfinished(ExecutionState state);
// The node will not change again unless a rollback or re-run resets it.
bool is_settled(NodeState state);

// {execution_id, from_state, to_state, valid, reason}, keys in this order:
// the one log object per transition. `cause` replaces the table's reason for a valid one
// ("node b failed: 3 of 3 attempts failed").
nlohmann::ordered_json transition_log(std::string_view execution_id, ExecutionState from,
                                      ExecutionState to, std::string_view cause = {});
// The same with node_id after execution_id.
nlohmann::ordered_json transition_log(std::string_view execution_id, std::string_view node_id,
                                      NodeState from, NodeState to, std::string_view cause = {});

}  // namespace sup::dag
