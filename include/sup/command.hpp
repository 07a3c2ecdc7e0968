// Operator commands: the one vocabulary, and their results.
//
// Every command is defined once, in the table behind `commands()`: its name
// on the wire, what it acts on, whether it needs an operator's confirmation,
// whether repeating it is harmless, and its help text. The IPC method table
// (`command.<name>`), `supctl`'s subcommands, `Handle::execute` and the
// control loop all derive from it; adding a command touches that table and
// its handler in the control loop.
//
// Every command carries who asked and why; both are mandatory (non-blank),
// written to the audit log, and a repeated `command_id` returns the first
// result without acting again:
//
//   auto r = handle.remove_child("ingest", {"cmd-7f3a", "alice", "replacing spec"});
//   if (r.kind == sup::CommandResult::Rejected) std::cerr << r.reason;
//   const sup::CommandInfo& info = sup::command_info(sup::CommandKind::RemoveChild);
//   // info.name == "remove_child", info.needs_confirmation == true
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sup/child_spec.hpp"

namespace sup {

enum class CommandKind : std::uint8_t {
  AddChild,
  RemoveChild,
  RestartChild,
  PauseChild,
  ResumeChild,
  QuarantineChild,
  ReleaseChild,
  KillChild,
  ShutdownTree,
};

// What a command acts on, which decides the fields it needs.
enum class CommandSubject : std::uint8_t {
  Child,     // an existing child, by id
  NewChild,  // a child spec (and the supervisor to add it under)
  Tree,      // the whole tree: no target
};

struct CommandInfo {
  CommandKind kind;
  // Bare name as on the wire ("restart_child"): the seed's
  // RegistrationRequest.supported_commands[].name and the `command` param;
  // the IPC method is "command.<name>".
  std::string_view name;
  CommandSubject subject;
  // The operator must confirm (`confirmed: true` on the wire, y/N in
  // supctl): the seed's set (remove_child, add_child, shutdown_tree) plus
  // our own dangerous extensions.
  bool needs_confirmation;
  // Carrying it out twice (with different command_ids) leaves the tree as
  // once would. (A repeated command_id is always answered from the ledger.)
  bool idempotent;
  // In the seed protocol's vocabulary (docs/ipc.md); false for our extensions.
  bool seed;
  std::uint32_t timeout_seconds;  // how long a client should wait for the result
  std::string_view summary;       // one line, for help texts
  // The y/N question of a command that needs confirmation, "{}" standing
  // for the child's id; empty otherwise.
  std::string_view confirmation_question;
};

// Every command, in the order help texts list them.
std::span<const CommandInfo> commands();
const CommandInfo& command_info(CommandKind kind);
const CommandInfo* find_command(std::string_view name);  // by bare name; null if unknown
std::string_view to_string(CommandKind kind);            // the bare name

struct CommandMeta {
  std::string command_id;
  std::string requested_by;
  std::string reason;
};

// One command, as Handle::execute takes it.
struct CommandRequest {
  CommandKind kind = CommandKind::RestartChild;
  std::string target;  // the child's id (AddChild: the spec's id; ShutdownTree: empty)
  CommandMeta meta;
  std::optional<ChildSpec> spec;  // AddChild
  std::string parent = "root";    // AddChild: the supervisor to add under
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
