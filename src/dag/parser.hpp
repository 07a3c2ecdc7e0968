// Parse and validate a DAG spec (docs/dag.md): structure, names, limits,
// references, acyclicity. The first error found is returned, naming its
// field path ("nodes[3].deps[0]", "$" for the document); a cycle is named
// as its path ("a -> b -> c -> a", read "a depends on b ...").
//
//   auto spec = sup::dag::parse_dag(text, {.task_exists = registry_has});
//   if (!spec) return reply_error(spec.error());
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "dag/spec.hpp"
#include "sup/error.hpp"

namespace sup::dag {

// sup::Error::code of every spec error.
inline constexpr ErrorCode kSpecErrorCode = ErrorCode::InvalidArgument;

struct ParseOptions {
  // When set, a `run.task` or `compensate.task` must be a name it accepts
  // (the tasks registered through the C++ API). Unset: names are only
  // checked for their spelling.
  std::function<bool(std::string_view)> task_exists;
};

// The whole document: size and nesting limits, duplicate keys, then build_dag.
Expected<DagSpec> parse_dag(std::string_view text, const ParseOptions& options = {});

// A document already parsed (e.g. a spec nested in an IPC request, whose
// line parser bounds size and depth): everything but those two checks.
Expected<DagSpec> build_dag(const nlohmann::json& document, const ParseOptions& options = {});

}  // namespace sup::dag
