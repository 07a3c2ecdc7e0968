// The layered DAG the execution benchmarks share: `width` nodes per layer,
// each depending on two nodes of the layer before, as a spec (docs/dag.md)
// and as the same graph in other tools' terms.
//
//   std::string spec = sup::bench::layered_spec(10'000, 100);
#pragma once

#include <string>
#include <vector>

namespace sup::bench {

struct LayeredSpecOptions {
  // With the keys a real spec has (risk, phase, retry, timeout, a
  // three-string argv running /usr/bin/true); lean: id, deps and `true`.
  bool rich = true;
  int max_parallel = 64;
};

std::string layered_node_id(int index);

// The ids of node `index`'s dependencies (none in the first layer).
std::vector<int> layered_deps(int index, int width);

std::string layered_spec(int nodes, int width, bool rich = true);
std::string layered_spec(int nodes, int width, const LayeredSpecOptions& options);

}  // namespace sup::bench
