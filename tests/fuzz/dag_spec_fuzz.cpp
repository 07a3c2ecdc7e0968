// libFuzzer target: one document through the DAG spec parser and validator.
// Whatever the input, the answer is a spec whose references are consistent,
// or an error with the spec error code and a field path.
// Build and run: see docs/dag.md, "Fuzzing".
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dag/parser.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = sup::dag::parse_dag(text);
  if (!spec) {
    require(spec.error().code == sup::dag::kSpecErrorCode);
    require(!spec.error().field_path.empty());
    require(!spec.error().message.empty());
    return 0;
  }
  require(!spec->nodes.empty());
  require(spec->topological_order.size() == spec->nodes.size());
  for (std::size_t i = 0; i < spec->nodes.size(); ++i) {
    require(spec->find(spec->nodes[i].id) == i);
    for (auto dep : spec->nodes[i].deps) require(dep < spec->nodes.size() && dep != i);
  }
  return 0;
}
