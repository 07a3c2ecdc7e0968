// Operator commands and their results.
//
// Every command carries who asked and why; both are mandatory (non-blank),
// written to the audit log, and a repeated `command_id` returns the first
// result without acting again:
//
//   auto r = handle.remove_child("ingest", {"cmd-7f3a", "alice", "replacing spec"});
//   if (r.kind == sup::CommandResult::Rejected) std::cerr << r.reason;
#pragma once

#include <string>
#include <string_view>

namespace sup {

struct CommandMeta {
  std::string command_id;
  std::string requested_by;
  std::string reason;
};

struct CommandResult {
  enum Kind : unsigned char { Accepted, NotFound, Rejected };
  Kind kind = Accepted;
  std::string reason;       // why, for Rejected (and NotFound)
  bool idempotent = false;  // true when this is the stored result of a repeated command_id

  static CommandResult accepted() { return {Accepted, {}, false}; }
  static CommandResult not_found(std::string why) { return {NotFound, std::move(why), false}; }
  static CommandResult rejected(std::string why) { return {Rejected, std::move(why), false}; }
};

// "CommandResult::Accepted", "CommandResult::NotFound", "CommandResult::Rejected".
std::string_view to_string(CommandResult::Kind kind);

}  // namespace sup
