#include "dag/states.hpp"

#include <array>

namespace sup::dag {
namespace {

#define SUP_DAG_NAME(name, text) text,
constexpr std::array kExecutionStateNames = {SUP_DAG_EXECUTION_STATES(SUP_DAG_NAME)};
constexpr std::array kNodeStateNames = {SUP_DAG_NODE_STATES(SUP_DAG_NAME)};
#undef SUP_DAG_NAME

using E = ExecutionState;
constexpr Transition<ExecutionState> kExecutionTransitions[] = {
    {E::Pending, E::Running, "started"},
    {E::Pending, E::Paused, "paused before it started"},
    {E::Pending, E::Failed, "cancelled or refused before it started"},
    {E::Running, E::Paused, "paused: running nodes finish, nothing new starts"},
    {E::Running, E::Completed, "every node completed"},
    {E::Running, E::Failed, "a node failed for good, or cancelled"},
    {E::Paused, E::Resumed, "resumed"},
    {E::Paused, E::Failed, "cancelled while paused"},
    {E::Paused, E::Recovering, "rollback of a paused execution"},
    {E::Resumed, E::Paused, "paused again"},
    {E::Resumed, E::Completed, "every node completed"},
    {E::Resumed, E::Failed, "a node failed for good, or cancelled"},
    {E::Completed, E::Recovering, "rollback of a completed execution"},
    {E::Completed, E::Running, "retry --from: a node and its descendants run again"},
    {E::Failed, E::Recovering, "rollback after a failure"},
    {E::Failed, E::Running, "retry --from: a node and its descendants run again"},
    {E::Recovering, E::Recovered, "compensations ran and artifacts were restored"},
    {E::Recovering, E::Failed, "the rollback failed"},
    {E::Recovered, E::Running, "re-run of the rolled-back nodes"},
    {E::Recovered, E::Recovering, "a further rollback"},
};

using N = NodeState;
constexpr Transition<NodeState> kNodeTransitions[] = {
    {N::Pending, N::Ready, "every dep completed"},
    {N::Pending, N::Skipped, "a dep failed or was skipped"},
    {N::Pending, N::Cancelled, "execution cancelled"},
    {N::Ready, N::Running, "attempt started"},
    {N::Ready, N::Cancelled, "execution cancelled"},
    {N::Running, N::Completed, "attempt succeeded"},
    {N::Running, N::RetryWait, "attempt failed; retry after backoff"},
    {N::Running, N::Failed, "attempt failed; no retry left or not retryable"},
    {N::Running, N::Cancelled, "execution cancelled; attempt stopped"},
    {N::Running, N::Ready, "interrupted by a daemon restart; runs again as the next attempt"},
    {N::RetryWait, N::Ready, "backoff elapsed"},
    {N::RetryWait, N::Cancelled, "execution cancelled"},
    {N::Completed, N::Compensating, "rollback runs its compensation"},
    {N::Completed, N::Pending, "reset by retry --from: runs again"},
    {N::Completed, N::Compensated, "rollback: nothing to compensate"},
    {N::Compensating, N::Compensated, "compensation succeeded"},
    {N::Compensating, N::CompensationFailed, "compensation failed"},
    {N::CompensationFailed, N::Compensating, "compensation retried"},
    {N::Compensated, N::Pending, "reset for a re-run after rollback"},
    {N::Failed, N::Pending, "reset for a re-run (rollback or retry --from)"},
    {N::Skipped, N::Pending, "reset for a re-run (rollback or retry --from)"},
    {N::Cancelled, N::Pending, "reset for a re-run (rollback or retry --from)"},
};

template <class State>
TransitionCheck check(std::span<const Transition<State>> table, State from, State to) {
  for (const auto& transition : table)
    if (transition.from == from && transition.to == to) return {true, std::string(transition.when)};
  if (from == to) return {false, "already " + std::string(to_string(from))};
  std::string reason = std::string(to_string(from)) + " -> " + std::string(to_string(to)) +
                       " is not allowed; from " + std::string(to_string(from)) + ": ";
  bool any = false;
  for (const auto& transition : table) {
    if (transition.from != from) continue;
    if (any) reason += ", ";
    reason += to_string(transition.to);
    any = true;
  }
  if (!any) reason += "none";
  return {false, std::move(reason)};
}

template <class Names>
std::string_view name_of(const Names& names, std::size_t index) {
  return index < names.size() ? std::string_view(names[index]) : std::string_view("UNKNOWN");
}

template <class State, class Names>
std::optional<State> state_of(const Names& names, std::string_view text) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<State>(i);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ExecutionState state) {
  return name_of(kExecutionStateNames, static_cast<std::size_t>(state));
}
std::string_view to_string(NodeState state) {
  return name_of(kNodeStateNames, static_cast<std::size_t>(state));
}
std::optional<ExecutionState> execution_state_from_string(std::string_view text) {
  return state_of<ExecutionState>(kExecutionStateNames, text);
}
std::optional<NodeState> node_state_from_string(std::string_view text) {
  return state_of<NodeState>(kNodeStateNames, text);
}

std::span<const Transition<ExecutionState>> execution_transitions() {
  return kExecutionTransitions;
}
std::span<const Transition<NodeState>> node_transitions() {
  return kNodeTransitions;
}

TransitionCheck validate_transition(ExecutionState from, ExecutionState to) {
  return check(execution_transitions(), from, to);
}
TransitionCheck validate_transition(NodeState from, NodeState to) {
  return check(node_transitions(), from, to);
}

bool is_unfinished(ExecutionState state) {
  switch (state) {
    case E::Pending:
    case E::Running:
    case E::Paused:
    case E::Resumed:
    case E::Recovering:
      return true;
    case E::Completed:
    case E::Failed:
    case E::Recovered:
      return false;
  }
  return false;
}

bool is_settled(NodeState state) {
  switch (state) {
    case N::Completed:
    case N::Failed:
    case N::Skipped:
    case N::Cancelled:
    case N::Compensated:
    case N::CompensationFailed:
      return true;
    case N::Pending:
    case N::Ready:
    case N::Running:
    case N::RetryWait:
    case N::Compensating:
      return false;
  }
  return false;
}

namespace {

template <class State>
nlohmann::ordered_json log_object(nlohmann::ordered_json object, State from, State to,
                                  std::string_view cause) {
  TransitionCheck checked = validate_transition(from, to);
  object["from_state"] = to_string(from);
  object["to_state"] = to_string(to);
  object["valid"] = checked.valid;
  object["reason"] = checked.valid && !cause.empty() ? std::string(cause) : checked.reason;
  return object;
}

}  // namespace

nlohmann::ordered_json transition_log(std::string_view execution_id, ExecutionState from,
                                      ExecutionState to, std::string_view cause) {
  return log_object(nlohmann::ordered_json{{"execution_id", execution_id}}, from, to, cause);
}

nlohmann::ordered_json transition_log(std::string_view execution_id, std::string_view node_id,
                                      NodeState from, NodeState to, std::string_view cause) {
  return log_object(nlohmann::ordered_json{{"execution_id", execution_id}, {"node_id", node_id}},
                    from, to, cause);
}

}  // namespace sup::dag
