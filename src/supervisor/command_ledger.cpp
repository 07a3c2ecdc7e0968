#include "supervisor/command_ledger.hpp"

#include "json/json_writer.hpp"
#include "spec/child_spec_check.hpp"

namespace sup::core {

std::optional<CommandResult> CommandLedger::admit(const CommandMeta& meta) const {
  // The fields' rules of every entry; the target is the command's business.
  if (auto valid = spec::check_command_meta(meta, {}); !valid)
    return CommandResult::rejected(valid.error().describe());
  auto it = results_.find(meta.command_id);
  if (it == results_.end()) return std::nullopt;
  CommandResult replay = it->second;
  replay.idempotent = true;
  return replay;
}

std::string CommandLedger::record(const CommandMeta& meta, std::string_view command,
                                  std::string_view target, const CommandResult& result,
                                  std::int64_t at_unix_ms) {
  if (results_.emplace(meta.command_id, result).second) {
    order_.push_back(meta.command_id);
    if (order_.size() > capacity_) {
      results_.erase(order_.front());
      order_.pop_front();
    }
  }
  // Every field may quote outside input (reasons, ids): the one JSON writer
  // escapes it and replaces invalid UTF-8, so an audit line always parses.
  JsonWriter line;
  line.begin_object()
      .field("at_unix_ms", at_unix_ms)
      .field("command", command)
      .field("target", target)
      .field("command_id", meta.command_id)
      .field("requested_by", meta.requested_by)
      .field("reason", meta.reason)
      .field("result", to_string(result.kind));
  if (!result.reason.empty()) line.field("result_reason", result.reason);
  return line.end_object().take();
}

}  // namespace sup::core
