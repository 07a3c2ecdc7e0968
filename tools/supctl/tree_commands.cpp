#include "supctl/tree_commands.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "supctl/confirm.hpp"
#include "supctl/identity.hpp"
#include "supctl/reconnect_backoff.hpp"
#include "supctl/report_format.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

constexpr std::string_view kRelayId = "relay";

// The subcommand of a command: its name without "_child", '_' as '-'
// ("restart_child" -> "restart", "shutdown_tree" -> "shutdown-tree").
std::string subcommand_name(std::string_view command) {
  constexpr std::string_view kChildSuffix = "_child";
  if (command.ends_with(kChildSuffix)) command.remove_suffix(kChildSuffix.size());
  std::string name(command);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

TreeCommand tree_command(const CommandInfo& info) {
  return {subcommand_name(info.name), "command." + std::string(info.name), &info};
}

std::vector<TreeCommand> build_tree_commands() {
  std::vector<TreeCommand> out;
  for (const CommandInfo& info : commands())
    if (info.subject != CommandSubject::NewChild) out.push_back(tree_command(info));
  return out;
}

std::string with_target(std::string_view text, const std::string& target) {
  std::string out;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text.compare(at, 2, "{}") == 0) {
      out += target;
      ++at;
    } else {
      out += text[at];
    }
  }
  return out;
}

std::string subject(const TreeCommand& command, const std::string& target) {
  return target.empty() ? std::string(command.name) : std::string(command.name) + " " + target;
}

std::optional<std::uint64_t> relay_generation(const json& state_result) {
  for (const wire::ChildRecord& child : parse_state(state_result).child_runtime_records)
    if (child.id == kRelayId) return child.generation;
  return std::nullopt;
}

// After `kill relay` dropped the connection: the relay is back once the
// socket answers again.
ExitCode await_relay(CommandContext& context, const std::string& command_id,
                     std::optional<std::uint64_t> generation_before,
                     steady_clock::time_point sent) {
  context.note(
      "the connection dropped before the answer, as it does when the relay serving it "
      "is killed; waiting for the relay to come back...");
  const Deadline deadline = context.deadline();
  ReconnectBackoff backoff;
  while (steady_clock::now() < deadline) {
    std::this_thread::sleep_until(std::min(deadline, steady_clock::now() + backoff.next()));
    auto client = context.dial(deadline);
    if (!client) continue;
    auto reply = client->call("state", json::object(), deadline);
    if (!reply || !reply->ok) continue;
    const auto recovered_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - sent).count();
    const auto generation = relay_generation(reply->body);
    if (context.options().json) {
      context.print_json({{"type", "relay_recovered"},
                          {"command_id", command_id},
                          {"recovered_after_ms", recovered_ms},
                          {"relay_generation", generation ? json(*generation) : json()}});
      return ExitCode::Ok;
    }
    std::string line = "relay is back after " + std::to_string(recovered_ms) + " ms";
    if (generation && generation_before)
      line += " (generation " + std::to_string(*generation_before) + " -> " +
              std::to_string(*generation) + ")";
    context.print(line + "; dashboards reconnect by themselves (command_id " + command_id + ")");
    return ExitCode::Ok;
  }
  return context.fail(ExitCode::Unreachable,
                      "the relay did not come back within " +
                          std::to_string(context.options().timeout.count()) +
                          " ms: see `journalctl -u supervisor -n 50` (runbook P1-003)");
}

ExitCode send_command(CommandContext& context, const TreeCommand& command,
                      const std::string& target, json extra_params) {
  const GlobalOptions& options = context.options();
  bool confirmed = options.yes;
  if (command.info->needs_confirmation) {
    switch (confirm(with_target(command.info->confirmation_question, target), options.yes,
                    context.io().in_is_terminal, context.io().in, context.io().err)) {
      case Confirmation::Confirmed:
        confirmed = true;
        break;
      case Confirmation::Declined:
        return context.fail(ExitCode::NotDone, "not confirmed; nothing was done");
      case Confirmation::NeedsFlag:
        return context.fail(ExitCode::Usage, "refusing to " + subject(command, target) +
                                                 " without confirmation: stdin is not a "
                                                 "terminal, so pass --yes");
    }
  }

  auto client = context.connect();
  if (!client) return context.failure();

  const bool killing_relay = command.info->kind == CommandKind::KillChild && target == kRelayId;
  std::optional<std::uint64_t> generation_before;
  if (killing_relay) {
    auto state = context.ask(*client, "state", json::object(), "state");
    if (!state) return context.failure();
    generation_before = relay_generation(*state);
  }

  const std::string command_id =
      options.command_id.empty() ? random_command_id() : options.command_id;
  json params = std::move(extra_params);
  params["command_id"] = command_id;
  params["command"] = command.info->name;
  if (!target.empty()) params["target"] = target;
  params["reason"] = options.reason.empty()
                         ? "no reason given (supctl " + subject(command, target) + ")"
                         : options.reason;
  params["requested_by"] = options.requested_by;
  params["confirmed"] = confirmed;
  params["requested_at_unix_nanos"] = unix_now_nanos();

  const auto sent = steady_clock::now();
  auto reply = client->call(command.method, params, context.deadline());
  if (!reply) {
    if (killing_relay && reply.error().code == link_error::kDisconnected)
      return await_relay(context, command_id, generation_before, sent);
    context.report_link_failure(reply.error(), command.method);
    context.note("the command may or may not have been applied; retrying with --command-id " +
                 command_id + " is safe: the supervisor acts on a command_id once");
    return context.failure();
  }
  if (!reply->ok) return context.report_refusal(*reply, command.method);

  const wire::CommandResult result = parse_command_result(reply->body);
  if (options.json) {
    context.print_json(reply->body);
  } else {
    context.print(command_outcome(command.name, target, result));
  }
  return result.accepted ? ExitCode::Ok : ExitCode::NotDone;
}

// The spec's text from --spec or --spec-file; nullopt after a usage error.
std::optional<std::string> spec_text(CommandContext& context, const AddOptions& options) {
  if (!options.spec.empty()) return options.spec;
  if (options.spec_file == "-")
    return std::string(std::istreambuf_iterator<char>(context.io().in), {});
  std::ifstream file(options.spec_file, std::ios::binary);
  if (!file) {
    context.fail(ExitCode::Usage, "cannot read --spec-file " + options.spec_file);
    return std::nullopt;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

std::span<const TreeCommand> tree_commands() {
  static const std::vector<TreeCommand> table = build_tree_commands();
  return table;
}

ExitCode run_tree_command(CommandContext& context, const TreeCommand& command,
                          const std::string& child) {
  return send_command(context, command, child, json::object());
}

ExitCode add_child(CommandContext& context, const AddOptions& options) {
  auto text = spec_text(context, options);
  if (!text) return context.failure();
  // Comments are allowed, as in the config file a spec is often copied from.
  json spec;
  try {
    spec = json::parse(*text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& error) {
    return context.fail(ExitCode::Usage,
                        std::string("the child spec is not valid JSON: ") + error.what());
  }
  if (!spec.is_object())
    return context.fail(ExitCode::Usage,
                        "the child spec must be a JSON object, like a child of "
                        "\"children\" in the config (docs/config.md)");
  const auto id = spec.find("id");
  const std::string target = id != spec.end() && id->is_string() ? id->get<std::string>() : "";
  json params = {{"spec", std::move(spec)}};
  if (!options.parent.empty()) params["parent"] = options.parent;
  static const TreeCommand add = tree_command(command_info(CommandKind::AddChild));
  return send_command(context, add, target, std::move(params));
}

}  // namespace sup::cli
