// A DAG execution spec as the engine uses it: parsed, validated, with
// dependencies resolved to node indices (docs/dag.md describes the JSON).
//
//   sup::Expected<sup::dag::DagSpec> spec = sup::dag::parse_dag(text);
//   for (std::uint32_t i : spec->topological_order) start_if_ready(spec->nodes[i]);
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dag/retry.hpp"
#include "dag/risk.hpp"

namespace sup::dag {

using NodeIndex = std::uint32_t;

// What a node (or its compensation) runs: a process, or a task registered
// through the C++ API.
struct Action {
  enum class Kind : std::uint8_t { Exec, Task };
  Kind kind = Kind::Exec;
  // Exec: the program and its arguments; with `shell`, exactly one element,
  // the script given to `/bin/sh -c`.
  std::vector<std::string> argv;
  bool shell = false;
  // Exec only: extra environment (names never start with SUP_) and the
  // working directory (empty: the daemon's).
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;
  // Task: the registered name.
  std::string task;
};

struct NodeSpec {
  std::string id;
  // Indices into DagSpec::nodes, in declaration order of the `deps` array.
  std::vector<NodeIndex> deps;
  // The nodes that list this one in their deps, in declaration order.
  std::vector<NodeIndex> dependents;
  std::string phase;
  std::string plan_unit;
  Action run;
  std::optional<Action> compensate;
  Risk risk = Risk::Medium;
  // The node's `retry` keys over its risk's defaults (retry.hpp).
  RetryPolicy retry;
  // 0: no timeout.
  std::uint32_t timeout_ms = 0;
  std::vector<std::string> artifacts;
  std::vector<std::string> uses;
};

struct DagSpec {
  std::string name;
  std::uint32_t max_parallel = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  // Always an object (empty when the spec has none).
  nlohmann::json params = nlohmann::json::object();
  std::vector<NodeSpec> nodes;
  // Every node after all its deps; ties in declaration order.
  std::vector<NodeIndex> topological_order;
  std::unordered_map<std::string, NodeIndex> index_by_id;

  std::optional<NodeIndex> find(std::string_view id) const {
    auto it = index_by_id.find(std::string(id));
    if (it == index_by_id.end()) return std::nullopt;
    return it->second;
  }
};

}  // namespace sup::dag
