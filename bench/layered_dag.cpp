#include "layered_dag.hpp"

#include <nlohmann/json.hpp>

namespace sup::bench {

std::string layered_node_id(int index) {
  return "node-" + std::to_string(index);
}

std::vector<int> layered_deps(int index, int width) {
  const int layer = index / width;
  if (layer == 0) return {};
  const int previous = (layer - 1) * width;
  const int column = index % width;
  if (width == 1) return {previous};
  return {previous + column, previous + (column + 1) % width};
}

std::string layered_spec(int nodes, int width, bool rich) {
  return layered_spec(nodes, width, LayeredSpecOptions{.rich = rich});
}

std::string layered_spec(int nodes, int width, const LayeredSpecOptions& options) {
  static const char* kRisks[] = {"low", "medium", "high", "critical"};
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < nodes; ++i) {
    nlohmann::json deps = nlohmann::json::array();
    for (int dep : layered_deps(i, width)) deps.push_back(layered_node_id(dep));
    if (!options.rich) {
      list.push_back({{"id", layered_node_id(i)}, {"deps", deps}, {"run", {{"exec", {"true"}}}}});
      continue;
    }
    list.push_back({{"id", layered_node_id(i)},
                    {"deps", deps},
                    {"phase", "layer-" + std::to_string(i / width)},
                    {"risk", kRisks[i % 4]},
                    {"timeout_ms", 60'000},
                    {"retry", {{"max_attempts", 3}}},
                    {"run", {{"exec", {"/usr/bin/true", "--node", layered_node_id(i)}}}}});
  }
  return nlohmann::json{
      {"name", "layered"}, {"max_parallel", options.max_parallel}, {"nodes", list}}
      .dump();
}

}  // namespace sup::bench
