// The vocabulary of dashboard-ipc.v1 as this daemon speaks it: error codes
// (with their stage and retryability), the method table, and the decoder
// that turns one request line into a Request or a protocol error.
// docs/ipc.md is the prose version of this file.
//
//   auto decoded = sup::ipc::decode_request(line);
//   if (auto* bad = std::get_if<sup::ipc::RequestError>(&decoded)) reply(*bad);
//   const auto& request = std::get<sup::ipc::Request>(decoded);
//   if (request.method->command) { ... }  // a command.* method
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/bounded_json.hpp"
#include "ipc/control_plane.hpp"
#include "sup/execution_command.hpp"

namespace sup::ipc {

inline constexpr std::string_view kProtocolVersion = "dashboard-ipc.v1";

enum class ErrorCode : std::uint8_t {
  InvalidJson,           // protocol_parse
  InvalidRequest,        // protocol_parse: envelope or query params malformed (field_path)
  LineTooLong,           // protocol_parse: the connection is closed after it
  UnsupportedMethod,     // dispatch
  InvalidCommandParams,  // validation (field_path)
  SessionRequired,       // session: a subscription with session_established: false
  ConfirmationRequired,  // validation_failed (the seed's): a dangerous command without confirmed:
                         // true
  PermissionDenied,      // authorization: SO_PEERCRED uid is neither root nor the daemon's
  RateLimited,           // admission, retryable
  TooManyClients,        // admission: pushed, then the connection is closed
  SlowConsumer,          // backpressure: pushed (best effort), then the connection is closed
  Timeout,               // dispatch, retryable: the runtime did not answer in time
  IdleTimeout,           // admission: a half-sent line or an idle connection; then closed
  Internal,              // dispatch
  NotFound,              // dispatch: an executions.* method named an unknown execution or node
};
std::string_view code_name(ErrorCode code);  // "invalid_json", ...
std::string_view stage_of(ErrorCode code);   // "protocol_parse", ...
bool is_retryable(ErrorCode code);

struct ProtocolError {
  ProtocolError() = default;
  ProtocolError(ErrorCode error_code, std::string text, std::string path = {})
      : code(error_code), message(std::move(text)), field_path(std::move(path)) {}

  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::string field_path;  // empty when the error is not about one field
};

enum class MethodKind : std::uint8_t {
  Hello,
  State,
  Health,
  EventsSubscribe,
  LogsTail,
  Command,
  Executions,  // executions.<op> (sup/execution_command.hpp)
};

// The queries, then one "command.<name>" per command of the vocabulary
// (sup/command.hpp), which is where a command's properties live.
struct MethodInfo {
  std::string name;  // "state", "command.restart_child", ...
  MethodKind kind;
  const CommandInfo* command = nullptr;        // kind Command only
  const ExecutionOpInfo* execution = nullptr;  // kind Executions only
};

std::span<const MethodInfo> methods();
const MethodInfo* find_method(std::string_view name);
const MethodInfo& method_of(CommandKind command);

struct Request {
  std::string request_id;
  const MethodInfo* method = nullptr;  // never null in a decoded request
  nlohmann::json params = nlohmann::json::object();
};

// A line that is not a valid request. `request_id` is the one it carried,
// when that much could be read (echoed in the error response; null otherwise).
struct RequestError {
  std::optional<std::string> request_id;
  ProtocolError error;
};

inline constexpr std::size_t kMaxRequestIdBytes = 256;
inline constexpr std::size_t kMaxJsonDepth = config::kMaxJsonDepth;  // the config's

// One line without its '\n'. Never throws; any input gives one of the two.
std::variant<Request, RequestError> decode_request(std::string_view line);

}  // namespace sup::ipc
