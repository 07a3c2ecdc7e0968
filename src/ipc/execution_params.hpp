// Validation of the params of the `executions.*` methods, strict like every
// method's (unknown keys refused with a hint, errors naming
// "params.<field>"). The DAG itself is validated once, by the execution
// service's parser; its errors come back as "params.spec.<path>".
//
//   auto parsed = sup::ipc::parse_execution_params(*request.method->execution, request.params,
//                                                   "sup@host");
//   if (auto* error = std::get_if<sup::ipc::ProtocolError>(&parsed)) return reply(*error);
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/request_params.hpp"
#include "sup/command.hpp"
#include "sup/execution_command.hpp"

namespace sup::ipc {

inline constexpr std::uint32_t kMaxExecutionListLimit = 100'000;
inline constexpr std::uint32_t kMaxExecutionLogLines = 10'000;

struct ExecutionParams {
  std::string execution_id;  // submit: optional (client-chosen); others but list: required
  std::string node_id;       // logs; retry: the node to re-run from
  CommandMeta meta;          // mutating ops
  std::string spec;          // submit: the DAG document, as JSON text
  nlohmann::json params = nlohmann::json::object();  // submit: overrides of the spec's params
  std::optional<std::string> state;                  // list: only executions in this state
  std::uint32_t limit = 0;                           // list: 0 = all
  std::uint32_t lines = 100;                         // logs
  bool enabled = false;                              // set_maintenance (required)
};

// Errors: invalid_command_params for mutating ops, invalid_request for
// queries.
ParamsResult<ExecutionParams> parse_execution_params(const ExecutionOpInfo& op,
                                                     const nlohmann::json& params,
                                                     std::string_view target_id);

}  // namespace sup::ipc
