#include "ipc/execution_params.hpp"

#include <vector>

#include "config/json_fields.hpp"
#include "dag/states.hpp"
#include "executions/execution_types.hpp"
#include "spec/child_spec_check.hpp"

namespace sup::ipc {
namespace {

using config::ErrorSlot;
using config::ObjectReader;
using config::Presence;
using enum ExecutionOp;

// The command fields every mutating op takes (as command.* does).
constexpr std::string_view kMetaKeys[] = {"command_id", "requested_by", "reason", "correlation_id",
                                          "requested_at_unix_nanos"};

std::vector<std::string_view> allowed_keys(ExecutionOp op, bool mutating) {
  std::vector<std::string_view> keys{"target_id"};
  if (mutating) keys.insert(keys.end(), std::begin(kMetaKeys), std::end(kMetaKeys));
  switch (op) {
    case Submit:
      keys.insert(keys.end(), {"spec", "params", "execution_id"});
      break;
    case List:
      keys.insert(keys.end(), {"state", "limit"});
      break;
    case Logs:
      keys.insert(keys.end(), {"execution_id", "node_id", "lines"});
      break;
    case Retry:
      keys.insert(keys.end(), {"execution_id", "node_id"});
      break;
    case SetMaintenance:
      keys.push_back("enabled");
      break;
    case ResumeAll:
    case Maintenance:
      break;
    case Get:
    case Pause:
    case Resume:
    case Cancel:
      keys.push_back("execution_id");
      break;
  }
  return keys;
}

void read_id(const ObjectReader& reader, std::string_view key, std::string& out,
             Presence presence) {
  reader.read(key, out, presence);
  if (presence == Presence::Required && reader.find(key) && out.empty())
    reader.fail(key, "must not be blank");
  if (out.size() > spec::kMaxIdBytes)
    reader.fail(key, "must be at most " + std::to_string(spec::kMaxIdBytes) + " bytes, got " +
                         std::to_string(out.size()));
}

void read_meta(const ObjectReader& reader, ErrorSlot& errors, CommandMeta& meta) {
  reader.read("command_id", meta.command_id, Presence::Required);
  reader.read("requested_by", meta.requested_by, Presence::Required);
  reader.read("reason", meta.reason, Presence::Required);
  if (const nlohmann::json* correlation = reader.find("correlation_id");
      correlation && !correlation->is_null() && !correlation->is_string())
    reader.fail("correlation_id", "must be a string or null");
  std::uint64_t requested_at = 0;
  reader.read("requested_at_unix_nanos", requested_at);
  if (!errors.ok()) return;
  // The limits of every entry (the runtime's Handle checks the same).
  if (Status valid = spec::check_command_meta(meta, {}); !valid)
    reader.fail(valid.error().field_path, valid.error().message);
}

void read_spec(const ObjectReader& reader, ErrorSlot& errors, ExecutionParams& out) {
  const nlohmann::json* spec = reader.find("spec");
  if (!errors.ok()) return;
  if (!spec) return reader.fail("spec", "missing required key");
  if (!spec->is_object())
    return reader.fail("spec", "must be the DAG as a JSON object (docs/dag.md), got " +
                                   std::string(config::json_type_name(*spec)));
  out.spec = spec->dump();
  if (const nlohmann::json* params = reader.find("params"); params && !params->is_null()) {
    if (!params->is_object())
      return reader.fail("params",
                         "must be an object, got " + std::string(config::json_type_name(*params)));
    out.params = *params;
  }
}

}  // namespace

ParamsResult<ExecutionParams> parse_execution_params(const ExecutionOpInfo& op,
                                                     const nlohmann::json& params,
                                                     std::string_view target_id) {
  ErrorSlot errors;
  ObjectReader reader(params, "params", errors);
  reader.allow_only(allowed_keys(op.op, op.mutating));
  std::string addressed;
  reader.read("target_id", addressed);
  if (!addressed.empty() && addressed != target_id)
    reader.fail("target_id", "addressed to \"" + addressed + "\", but this daemon is \"" +
                                 std::string(target_id) + "\"");

  ExecutionParams parsed;
  if (op.mutating) read_meta(reader, errors, parsed.meta);
  switch (op.op) {
    case Submit:
      read_id(reader, "execution_id", parsed.execution_id, Presence::Optional);
      read_spec(reader, errors, parsed);
      break;
    case List: {
      std::string state;
      reader.read("state", state);
      if (!state.empty()) {
        if (!dag::execution_state_from_string(state) && state != executions::kStuckListing)
          reader.fail("state", "unknown state \"" + state +
                                   "\"; expected one of PENDING RUNNING PAUSED RESUMED "
                                   "COMPLETED FAILED RECOVERING RECOVERED, or STUCK");
        parsed.state = std::move(state);
      }
      reader.read("limit", parsed.limit, config::Range<std::uint32_t>{0, kMaxExecutionListLimit});
      break;
    }
    case Logs:
      read_id(reader, "execution_id", parsed.execution_id, Presence::Required);
      read_id(reader, "node_id", parsed.node_id, Presence::Required);
      reader.read("lines", parsed.lines, config::Range<std::uint32_t>{0, kMaxExecutionLogLines});
      break;
    case Retry:
      read_id(reader, "execution_id", parsed.execution_id, Presence::Required);
      read_id(reader, "node_id", parsed.node_id, Presence::Required);
      break;
    case SetMaintenance:
      reader.read("enabled", parsed.enabled, Presence::Required);
      break;
    case ResumeAll:
    case Maintenance:
      break;
    case Get:
    case Pause:
    case Resume:
    case Cancel:
      read_id(reader, "execution_id", parsed.execution_id, Presence::Required);
      break;
  }
  if (!errors.ok()) {
    Error error = errors.take();
    return ProtocolError{op.mutating ? ErrorCode::InvalidCommandParams : ErrorCode::InvalidRequest,
                         error.message, error.field_path};
  }
  return parsed;
}

}  // namespace sup::ipc
