#include "ipc/request_params.hpp"

#include <vector>

#include "config/child_spec_parser.hpp"
#include "config/json_fields.hpp"

namespace sup::ipc {
namespace {

using config::ErrorSlot;
using config::ObjectReader;
using config::Presence;

constexpr std::string_view kParamsPath = "params";

constexpr std::string_view kQueryKeys[] = {"target_id"};
constexpr std::string_view kSubscribeKeys[] = {"target_id", "session_established",
                                               "after_sequence"};
constexpr std::string_view kTailKeys[] = {"target_id", "session_established", "child_id", "lines",
                                          "follow"};
constexpr std::string_view kCommandKeys[] = {
    "command_id",   "correlation_id", "target_id",
    "command",      "target",         "reason",
    "requested_by", "confirmed",      "requested_at_unix_nanos"};
// The seed's command target: {child_path} (the UI may add child_id; the
// seed server takes child_manifest for add_child).
constexpr std::string_view kTargetKeys[] = {"child_path", "child_id", "child_manifest"};
constexpr std::string_view kAddChildExtraKeys[] = {"spec", "parent"};

std::vector<std::string_view> command_keys(CommandSubject subject) {
  std::vector<std::string_view> keys(std::begin(kCommandKeys), std::end(kCommandKeys));
  if (subject == CommandSubject::NewChild)
    keys.insert(keys.end(), std::begin(kAddChildExtraKeys), std::end(kAddChildExtraKeys));
  return keys;
}

ProtocolError to_protocol_error(const Error& error, ErrorCode code) {
  return {code, error.message, error.field_path};
}

void check_addressee(const ObjectReader& reader, std::string_view target_id) {
  std::string addressed;
  reader.read("target_id", addressed);
  if (!addressed.empty() && addressed != target_id)
    reader.fail("target_id", "addressed to \"" + addressed + "\", but this daemon is \"" +
                                 std::string(target_id) + "\"");
}

void read_bounded(const ObjectReader& reader, std::string_view key, std::string& out,
                  std::size_t max_bytes, Presence presence) {
  reader.read(key, out, presence);
  if (out.size() > max_bytes)
    reader.fail(key, "must be at most " + std::to_string(max_bytes) + " bytes, got " +
                         std::to_string(out.size()));
}

// The optional `command` key repeats the method, as seed clients send it:
// "command.restart_child" or "restart_child".
void check_command_name(const ObjectReader& reader, const MethodInfo& method) {
  std::string command;
  reader.read("command", command);
  if (command.empty()) return;
  if (command != method.name && command != method.command->name)
    reader.fail("command",
                "\"" + command + "\" does not match method \"" + std::string(method.name) + "\"");
}

// The seed's subscriptions say that the relay's session is established;
// an explicit false is refused as the seed refuses it. (Ours may leave it out.)
std::optional<ProtocolError> check_session(const nlohmann::json& params) {
  auto it = params.find("session_established");
  if (it == params.end() || (it->is_boolean() && it->get<bool>())) return std::nullopt;
  if (!it->is_boolean())
    return ProtocolError{ErrorCode::InvalidRequest,
                         "must be a boolean, got " + std::string(config::json_type_name(*it)),
                         "params.session_established"};
  return ProtocolError{ErrorCode::SessionRequired,
                       "a subscription needs an established session (session_established: true)",
                       "params.session_established"};
}

// The last segment of a child path ("root/workers/ingest" -> "ingest"):
// child ids are unique in the tree.
std::string_view id_of_path(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// `target` is the seed's {child_path} object, or (ours) the child id as a string.
void read_target(const ObjectReader& reader, Command& command, ErrorSlot& errors, bool required) {
  const nlohmann::json* node = reader.find("target");
  if (!errors.ok()) return;
  if (!node || node->is_null()) {
    if (required) reader.fail("target", "missing required key");
    return;
  }
  if (node->is_string()) {
    command.target = node->get<std::string>();
    if (required && command.target.empty()) reader.fail("target", "must not be blank");
    return;
  }
  if (!node->is_object())
    return reader.fail("target", "must be an object {child_path} or a child id, got " +
                                     std::string(config::json_type_name(*node)));
  ObjectReader target(*node, reader.field_path("target"), errors);
  target.allow_only(kTargetKeys);
  std::string id;
  for (std::string_view key : {"child_path", "child_id"}) {
    auto it = node->find(key);
    if (it == node->end() || it->is_null()) continue;
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return target.fail(key, "must be a non-empty string");
    std::string named(key == "child_path" ? id_of_path(it->get_ref<const std::string&>())
                                          : std::string_view(it->get_ref<const std::string&>()));
    if (!id.empty() && named != id)
      return target.fail(key, "names \"" + named + "\", but child_path names \"" + id + "\"");
    id = std::move(named);
  }
  if (required && id.empty()) return reader.fail("target", "needs child_path");
  command.target = std::move(id);
}

void read_added_child(const ObjectReader& reader, Command& command, ErrorSlot& errors) {
  read_bounded(reader, "parent", command.parent, spec::kMaxIdBytes, Presence::Optional);
  const nlohmann::json* spec_node = reader.find("spec");
  if (!errors.ok()) return;
  if (!spec_node) return reader.fail("spec", "missing required key");
  auto spec = config::parse_child_spec(*spec_node, reader.field_path("spec"));
  if (!spec) return errors.fail(spec.error().field_path, spec.error().message);
  if (!command.target.empty() && command.target != spec->id)
    return reader.fail(
        "target", "\"" + command.target + "\" differs from params.spec.id \"" + spec->id + "\"");
  command.target = spec->id;
  command.spec = std::move(*spec);
}

}  // namespace

ParamsResult<std::monostate> parse_query_params(const nlohmann::json& params,
                                                std::string_view target_id) {
  ErrorSlot errors;
  ObjectReader reader(params, std::string(kParamsPath), errors);
  reader.allow_only(kQueryKeys);
  check_addressee(reader, target_id);
  if (!errors.ok()) return to_protocol_error(errors.take(), ErrorCode::InvalidRequest);
  return std::monostate{};
}

ParamsResult<SubscribeParams> parse_subscribe_params(const nlohmann::json& params,
                                                     std::string_view target_id) {
  ErrorSlot errors;
  ObjectReader reader(params, std::string(kParamsPath), errors);
  reader.allow_only(kSubscribeKeys);
  check_addressee(reader, target_id);
  if (errors.ok())
    if (auto refusal = check_session(params)) return *refusal;
  SubscribeParams parsed;
  if (reader.find("after_sequence")) {
    std::uint64_t after = 0;
    reader.read("after_sequence", after);
    parsed.after_sequence = after;
  }
  if (!errors.ok()) return to_protocol_error(errors.take(), ErrorCode::InvalidRequest);
  return parsed;
}

ParamsResult<TailParams> parse_tail_params(const nlohmann::json& params,
                                           std::string_view target_id) {
  ErrorSlot errors;
  ObjectReader reader(params, std::string(kParamsPath), errors);
  reader.allow_only(kTailKeys);
  check_addressee(reader, target_id);
  if (errors.ok())
    if (auto refusal = check_session(params)) return *refusal;
  TailParams parsed;
  std::string child_id;
  reader.read("child_id", child_id);
  if (!child_id.empty()) parsed.child_id = std::move(child_id);
  reader.read("lines", parsed.lines, config::Range<std::uint32_t>{0, kMaxTailLines});
  reader.read("follow", parsed.follow);
  if (!errors.ok()) return to_protocol_error(errors.take(), ErrorCode::InvalidRequest);
  return parsed;
}

ParamsResult<Command> parse_command_params(const MethodInfo& method, const nlohmann::json& params,
                                           std::string_view target_id) {
  ErrorSlot errors;
  ObjectReader reader(params, std::string(kParamsPath), errors);
  const CommandInfo& info = *method.command;
  bool adds_child = info.subject == CommandSubject::NewChild;
  reader.allow_only(command_keys(info.subject));
  check_addressee(reader, target_id);
  check_command_name(reader, method);

  Command command;
  command.kind = info.kind;
  read_bounded(reader, "command_id", command.meta.command_id, kMaxCommandIdBytes,
               Presence::Required);
  read_bounded(reader, "requested_by", command.meta.requested_by, kMaxRequestedByBytes,
               Presence::Required);
  read_bounded(reader, "reason", command.meta.reason, kMaxReasonBytes, Presence::Required);
  read_target(reader, command, errors, info.subject == CommandSubject::Child);
  if (const nlohmann::json* correlation = reader.find("correlation_id");
      correlation && !correlation->is_null() && !correlation->is_string())
    reader.fail("correlation_id", "must be a string or null");
  if (command.target.size() > spec::kMaxIdBytes)
    reader.fail("target", "must be at most " + std::to_string(spec::kMaxIdBytes) + " bytes, got " +
                              std::to_string(command.target.size()));
  std::uint64_t requested_at = 0;
  reader.read("requested_at_unix_nanos", requested_at);
  bool confirmed = false;
  reader.read("confirmed", confirmed);
  if (adds_child) read_added_child(reader, command, errors);
  if (info.subject == CommandSubject::Tree) command.target.clear();

  if (!errors.ok()) return to_protocol_error(errors.take(), ErrorCode::InvalidCommandParams);
  if (info.needs_confirmation && !confirmed)
    return ProtocolError{
        ErrorCode::ConfirmationRequired,
        std::string(method.name) + " is dangerous: resend it with \"confirmed\": true",
        "params.confirmed"};
  return command;
}

}  // namespace sup::ipc
