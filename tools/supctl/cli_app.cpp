#include "supctl/cli_app.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>
#include <vector>

#include "supctl/dashboard_app.hpp"
#include "supctl/identity.hpp"
#include "supctl/query_commands.hpp"
#include "supctl/stream_commands.hpp"
#include "supctl/tree_commands.hpp"

#ifndef SUPCTL_VERSION
#define SUPCTL_VERSION "unknown"
#endif

namespace sup::cli {
namespace {

constexpr std::int64_t kMaxTimeoutMs = 86'400'000;

constexpr const char* kFooter =
    "Exit codes: 0 ok; 1 not done (NotFound, Rejected, or declined at the prompt); 2 usage;\n"
    "3 supervisor not running or unreachable; 4 refused by the supervisor (protocol error);\n"
    "5 timeout; 6 the socket's server is not trusted (see --trust-uid). Details: docs/supctl.md";

std::string reject_blank(std::string& value) {
  return value.find_first_not_of(" \t\r\n") == std::string::npos ? "must not be blank" : "";
}

struct Parsed {
  GlobalOptions global;
  std::int64_t timeout_ms = 5000;
  std::string child;
  AddOptions add;
  LogsOptions logs;
  EventsOptions events;
  std::uint64_t since = 0;
  bool once = false;
};

// The subcommands that ask y/N first: "add, remove, kill, shutdown-tree".
std::string confirmed_commands() {
  std::string names = command_info(CommandKind::AddChild).needs_confirmation ? "add" : "";
  for (const TreeCommand& command : tree_commands())
    if (command.info->needs_confirmation) names += (names.empty() ? "" : ", ") + command.name;
  return names;
}

// Adds the subcommands; `run` is set to the chosen command once parsed.
void add_subcommands(CLI::App& app, Parsed& parsed, std::function<ExitCode(CommandContext&)>& run) {
  auto on = [&run](CLI::App* command, std::function<ExitCode(CommandContext&)> action) {
    command->callback([&run, action = std::move(action)] { run = action; });
  };

  on(app.add_subcommand("state", "Summary of the tree and the children table"), show_state);
  on(app.add_subcommand("health",
                        "Health: status, uptime, control loop, dashboard link, "
                        "reasons and suspects"),
     show_health);
  on(app.add_subcommand("children",
                        "Children table: ID, KIND, STATE, RESTARTS, TOKENS, BACKOFF, "
                        "LAST EXIT, PID, UPTIME"),
     show_children);

  CLI::App* add =
      app.add_subcommand("add", std::string(command_info(CommandKind::AddChild).summary));
  auto* spec = add->add_option("--spec", parsed.add.spec,
                               "The child spec as JSON, with the keys of a child in the config "
                               "(docs/config.md)");
  auto* spec_file = add->add_option("--spec-file", parsed.add.spec_file,
                                    "A file holding the child spec (- reads stdin)");
  spec->excludes(spec_file);
  add->add_option("--parent", parsed.add.parent, "The supervisor to add under (default: root)");
  on(add, [&parsed](CommandContext& context) {
    if (parsed.add.spec.empty() && parsed.add.spec_file.empty())
      return context.fail(ExitCode::Usage, "add needs --spec JSON or --spec-file FILE");
    return add_child(context, parsed.add);
  });

  for (const TreeCommand& command : tree_commands()) {
    CLI::App* sub = app.add_subcommand(command.name, std::string(command.info->summary));
    if (command.info->subject == CommandSubject::Child)
      sub->add_option("child", parsed.child, "The child's id")->required();
    on(sub, [&parsed, &command](CommandContext& context) {
      return run_tree_command(context, command, parsed.child);
    });
  }

  CLI::App* logs = app.add_subcommand("logs", "Log records, a child's output among them");
  logs->add_option("child", parsed.logs.child, "Only this child's records (default: all)");
  logs->add_flag("-f,--follow", parsed.logs.follow, "Keep printing new records");
  logs->add_option("-n,--lines", parsed.logs.lines, "How many past records")->capture_default_str();
  on(logs, [&parsed](CommandContext& context) { return show_logs(context, parsed.logs); });

  CLI::App* events = app.add_subcommand("events", "The event stream, one line per event");
  events->add_flag("-f,--follow", parsed.events.follow, "Keep printing new events");
  auto* since = events->add_option("--since", parsed.since, "Every event after this sequence");
  events->add_option("-n,--last", parsed.events.last, "Without --since: how many recent events")
      ->capture_default_str();
  on(events, [&parsed, since](CommandContext& context) {
    if (since->count() > 0) parsed.events.since = parsed.since;
    return show_events(context, parsed.events);
  });

  CLI::App* dashboard = app.add_subcommand("dashboard", "Live view of the tree (q quits)");
  dashboard->add_flag("--once", parsed.once, "Print one frame as plain text and exit");
  on(dashboard, [&parsed](CommandContext& context) { return run_dashboard(context, parsed.once); });
}

}  // namespace

int run_supctl(int argc, const char* const* argv, Io io) {
  Parsed parsed;
  parsed.global.socket_path = default_socket_path();
  parsed.global.requested_by = default_requested_by();

  CLI::App app{"supctl: operate the `supervisor` daemon through its socket", "supctl"};
  app.set_version_flag("--version", std::string("supctl ") + SUPCTL_VERSION);
  app.footer(kFooter);
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too: `supctl state --json`.
  app.fallthrough();
  const CLI::Validator non_blank(reject_blank, "NON-BLANK");

  app.add_option("--socket", parsed.global.socket_path,
                 "The daemon's socket ($SUPERVISOR_SOCKET, else /tmp/supervisor.sock)")
      ->capture_default_str();
  app.add_option("--trust-uid", parsed.global.trust.extra_uid,
                 "Also trust a socket served by this uid (by default only root and your own "
                 "uid; supctl refuses any other server before sending anything)");
  app.add_flag("--json", parsed.global.json,
               "Raw JSON results for scripts (one object per line when streaming)");
  app.add_option("--timeout", parsed.timeout_ms, "Milliseconds to wait for an answer")
      ->check(CLI::Range(std::int64_t{1}, kMaxTimeoutMs))
      ->capture_default_str();
  app.add_option("--requested-by", parsed.global.requested_by,
                 "Who asks, for the audit log (default: $USER@host)")
      ->check(non_blank);
  app.add_option("--reason", parsed.global.reason,
                 "Why, for the audit log (default: \"no reason given (supctl <command>)\")")
      ->check(non_blank);
  app.add_option("--command-id", parsed.global.command_id,
                 "Id of the command (default: random); reusing it makes a retry safe")
      ->check(non_blank);
  app.add_flag(
      "-y,--yes", parsed.global.yes,
      "Answer yes to the y/N question of a dangerous command (" + confirmed_commands() + ")");

  // The last of a repeated option wins, so an alias can set defaults
  // (alias supctl='supctl --timeout 2000') that a command line overrides.
  for (CLI::Option* option : app.get_options())
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  std::function<ExitCode(CommandContext&)> run;
  add_subcommands(app, parsed, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error, io.out, io.err);
    return code == 0 ? 0 : static_cast<int>(ExitCode::Usage);
  }
  parsed.global.timeout = std::chrono::milliseconds(parsed.timeout_ms);
  CommandContext context(std::move(parsed.global), io);
  try {
    return static_cast<int>(run(context));
  } catch (const nlohmann::json::exception& error) {
    return static_cast<int>(
        context.fail(ExitCode::ProtocolError,
                     std::string("unexpected data from the supervisor: ") + error.what()));
  }
}

}  // namespace sup::cli
