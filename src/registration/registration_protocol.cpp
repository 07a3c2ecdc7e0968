#include "registration/registration_protocol.hpp"

#include <nlohmann/json.hpp>

#include "config/bounded_json.hpp"
#include "json/json_writer.hpp"
#include "sup/command.hpp"

namespace sup::registration {
namespace {

// An ack is a flat object with one nested error object.
constexpr std::size_t kAckDepth = 4;

Error not_an_ack(std::string message, std::string field_path) {
  return make_error(ErrorCode::InvalidArgument, "registration ack: " + std::move(message),
                    std::move(field_path));
}

// Reads an optional string member; false (and `error` set) on a wrong type.
bool read_string(const nlohmann::json& object, const char* key, const std::string& path,
                 std::string& out, Error& error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) {
    error = not_an_ack("must be a string", path.empty() ? key : path + "." + key);
    return false;
  }
  out = it->get<std::string>();
  return true;
}

}  // namespace

Request make_request(std::string target_id, std::string display_name, std::string ipc_path,
                     std::uint32_t lease_seconds) {
  Request request{
      std::move(target_id), std::move(display_name), std::move(ipc_path), lease_seconds, {}};
  for (const CommandInfo& command : commands())
    if (command.seed)
      request.supported_commands.push_back(
          {command.name, command.idempotent, command.timeout_seconds});
  return request;
}

void write_request_fields(JsonWriter& w, const Request& request) {
  w.field("target_id", request.target_id)
      .field("display_name", request.display_name)
      .field("ipc_path", request.ipc_path)
      .field("lease_seconds", request.lease_seconds);
  w.key("supported_commands").begin_array();
  for (const SupportedCommand& command : request.supported_commands)
    w.begin_object()
        .field("name", command.name)
        .field("idempotent", command.idempotent)
        .field("timeout_seconds", command.timeout_seconds)
        .end_object();
  w.end_array();
}

std::string encode_request(const Request& request) {
  JsonWriter w;
  w.begin_object();
  write_request_fields(w, request);
  w.end_object();
  return w.take_line();
}

Expected<Ack> decode_ack(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.size() > kMaxAckBytes)
    return not_an_ack("longer than " + std::to_string(kMaxAckBytes) + " bytes", "");
  auto document = config::parse_bounded_json(line, {.max_depth = kAckDepth});
  if (!document) return not_an_ack(document.error().message, document.error().field_path);
  if (!document->is_object()) return not_an_ack("must be a JSON object", "");

  const nlohmann::json& object = *document;
  Ack ack;
  auto ok = object.find("ok");
  if (ok == object.end() || !ok->is_boolean()) return not_an_ack("must be true or false", "ok");
  ack.ok = ok->get<bool>();
  if (auto retryable = object.find("retryable"); retryable != object.end()) {
    if (!retryable->is_boolean()) return not_an_ack("must be true or false", "retryable");
    ack.retryable = retryable->get<bool>();
  }
  Error error;
  if (!read_string(object, "target_id", "", ack.target_id, error) ||
      !read_string(object, "status", "", ack.status, error))
    return error;
  if (auto nested = object.find("error"); nested != object.end() && !nested->is_null()) {
    if (!nested->is_object()) return not_an_ack("must be an object", "error");
    if (!read_string(*nested, "code", "error", ack.error_code, error) ||
        !read_string(*nested, "message", "error", ack.error_message, error))
      return error;
  }
  return ack;
}

}  // namespace sup::registration
