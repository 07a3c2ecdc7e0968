#include "ipc/protocol.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "config/bounded_json.hpp"
#include "config/json_fields.hpp"

namespace sup::ipc {
namespace {

struct ErrorCodeInfo {
  ErrorCode code;
  std::string_view name;
  std::string_view stage;
  bool retryable;
};

constexpr std::array<ErrorCodeInfo, 15> kErrorCodes{{
    {ErrorCode::InvalidJson, "invalid_json", "protocol_parse", false},
    {ErrorCode::InvalidRequest, "invalid_request", "protocol_parse", false},
    {ErrorCode::LineTooLong, "line_too_long", "protocol_parse", false},
    {ErrorCode::UnsupportedMethod, "unsupported_method", "protocol_parse", false},
    {ErrorCode::InvalidCommandParams, "invalid_command_params", "validation", false},
    {ErrorCode::SessionRequired, "session_required", "subscription", false},
    // The seed server's spelling of a dangerous command sent unconfirmed
    // (field_path params.confirmed tells it from other validation errors).
    {ErrorCode::ConfirmationRequired, "validation_failed", "command_validate", false},
    {ErrorCode::PermissionDenied, "permission_denied", "authorization", false},
    {ErrorCode::RateLimited, "rate_limited", "admission", true},
    {ErrorCode::TooManyClients, "too_many_clients", "admission", true},
    {ErrorCode::SlowConsumer, "slow_consumer", "backpressure", true},
    {ErrorCode::Timeout, "timeout", "dispatch", true},
    {ErrorCode::IdleTimeout, "idle_timeout", "admission", true},
    {ErrorCode::Internal, "internal", "dispatch", false},
    {ErrorCode::NotFound, "not_found", "dispatch", false},
}};

const ErrorCodeInfo& info_of(ErrorCode code) {
  return kErrorCodes[static_cast<std::size_t>(code)];
}

constexpr std::string_view kCommandMethodPrefix = "command.";
constexpr std::string_view kExecutionMethodPrefix = "executions.";

std::vector<MethodInfo> build_method_table() {
  std::vector<MethodInfo> table{
      {"hello", MethodKind::Hello},        {"state", MethodKind::State},
      {"health", MethodKind::Health},      {"events.subscribe", MethodKind::EventsSubscribe},
      {"logs.tail", MethodKind::LogsTail},
  };
  for (const CommandInfo& command : commands())
    table.push_back({std::string(kCommandMethodPrefix) + std::string(command.name),
                     MethodKind::Command, &command});
  for (const ExecutionOpInfo& op : execution_ops())
    table.push_back({std::string(kExecutionMethodPrefix) + std::string(op.name),
                     MethodKind::Executions, nullptr, &op});
  return table;
}

const std::vector<MethodInfo>& method_table() {
  static const std::vector<MethodInfo> table = build_method_table();
  return table;
}

RequestError request_error(std::optional<std::string> request_id, ErrorCode code,
                           std::string message, std::string field_path = {}) {
  return {std::move(request_id), {code, std::move(message), std::move(field_path)}};
}

}  // namespace

std::string_view code_name(ErrorCode code) {
  return info_of(code).name;
}
std::string_view stage_of(ErrorCode code) {
  return info_of(code).stage;
}
bool is_retryable(ErrorCode code) {
  return info_of(code).retryable;
}

std::span<const MethodInfo> methods() {
  return method_table();
}

const MethodInfo* find_method(std::string_view name) {
  const auto& table = method_table();
  auto it = std::find_if(table.begin(), table.end(),
                         [name](const MethodInfo& m) { return m.name == name; });
  return it == table.end() ? nullptr : &*it;
}

const MethodInfo& method_of(CommandKind command) {
  const auto& table = method_table();
  return *std::find_if(table.begin(), table.end(), [command](const MethodInfo& m) {
    return m.command && m.command->kind == command;
  });
}

std::variant<Request, RequestError> decode_request(std::string_view line) {
  // The config's parse: depth bounded while parsing, duplicate keys refused.
  auto parsed = config::parse_bounded_json(line, {.max_depth = kMaxJsonDepth});
  if (!parsed)
    return request_error(std::nullopt, ErrorCode::InvalidJson, parsed.error().message,
                         parsed.error().field_path);
  nlohmann::json& document = *parsed;
  if (!document.is_object())
    return request_error(
        std::nullopt, ErrorCode::InvalidRequest,
        "a request must be a JSON object, got " + std::string(config::json_type_name(document)));

  Request request;
  auto id = document.find("request_id");
  if (id == document.end())
    return request_error(std::nullopt, ErrorCode::InvalidRequest, "missing required key",
                         "request_id");
  if (!id->is_string())
    return request_error(std::nullopt, ErrorCode::InvalidRequest,
                         "must be a string, got " + std::string(config::json_type_name(*id)),
                         "request_id");
  request.request_id = id->get<std::string>();
  if (request.request_id.empty() || request.request_id.size() > kMaxRequestIdBytes)
    return request_error(std::nullopt, ErrorCode::InvalidRequest,
                         "must be 1 to " + std::to_string(kMaxRequestIdBytes) + " bytes",
                         "request_id");

  auto method = document.find("method");
  if (method == document.end())
    return request_error(request.request_id, ErrorCode::InvalidRequest, "missing required key",
                         "method");
  if (!method->is_string())
    return request_error(request.request_id, ErrorCode::InvalidRequest,
                         "must be a string, got " + std::string(config::json_type_name(*method)),
                         "method");
  const auto& method_name = method->get_ref<const std::string&>();
  request.method = find_method(method_name);
  if (!request.method)
    return request_error(request.request_id, ErrorCode::UnsupportedMethod,
                         "unsupported method \"" + method_name + "\"", "method");

  auto params = document.find("params");
  if (params != document.end() && !params->is_null()) {
    if (!params->is_object())
      return request_error(request.request_id, ErrorCode::InvalidRequest,
                           "must be an object, got " + std::string(config::json_type_name(*params)),
                           "params");
    request.params = std::move(*params);
  }
  return request;
}

}  // namespace sup::ipc
