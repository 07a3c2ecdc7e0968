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
constexpr std::string_view kSubscribeKeys[] = {"target_id", "after_sequence"};
constexpr std::string_view kTailKeys[] = {"target_id", "child_id", "lines", "follow"};
constexpr std::string_view kCommandKeys[] = {
    "command_id", "target_id",    "command",   "target",
    "reason",     "requested_by", "confirmed", "requested_at_unix_nanos"};
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
  bool names_child = info.subject == CommandSubject::Child;
  read_bounded(reader, "target", command.target, spec::kMaxIdBytes,
               names_child ? Presence::Required : Presence::Optional);
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
