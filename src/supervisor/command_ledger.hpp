// Bookkeeping every operator command passes through: the mandatory
// `{command_id, requested_by, reason}` are checked (spec::check_command_meta), a repeated
// command_id gets its first result back (marked idempotent) instead of acting twice, and each
// decision becomes one audit line (JSON).
//
//   CommandLedger ledger(10'000);
//   if (auto earlier = ledger.admit(meta)) return *earlier;  // refusal or replay
//   CommandResult result = tree.remove_child(id, now);
//   audit_file << ledger.record(meta, "remove_child", id, result, now_unix_ms) << "\n";
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sup/command.hpp"

namespace sup::core {

class CommandLedger {
 public:
  explicit CommandLedger(std::size_t remembered_commands) : capacity_(remembered_commands) {}

  // A refusal (blank field) or the stored result of a repeated command_id;
  // nullopt when the command should be carried out.
  std::optional<CommandResult> admit(const CommandMeta& meta) const;

  // Remembers the result and returns the audit line for it.
  std::string record(const CommandMeta& meta, std::string_view command, std::string_view target,
                     const CommandResult& result, std::int64_t at_unix_ms);

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, CommandResult> results_;
  std::deque<std::string> order_;  // oldest first, for eviction
};

}  // namespace sup::core
